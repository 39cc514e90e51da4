// doctest's main(), shared by the test executables.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

// In a sanitizer build, make every UBSan finding fatal (by default UBSan
// reports and carries on, so the test would still pass). Unused otherwise.
extern "C" __attribute__((visibility("default"), used)) const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1";
}
