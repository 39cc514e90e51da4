/* Every function of ntcopy's C API once: the lines README.md shows, then the
 * error convention and the drain-then-publish pattern that docs/api.md shows,
 * each followed by a check of what it did. */
#include <errno.h>
#include <ntcopy/ntcopy.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct item { /* 24 bytes: elements straddle cache lines */
  uint64_t key;
  uint64_t value;
  uint32_t flags;
  uint32_t index;
};

/* The patch callback: number the elements of one batch. */
static void patch(void *elems, size_t first, size_t n, size_t size, void *ctx) {
  struct item *items = elems;
  (void)size;
  (void)ctx;
  for (size_t i = 0; i < n; ++i) items[i].index = (uint32_t)(first + i);
}

static atomic_int ready; /* what a consumer thread would wait for */

static int check(int ok, const char *what) {
  if (!ok) fprintf(stderr, "api_tour: %s is wrong\n", what);
  return ok;
}

int main(void) {
  enum { count = 100000 };
  const size_t n = count * sizeof(struct item);
  struct item *dst = malloc(n), *src = malloc(n), *out = malloc(n);
  const struct item tmpl = {0x1234, 42, 1, 0}, t = {7, 7, 7, 7};
  void *ctx = NULL;
  int ok = 1;
  if (dst == NULL || src == NULL || out == NULL) return 1;

  /* The API in ten lines (README.md). */
  /* clang-format off */
  ntc_fill(dst, &tmpl, sizeof tmpl, count, 0);    /* count copies of tmpl at dst */
  ntc_fill_patched(src, &tmpl, sizeof tmpl, count, patch, ctx, 0); /* patch(elems, first, n, size, ctx) per batch */
  ntc_memcpy(dst, src, n, 0);                     /* memmove semantics, returns dst */
  ntc_fill(out, &t, sizeof t, count, NTC_F_NONTEMPORAL | NTC_F_NODRAIN); /* always stream, no fence ... */
  ntc_drain();                                    /* ... until here (SFENCE) */
  ntc_kernel();                                   /* "avx512", "avx", "movnti" or "generic" */
  ntc_use_kernel("movnti");                       /* 0, or -1 with errno EINVAL/ENOTSUP */
  ntc_nt_threshold();                             /* flags 0 stream from this many bytes */
  /* clang-format on */

  for (size_t i = 0; i < count && ok; ++i)
    ok = check(dst[i].index == i && dst[i].key == tmpl.key && out[i].value == 7, "a fill");

  /* Errors (docs/api.md): -1 or NULL, errno set, nothing written. */
  if (ntc_fill(dst, &tmpl, 0, count, 0) != 0)
    printf("ntc_fill with size 0: %s\n", strerror(errno)); /* EINVAL */
  if (ntc_use_kernel("sse9") != 0)
    printf("ntc_use_kernel(\"sse9\"): %s\n", strerror(errno)); /* EINVAL */
  ok = ok && check(dst[0].index == 0 && dst[1].index == 1, "dst after the errors");

  /* Publishing (docs/api.md): several fills without a fence each, one drain,
   * then a release store that a consumer reads with an acquire load. */
  const unsigned flags = NTC_F_NONTEMPORAL | NTC_F_NODRAIN;
  if (ntc_fill(dst, &t, sizeof t, count, flags) != 0 ||
      ntc_fill(src, &tmpl, sizeof tmpl, count, flags) != 0)
    return 1;
  ntc_drain();
  atomic_store_explicit(&ready, 1, memory_order_release);
  ok = ok && check(atomic_load_explicit(&ready, memory_order_acquire) == 1 &&
                       dst[count - 1].key == 7 && src[count - 1].key == tmpl.key,
                   "the published arrays");

  /* The families this CPU supports, best first. */
  const char *names[8];
  const size_t families = ntc_kernels(names, 8);
  for (size_t i = 0; i < families && i < 8; ++i) printf("%s%s", i ? ", " : "families: ", names[i]);
  printf("\nactive: %s; streaming from %zu bytes with flags 0\n", ntc_kernel(), ntc_nt_threshold());

  free(dst);
  free(src);
  free(out);
  if (!ok) return 1;
  printf("api_tour: every call did what docs/api.md says\n");
  return 0;
}
