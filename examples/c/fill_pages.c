/* Initialises an array of 64-byte page descriptors from one template, with the
 * per-page fields (the page frame number) set in each batch before it is
 * stored: the memmap scenario, through ntcopy's C API. */
#include <errno.h>
#include <ntcopy/ntcopy.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct page { /* 64 bytes, like Linux's struct page */
  uint64_t flags;
  uint64_t pgmap;
  uint64_t zone_device_data;
  uint32_t refcount;
  uint32_t mapcount;
  uint64_t pfn;
  uint64_t reserved[3];
};
_Static_assert(sizeof(struct page) == 64, "one descriptor per cache line");

static void set_pfn(void *elems, size_t first, size_t n, size_t size, void *ctx) {
  struct page *p = elems;
  uint64_t base_pfn = *(const uint64_t *)ctx;
  (void)size;
  for (size_t i = 0; i < n; ++i) p[i].pfn = base_pfn + first + i;
}

int main(void) {
  const size_t count = 1u << 20; /* 64 MiB of descriptors */
  struct page *pages = malloc(count * sizeof *pages);
  struct page tmpl;
  uint64_t base_pfn = 0x100000;
  if (pages == NULL) return 1;
  memset(&tmpl, 0, sizeof tmpl);
  tmpl.flags = 0x0a00000000000200u;
  tmpl.pgmap = 0xffff888000001000u;
  tmpl.refcount = 1;
  if (ntc_fill_patched(pages, &tmpl, sizeof tmpl, count, set_pfn, &base_pfn, 0) != 0) {
    fprintf(stderr, "ntc_fill_patched: %s\n", strerror(errno));
    return 1;
  }
  for (size_t i = 0; i < count; ++i) {
    if (pages[i].pfn != base_pfn + i || pages[i].flags != tmpl.flags || pages[i].refcount != 1) {
      fprintf(stderr, "page %zu is wrong\n", i);
      return 1;
    }
  }
  printf("fill_pages (C): %zu pages initialised with the %s kernel\n", count, ntc_kernel());
  free(pages);
  return 0;
}
