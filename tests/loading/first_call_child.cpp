// Helper for loading_test.cpp: THREADS threads make this fresh process's
// first ntcopy calls at the same moment; nothing calls ntcopy before them.
//
//   ntcopy_first_call_child MODE THREADS KERNEL THRESHOLD
//
// MODE main:    main() starts the threads, after every constructor (ntcopy's
//               own included) has run: the threads race their first calls.
// MODE preinit: a function in this executable's .preinit_array starts them
//               and returns. The ELF gABI runs DT_PREINIT_ARRAY before the
//               initialisation functions of every shared object, so the
//               threads' first calls race ntcopy's load-time constructor on
//               the main thread (and usually come first): the library's own
//               initialisation is what they race.
// KERNEL is the family every thread must see, THRESHOLD the
// ntc_nt_threshold() every thread must see ("-": not checked).
//
// Each thread begins with a different call (by its index) and then makes all
// the others, checking results. Prints "ok threads=N kernel=K threshold=T"
// or one "FAIL ..." line per problem; exits 0 only when all is well.
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "child_checks.h"

namespace {

constexpr int kMaxThreads = 64;
constexpr unsigned kWatchdogSeconds = 120;
constexpr int kCalls = 9;
const char* const kCallNames[kCalls] = {"ntc_kernel",    "ntc_nt_threshold", "ntc_fill",
                                        "ntc_fill NT",   "ntc_fill_patched", "ntc_memcpy",
                                        "ntc_memcpy NT", "ntc_kernels",      "ntc_drain"};

struct Config {
  bool preinit = false;
  int threads = 0;
  const char* kernel = nullptr;
  bool check_threshold = false;
  std::size_t threshold = 0;
};

struct Slot {
  pthread_t tid{};
  int id = 0;
  const char* problem = nullptr;  // first problem, a string literal
  int problem_call = -1;
  const char* names[8] = {};
  std::size_t name_count = 0;
};

Config g_config;
Slot g_slots[kMaxThreads];
std::atomic<int> g_ready{0};
std::atomic<bool> g_go{false};
bool g_started = false;

bool parse(int argc, char** argv, Config& c) {
  if (argc != 5) return false;
  if (std::strcmp(argv[1], "main") != 0 && std::strcmp(argv[1], "preinit") != 0) return false;
  c.preinit = std::strcmp(argv[1], "preinit") == 0;
  c.threads = std::atoi(argv[2]);
  if (c.threads < 1 || c.threads > kMaxThreads) return false;
  c.kernel = argv[3];
  c.check_threshold = std::strcmp(argv[4], "-") != 0;
  if (c.check_threshold) c.threshold = std::strtoull(argv[4], nullptr, 10);
  return true;
}

void note(Slot& s, int call, const char* what) {
  if (s.problem == nullptr) {
    s.problem = what;
    s.problem_call = call;
  }
}

void make_call(Slot& s, int call) {
  const ntc_child::Api api = ntc_child::linked_api();
  const std::size_t mis = static_cast<std::size_t>(s.id * 7) % 64;
  const char* w = nullptr;
  switch (call) {
    case 0:
      if (std::strcmp(ntc_kernel(), g_config.kernel) != 0) w = "ntc_kernel() is not the expected";
      break;
    case 1:
      if (g_config.check_threshold && ntc_nt_threshold() != g_config.threshold)
        w = "ntc_nt_threshold() is not the expected";
      break;
    case 2: w = ntc_child::check_fill(api, 0, 24, 100, mis); break;
    case 3: w = ntc_child::check_fill(api, NTC_F_NONTEMPORAL, 64, 300, mis); break;
    case 4: w = ntc_child::check_patched(api, 0, 40, 333, mis); break;
    case 5: w = ntc_child::check_copy(api, 0, 1000, mis, 3); break;
    case 6: w = ntc_child::check_copy(api, NTC_F_NONTEMPORAL, 70001, mis, 5); break;
    case 7: {
      s.name_count = ntc_kernels(s.names, 8);
      bool found = false;
      for (std::size_t i = 0; i < s.name_count && i < 8; ++i)
        found = found || (s.names[i] != nullptr && std::strcmp(s.names[i], g_config.kernel) == 0);
      if (!found) w = "ntc_kernels() does not list the expected kernel";
      break;
    }
    case 8: ntc_drain(); break;
  }
  if (w != nullptr) note(s, call, w);
}

void* racer(void* arg) {
  Slot& s = *static_cast<Slot*>(arg);
  g_ready.fetch_add(1);
  while (!g_go.load(std::memory_order_acquire)) sched_yield();
  const int first = s.id % kCalls;
  for (int j = 0; j < kCalls; ++j) make_call(s, (first + j) % kCalls);
  make_call(s, 0);  // the kernel once more, after everything
  return nullptr;
}

void start_threads() {
  for (int i = 0; i < g_config.threads; ++i) {
    g_slots[i].id = i;
    if (pthread_create(&g_slots[i].tid, nullptr, racer, &g_slots[i]) != 0) {
      std::fprintf(stdout, "FAIL pthread_create\n");
      std::fflush(stdout);
      _exit(2);
    }
  }
  while (g_ready.load() < g_config.threads) sched_yield();
  g_go.store(true, std::memory_order_release);
  g_started = true;
}

// Called by the dynamic loader with (argc, argv, envp) before any shared
// library's constructor.
void preinit(int argc, char** argv, char**) {
  alarm(kWatchdogSeconds);  // a deadlock ends the process (SIGALRM) instead of the test run
  init_sanitizer_runtime();
  Config c;
  if (!parse(argc, argv, c) || !c.preinit) return;
  g_config = c;
  start_threads();
}

}  // namespace

__attribute__((section(".preinit_array"),
               used)) void (*const ntc_test_preinit_entry)(int, char**, char**) = preinit;

int main(int argc, char** argv) {
  Config c;
  if (!parse(argc, argv, c)) {
    std::fprintf(stderr, "usage: %s main|preinit THREADS KERNEL THRESHOLD|-\n", argv[0]);
    return 2;
  }
  if (!c.preinit) {
    g_config = c;
    start_threads();
  }
  if (!g_started) {
    std::printf("FAIL the preinit_array function did not start the threads\n");
    return 1;
  }
  bool ok = true;
  for (int i = 0; i < g_config.threads; ++i) pthread_join(g_slots[i].tid, nullptr);
  for (int i = 0; i < g_config.threads; ++i) {
    const Slot& s = g_slots[i];
    if (s.problem != nullptr) {
      std::printf("FAIL thread %d (first call %s): %s: %s\n", i, kCallNames[i % kCalls],
                  kCallNames[s.problem_call], s.problem);
      ok = false;
    }
    bool same = s.name_count == g_slots[0].name_count;
    for (std::size_t k = 0; same && k < s.name_count && k < 8; ++k)
      same = std::strcmp(s.names[k], g_slots[0].names[k]) == 0;
    if (!same) {
      std::printf("FAIL thread %d: ntc_kernels() differs from thread 0's\n", i);
      ok = false;
    }
  }
  if (ok)
    std::printf("ok threads=%d kernel=%s threshold=%zu\n", g_config.threads, ntc_kernel(),
                ntc_nt_threshold());
  return ok ? 0 : 1;
}
