// Fills and copies on several threads while another thread keeps switching the
// active kernel family: every result must be correct.
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "test_util.h"

using namespace ntc_test;

namespace {

constexpr std::size_t kPad = 64;
constexpr unsigned kFlagChoices[] = {0u, NTC_F_NONTEMPORAL, NTC_F_TEMPORAL, NTC_F_NODRAIN,
                                     NTC_F_NONTEMPORAL | NTC_F_NODRAIN};

struct Shared {
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::mutex mu;
  std::vector<std::string> reports;  // first few failures, reported by the main thread

  void fail(std::string what) {
    failures.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu);
    if (reports.size() < 10) reports.push_back(std::move(what));
  }
};

void stamp_patch(void* elems, std::size_t first, std::size_t n, std::size_t size, void*) {
  auto* e = static_cast<unsigned char*>(elems);
  for (std::size_t k = 0; k < n; ++k)
    e[k * size + (first + k) % size] = static_cast<unsigned char>((first + k) % 251 + 1);
}

bool valid_kernel_name(const char* k) {
  for (const char* f : kAllFamilies)
    if (std::string_view(k) == f) return true;
  return false;
}

void worker(int id, int ops, Shared& sh) {
  Rng rng(0xf00 + static_cast<std::uint64_t>(id));
  constexpr std::size_t kMaxFill = 300 * 3000;
  constexpr std::size_t kMaxCopy = 200000;
  std::vector<unsigned char> buf(kMaxFill + 4 * kPad), ref(kMaxFill), tmpl(300), src(kMaxCopy + 64);
  rng.fill_bytes(src.data(), src.size(), kCanary);
  // A 64-byte aligned origin in the first 64 bytes of buf.
  const auto raw = reinterpret_cast<std::uintptr_t>(buf.data());
  unsigned char* origin = buf.data() + ((64 - raw % 64) % 64);
  for (int op = 0; op < ops; ++op) {
    const unsigned flags = kFlagChoices[rng.below(std::size(kFlagChoices))];
    const std::size_t m = rng.below(64);
    const int kind = static_cast<int>(rng.below(3));
    std::size_t total = 0;
    unsigned char* dst = origin + kPad + m;  // dst % 64 == m
    std::string what;
    if (kind == 0 || kind == 2) {  // fill / patched fill
      const std::size_t size = rng.range(1, 300);
      const std::size_t count = rng.range(0, 3000);
      total = size * count;
      rng.fill_bytes(tmpl.data(), size, kCanary);
      reference_fill(ref.data(), tmpl.data(), size, count);
      if (kind == 2) stamp_patch(ref.data(), 0, count, size, nullptr);
      std::memset(buf.data(), kCanary, buf.size());
      std::memset(dst, kUnwritten, total);
      OpScope ctx(kind == 0 ? "ntc_fill" : "ntc_fill_patched", flags, size, count, dst);
      const int rc =
          kind == 0 ? ntc_fill(dst, tmpl.data(), size, count, flags)
                    : ntc_fill_patched(dst, tmpl.data(), size, count, stamp_patch, nullptr, flags);
      drain_if_needed(flags);
      if (rc != 0 || std::memcmp(dst, ref.data(), total) != 0)
        what = std::string(kind == 0 ? "ntc_fill" : "ntc_fill_patched") +
               " size=" + std::to_string(size) + " count=" + std::to_string(count);
    } else {  // copy
      total = rng.range(0, kMaxCopy);
      const unsigned char* s = src.data() + rng.below(64);
      std::memset(buf.data(), kCanary, buf.size());
      std::memset(dst, kUnwritten, total);
      OpScope ctx("ntc_memcpy", flags, total, 0, dst, s);
      void* r = ntc_memcpy(dst, s, total, flags);
      drain_if_needed(flags);
      if (r != dst || std::memcmp(dst, s, total) != 0)
        what = "ntc_memcpy n=" + std::to_string(total);
    }
    if (what.empty()) {
      const std::size_t before = static_cast<std::size_t>(dst - buf.data());
      if (!all_bytes(buf.data(), before, kCanary) ||
          !all_bytes(dst + total, buf.size() - before - total, kCanary))
        what = "wrote outside dst, total=" + std::to_string(total);
    }
    if (!valid_kernel_name(ntc_kernel())) what = std::string("ntc_kernel() = ") + ntc_kernel();
    if (!what.empty())
      sh.fail("thread " + std::to_string(id) + " op " + std::to_string(op) + ": " + what +
              " flags=" + flags_name(flags) +
              " dst%64=" + std::to_string(reinterpret_cast<std::uintptr_t>(dst) % 64) +
              " (kernel now " + ntc_kernel() + ")");
  }
}

// Operations per worker: NTCOPY_TEST_CONCURRENCY_OPS (1..10000000), else 300.
// .ci/tsan sets it to bound the ThreadSanitizer run.
int ops_per_worker() {
  constexpr int kDefault = 300;
  const char* e = std::getenv("NTCOPY_TEST_CONCURRENCY_OPS");
  if (e == nullptr || *e == '\0') return kDefault;
  char* end = nullptr;
  const long v = std::strtol(e, &end, 10);
  if (*end != '\0' || v < 1 || v > 10000000) {
    MESSAGE("NTCOPY_TEST_CONCURRENCY_OPS=", std::string(e), " is not in 1..10000000; using ",
            kDefault);
    return kDefault;
  }
  return static_cast<int>(v);
}

}  // namespace

TEST_CASE("concurrent fills and copies while the kernel keeps switching") {
  const auto fams = supported_families();
  REQUIRE(!fams.empty());
  (void)test_seed();
  Shared sh;
  std::atomic<long> switches{0};
  std::atomic<int> switch_failures{0};
  std::atomic<bool> switching{false};
  std::thread switcher([&] {
    std::vector<std::string> names(fams);
    names.emplace_back("auto");
    do {
      for (const auto& n : names) {
        if (ntc_use_kernel(n.c_str()) != 0) switch_failures.fetch_add(1);
        switches.fetch_add(1);
        switching = true;
        std::this_thread::yield();
      }
    } while (!sh.done.load());
  });
  // The workers start once the switcher is running.
  while (!switching.load()) std::this_thread::yield();
  constexpr int kWorkers = 3;
  const int ops = ops_per_worker();
  std::vector<std::thread> workers;
  for (int i = 0; i < kWorkers; ++i) workers.emplace_back(worker, i, ops, std::ref(sh));
  for (auto& t : workers) t.join();
  sh.done = true;
  switcher.join();
  ntc_use_kernel("auto");

  MESSAGE(kWorkers, " threads x ", ops, " operations, ", switches.load(), " kernel switches over ",
          fams.size(), " families + auto");
  for (const auto& r : sh.reports) FAIL_CHECK(r);
  CHECK(sh.failures.load() == 0);
  CHECK(switch_failures.load() == 0);
  CHECK(switches.load() > 0);
}
