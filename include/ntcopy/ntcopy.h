/* ntcopy — runtime-dispatched streaming fill and copy.
 *
 * Stable C ABI. Every function is thread-safe. Functions that can fail return
 * -1 (or NULL for ntc_memcpy), set errno, and write nothing. Once the library
 * has initialised, the data functions and ntc_kernel are async-signal-safe
 * (ntc_fill_patched if its callback is), except with templates over 8 KiB;
 * docs/api.md has the details.
 *
 * Kernel families, best first: "avx512", "avx", "movnti" (x86-64 only) and
 * "generic" (plain stores, every target). The library picks the best family the
 * CPU and OS support when it is loaded; NTCOPY_KERNEL, NTCOPY_NT_THRESHOLD and
 * NTCOPY_CPU_MASK override that choice (see docs/ and the README).
 */
#ifndef NTCOPY_NTCOPY_H
#define NTCOPY_NTCOPY_H

#include <stddef.h>

#if defined(_WIN32) || !defined(__GNUC__)
#define NTC_API
#else
#define NTC_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Flags, combinable with |. 0 = stream when the call writes at least
 * ntc_nt_threshold() bytes, regular stores below that. */
#define NTC_F_NONTEMPORAL 1u /* stream regardless of size */
#define NTC_F_TEMPORAL 2u    /* regular cached stores regardless of size */
#define NTC_F_NODRAIN 4u     /* no fence after streaming stores: call ntc_drain() before dependent stores */

/* Writes `count` consecutive copies of the `size`-byte template at dst (element i
 * at dst + i*size). Exactly [dst, dst + size*count) is written. Any alignment;
 * tmpl may overlap the destination (its value at entry is replicated).
 * Returns 0, or -1 with errno:
 *   EINVAL     unknown flag bits, both TEMPORAL and NONTEMPORAL, size == 0, or a
 *              NULL dst/tmpl with count > 0;
 *   EOVERFLOW  size*count overflows, or dst + size*count or tmpl + size wraps
 *              the address space;
 *   ENOMEM     a template larger than 8 KiB overlaps the destination and could
 *              not be copied aside. */
NTC_API int ntc_fill(void *dst, const void *tmpl, size_t size, size_t count, unsigned flags);

/* Called with `n` fresh copies of the template (elements first .. first+n-1) in a
 * private, cache-resident staging buffer aligned to 64 bytes; it may change any
 * byte of them before they are stored. Batches cover every index exactly once,
 * in ascending order. It runs on the calling thread before ntc_fill_patched
 * returns, and must not access the destination or the template: stores to the
 * destination lag behind the batches by up to one cache line. */
typedef void (*ntc_patch_fn)(void *elems, size_t first, size_t n, size_t size, void *ctx);

/* As ntc_fill, but each element passes through `patch` before it is stored.
 * Extra errors: EINVAL for a NULL patch; ENOMEM when a template larger than the
 * staging buffer (8 KiB) needs a heap buffer that cannot be allocated. */
NTC_API int ntc_fill_patched(void *dst, const void *tmpl, size_t size, size_t count,
                             ntc_patch_fn patch, void *ctx, unsigned flags);

/* Copies n bytes from src to dst; the ranges may overlap (memmove semantics).
 * Returns dst, or NULL with errno EINVAL (bad flags, NULL with n > 0) or
 * EOVERFLOW (a range wraps the address space), having written nothing. */
NTC_API void *ntc_memcpy(void *dst, const void *src, size_t n, unsigned flags);

/* Orders all earlier streaming stores of the calling thread before its later
 * stores (SFENCE on x86). Publishing to another thread still needs a release
 * store (or stronger) after it. */
NTC_API void ntc_drain(void);

/* Name of the active family: "generic", "movnti", "avx" or "avx512". */
NTC_API const char *ntc_kernel(void);

/* Makes `name` ("auto" or a family) the active family for all threads. Returns 0,
 * or -1 with errno EINVAL (NULL or unknown name) or ENOTSUP (this CPU or OS lacks
 * it); on failure the active family is unchanged. */
NTC_API int ntc_use_kernel(const char *name);

/* Stores up to `max` names of the families this CPU supports, best first, into
 * names (which may be NULL when max is 0); returns how many there are. */
NTC_API size_t ntc_kernels(const char **names, size_t max);

/* Bytes: with flags 0, calls that write at least this much use streaming stores. */
NTC_API size_t ntc_nt_threshold(void);

#ifdef __cplusplus
}
#endif

#endif /* NTCOPY_NTCOPY_H */
