// The interface every kernel family implements, one table per family.
#ifndef NTCOPY_KERNELS_KERNEL_TABLE_H
#define NTCOPY_KERNELS_KERNEL_TABLE_H

#include <ntcopy/ntcopy.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ntcopy {

// Regular (cached) stores, or streaming (non-temporal) stores for the aligned
// body of the destination. Streaming calls do not fence: the caller drains.
enum class Stores : bool { regular, streaming };

// Ranges shorter than this get regular stores only, whatever was asked (fills
// are written by write_pattern or fill_tiling_template, copies by
// move_bytes), so they need no drain afterwards.
inline constexpr std::size_t kMinStreamed = 256;

// Staging memory for a patched fill, owned by the caller: data is aligned to
// 64 and holds 64 + elems * size bytes.
struct Staging {
  unsigned char* data;
  std::size_t elems;  // elements per batch, >= 1, elems * size >= 64
};

struct KernelTable {
  const char* name;
  // Preconditions for all: the ranges are valid and do not wrap; the template
  // or source does not overlap the destination; count, n may be 0.
  void (*fill)(unsigned char* dst, const unsigned char* tmpl, std::size_t size, std::size_t count,
               Stores stores);
  void (*fill_patched)(unsigned char* dst, const unsigned char* tmpl, std::size_t size,
                       std::size_t count, ntc_patch_fn patch, void* ctx, Staging staging,
                       Stores stores);
  // Streaming copy; the ranges must not overlap.
  void (*copy_streaming)(unsigned char* dst, const unsigned char* src, std::size_t n);
  // memmove with regular stores (any overlap); returns dst.
  void* (*move)(void* dst, const void* src, std::size_t n);
  // Orders this thread's earlier streaming stores before its later stores.
  void (*drain)();
  // The bound of the fast path of the family's entries (see below).
  std::atomic<std::size_t>* fast_path_below;
};

// Each family also has its own entries for ntc_memcpy and ntc_fill,
// memcpy_entry and fill_entry (declared below), which the loader may bind
// those symbols to (api.cpp), so that a short call pays no table load and no
// indirect call, as a call of glibc's memcpy pays none. An entry does the work
// straight away, with the family's regular stores, when flags are 0, the
// pointers are valid, the bytes written are fewer than *fast_path_below and,
// for a fill, the template lies outside the destination; anything else goes
// to memcpy_checked or fill_checked. Dispatch keeps *fast_path_below at 0
// unless the family is the active one, so an entry never works for another
// family.
using MemcpyEntry = void* (*)(void* dst, const void* src, std::size_t n, unsigned flags);
using FillEntry = int (*)(void* dst, const void* tmpl, std::size_t size, std::size_t count,
                          unsigned flags);

// The largest *fast_path_below: no range shorter than this that starts in the
// bottom half of the address space wraps.
inline constexpr std::size_t kMaxFastPath = SIZE_MAX / 2 + 1;

// ntc_memcpy and ntc_fill with every check, through the active table,
// initialising the library first if needed (api.cpp).
void* memcpy_checked(void* dst, const void* src, std::size_t n, unsigned flags);
int fill_checked(void* dst, const void* tmpl, std::size_t size, std::size_t count,
                 unsigned flags);

#if defined(NTCOPY_X86_64)
// The entries the loader binds ntc_memcpy and ntc_fill to: the best family's
// that the CPU has (api.cpp).
MemcpyEntry memcpy_entry_for_cpu();
FillEntry fill_entry_for_cpu();
#endif

// Each family's table and entries.
#define NTCOPY_DECLARE_FAMILY(isa)                                                       \
  namespace isa {                                                                         \
  extern const KernelTable kTable;                                                        \
  void* memcpy_entry(void* dst, const void* src, std::size_t n, unsigned flags);          \
  int fill_entry(void* dst, const void* tmpl, std::size_t size, std::size_t count,        \
                 unsigned flags);                                                         \
  }
NTCOPY_DECLARE_FAMILY(generic)
#if defined(NTCOPY_X86_64)
NTCOPY_DECLARE_FAMILY(movnti)
NTCOPY_DECLARE_FAMILY(avx)
NTCOPY_DECLARE_FAMILY(avx512)
#endif
#undef NTCOPY_DECLARE_FAMILY

}  // namespace ntcopy

#endif  // NTCOPY_KERNELS_KERNEL_TABLE_H
