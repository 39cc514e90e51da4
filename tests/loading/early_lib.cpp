// libntcopy_early_probe.so, for loading_test.cpp: makes a process's first
// ntcopy calls before ntcopy's own load-time constructor has run.
//
// This library has no DT_NEEDED entry for libntcopy (it is linked without
// it; its ntc_* references are resolved in the global scope at run time), so
// the ELF rule "an object's dependencies are initialised before it" does not
// order it after libntcopy. The test executable lists libntcopy first and this
// library second in its DT_NEEDED entries; glibc initialises independent
// dependencies in the reverse of that order, so this library's constructor
// runs first. That is a property of the loader, not a guarantee of the gABI,
// so the test proves it every time: the calls below print a marker line on
// stderr before and after the first one, and ntcopy's initialisation prints
// its one warning line for a bad NTCOPY_NT_THRESHOLD, which the test requires
// to appear between the two markers (initialised by this call, not earlier).
//
// ntc_test_early_calls() is also called from the executable's .preinit_array
// (which the gABI runs before every shared object's initialisation), the
// second way to get in first. NTC_EARLY_MODE picks which of the two calls it
// ("ctor" or "preinit"); NTC_EARLY_FIRST picks which entry point is the first
// call: kernel, threshold, fill, patched, memcpy, kernels, use_kernel or drain.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "child_checks.h"

namespace {

char g_report[512];

void say(const char* who, const char* what) {
  char line[160];
  const int n = std::snprintf(line, sizeof line, "ntcopy early call from %s: %s\n", who, what);
  if (n > 0) (void)!write(2, line, static_cast<std::size_t>(n));
}

// The first call, chosen by name; returns false for an unknown name.
bool first_call(const char* which) {
  const ntc_child::Api api = ntc_child::linked_api();
  unsigned char buf[256];
  const unsigned char tmpl[3] = {1, 2, 3};
  if (std::strcmp(which, "kernel") == 0) return ntc_kernel() != nullptr;
  if (std::strcmp(which, "threshold") == 0) return (void)ntc_nt_threshold(), true;
  if (std::strcmp(which, "fill") == 0) return ntc_fill(buf, tmpl, 3, 50, 0) == 0;
  if (std::strcmp(which, "patched") == 0)
    return ntc_fill_patched(buf, tmpl, 3, 50, ntc_child::mark_patch, nullptr, 0) == 0;
  if (std::strcmp(which, "memcpy") == 0) return api.memcpy(buf, tmpl, 3, 0) == buf;
  if (std::strcmp(which, "kernels") == 0) return ntc_kernels(nullptr, 0) > 0;
  if (std::strcmp(which, "use_kernel") == 0) return ntc_use_kernel("no-such-family") == -1;
  if (std::strcmp(which, "drain") == 0) return ntc_drain(), true;
  return false;
}

}  // namespace

// Makes the first ntcopy calls of the process and records the outcome for
// ntc_test_early_report(). `who` names the caller in the marker lines.
extern "C" __attribute__((visibility("default"))) void ntc_test_early_calls(const char* who) {
  const char* which = std::getenv("NTC_EARLY_FIRST");
  if (which == nullptr) which = "kernel";
  say(who, "start");
  const bool ok = first_call(which);
  say(who, "done");
  const char* checks = ntc_child::check_all(ntc_child::linked_api());
  std::snprintf(g_report, sizeof g_report,
                "who=%s first=%s first_ok=%d kernel=%s threshold=%zu checks=%s", who, which,
                ok ? 1 : 0, ntc_kernel(), ntc_nt_threshold(), checks == nullptr ? "ok" : checks);
}

// "" until ntc_test_early_calls has run, then what it found.
extern "C" __attribute__((visibility("default"))) const char* ntc_test_early_report() {
  return g_report;
}

__attribute__((constructor)) static void early_constructor() {
  const char* mode = std::getenv("NTC_EARLY_MODE");
  if (mode != nullptr && std::strcmp(mode, "ctor") == 0)
    ntc_test_early_calls("library constructor");
}
