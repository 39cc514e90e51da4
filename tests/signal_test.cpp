// Signal handlers may fill and copy (docs/api.md, "Rules for every function"):
// the data functions take no lock and allocate nothing for templates up to
// 8 KiB. A timer's handler fills and copies while the thread it interrupts
// keeps switching the kernel family, so many signals land while that thread
// holds the switch lock. A data call that waited for that lock would never
// return: the test runs in a child process and fails if it hangs.
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>

#include "test_util.h"

using namespace ntc_test;

namespace {

// The handler's own buffers and results. Only lock-free work inside it.
alignas(64) unsigned char g_src[1024];
alignas(64) unsigned char g_dst[1024 + 64];
alignas(64) unsigned char g_fill[1024 + 64];
volatile std::sig_atomic_t g_runs = 0;
volatile std::sig_atomic_t g_bad = 0;        // the first failed step, 0 if none
volatile std::sig_atomic_t g_switching = 0;  // the interrupted thread is in ntc_use_kernel
volatile std::sig_atomic_t g_runs_while_switching = 0;

// Whether d[0, n) holds copies of the size-byte template t (a plain loop: the
// handler calls nothing that is not async-signal-safe).
bool holds_pattern(const unsigned char* d, const unsigned char* t, std::size_t size,
                   std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (d[i] != t[i % size]) return false;
  return true;
}

void add_one_to_first_byte(void* elems, std::size_t, std::size_t n, std::size_t size, void*) {
  for (std::size_t i = 0; i < n; ++i) ++static_cast<unsigned char*>(elems)[i * size];
}

void fail_step(int step) {
  if (g_bad == 0) g_bad = step;
}

// Each kind of data call once: the copy entry's fast path, the checked path,
// a fill from one register, a streaming fill with its drain, a patched fill.
void on_timer(int) {
  const int saved_errno = errno;
  g_runs = g_runs + 1;
  if (g_switching) g_runs_while_switching = g_runs_while_switching + 1;
  if (ntc_memcpy(g_dst, g_src, 200, 0) != g_dst || !holds_pattern(g_dst, g_src, 1024, 200))
    fail_step(1);
  if (ntc_memcpy(g_dst + 1, g_src, 1000, NTC_F_TEMPORAL) != g_dst + 1 ||
      !holds_pattern(g_dst + 1, g_src, 1024, 1000))
    fail_step(2);
  if (ntc_fill(g_fill, g_src, 4, 100, 0) != 0 || !holds_pattern(g_fill, g_src, 4, 400))
    fail_step(3);
  // Streams: the call writes more than kMinStreamed (256) bytes.
  if (ntc_fill(g_fill + 3, g_src, 24, 40, NTC_F_NONTEMPORAL) != 0 ||
      !holds_pattern(g_fill + 3, g_src, 24, 24 * 40))
    fail_step(4);
  if (ntc_fill_patched(g_fill, g_src, 64, 16, add_one_to_first_byte, nullptr, 0) != 0)
    fail_step(5);
  for (std::size_t e = 0; e < 16; ++e)
    if (g_fill[e * 64] != static_cast<unsigned char>(g_src[0] + 1) ||
        !holds_pattern(g_fill + e * 64 + 1, g_src + 1, 63, 63))
      fail_step(6);
  ntc_drain();
  errno = saved_errno;
}

// Exit codes of the child.
enum : int {
  kOk = 0,
  kSetupFailed = 20,
  kMainCallFailed = 21,
  kTooFewSignals = 22,  // fewer than kMinRunsWhileSwitching landed in ntc_use_kernel
  kHandlerStepFailed = 30,  // + the step, 1 to 6
};

// In the child: a 200 us timer while this thread switches families and fills,
// until kRunsWhileSwitching of the handler's runs have interrupted
// ntc_use_kernel (or three seconds have passed: a sanitizer build runs the
// handler more slowly). Not every one of them lands while the switch lock is
// held, which covers only part of the call. On the development machine the
// loop ends after 3,000 to 4,000 handler runs, in about 0.6 s.
[[noreturn]] void child_switches_under_a_timer(const std::vector<std::string>& fams) {
  for (std::size_t i = 0; i < sizeof g_src; ++i)
    g_src[i] = static_cast<unsigned char>(i * 7 + 1);
  struct sigaction sa {};
  sa.sa_handler = on_timer;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  const itimerval every_200us{{0, 200}, {0, 200}};
  if (sigaction(SIGALRM, &sa, nullptr) != 0 || setitimer(ITIMER_REAL, &every_200us, nullptr) != 0)
    _exit(kSetupFailed);
  constexpr long kRunsWhileSwitching = 200, kMinRunsWhileSwitching = 50;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  unsigned char tmpl[24], dst[24 * 40];
  for (std::size_t i = 0; i < sizeof tmpl; ++i) tmpl[i] = static_cast<unsigned char>(i + 101);
  int status = kOk;
  while (g_runs_while_switching < kRunsWhileSwitching && std::chrono::steady_clock::now() < until) {
    for (const auto& f : fams) {
      g_switching = 1;
      const int rc = ntc_use_kernel(f.c_str());
      g_switching = 0;
      if (rc != 0) status = kMainCallFailed;
      if (ntc_fill(dst, tmpl, sizeof tmpl, 40, 0) != 0 ||
          !holds_pattern(dst, tmpl, sizeof tmpl, sizeof dst))
        status = kMainCallFailed;
    }
  }
  const itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  if (g_bad != 0) _exit(kHandlerStepFailed + g_bad);
  if (status != kOk) _exit(status);
  _exit(g_runs_while_switching < kMinRunsWhileSwitching ? kTooFewSignals : kOk);
}

}  // namespace

TEST_CASE("signal handlers fill and copy while the interrupted thread switches families") {
  const auto fams = supported_families();
  REQUIRE(!fams.empty());
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) child_switches_under_a_timer(fams);
  const int r = wait_for_child(pid, std::chrono::seconds(30));
  INFO("child exit: ", r, " (-1: hung and killed after 30 s; 20 setup, 21 a call of the "
       "interrupted thread, 22 fewer than 50 signals in ntc_use_kernel, 31-36 the handler's "
       "step 1-6)");
  CHECK(r == 0);
}
