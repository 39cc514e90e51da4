// Helpers for the guard-page matrix: regions fenced by PROT_NONE pages on both
// sides, the description of one checked call, and a runner that executes each
// chunk of the matrix in a forked child, so that a stray access (SIGSEGV on a
// guard page, a sanitizer report) ends that child only and the parent reports
// it with the call that was in progress.
#ifndef NTCOPY_TESTS_GUARD_GUARD_UTIL_H
#define NTCOPY_TESTS_GUARD_GUARD_UTIL_H

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../test_util.h"

namespace ntc_guard {

using ntc_test::kCanary;
using ntc_test::page_size;

// ---------------------------------------------------------------------------
// [PROT_NONE page][usable pages][PROT_NONE page]. A destination placed with
// at_end() has its last byte within 63 bytes of the trailing guard page; one
// placed with at_begin() has its first byte within 63 bytes after the leading
// one. The usable pages start out all kCanary.
class FencedRegion {
 public:
  explicit FencedRegion(std::size_t bytes) {
    const std::size_t pg = page_size();
    usable_ = std::max<std::size_t>(pg, (bytes + pg - 1) / pg * pg);
    map_len_ = usable_ + 2 * pg;
    void* m = mmap(nullptr, map_len_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      std::perror("mmap");
      std::abort();
    }
    map_ = static_cast<unsigned char*>(m);
    protect(PROT_READ | PROT_WRITE);
    std::memset(begin(), kCanary, usable_);
  }
  ~FencedRegion() { munmap(map_, map_len_); }
  FencedRegion(const FencedRegion&) = delete;
  FencedRegion& operator=(const FencedRegion&) = delete;

  unsigned char* begin() const { return map_ + page_size(); }  // just after the leading guard
  unsigned char* end() const { return begin() + usable_; }     // the trailing guard page
  std::size_t size() const { return usable_; }

  // Changes the protection of the usable pages (PROT_READ makes an input
  // read-only, so that a stray store into it faults too).
  void protect(int prot) const {
    if (mprotect(begin(), usable_, prot) != 0) {
      std::perror("mprotect");
      std::abort();
    }
  }

  // p % 64 == mis and p + len as close to end() as that allows: end() - (p +
  // len) is in [0, 63], and 0 exactly when mis == (-len) mod 64.
  unsigned char* at_end(std::size_t len, std::size_t mis) const {
    auto p = reinterpret_cast<std::uintptr_t>(end()) - len;
    p -= (p - mis) & 63u;
    return reinterpret_cast<unsigned char*>(p);
  }
  // begin() + mis: p % 64 == mis (begin() is page-aligned), mis bytes after
  // the guard page; exactly adjacent when mis == 0.
  unsigned char* at_begin(std::size_t mis) const { return begin() + mis; }

 private:
  unsigned char* map_ = nullptr;
  std::size_t usable_ = 0;
  std::size_t map_len_ = 0;
};

// True when all n bytes at p are kCanary (memcmp against a canary block:
// much faster than a byte loop for the whole-region scans).
inline bool all_canary(const unsigned char* p, std::size_t n) {
  static const std::vector<unsigned char> block(4096, kCanary);
  while (n > 0) {
    const std::size_t k = std::min(n, block.size());
    if (std::memcmp(p, block.data(), k) != 0) return false;
    p += k;
    n -= k;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Which side of the destination touches a guard page.
enum Pass : int {
  kLastByteAtGuard = 0,   // (a) dst's end against the trailing guard page
  kFirstByteAtGuard = 1,  // (b) dst's start against the leading guard page
};

inline const char* pass_name(int pass) {
  return pass == kLastByteAtGuard ? "last byte at guard" : "first byte at guard";
}

enum Op : int { kFill = 0, kFillPatched = 1, kMemcpy = 2 };

inline const char* op_name(int op) {
  return op == kFill ? "ntc_fill" : op == kFillPatched ? "ntc_fill_patched" : "ntc_memcpy";
}

// One checked call; written to shared memory before the call, so that the
// parent can name it if the child dies.
struct Case {
  int op = kFill;
  int pass = kLastByteAtGuard;
  unsigned flags = 0;
  std::size_t size = 0;     // element size (fills), n (copies)
  std::size_t count = 0;    // fills only
  std::size_t dst_mis = 0;  // dst % 64
  std::size_t src_mis = 0;  // template or source % 64
  std::size_t gap = 0;      // canary bytes between dst's range and its guard page
};

inline std::string describe(const Case& c, const std::string& family) {
  std::string s = std::string(op_name(c.op)) + " family=" + family +
                  " flags=" + ntc_test::flags_name(c.flags) + " pass=" + pass_name(c.pass);
  if (c.op == kMemcpy) {
    s += " n=" + std::to_string(c.size);
  } else {
    s += " size=" + std::to_string(c.size) + " count=" + std::to_string(c.count);
  }
  s += " dst%64=" + std::to_string(c.dst_mis) + (c.op == kMemcpy ? " src%64=" : " tmpl%64=") +
       std::to_string(c.src_mis) + " gap to guard=" + std::to_string(c.gap);
  return s;
}

// ---------------------------------------------------------------------------
// The state of one chunk, in a MAP_SHARED page that the child writes and the
// parent reads after the child has ended.
inline constexpr int kMaxReports = 8;
inline constexpr std::size_t kReportLen = 400;
inline constexpr std::uint32_t kStopAfterFailures = 64;

struct ChunkReport {
  Case current;            // the last call started
  int in_call;             // 1 from just before the call until it returned
  int finished;            // the chunk ran to its end
  std::uint64_t cases;     // calls checked
  std::uint32_t failures;  // failed checks
  char reports[kMaxReports][kReportLen];

  void begin_call(const Case& c) {
    current = c;
    in_call = 1;
  }
  void end_call() { in_call = 0; }
  // Records a failure of the current case; false once the chunk should stop.
  bool fail(const std::string& family, const std::string& what) {
    if (failures < static_cast<std::uint32_t>(kMaxReports)) {
      const std::string line = describe(current, family) + ": " + what;
      std::snprintf(reports[failures], kReportLen, "%s", line.c_str());
    }
    ++failures;
    return failures < kStopAfterFailures;
  }
  bool stopped() const { return failures >= kStopAfterFailures; }
};

// A part of the matrix that one child process runs.
struct Chunk {
  std::string name;
  std::function<void(ChunkReport&)> body;
};

inline const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    case SIGKILL: return "SIGKILL";
    case SIGTRAP: return "SIGTRAP";
    default: return "signal";
  }
}

// Concurrent children: NTC_GUARD_JOBS, else the CPUs this process may use
// (at most 8).
inline unsigned guard_jobs() {
  if (const char* e = std::getenv("NTC_GUARD_JOBS"); e != nullptr && *e != '\0') {
    const unsigned long v = std::strtoul(e, nullptr, 10);
    if (v >= 1 && v <= 64) return static_cast<unsigned>(v);
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  int n = 1;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  return static_cast<unsigned>(std::clamp(n, 1, 8));
}

// In the child: the default action for the signals that doctest (and a
// sanitizer) catch, so that a fault ends the child with that signal instead
// of running the parent's test reporter in the child.
inline void child_default_signals() {
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGINT, SIGTERM})
    signal(sig, SIG_DFL);
  stack_t none{};
  none.ss_flags = SS_DISABLE;
  sigaltstack(&none, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive an interrupted test
}

// Runs each chunk in a forked child with `family` active, at most `jobs` at a
// time. Reports every failure (failed checks, a child killed by a signal or
// exiting early, with the call in progress) through doctest in this process;
// returns the number of calls each chunk checked.
inline std::vector<std::uint64_t> run_chunks(const std::string& family,
                                             const std::vector<Chunk>& chunks, unsigned jobs) {
  const std::size_t n = chunks.size();
  const std::size_t bytes = n * sizeof(ChunkReport);
  void* shm = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(shm != MAP_FAILED);
  auto* reports = static_cast<ChunkReport*>(shm);
  std::memset(shm, 0, bytes);

  std::vector<pid_t> pid_of(n, -1);
  std::size_t next = 0, running = 0, done = 0;
  std::vector<std::uint64_t> cases(n, 0);
  auto start_next = [&] {
    const std::size_t i = next++;
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    REQUIRE_MESSAGE(pid >= 0, "fork: ", std::string(std::strerror(errno)));
    if (pid == 0) {
      child_default_signals();
      ChunkReport& r = reports[i];
      if (ntc_use_kernel(family.c_str()) != 0 || family != ntc_kernel()) {
        r.fail(family, "ntc_use_kernel(\"" + family + "\") failed in the child");
        _exit(3);
      }
      chunks[i].body(r);
      r.finished = 1;
      _exit(0);
    }
    pid_of[i] = pid;
    ++running;
  };

  while (done < n) {
    while (running < jobs && next < n) start_next();
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      FAIL("waitpid: " << std::strerror(errno));
    }
    const auto it = std::find(pid_of.begin(), pid_of.end(), pid);
    if (it == pid_of.end()) continue;  // not one of ours
    const auto i = static_cast<std::size_t>(it - pid_of.begin());
    --running;
    ++done;
    const ChunkReport& r = reports[i];
    cases[i] = r.cases;
    const std::string where = "guard matrix chunk \"" + chunks[i].name + "\": ";
    for (std::uint32_t k = 0; k < r.failures && k < static_cast<std::uint32_t>(kMaxReports); ++k) {
      const std::string report = where + r.reports[k];
      FAIL_CHECK(report);
    }
    if (r.failures > static_cast<std::uint32_t>(kMaxReports)) {
      const std::string all = where + std::to_string(r.failures) + " failed checks in all" +
                              (r.stopped() ? " (chunk stopped there)" : "");
      FAIL_CHECK(all);
    }
    const bool clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0 && r.finished;
    if (!clean_exit) {
      std::string how =
          WIFSIGNALED(status) ? std::string("killed by ") + signal_name(WTERMSIG(status)) + " (" +
                                    std::to_string(WTERMSIG(status)) + ")"
          : WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                              : "ended without finishing";
      const std::string crash =
          where + "child " + how + " after " + std::to_string(r.cases) + " checked calls, " +
          (r.in_call ? "inside the call: " : "after the call (in the checks): ") +
          describe(r.current, family);
      FAIL_CHECK(crash);
    }
  }
  munmap(shm, bytes);
  return cases;
}

}  // namespace ntc_guard

#endif  // NTCOPY_TESTS_GUARD_GUARD_UTIL_H
