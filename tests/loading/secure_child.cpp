// Helper for loading_test.cpp's secure-mode test: reports whether the kernel
// marked this process secure (AT_SECURE, as for a setuid program), whether
// NTCOPY_KERNEL is in its environment and visible to secure_getenv, and what
// ntcopy chose:
//   at_secure=0|1 env=set|unset secure_env=set|unset kernel=K threshold=T checks=ok|<what>
// It writes nothing to stderr itself. It ends with _exit, so that a sanitizer
// runtime does not run its exit-time checks in a setuid process.
#include <sys/auxv.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "child_checks.h"

int main() {
  alarm(60);  // a hang ends the process (SIGALRM) instead of the test run
  const unsigned long secure = getauxval(AT_SECURE);
  const bool env = std::getenv("NTCOPY_KERNEL") != nullptr;
  const bool secure_env = secure_getenv("NTCOPY_KERNEL") != nullptr;
  const char* checks = ntc_child::check_all(ntc_child::linked_api());
  std::printf("at_secure=%lu env=%s secure_env=%s kernel=%s threshold=%zu checks=%s\n", secure,
              env ? "set" : "unset", secure_env ? "set" : "unset", ntc_kernel(), ntc_nt_threshold(),
              checks == nullptr ? "ok" : checks);
  std::fflush(stdout);
  _exit(checks == nullptr ? 0 : 1);
}
