// ntcopy-bench: the Google Benchmark suite. Each section registers its
// benchmarks here; every benchmark is also recorded as a Point so the summary
// and the plot tables can find its results without parsing names.
#ifndef NTCOPY_BENCHMARKS_SUITE_H
#define NTCOPY_BENCHMARKS_SUITE_H

#include <benchmark/benchmark.h>

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace suite {

struct Config {
  bool full = false;       // --full: every size; otherwise the short sweep
  double min_time = 0.01;  // seconds of measured time per small benchmark
  int big_iterations = 5;  // timed rounds for totals of at least kBigBytes
  std::string out_dir;
  bool print_summary = true;  // --quiet: summary.txt only
};

// From this total on, each timed round takes long enough that a fixed number
// of rounds replaces Google Benchmark's min-time estimate.
constexpr size_t kBigBytes = size_t{64} << 20;

// Every sample writes at least this much, repeating small operations, so the
// clock's resolution and overhead stay below 0.1% of a sample.
constexpr size_t kSampleBytes = size_t{1} << 20;

// Below kBigBytes the destination may be cached, and whether it is decides
// the speed of streaming stores: each timed op is preceded by an untimed pass
// of regular stores over it, so every op starts from the same state (the
// destination cached, as after the program last used it). Above, it is not
// cached whatever runs before.
inline bool primes_destination(size_t bytes) { return bytes < kBigBytes; }

// How many times to repeat an operation writing `bytes` per sample.
inline size_t reps_for(size_t bytes) { return bytes >= kSampleBytes ? 1 : kSampleBytes / bytes; }

enum class Section { fill, copy, pollution, dispatch };

struct Point {
  Section section;
  std::string variant;  // "auto", a family, a peer, ...; "all": every one of members
  size_t param = 0;     // fill: template size; copy: destination offset past a page
  size_t bytes = 0;     // bytes one operation writes
  // For variant "all": the variants measured together, whose counters are
  // named "<variant>/<counter>".
  std::vector<std::string> members;
};

using BenchFn = std::function<void(benchmark::State&)>;

// Registers fn under `name` with manual timing: `iterations` timed rounds if
// given, else cfg.big_iterations for p.bytes >= kBigBytes, else as many as
// cfg.min_time takes.
void add(const Config& cfg, const std::string& name, const Point& p, BenchFn fn,
         int iterations = 0);
// Records a benchmark registered some other way.
void record(const std::string& name, const Point& p);
const Point* point_named(const std::string& name);

// The ntcopy families this CPU supports, best first, then "auto".
std::vector<std::string> ntc_variants();

// Makes `variant` the active ntcopy family for the lifetime of the object,
// restoring auto afterwards.
class KernelScope {
 public:
  explicit KernelScope(const std::string& variant);
  ~KernelScope();
  KernelScope(const KernelScope&) = delete;
  KernelScope& operator=(const KernelScope&) = delete;
};

// Marks the benchmark failed and counts the failure: the run exits non-zero.
void fail(benchmark::State& st, const std::string& what);
int failures();

// Sizes 4^k * first up to and including last.
std::vector<size_t> powers_of_4(size_t first, size_t last);

void register_fill(const Config& cfg);
void register_copy(const Config& cfg);
void register_pollution(const Config& cfg);
void register_dispatch(const Config& cfg);

// One benchmark's reported result.
struct Result {
  std::string name;
  Point point;
  bool error = false;
  std::map<std::string, double> counters;
  double ns_per_iteration = 0;
  long long iterations = 0;
  double wall_seconds = 0;  // from the previous report to this one: running and checking it
};

// Writes the gnuplot tables and summary.txt into cfg.out_dir and prints the
// summary.
void write_report(const Config& cfg, const std::vector<Result>& results);

}  // namespace suite

#endif
