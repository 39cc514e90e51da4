// The active kernel table and threshold, shared by the public entry points.
#ifndef NTCOPY_SRC_DISPATCH_H
#define NTCOPY_SRC_DISPATCH_H

#include <atomic>
#include <cstddef>

#include "kernel_table.h"

namespace ntcopy {

// Null until the library has initialised (normally in its load-time
// constructor). Switching families is one atomic store of this pointer, so a
// concurrent call uses the old table or the new one, never a mix.
extern std::atomic<const KernelTable*> g_active_table;
// Bytes from which flags-0 calls stream. Reads 0 until initialisation, so a
// fast path that tests `n < g_nt_threshold` falls through to the checked path
// (which initialises) on the first calls.
extern std::atomic<std::size_t> g_nt_threshold;

// Probes the CPU, reads the environment and publishes the table, once; safe to
// call from any thread and from other libraries' constructors.
const KernelTable* initialize();

inline const KernelTable* active_table() {
  const KernelTable* t = g_active_table.load(std::memory_order_acquire);
  return t != nullptr ? t : initialize();
}

// Precondition: active_table() has returned (initialisation happened before).
inline std::size_t nt_threshold_after_init() {
  return g_nt_threshold.load(std::memory_order_relaxed);
}

}  // namespace ntcopy

#endif  // NTCOPY_SRC_DISPATCH_H
