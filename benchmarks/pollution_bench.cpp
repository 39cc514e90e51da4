// Cache pollution: a hot working set is read, a large fill runs, and the hot
// set is read again. The second read's time is what each way of filling costs
// the code that runs next: regular stores evict the hot set, streaming stores
// should not.
#include <emmintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.h"
#include "fill_common.h"
#include "suite.h"

namespace suite {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
// Twice the largest L3 slice of current x86 server cores (32 MiB), and short
// enough (a few ms) that the busy-wait control is rarely preempted.
constexpr size_t kFillBytes = 64 * kMiB;
constexpr size_t kTemplateSize = 64;

// What runs between the two reads: a fill variant, a bare loop, nothing (the
// warm reference), a busy wait as long as a streaming fill (what time alone
// costs the hot set: other processes, interrupts) or CLFLUSH of the hot set
// (the evicted reference).
enum class ActionKind { fill, stream_loop, store_loop, nothing, wait, clflush };

struct Action {
  std::string name;
  ActionKind kind;
  FillVariant fill;
};

std::vector<Action> actions() {
  std::vector<Action> a;
  for (const FillVariant& v : fill_variants(kTemplateSize))
    a.push_back({v.name, ActionKind::fill, v});
  a.push_back({"stream_loop", ActionKind::stream_loop, {}});
  a.push_back({"store_loop", ActionKind::store_loop, {}});
  a.push_back({"nothing", ActionKind::nothing, {}});
  a.push_back({"wait", ActionKind::wait, {}});
  a.push_back({"clflush", ActionKind::clflush, {}});
  return a;
}

constexpr size_t kHugePage = size_t{2} << 20;

// The hot set: its lines linked into one cycle in random order, so reading it
// is a chain of dependent loads that hardware prefetchers cannot hide and
// whose time shows where the lines are (cache or DRAM). Huge pages keep TLB
// misses, costly in a VM, out of the chain.
class HotSet {
 public:
  explicit HotSet(size_t bytes)
      : mem_(bytes + kHugePage, /*touch=*/false, bench::Pages::huge),
        lines_(bytes / 64),
        base_(align_up(mem_.data())) {
    std::vector<size_t> order(lines_);
    for (size_t i = 0; i < lines_; ++i) order[i] = i;
    std::mt19937_64 rng(99);
    for (size_t i = lines_ - 1; i > 0; --i)  // Sattolo: one cycle through every line
      std::swap(order[i], order[std::uniform_int_distribution<size_t>(0, i - 1)(rng)]);
    for (size_t i = 0; i < lines_; ++i) link(order[i], order[(i + 1) % lines_]);
  }
  unsigned char* data() const { return base_; }
  size_t bytes() const { return lines_ * 64; }

  // Follows the chain once around: every line read once, each load waiting
  // for the one before.
  [[gnu::noinline]] size_t read_all() const {
    size_t at = 0;
    for (size_t i = 0; i < lines_; ++i) std::memcpy(&at, base_ + at, sizeof at);
    return at;
  }

 private:
  static unsigned char* align_up(unsigned char* p) {
    return reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(p) + kHugePage - 1) &
                                            ~(kHugePage - 1));
  }
  void link(size_t from, size_t to) {
    const size_t off = to * 64;
    std::memcpy(base_ + from * 64, &off, sizeof off);
    std::memset(base_ + from * 64 + sizeof off, 0x77, 64 - sizeof off);
  }
  bench::Buffer mem_;
  size_t lines_;
  unsigned char* base_;
};

struct PollutionBuffers {
  bench::Buffer dst{kFillBytes + 4096, true, bench::Pages::huge};
};
PollutionBuffers& buffers() {
  static PollutionBuffers b;
  return b;
}

double time_read(const HotSet& hot) {
  size_t end = 0;
  const double t = bench::time_reps([&] { end = hot.read_all(); });
  benchmark::DoNotOptimize(end);
  return t;
}

void flush_lines(const unsigned char* p, size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64) _mm_clflush(p + off);
  _mm_mfence();
}

// Spins on the clock, touching no memory, for as long as the bare streaming
// loop took to fill the destination the last time it ran.
double g_stream_fill_seconds = 0;
void wait_like_a_fill() {
  const double until = bench::now_seconds() + g_stream_fill_seconds;
  while (bench::now_seconds() < until) {
  }
}

bool run_action(const Action& a, const FillJob& job, const HotSet* hot) {
  switch (a.kind) {
    case ActionKind::fill: return run_variant(a.fill, job);
    case ActionKind::stream_loop:
      g_stream_fill_seconds = bench::time_reps(
          [&] { ceiling_loops().stream(job.dst, job.bytes(), ceiling_pattern()); });
      break;
    case ActionKind::store_loop:
      ceiling_loops().store(job.dst, job.bytes(), ceiling_pattern());
      break;
    case ActionKind::nothing: break;
    case ActionKind::wait: wait_like_a_fill(); break;
    case ActionKind::clflush: flush_lines(hot->data(), hot->bytes()); break;
  }
  return true;
}

bool verify_action(const Action& a, const FillJob& job) {
  if (a.kind == ActionKind::fill) return verify_variant(a.fill, job);
  if (a.kind != ActionKind::stream_loop && a.kind != ActionKind::store_loop) return true;
  std::memset(job.dst, 0, job.bytes());
  run_action(a, job, nullptr);
  return bench::holds_pattern(job.dst, ceiling_pattern(), job.bytes());
}

const HotSet& hot_set(size_t bytes) {
  static std::map<size_t, HotSet> sets;
  return sets.try_emplace(bytes, bytes).first->second;
}

// How long one dependent read of a line takes when the set was just read:
// where the set still fits in a cache. Chooses nothing; it shows the reader
// which hot-set sizes this machine keeps cached.
void bench_probe(benchmark::State& st, size_t bytes) {
  const HotSet& hot = hot_set(bytes);
  std::vector<double> t;
  time_read(hot);
  for (auto _ : st) {
    t.push_back(time_read(hot));
    st.SetIterationTime(t.back());
  }
  st.counters["ns_per_line"] = bench::median(t) * 1e9 / static_cast<double>(bytes / 64);
}

void bench_pollution(benchmark::State& st, const Action& a, size_t hot_bytes) {
  PollutionBuffers& b = buffers();
  const HotSet& hot = hot_set(hot_bytes);
  const FillJob job{b.dst.data(), template_of(kTemplateSize), kTemplateSize,
                    kFillBytes / kTemplateSize};
  KernelScope scope(a.kind == ActionKind::fill && !a.fill.peer ? a.fill.name : "auto");
  if (a.kind == ActionKind::wait && g_stream_fill_seconds == 0)  // run alone: time one fill
    run_action({"stream_loop", ActionKind::stream_loop, {}}, job, &hot);
  std::vector<double> warm, after;
  bool ok = true;
  for (auto _ : st) {
    time_read(hot);  // brings the hot set in
    warm.push_back(time_read(hot));
    ok &= run_action(a, job, &hot);
    after.push_back(time_read(hot));
    st.SetIterationTime(after.back());
  }
  st.counters["warm_us"] = bench::median(warm) * 1e6;
  st.counters["after_us"] = bench::median(after) * 1e6;
  // The least disturbed round: other processes only ever add time.
  st.counters["after_min_us"] = *std::min_element(after.begin(), after.end()) * 1e6;
  // Median over rounds of (read after the fill) / (warm read just before it).
  st.counters["after_vs_warm"] = bench::median(bench::ratios(after, warm));
  if (!ok || !verify_action(a, job)) fail(st, "pollution: " + a.name + " wrote wrong bytes");
}

}  // namespace

void register_pollution(const Config& cfg) {
  for (size_t bytes = kMiB / 2; bytes <= 32 * kMiB; bytes *= 2) {
    const std::string name = "pollution/probe/" + std::to_string(bytes);
    add(
        cfg, name, {Section::pollution, "probe", bytes, bytes, {}},
        [bytes](benchmark::State& st) { bench_probe(st, bytes); }, 5);
  }
  // 512 KiB: within L2, private to the core. 4 MiB: beyond L2 (1-2 MiB on
  // current x86 cores), within the L3 share a process gets on a busy VM (see
  // the probe); --full adds 2 and 8 MiB.
  const std::vector<size_t> hot_sizes =
      cfg.full ? std::vector<size_t>{kMiB / 2, 2 * kMiB, 4 * kMiB, 8 * kMiB}
               : std::vector<size_t>{kMiB / 2, 4 * kMiB};
  for (size_t hot : hot_sizes) {
    for (const Action& a : actions()) {
      const std::string name =
          "pollution/" + std::to_string(hot) + "/" + a.name + "/" + std::to_string(kFillBytes);
      add(
          cfg, name, {Section::pollution, a.name, hot, kFillBytes, {}},
          [a, hot](benchmark::State& st) { bench_pollution(st, a, hot); }, cfg.full ? 15 : 11);
    }
  }
}

}  // namespace suite
