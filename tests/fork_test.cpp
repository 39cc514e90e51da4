// fork() while another thread keeps switching the kernel family: the child
// must be able to switch families, fill and copy. A child that inherited the
// switch lock held by a thread that does not exist in it would hang in its
// first ntc_use_kernel.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "test_util.h"

using namespace ntc_test;

namespace {

// In the child: switch to every supported family and back to auto, fill and
// copy once with each, and exit 0 only if every result is right.
[[noreturn]] void child_uses_the_library(const std::vector<std::string>& fams) {
  unsigned char tmpl[24], dst[24 * 50], copy[sizeof dst];
  for (std::size_t i = 0; i < sizeof tmpl; ++i) tmpl[i] = static_cast<unsigned char>(i * 7 + 1);
  int status = 0;
  auto check = [&](const char* fam) {
    if (ntc_use_kernel(fam) != 0) status = 1;
    std::memset(dst, 0, sizeof dst);
    if (ntc_fill(dst, tmpl, sizeof tmpl, 50, 0) != 0) status = 2;
    for (std::size_t i = 0; i < sizeof dst; ++i)
      if (dst[i] != tmpl[i % sizeof tmpl]) status = 3;
    if (ntc_memcpy(copy, dst, sizeof dst, 0) != copy || std::memcmp(copy, dst, sizeof dst) != 0)
      status = 4;
  };
  for (const auto& f : fams) check(f.c_str());
  check("auto");
  _exit(status);
}

}  // namespace

TEST_CASE("fork while another thread switches families: the child can use the library") {
  const auto fams = supported_families();
  REQUIRE(!fams.empty());
  std::atomic<bool> done{false};
  std::atomic<long> switches{0};
  std::thread switcher([&] {
    while (!done.load()) {
      for (const auto& f : fams) ntc_use_kernel(f.c_str());
      ntc_use_kernel("auto");
      switches.fetch_add(1);
    }
  });
  while (switches.load() == 0) std::this_thread::yield();
  constexpr int kForks = 200;
  int hung = 0, failed = 0;
  for (int i = 0; i < kForks; ++i) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) child_uses_the_library(fams);
    const int r = wait_for_child(pid, std::chrono::seconds(5));
    if (r == -1) {
      ++hung;
      break;  // one is enough: each hang costs the whole wait
    }
    if (r != 0) {
      ++failed;
      MESSAGE("child ", i, " exited with ", r);
    }
  }
  done = true;
  switcher.join();
  ntc_use_kernel("auto");
  MESSAGE(kForks, " forks during ", switches.load(), " rounds of switches");
  CHECK_MESSAGE(hung == 0, "a child hung (killed after 5 s)");
  CHECK(failed == 0);
}
