// The fill sweep: ntc_fill (each family and auto, flags 0) and the peers,
// timed in rounds interleaved with the bare streaming loop (the ceiling) and
// the bare regular-store loop over the same bytes.
//
// Small totals: one benchmark per variant, each round the variant and the two
// bare loops, as many rounds as the minimum time takes. Totals of kBigBytes
// and more: one benchmark per point, each round every variant and both bare
// loops, so any two of them compare round by round (the headline's auto vs
// plain loop and vs libpmem come from there) at a fraction of the passes.
#include <ntcopy/ntcopy.h>

#include <algorithm>
#include <cstring>
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
  static bench::Buffer buf(g_fill_capacity + 4096, /*touch=*/true, bench::Pages::huge);
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

// Checks every variant once after timing (an ntc_fill error fails it too),
// then the bare loops.
void verify_point(benchmark::State& st, const std::vector<FillVariant>& variants,
                  const FillJob& job) {
  for (const FillVariant& v : variants)
    if (!verify_variant(v, job)) fail(st, job_text("fill " + v.name, job));
  if (!verify_bare_loops(job.dst, job.bytes())) fail(st, job_text("bare loops", job));
}

void run_in_scope(const FillVariant& v, const FillJob& job) {
  KernelScope scope(v.peer ? "auto" : v.name);
  run_variant(v, job);
}

// ---- Small totals: one variant and the bare loops per round.

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

// One timed op of a small-total point: the variant or a bare loop over the job.
struct FillCall {
  void (*run)(const FillCall&);
  const FillVariant* variant;
  const FillJob* job;
  bare::PatternLoop loop;  // the bare loop's ops only
};
[[gnu::noinline]] void call_variant(const FillCall& c) { run_variant(*c.variant, *c.job); }
[[gnu::noinline]] void call_bare_loop(const FillCall& c) {
  c.loop(c.job->dst, c.job->bytes(), ceiling_pattern());
}

void bench_fill(benchmark::State& st, const FillVariant& v, size_t size, size_t total) {
  const FillJob job{fill_destination(), template_of(size), size, total / size};
  const size_t bytes = job.bytes(), reps = reps_for(bytes);
  KernelScope scope(v.peer ? "auto" : v.name);
  const FillCall variant{call_variant, &v, &job, nullptr},
      stream{call_bare_loop, nullptr, &job, ceiling_loops().stream},
      store{call_bare_loop, nullptr, &job, ceiling_loops().store};
  bench::Rounds<3> rounds;
  const bool prime = primes_destination(bytes);
  size_t round = 0;
  for (auto _ : st) {
    const auto t = bench::run_rotated(
        round++,
        [&] {
          if (prime) call_bare_loop(store);
        },
        [&] { return bench::time_calls(variant.run, variant, reps); },
        [&] { return bench::time_calls(stream.run, stream, reps); },
        [&] { return bench::time_calls(store.run, store, reps); });
    st.SetIterationTime(t[kVariant]);
    rounds.add(t);
  }
  report_fill(st, rounds, bytes * reps);
  verify_point(st, {v}, job);
}

// ---- Big totals: every variant and the bare loops per round.

// Seconds per round of every op: ops 0..n-1 the variants, n the streaming
// loop, n+1 the regular-store loop.
using OpTimes = std::vector<std::vector<double>>;

void report_point(benchmark::State& st, const std::vector<FillVariant>& variants, const OpTimes& t,
                  size_t bytes) {
  using bench::gbps;
  using bench::median;
  using bench::ratios;
  const size_t n = variants.size();
  st.counters["ceiling_GBps"] = gbps(bytes, median(t[n]));
  st.counters["store_loop_GBps"] = gbps(bytes, median(t[n + 1]));
  size_t auto_op = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string& v = variants[i].name;
    if (v == "auto") auto_op = i;
    st.counters[v + "/GBps"] = gbps(bytes, median(t[i]));
    st.counters[v + "/vs_ceiling"] = median(ratios(t[n], t[i]));
    st.counters[v + "/vs_store_loop"] = median(ratios(t[n + 1], t[i]));
  }
  // auto against the ceiling and every peer, round by round (> 1: auto
  // faster): the median, and the lowest and highest round to show the spread.
  auto compare = [&](const std::string& name, const std::vector<double>& other) {
    const std::vector<double> r = ratios(other, t[auto_op]);
    st.counters["auto/vs_" + name] = median(r);
    st.counters["auto/vs_" + name + "_lo"] = *std::min_element(r.begin(), r.end());
    st.counters["auto/vs_" + name + "_hi"] = *std::max_element(r.begin(), r.end());
  };
  compare("ceiling", t[n]);
  for (size_t i = 0; i < n; ++i)
    if (variants[i].peer) compare(variants[i].name, t[i]);
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * bytes));
}

void bench_point(benchmark::State& st, const std::vector<FillVariant>& variants, size_t size,
                 size_t total) {
  const FillJob job{fill_destination(), template_of(size), size, total / size};
  const size_t n = variants.size(), bytes = job.bytes();
  const size_t auto_op = std::find_if(variants.begin(), variants.end(),
                                      [](const FillVariant& v) { return v.name == "auto"; }) -
                         variants.begin();
  auto run_op = [&](size_t op) {
    if (op < n) return run_in_scope(variants[op], job);
    (op == n ? ceiling_loops().stream : ceiling_loops().store)(job.dst, bytes, ceiling_pattern());
  };
  OpTimes t(n + 2);
  size_t round = 0;
  for (auto _ : st) {
    for (size_t k = 0; k < n + 2; ++k) {
      const size_t op = (round + k) % (n + 2);
      t[op].push_back(bench::time_reps([&] { run_op(op); }));
    }
    ++round;
    st.SetIterationTime(t[auto_op].back());
  }
  report_point(st, variants, t, bytes);
  verify_point(st, variants, job);
}

// ---- Registration.

std::vector<size_t> fill_totals(const Config& cfg, size_t size) {
  const size_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;
  std::vector<size_t> t;
  if (cfg.full) {
    t = powers_of_4(256, GiB);
    t.push_back(2 * GiB);
  } else if (size == bench::kSeedPageDescriptorBytes) {
    t = {256, 4 * KiB, 64 * KiB, MiB, 16 * MiB, 256 * MiB};
  } else {
    t = {4 * KiB, MiB, 64 * MiB};
  }
  if (size == bench::kSeedPageDescriptorBytes) t.push_back(kSeedBytes);
  std::sort(t.begin(), t.end());
  std::erase_if(t, [&](size_t total) { return total < size; });
  return t;
}

// Every variant, except libpmem for templates smaller than a struct page over
// big totals (short mode: from kBigBytes; full mode: beyond 256 MiB). It takes
// 250 to 300 ns per element of those sizes here: one pass over 2 GiB of 8-byte
// elements would take over a minute, and the smaller totals show its rate.
std::vector<FillVariant> point_variants(const Config& cfg, size_t size, size_t total) {
  std::vector<FillVariant> v = fill_variants(size);
  const size_t libpmem_limit = cfg.full ? (size_t{256} << 20) : kBigBytes - 1;
  if (size < 56 && total > libpmem_limit)
    std::erase_if(v, [](const FillVariant& f) { return f.name == "libpmem"; });
  return v;
}

}  // namespace

void register_fill(const Config& cfg) {
  for (size_t size : peers::template_sizes())
    for (size_t total : fill_totals(cfg, size)) {
      const size_t bytes = total / size * size;
      g_fill_capacity = std::max(g_fill_capacity, bytes);
      const std::string where = std::to_string(size) + "/";
      const std::vector<FillVariant> variants = point_variants(cfg, size, total);
      if (total >= kBigBytes) {
        Point p{Section::fill, "all", size, bytes, {}};
        for (const auto& v : variants) p.members.push_back(v.name);
        // The headline point gets more rounds: its ratios are the ones quoted.
        const int rounds = total == kSeedBytes ? 2 * cfg.big_iterations - 1 : cfg.big_iterations;
        add(
            cfg, "fill/" + where + "all/" + std::to_string(total), p,
            [variants, size, total](benchmark::State& st) {
              bench_point(st, variants, size, total);
            },
            rounds);
        continue;
      }
      for (const FillVariant& v : variants)
        add(cfg, "fill/" + where + v.name + "/" + std::to_string(total),
            {Section::fill, v.name, size, bytes, {}},
            [v, size, total](benchmark::State& st) { bench_fill(st, v, size, total); });
    }
}

}  // namespace suite
