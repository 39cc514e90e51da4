// Dispatch, top to bottom: the atomic pointer to the active table, each
// family's table, activation (which also opens the active family's memcpy
// entry, kernel_table.h), initialisation (probe the CPU, then select: a pure
// function of CPU features and environment, in select.cpp, which also holds
// the families' priority order), and the public calls that read or change it.
#include "dispatch.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>

#include "cpu.h"
#include "select.h"

namespace ntcopy {

std::atomic<const KernelTable*> g_active_table{nullptr};
std::atomic<std::size_t> g_nt_threshold{0};

namespace {

CpuFeatures g_cpu;  // written once, inside initialize()
std::once_flag g_init_once;

const KernelTable* table_of(Family f) {
  switch (f) {
#if defined(NTCOPY_X86_64)
    case Family::avx512: return &avx512::kTable;
    case Family::avx: return &avx::kTable;
    case Family::movnti: return &movnti::kTable;
#endif
    default: return &generic::kTable;
  }
}

std::mutex g_switch_mutex;

// Makes `t` the active table, and moves the fast path of the memcpy entries
// (kernel_table.h) to its family: the old family's closes, then the new one's
// opens, for the copies that use regular stores with flags 0 (below the
// threshold, and all below kMinStreamed). Serialised, so outside a switch at
// most one family's is open. A call racing with a switch copies with the old
// family or the new one, as with any call that loaded the table just before
// the store.
void activate(const KernelTable* t) {
  const std::lock_guard<std::mutex> lock(g_switch_mutex);
  const KernelTable* old = g_active_table.load(std::memory_order_relaxed);
  if (old != nullptr && old != t) old->fast_path_below->store(0, std::memory_order_relaxed);
  g_active_table.store(t, std::memory_order_release);
  t->fast_path_below->store(
      std::clamp(nt_threshold_after_init(), kMinStreamed, kMaxFastPath), std::memory_order_relaxed);
}

// fork() copies the lock in whatever state it is in, but only the calling
// thread: a child forked while another thread was switching families would
// find the lock held by a thread it does not have, and hang in its first
// ntc_use_kernel. So fork waits for a switch in progress and holds the lock
// across the fork; parent and child each release their copy (in the child,
// the forking thread is the one that took it).
void hold_switch_lock_across_fork() { g_switch_mutex.lock(); }
void release_switch_lock_after_fork() { g_switch_mutex.unlock(); }

// One line on stderr for each rejected environment value.
void warn(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

// The NTCOPY_* variables, read with secure_getenv, so setuid/setgid programs
// ignore them as they do glibc's tunables. A first call from an executable's
// .preinit_array comes before libc has set `environ`: getenv sees nothing
// there, so the process's initial environment is read from /proc/self/environ
// instead (never in secure mode). Only a first call from outside the library
// can be that early; when ntcopy's own constructor runs, libc is initialised,
// and a null `environ` means the program has cleared its environment.
class NtcopyVariables {
 public:
  explicit NtcopyVariables(bool from_own_constructor) {
    if (environ == nullptr && !from_own_constructor && getauxval(AT_SECURE) == 0)
      initial_ = read_initial_environment();
  }
  Environment get() const {
    return {lookup("NTCOPY_KERNEL"), lookup("NTCOPY_NT_THRESHOLD"), lookup("NTCOPY_CPU_MASK")};
  }

 private:
  // "NAME=value\0" entries, as the kernel laid them out at exec; empty when
  // /proc is not mounted.
  static std::string read_initial_environment() {
    std::string text;
    const int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return text;
    char chunk[4096];
    for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      text.append(chunk, static_cast<std::size_t>(n));
    }
    close(fd);
    return text;
  }

  const char* lookup(const char* name) const {
    if (environ != nullptr) return secure_getenv(name);
    const std::string_view key(name);
    for (std::size_t at = 0; at < initial_.size();) {
      const std::size_t end = std::min(initial_.find('\0', at), initial_.size());
      const std::string_view entry(initial_.data() + at, end - at);
      if (entry.size() > key.size() && entry.starts_with(key) && entry[key.size()] == '=')
        return entry.data() + key.size() + 1;  // NUL-terminated: ends at `end`
      at = end + 1;
    }
    return nullptr;
  }

  std::string initial_;
};

void initialize_once(bool from_own_constructor) {
  const NtcopyVariables variables(from_own_constructor);
  const Selection s = make_selection(probe_cpu(), variables.get());
  for (const std::string& line : s.warnings) warn(line);
  g_cpu = s.cpu;  // what NTCOPY_CPU_MASK leaves: ntc_use_kernel honours the mask too
  g_nt_threshold.store(s.threshold.bytes, std::memory_order_relaxed);
  activate(table_of(s.family));
}

const KernelTable* initialize(bool from_own_constructor) {
  std::call_once(g_init_once, initialize_once, from_own_constructor);
  return g_active_table.load(std::memory_order_acquire);
}

// Runs when the library is loaded; a call that arrives earlier (from another
// library's constructor or the executable's .preinit_array) initialises
// through active_table() instead.
// It also registers the fork handlers, once per load (glibc drops them when
// the library is unloaded): here rather than in initialize_once, which a child
// forked during another thread's first call would run again.
__attribute__((constructor)) void initialize_at_load() {
  pthread_atfork(hold_switch_lock_across_fork, release_switch_lock_after_fork,
                 release_switch_lock_after_fork);
  initialize(true);
}

}  // namespace

const KernelTable* initialize() { return initialize(false); }

}  // namespace ntcopy

using namespace ntcopy;

extern "C" const char* ntc_kernel(void) { return active_table()->name; }

extern "C" int ntc_use_kernel(const char* name) {
  initialize();
  if (name == nullptr) {
    errno = EINVAL;
    return -1;
  }
  std::optional<Family> family =
      std::string_view(name) == "auto" ? best_family(g_cpu) : family_from_name(name);
  if (!family) {
    errno = EINVAL;
    return -1;
  }
  if (!family_supported(*family, g_cpu)) {
    errno = ENOTSUP;
    return -1;
  }
  activate(table_of(*family));
  return 0;
}

extern "C" size_t ntc_kernels(const char** names, size_t max) {
  initialize();
  size_t count = 0;
  for (Family f : families_best_first()) {
    if (!family_supported(f, g_cpu)) continue;
    if (names != nullptr && count < max) names[count] = table_of(f)->name;
    ++count;
  }
  return count;
}

extern "C" size_t ntc_nt_threshold(void) {
  initialize();
  return nt_threshold_after_init();
}
