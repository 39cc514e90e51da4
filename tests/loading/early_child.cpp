// Helper for loading_test.cpp: linked with libntcopy and then
// libntcopy_early_probe (see early_lib.cpp for why that order makes the
// library's constructor run before ntcopy's). With NTC_EARLY_MODE=preinit,
// this executable's .preinit_array function makes the first ntcopy calls
// instead: the gABI runs it before the initialisation of any shared object.
// main() prints what the early calls found ("early: ...") and what the
// library says now ("main: ...").
#include <ntcopy/ntcopy.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "child_checks.h"

extern "C" void ntc_test_early_calls(const char* who);
extern "C" const char* ntc_test_early_report();

namespace {

void preinit(int, char**, char** envp) {
  alarm(60);  // a deadlock ends the process (SIGALRM) instead of the test run
  init_sanitizer_runtime();
  for (char** e = envp; *e != nullptr; ++e)
    if (std::strcmp(*e, "NTC_EARLY_MODE=preinit") == 0) ntc_test_early_calls("preinit_array");
}

}  // namespace

__attribute__((section(".preinit_array"),
               used)) void (*const ntc_test_preinit_entry)(int, char**, char**) = preinit;

int main() {
  std::printf("early: %s\n", ntc_test_early_report());
  std::printf("main: kernel=%s threshold=%zu\n", ntc_kernel(), ntc_nt_threshold());
  return 0;
}
