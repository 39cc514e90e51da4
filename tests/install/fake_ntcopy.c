/* A stand-in libntcopy.so.0 whose choice differs from any real selection, so
 * that ntcopy-info's comparison (exit status 3) and its handling of the
 * library's stderr can be tested. */
#include <stddef.h>
#include <stdio.h>

__attribute__((constructor)) static void print_at_load(void) {
  fputs("ntcopy: the stand-in library's warning\n", stderr);
  fputs("not a warning of the library\n", stderr);
}

const char *ntc_kernel(void) { return "generic"; }

size_t ntc_kernels(const char **names, size_t max) {
  if (names != NULL && max > 0) names[0] = "generic";
  return 1;
}

size_t ntc_nt_threshold(void) { return 12345; }
