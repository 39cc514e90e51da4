// The fill sweep and the headline: ntc_fill (each family and auto, flags 0)
// and the peers, each timed in rounds interleaved with the bare streaming loop
// (the ceiling) and the bare regular-store loop over the same bytes.
#include <ntcopy/ntcopy.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bare_loops.h"
#include "bench_util.h"
#include "fill_common.h"
#include "fill_peers.h"
#include "suite.h"

namespace suite {
namespace {

constexpr size_t kSeedBytes = bench::kSeedNamespacePages * bench::kSeedPageDescriptorBytes;

// One destination shared by every fill benchmark, sized at registration for
// the largest of them and touched once, when first used.
size_t g_fill_capacity = 0;
unsigned char* fill_destination() {
  static bench::Buffer buf(g_fill_capacity + 4096);
  return buf.data();
}

// The bare loops are checked once per byte count: they are the reference.
bool verify_bare_loops(unsigned char* dst, size_t bytes) {
  static std::set<size_t> verified;
  if (verified.count(bytes)) return true;
  bool ok = true;
  for (bare::PatternLoop loop : {ceiling_loops().stream, ceiling_loops().store}) {
    std::memset(dst, 0, bytes);
    bench::Sentinel guard(dst + bytes);
    loop(dst, bytes, ceiling_pattern());
    ok &= bench::holds_pattern(dst, ceiling_pattern(), bytes) && guard.intact();
  }
  verified.insert(bytes);
  return ok;
}

std::string job_text(const std::string& what, const FillJob& j) {
  return what + ", " + std::to_string(j.size) + "-byte template x " + std::to_string(j.count);
}

enum FillOp { kVariant, kStream, kStore };

void report_fill(benchmark::State& st, const bench::Rounds<3>& r, size_t sample_bytes) {
  using bench::gbps;
  using bench::median;
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * sample_bytes));
  st.counters["GBps"] = gbps(sample_bytes, median(r.of(kVariant)));
  st.counters["ceiling_GBps"] = gbps(sample_bytes, median(r.of(kStream)));
  st.counters["store_loop_GBps"] = gbps(sample_bytes, median(r.of(kStore)));
  // Speed relative to each bare loop, median over rounds (> 1: faster).
  st.counters["vs_ceiling"] = median(bench::ratios(r.of(kStream), r.of(kVariant)));
  st.counters["vs_store_loop"] = median(bench::ratios(r.of(kStore), r.of(kVariant)));
}

void bench_fill(benchmark::State& st, const FillVariant& v, size_t size, size_t total) {
  const FillJob job{fill_destination(), template_of(size), size, total / size};
  const size_t bytes = job.bytes(), reps = reps_for(bytes);
  const unsigned char* pattern = ceiling_pattern();
  KernelScope scope(v.peer ? "auto" : v.name);
  bench::Rounds<3> rounds;
  bool ok = true;
  const bool prime = primes_destination(bytes);
  size_t round = 0;
  for (auto _ : st) {
    const auto t = bench::time_rotated(
        round++, reps,
        [&] {
          if (prime) ceiling_loops().store(job.dst, bytes, pattern);
        },
        [&] { ok &= run_variant(v, job); },
        [&] { ceiling_loops().stream(job.dst, bytes, pattern); },
        [&] { ceiling_loops().store(job.dst, bytes, pattern); });
    st.SetIterationTime(t[kVariant]);
    rounds.add(t);
  }
  report_fill(st, rounds, bytes * reps);
  if (!ok || !verify_variant(v, job)) fail(st, job_text("fill " + v.name, job));
  if (!verify_bare_loops(job.dst, bytes)) fail(st, job_text("bare loops", job));
}

std::vector<size_t> fill_totals(const Config& cfg, size_t size) {
  const size_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;
  std::vector<size_t> t;
  if (cfg.full) {
    t = powers_of_4(256, GiB);
    t.push_back(2 * GiB);
  } else if (size == 64) {
    t = {256, 4 * KiB, 64 * KiB, MiB, 16 * MiB, 256 * MiB};
  } else {
    t = {4 * KiB, MiB, 256 * MiB};
  }
  if (size == bench::kSeedPageDescriptorBytes) t.push_back(kSeedBytes);
  std::sort(t.begin(), t.end());
  std::erase_if(t, [&](size_t total) { return total < size; });
  return t;
}

// The headline point, 64-byte templates over the seed's 1.6 GiB: auto, the
// plain loop, libpmem and the ceiling in interleaved rounds.
void bench_headline(benchmark::State& st) {
  const size_t size = bench::kSeedPageDescriptorBytes;
  const FillJob job{fill_destination(), template_of(size), size, bench::kSeedNamespacePages};
  const FillVariant variants[] = {
      {"auto", nullptr}, peer_variant(size, "plain_loop"), peer_variant(size, "libpmem")};
  KernelScope scope("auto");
  bench::Rounds<4> r;
  bool ok = true;
  size_t round = 0;
  for (auto _ : st) {
    const auto t = bench::time_rotated(
        round++, 1, [] {}, [&] { ok &= run_variant(variants[0], job); },
        [&] { run_variant(variants[1], job); }, [&] { run_variant(variants[2], job); },
        [&] { ceiling_loops().stream(job.dst, job.bytes(), ceiling_pattern()); });
    st.SetIterationTime(t[0]);
    r.add(t);
  }
  using bench::gbps;
  using bench::median;
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * job.bytes()));
  st.counters["GBps"] = gbps(job.bytes(), median(r.of(0)));
  st.counters["plain_loop_GBps"] = gbps(job.bytes(), median(r.of(1)));
  st.counters["libpmem_GBps"] = gbps(job.bytes(), median(r.of(2)));
  st.counters["ceiling_GBps"] = gbps(job.bytes(), median(r.of(3)));
  // auto's speed relative to each, median over rounds (> 1: auto faster).
  st.counters["vs_plain_loop"] = median(bench::ratios(r.of(1), r.of(0)));
  st.counters["vs_libpmem"] = median(bench::ratios(r.of(2), r.of(0)));
  st.counters["vs_ceiling"] = median(bench::ratios(r.of(3), r.of(0)));
  for (const auto& v : variants)
    if (!verify_variant(v, job)) fail(st, job_text("headline " + v.name, job));
  if (!ok) fail(st, "headline: ntc_fill returned an error");
}

}  // namespace

void register_fill(const Config& cfg) {
  for (size_t size : peers::template_sizes())
    for (size_t total : fill_totals(cfg, size)) {
      g_fill_capacity = std::max(g_fill_capacity, total / size * size);
      for (const FillVariant& v : fill_variants(size)) {
        const std::string name =
            "fill/" + std::to_string(size) + "/" + v.name + "/" + std::to_string(total);
        add(cfg, name, {Section::fill, v.name, size, total / size * size},
            [v, size, total](benchmark::State& st) { bench_fill(st, v, size, total); });
      }
    }
}

void register_headline(const Config& cfg) {
  g_fill_capacity = std::max(g_fill_capacity, kSeedBytes);
  add(cfg, "headline/64/" + std::to_string(kSeedBytes),
      {Section::headline, "auto", bench::kSeedPageDescriptorBytes, kSeedBytes}, bench_headline,
      cfg.full ? 11 : 5);
}

}  // namespace suite
