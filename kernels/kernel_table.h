// The interface every kernel family implements, one table per family.
#ifndef NTCOPY_KERNELS_KERNEL_TABLE_H
#define NTCOPY_KERNELS_KERNEL_TABLE_H

#include <ntcopy/ntcopy.h>

#include <cstddef>

namespace ntcopy {

// Regular (cached) stores, or streaming (non-temporal) stores for the aligned
// body of the destination. Streaming calls do not fence: the caller drains.
enum class Stores : bool { regular, streaming };

// Ranges shorter than this get regular stores only, whatever was asked (fills
// are written by write_pattern alone, copies by move_bytes), so they need no
// drain afterwards.
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
};

namespace generic {
extern const KernelTable kTable;
}
#if defined(NTCOPY_X86_64)
namespace movnti {
extern const KernelTable kTable;
}
namespace avx {
extern const KernelTable kTable;
}
namespace avx512 {
extern const KernelTable kTable;
}
#endif

}  // namespace ntcopy

#endif  // NTCOPY_KERNELS_KERNEL_TABLE_H
