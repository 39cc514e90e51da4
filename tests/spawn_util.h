// Runs a helper program in a fresh process with a chosen environment and
// collects its exit status, stdout and stderr (for the environment and loading
// tests).
#ifndef NTCOPY_TESTS_SPAWN_UTIL_H
#define NTCOPY_TESTS_SPAWN_UTIL_H

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace ntc_spawn {

struct Run {
  bool started = false;  // posix_spawn succeeded
  std::string spawn_error;
  int exit_code = -1;  // -1: did not exit normally
  int signal = 0;      // the signal that ended it, if one did
  std::string out, err;

  bool ok() const { return started && exit_code == 0; }
  std::string status() const {
    if (!started) return "not started: " + spawn_error;
    if (signal != 0) return "killed by signal " + std::to_string(signal);
    return "exit code " + std::to_string(exit_code);
  }
};

// This process's environment without any NTCOPY_* variable, plus `extra`
// ("NAME=value" entries, values of any bytes but NUL).
inline std::vector<std::string> child_env(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.starts_with("NTCOPY_")) continue;
    env.emplace_back(v);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// Runs argv[0] (a path) with `env` as its whole environment.
inline Run run(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  Run r;
  std::vector<std::string> args(argv), envs(env);
  std::vector<char*> a, e;
  for (auto& s : args) a.push_back(s.data());
  a.push_back(nullptr);
  for (auto& s : envs) e.push_back(s.data());
  e.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) {
    r.spawn_error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
    posix_spawn_file_actions_addclose(&fa, fd);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, a[0], &fa, nullptr, a.data(), e.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    r.spawn_error = "posix_spawn(" + args[0] + "): " + std::strerror(rc);
    return r;
  }
  r.started = true;

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char chunk[4096];
      const ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
      if (n > 0) {
        sinks[i]->append(chunk, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& p : fds)
    if (p.fd >= 0) close(p.fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

// The lines of s, without their '\n'.
inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) nl = s.size();
    lines.push_back(s.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

// The value of "key=value" among the space-separated words of s, or "".
inline std::string field(const std::string& s, const std::string& key) {
  const std::string k = key + "=";
  std::size_t pos = 0;
  while ((pos = s.find(k, pos)) != std::string::npos) {
    if (pos == 0 || s[pos - 1] == ' ' || s[pos - 1] == '\n') {
      const std::size_t start = pos + k.size();
      const std::size_t end = s.find_first_of(" \n", start);
      return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
    pos += k.size();
  }
  return {};
}

}  // namespace ntc_spawn

#endif  // NTCOPY_TESTS_SPAWN_UTIL_H
