/* A stand-in libntcopy.so.0 whose choice differs from any real selection in
 * all four respects ntcopy-info compares (family, supported families,
 * threshold, warnings), so that the comparison (exit status 3) and the
 * handling of the library's stderr can be tested on any machine. */
#include <stddef.h>
#include <stdio.h>

__attribute__((constructor)) static void print_at_load(void) {
  fputs("ntcopy: the stand-in library's warning\n", stderr);
  fputs("not a warning of the library\n", stderr);
}

const char *ntc_kernel(void) { return "stand-in"; }

size_t ntc_kernels(const char **names, size_t max) {
  if (names != NULL && max > 0) names[0] = "stand-in";
  return 1;
}

size_t ntc_nt_threshold(void) { return 12345; }
