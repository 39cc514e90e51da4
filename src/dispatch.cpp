// Dispatch, top to bottom: the atomic pointer to the active table, each
// family's table, initialisation (probe the CPU, then select: a pure function
// of CPU features and environment, in select.cpp, which also holds the
// families' priority order), and the public calls that read or change it.
#include "dispatch.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

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

// One line on stderr for each rejected environment value.
void warn(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

// The variables are ignored in setuid/setgid programs, as glibc's tunables are.
const char* env(const char* name) { return secure_getenv(name); }

void initialize_once() {
  const Selection s = make_selection(
      probe_cpu(), {env("NTCOPY_KERNEL"), env("NTCOPY_NT_THRESHOLD"), env("NTCOPY_CPU_MASK")});
  for (const std::string& line : s.warnings) warn(line);
  g_cpu = s.cpu;  // what NTCOPY_CPU_MASK leaves: ntc_use_kernel honours the mask too
  g_nt_threshold.store(s.threshold.bytes, std::memory_order_relaxed);
  g_active_table.store(table_of(s.family), std::memory_order_release);
}

// Runs when the library is loaded; a call that arrives earlier (from another
// library's constructor) initialises through active_table() instead.
__attribute__((constructor)) void initialize_at_load() { initialize(); }

}  // namespace

const KernelTable* initialize() {
  std::call_once(g_init_once, initialize_once);
  return g_active_table.load(std::memory_order_acquire);
}

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
  g_active_table.store(table_of(*family), std::memory_order_release);
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
