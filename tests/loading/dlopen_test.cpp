// 1,000 dlopen/dlclose cycles of libntcopy.so with calls in between. This
// executable is not linked with libntcopy, so each dlopen loads it afresh
// (constructor, CPU probe, environment) and each dlclose unloads it; the test
// checks that it really is unloaded, that every cycle starts from the
// library's defaults, and that nothing accumulates: open files, mappings,
// heap. In sanitizer builds LeakSanitizer also checks the heap (at the end of
// this test and again at exit), so a leak in load, use or unload fails it.
#include <dirent.h>
#include <dlfcn.h>
#include <doctest/doctest.h>
#include <malloc.h>

#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "child_checks.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define NTC_TEST_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define NTC_TEST_LSAN 1
#endif
#ifdef NTC_TEST_LSAN
#include <sanitizer/allocator_interface.h>
#include <sanitizer/lsan_interface.h>
#endif

#ifndef NTCOPY_LIBRARY
#error "NTCOPY_LIBRARY must name libntcopy.so"
#endif

namespace {

// The library's entry points, looked up in one loaded instance.
struct Loaded {
  void* handle = nullptr;
  ntc_child::Api api{};
  const char* (*kernel)() = nullptr;
  int (*use_kernel)(const char*) = nullptr;
  size_t (*kernels)(const char**, size_t) = nullptr;
  size_t (*nt_threshold)() = nullptr;
};

template <class F>
void resolve(void* handle, const char* name, F& out) {
  void* p = dlsym(handle, name);
  INFO("dlsym(", std::string(name), "): ", std::string(p == nullptr ? dlerror() : "ok"));
  REQUIRE(p != nullptr);
  out = reinterpret_cast<F>(p);
}

Loaded open_library() {
  Loaded l;
  l.handle = dlopen(NTCOPY_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  const char* err = l.handle == nullptr ? dlerror() : nullptr;
  INFO("dlopen(", NTCOPY_LIBRARY, "): ", std::string(err == nullptr ? "ok" : err));
  REQUIRE(l.handle != nullptr);
  resolve(l.handle, "ntc_fill", l.api.fill);
  resolve(l.handle, "ntc_fill_patched", l.api.fill_patched);
  resolve(l.handle, "ntc_memcpy", l.api.memcpy);
  resolve(l.handle, "ntc_drain", l.api.drain);
  resolve(l.handle, "ntc_kernel", l.kernel);
  resolve(l.handle, "ntc_use_kernel", l.use_kernel);
  resolve(l.handle, "ntc_kernels", l.kernels);
  resolve(l.handle, "ntc_nt_threshold", l.nt_threshold);
  return l;
}

bool still_loaded() {
  void* h = dlopen(NTCOPY_LIBRARY, RTLD_NOW | RTLD_NOLOAD);
  if (h == nullptr) return false;
  dlclose(h);
  return true;
}

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

// Lines of /proc/self/maps, and how many of them map a file whose path
// contains `name`.
std::size_t mappings(const char* name = nullptr, std::size_t* named = nullptr) {
  std::ifstream maps("/proc/self/maps");
  std::size_t n = 0;
  for (std::string line; std::getline(maps, line);) {
    ++n;
    if (named != nullptr && line.find(name) != std::string::npos) ++*named;
  }
  return n;
}

// The file name of the library, without the directory.
const char* library_file_name() {
  const char* slash = std::strrchr(NTCOPY_LIBRARY, '/');
  return slash == nullptr ? NTCOPY_LIBRARY : slash + 1;
}

// Bytes of heap in use.
std::size_t heap_in_use() {
#ifdef NTC_TEST_LSAN
  return __sanitizer_get_current_allocated_bytes();
#else
  return mallinfo2().uordblks;
#endif
}

struct Resources {
  std::size_t fds, maps, heap;
};
Resources resources() { return {open_fds(), mappings(), heap_in_use()}; }

// Cycles: NTCOPY_TEST_DLOPEN_CYCLES, else 1000.
int cycles() {
  if (const char* e = std::getenv("NTCOPY_TEST_DLOPEN_CYCLES"); e != nullptr && *e != '\0')
    if (const long v = std::strtol(e, nullptr, 10); v >= 20 && v <= 1000000)
      return static_cast<int>(v);
  return 1000;
}

}  // namespace

TEST_CASE("dlopen/dlclose cycles of libntcopy with calls in between leave nothing behind") {
  REQUIRE_MESSAGE(!still_loaded(), "libntcopy is loaded before the first dlopen");
  // The defaults of a fresh instance, and the families to switch through.
  std::string default_kernel;
  std::size_t default_threshold = 0;
  std::vector<std::string> families;
  {
    Loaded l = open_library();
    default_kernel = l.kernel();
    default_threshold = l.nt_threshold();
    const char* names[8] = {};
    const std::size_t n = l.kernels(names, 8);
    for (std::size_t i = 0; i < n && i < 8; ++i) families.emplace_back(names[i]);
    REQUIRE(dlclose(l.handle) == 0);
  }
  REQUIRE(!families.empty());
  CHECK(families.front() == default_kernel);

  const int total = cycles();
  constexpr int kBaselineCycle = 10;
  Resources baseline{}, last{};
  int failures = 0;
  for (int cycle = 0; cycle < total && failures < 5; ++cycle) {
    Loaded l = open_library();
    const std::string kernel = l.kernel();
    std::string what;
    // The previous cycle left another family active: seeing the default
    // again means this is a fresh instance.
    auto problem = [&what](const std::string& p) { what += (what.empty() ? "" : "; ") + p; };
    if (kernel != default_kernel) problem("fresh instance has kernel " + kernel);
    if (l.nt_threshold() != default_threshold) problem("fresh instance has another threshold");
    const std::string& fam = families[static_cast<std::size_t>(cycle) % families.size()];
    if (l.use_kernel(fam.c_str()) != 0 || fam != l.kernel()) problem("ntc_use_kernel(" + fam + ")");
    if (const char* w = ntc_child::check_all(l.api)) problem(w);
    // A call from a thread that ends before dlclose: no per-thread state may
    // keep the library (or its memory) alive.
    const char* thread_result = "not run";
    std::thread([&] { thread_result = ntc_child::check_fill(l.api, 0, 48, 77, 3); }).join();
    if (thread_result != nullptr) problem(std::string("on a thread: ") + thread_result);
    // Leave a family other than the default active for the next cycle's check.
    l.use_kernel(families.back().c_str());
    if (dlclose(l.handle) != 0) problem(std::string("dlclose: ") + dlerror());
    if (still_loaded()) problem("still loaded after dlclose");
    std::size_t named = 0;
    mappings(library_file_name(), &named);
    if (named != 0) problem(std::to_string(named) + " mappings of the library remain");
    if (!what.empty()) {
      ++failures;
      FAIL_CHECK("cycle " << cycle << ": " << what);
    }
    if (cycle == kBaselineCycle) baseline = resources();
    if (cycle == total - 1) last = resources();
  }
  REQUIRE(failures == 0);
  MESSAGE(total, " dlopen/dlclose cycles of ", NTCOPY_LIBRARY, "; families: ", families.size(),
          "; after cycle ", kBaselineCycle, ": ", baseline.fds, " fds, ", baseline.maps,
          " mappings, ", baseline.heap, " heap bytes; at the end: ", last.fds, " fds, ", last.maps,
          " mappings, ", last.heap, " heap bytes");
  CHECK(last.fds == baseline.fds);
#ifndef NTC_TEST_LSAN
  // (A sanitizer's allocator maps memory as it goes: there, the per-cycle
  // check that no mapping of the library remains stands in for this one.)
  CHECK(last.maps == baseline.maps);
#endif
  // Any per-cycle leak of 8 bytes or more over the cycles since the baseline.
  CHECK(last.heap <=
        baseline.heap + static_cast<std::size_t>(8 * (total - kBaselineCycle - 1) - 1));
#ifdef NTC_TEST_LSAN
  CHECK_MESSAGE(__lsan_do_recoverable_leak_check() == 0,
                "LeakSanitizer found leaks (see its report above)");
#endif
}
