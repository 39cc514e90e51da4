// The data-moving entry points: argument checks, the stores decision, and the
// buffers (template copy, staging) that the kernels need; the work itself goes
// through the active kernel table.
#include <ntcopy/ntcopy.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "dispatch.h"

namespace ntcopy {
namespace {

constexpr unsigned kAllFlags = NTC_F_NONTEMPORAL | NTC_F_TEMPORAL | NTC_F_NODRAIN;
constexpr std::size_t kLine = 64;
// Templates up to this size are copied aside on the stack; patched fills
// stage batches of about this many bytes.
constexpr std::size_t kStackBytes = 8192;
// Overlapping streaming copies move at least this much per step; closer ranges
// are left to memmove.
constexpr std::size_t kMinOverlapStep = std::size_t{64} << 10;

bool flags_valid(unsigned flags) {
  return (flags & ~kAllFlags) == 0 &&
         (flags & (NTC_F_NONTEMPORAL | NTC_F_TEMPORAL)) != (NTC_F_NONTEMPORAL | NTC_F_TEMPORAL);
}

// True when [p, p + n) does not fit below the top of the address space.
bool wraps(const void* p, std::size_t n) {
  return n > UINTPTR_MAX - reinterpret_cast<std::uintptr_t>(p);
}

bool overlaps(const void* a, std::size_t an, const void* b, std::size_t bn) {
  auto x = reinterpret_cast<std::uintptr_t>(a), y = reinterpret_cast<std::uintptr_t>(b);
  return x < y + bn && y < x + an;
}

// Precondition: active_table() has returned.
Stores stores_for(unsigned flags, std::size_t bytes) {
  if (bytes < kMinStreamed) return Stores::regular;
  if (flags & NTC_F_NONTEMPORAL) return Stores::streaming;
  if (flags & NTC_F_TEMPORAL) return Stores::regular;
  return bytes >= nt_threshold_after_init() ? Stores::streaming : Stores::regular;
}

void drain_if_needed(const KernelTable* t, Stores stores, unsigned flags) {
  if (stores == Stores::streaming && !(flags & NTC_F_NODRAIN)) t->drain();
}

int fail(int error) {
  errno = error;
  return -1;
}

struct FreeDeleter {
  void operator()(unsigned char* p) const { std::free(p); }
};
using HeapBytes = std::unique_ptr<unsigned char, FreeDeleter>;

// At least `bytes` bytes aligned to a line, or null.
HeapBytes allocate_lines(std::size_t bytes) {
  if (bytes > SIZE_MAX - kLine) return nullptr;
  const std::size_t rounded = (bytes + kLine - 1) & ~(kLine - 1);
  return HeapBytes(static_cast<unsigned char*>(std::aligned_alloc(kLine, rounded)));
}

// The checks shared by both fills. Returns 0 and sets *total, or an errno value.
int check_fill(const void* dst, const void* tmpl, std::size_t size, std::size_t count,
               unsigned flags, std::size_t* total) {
  if (!flags_valid(flags) || size == 0) return EINVAL;
  if (count == 0) {
    *total = 0;
    return 0;
  }
  if (dst == nullptr || tmpl == nullptr) return EINVAL;
  if (count > SIZE_MAX / size || wraps(dst, size * count) || wraps(tmpl, size)) return EOVERFLOW;
  *total = size * count;
  return 0;
}

// The template's value at entry, where the fill cannot overwrite it: the
// template itself when it lies outside the destination, else a copy.
class TemplateAtEntry {
 public:
  // Returns false (no memory) only for a large template inside the destination.
  bool take(const unsigned char* tmpl, std::size_t size, const unsigned char* dst,
            std::size_t total) {
    ptr_ = tmpl;
    if (!overlaps(tmpl, size, dst, total)) return true;
    unsigned char* copy = local_;
    if (size > sizeof local_) {
      heap_ = allocate_lines(size);
      if (!heap_) return false;
      copy = heap_.get();
    }
    std::memcpy(copy, tmpl, size);
    ptr_ = copy;
    return true;
  }
  const unsigned char* get() const { return ptr_; }

 private:
  alignas(kLine) unsigned char local_[kStackBytes];
  HeapBytes heap_;
  const unsigned char* ptr_ = nullptr;
};

[[gnu::cold, gnu::noinline]] void* fail_null(int error) {
  errno = error;
  return nullptr;
}

// The streaming side of ntc_memcpy (memcpy_checked): overlapping ranges are
// copied in non-overlapping steps.
void* copy_streaming(const KernelTable* table, void* dst, const void* src, std::size_t n,
                     unsigned flags) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  const std::size_t distance =
      d > s ? static_cast<std::size_t>(d - s) : static_cast<std::size_t>(s - d);
  if (distance >= n) {
    table->copy_streaming(d, s, n);
  } else if (distance < kMinOverlapStep) {
    std::memmove(d, s, n);
  } else if (d < s) {
    // Forward in steps of `distance`: each step's source lies past everything
    // written so far, and its destination ends where its source begins.
    for (std::size_t done = 0; done < n; done += distance)
      table->copy_streaming(d + done, s + done, std::min(distance, n - done));
  } else {
    // Backward in steps of `distance`, for the mirror-image reason.
    for (std::size_t left = n; left > 0;) {
      const std::size_t step = std::min(distance, left);
      left -= step;
      table->copy_streaming(d + left, s + left, step);
    }
  }
  drain_if_needed(table, Stores::streaming, flags);
  return dst;
}

}  // namespace
}  // namespace ntcopy

using namespace ntcopy;

int ntcopy::fill_checked(void* dst, const void* tmpl, size_t size, size_t count, unsigned flags) {
  std::size_t total = 0;
  if (int error = check_fill(dst, tmpl, size, count, flags, &total)) return fail(error);
  if (total == 0) return 0;
  auto* d = static_cast<unsigned char*>(dst);
  TemplateAtEntry t;
  if (!t.take(static_cast<const unsigned char*>(tmpl), size, d, total)) return fail(ENOMEM);
  const KernelTable* table = active_table();
  const Stores stores = stores_for(flags, total);
  table->fill(d, t.get(), size, count, stores);
  drain_if_needed(table, stores, flags);
  return 0;
}

extern "C" int ntc_fill_patched(void* dst, const void* tmpl, size_t size, size_t count,
                                ntc_patch_fn patch, void* ctx, unsigned flags) {
  std::size_t total = 0;
  if (int error = check_fill(dst, tmpl, size, count, flags, &total)) return fail(error);
  if (patch == nullptr) return fail(EINVAL);
  if (total == 0) return 0;
  auto* d = static_cast<unsigned char*>(dst);
  TemplateAtEntry t;
  if (!t.take(static_cast<const unsigned char*>(tmpl), size, d, total)) return fail(ENOMEM);

  // Batches of about kStackBytes, and never under one line, so every batch but
  // the last reaches a line boundary of the destination.
  Staging staging{};
  staging.elems = std::max((kLine + size - 1) / size, kStackBytes / size);
  const std::size_t staging_bytes = kLine + staging.elems * size;
  alignas(kLine) unsigned char local[kLine + kStackBytes];
  HeapBytes heap;
  staging.data = local;
  if (staging_bytes > sizeof local) {
    heap = allocate_lines(staging_bytes);
    if (!heap) return fail(ENOMEM);
    staging.data = heap.get();
  }

  const KernelTable* table = active_table();
  const Stores stores = stores_for(flags, total);
  table->fill_patched(d, t.get(), size, count, patch, ctx, staging, stores);
  drain_if_needed(table, stores, flags);
  return 0;
}

namespace ntcopy {
void* memcpy_checked(void* dst, const void* src, std::size_t n, unsigned flags) {
  const KernelTable* table = active_table();
  if (!flags_valid(flags)) return fail_null(EINVAL);
  if (n == 0) return dst;
  if (dst == nullptr || src == nullptr) return fail_null(EINVAL);
  if (wraps(dst, n) || wraps(src, n)) return fail_null(EOVERFLOW);
  if (stores_for(flags, n) == Stores::streaming) return copy_streaming(table, dst, src, n, flags);
  return table->move(dst, src, n);
}
}  // namespace ntcopy

// ntc_memcpy and ntc_fill are one family's entries (kernel_table.h), chosen
// once. On x86-64 the dynamic loader binds each symbol to the entry of the
// best family the CPU has, as glibc binds memcpy, so a short call pays no table
// load and no indirect call. The choice only decides which entries' fast path
// can open: an entry works for its own family alone, so NTCOPY_KERNEL,
// NTCOPY_CPU_MASK and ntc_use_kernel hold whatever entry the loader bound.
#if defined(NTCOPY_X86_64)
// Code that runs inside the loader's relocation, before the sanitizer runtimes
// are ready: no instrumentation at all. Clang 14 needs both attributes:
// no_sanitize("thread") alone still calls __tsan_func_entry, and
// disable_sanitizer_instrumentation alone still checks ASan's shadow memory;
// either crashes there.
#if defined(__clang__)
#define NTCOPY_UNINSTRUMENTED \
  __attribute__((no_sanitize("address", "thread", "undefined"), disable_sanitizer_instrumentation))
#else
#define NTCOPY_UNINSTRUMENTED __attribute__((no_sanitize("address", "thread", "undefined")))
#endif
namespace ntcopy {
namespace {
// Runs inside the loader's relocation, possibly before this library's own
// relocations and constructors: it reads CPUID and XCR0 through libgcc (which,
// like cpu_features, counts a vector ISA only when the OS saves its registers)
// and takes addresses, nothing else.
template <class Entry>
NTCOPY_UNINSTRUMENTED Entry best_for_cpu(Entry avx512_entry, Entry avx_entry, Entry movnti_entry) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return avx512_entry;
  if (__builtin_cpu_supports("avx")) return avx_entry;
  return movnti_entry;
}
}  // namespace

NTCOPY_UNINSTRUMENTED MemcpyEntry memcpy_entry_for_cpu() {
  return best_for_cpu<MemcpyEntry>(avx512::memcpy_entry, avx::memcpy_entry, movnti::memcpy_entry);
}
NTCOPY_UNINSTRUMENTED FillEntry fill_entry_for_cpu() {
  return best_for_cpu<FillEntry>(avx512::fill_entry, avx::fill_entry, movnti::fill_entry);
}
}  // namespace ntcopy

// Not static: clang looks an ifunc's resolver up by its C++-mangled name when
// it has internal linkage. Hidden like everything but the ntc_ functions.
extern "C" NTCOPY_UNINSTRUMENTED ntcopy::MemcpyEntry resolve_ntc_memcpy() {
  return ntcopy::memcpy_entry_for_cpu();
}
extern "C" NTCOPY_UNINSTRUMENTED ntcopy::FillEntry resolve_ntc_fill() {
  return ntcopy::fill_entry_for_cpu();
}
extern "C" void* ntc_memcpy(void* dst, const void* src, size_t n, unsigned flags)
    __attribute__((ifunc("resolve_ntc_memcpy")));
extern "C" int ntc_fill(void* dst, const void* tmpl, size_t size, size_t count, unsigned flags)
    __attribute__((ifunc("resolve_ntc_fill")));
#undef NTCOPY_UNINSTRUMENTED
#else
extern "C" void* ntc_memcpy(void* dst, const void* src, size_t n, unsigned flags) {
  return generic::memcpy_entry(dst, src, n, flags);
}
extern "C" int ntc_fill(void* dst, const void* tmpl, size_t size, size_t count, unsigned flags) {
  return generic::fill_entry(dst, tmpl, size, count, flags);
}
#endif

extern "C" void ntc_drain(void) { active_table()->drain(); }
