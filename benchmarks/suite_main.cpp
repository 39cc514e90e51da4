// ntcopy-bench: the fill sweep (with the headline point), the copy sweep, cache
// pollution and dispatch overhead, as Google Benchmark benchmarks.
//
//   ntcopy-bench [--short | --full] [--out DIR] [--quiet] [Google Benchmark flags]
//
// Writes DIR/ntcopy-bench.json (Google Benchmark JSON, unless --benchmark_out
// is given), the plot tables DIR/*.tsv and DIR/summary.txt, and prints the
// summary (not with --quiet). Runs pinned to the CPU it starts on. Exits
// non-zero when any variant wrote wrong bytes.
#include <ntcopy/ntcopy.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "suite.h"

namespace suite {
namespace {

std::map<std::string, Point>& points() {
  static std::map<std::string, Point> p;
  return p;
}

int g_failures = 0;

}  // namespace

void add(const Config& cfg, const std::string& name, const Point& p, BenchFn fn, int iterations) {
  record(name, p);
  auto* b = benchmark::RegisterBenchmark(name.c_str(), std::move(fn));
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
  if (iterations == 0 && p.bytes >= kBigBytes) iterations = cfg.big_iterations;
  if (iterations > 0)
    b->Iterations(iterations);
  else
    b->MinTime(cfg.min_time);
}

void record(const std::string& name, const Point& p) { points()[name] = p; }

const Point* point_named(const std::string& name) {
  auto it = points().find(name);
  return it == points().end() ? nullptr : &it->second;
}

std::vector<std::string> ntc_variants() {
  const char* names[16];
  const size_t n = std::min<size_t>(ntc_kernels(names, 16), 16);
  std::vector<std::string> v(names, names + n);
  v.push_back("auto");
  return v;
}

KernelScope::KernelScope(const std::string& variant) {
  if (ntc_use_kernel(variant.c_str()) != 0) {
    std::fprintf(stderr, "ntcopy-bench: ntc_use_kernel(%s) failed\n", variant.c_str());
    std::exit(2);
  }
}
KernelScope::~KernelScope() { ntc_use_kernel("auto"); }

void fail(benchmark::State& st, const std::string& what) {
  std::fprintf(stderr, "VERIFY FAILED: %s\n", what.c_str());
  ++g_failures;
  st.SkipWithError(what.c_str());
}

int failures() { return g_failures; }

std::vector<size_t> powers_of_4(size_t first, size_t last) {
  std::vector<size_t> v;
  for (size_t b = first; b <= last; b *= 4) v.push_back(b);
  return v;
}

namespace {

// The console output as usual, and every run kept for the report.
class Collector : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal: a log or a pipe gets plain text.
  Collector() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_None) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      const Point* p = point_named(r.run_name.function_name);
      if (!p || r.run_type != Run::RT_Iteration) continue;
      const double now = bench::now_seconds();
      Result res{r.run_name.function_name, *p, r.error_occurred, {}, 0, r.iterations,
                 now - last_report_};
      last_report_ = now;
      for (const auto& [k, c] : r.counters) res.counters[k] = c.value;
      if (r.iterations > 0) res.ns_per_iteration = r.GetAdjustedRealTime();
      if (p->variant == "all")
        split_members(res);
      else
        results.push_back(std::move(res));
    }
  }
  std::vector<Result> results;

 private:
  // One result per member of an "all" point: its "<member>/x" counters as x,
  // and the counters that belong to the point (no '/'). The wall time goes to
  // the first member.
  void split_members(const Result& all) {
    for (const std::string& m : all.point.members) {
      Result r = all;
      r.point.variant = m;
      r.counters.clear();
      for (const auto& [k, v] : all.counters) {
        if (k.find('/') == std::string::npos)
          r.counters[k] = v;
        else if (k.compare(0, m.size() + 1, m + "/") == 0)
          r.counters[k.substr(m.size() + 1)] = v;
      }
      if (&m != &all.point.members.front()) r.wall_seconds = 0;
      results.push_back(std::move(r));
    }
  }

  double last_report_ = bench::now_seconds();
};

bool starts_with(const char* s, const char* prefix) {
  return std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

// Takes --short, --full and --out DIR; leaves the rest for Google Benchmark,
// adding the JSON output file unless the caller chose one.
Config parse_args(int argc, char** argv, std::vector<std::string>& rest) {
  Config cfg;
  cfg.out_dir = "benchmark-results";
  bool has_out = false;
  rest.push_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0)
      cfg.full = true;
    else if (std::strcmp(argv[i], "--short") == 0)
      cfg.full = false;
    else if (std::strcmp(argv[i], "--quiet") == 0)
      cfg.print_summary = false;
    else if (std::strcmp(argv[i], "--out") == 0 && i + 1 < argc)
      cfg.out_dir = argv[++i];
    else {
      has_out |= starts_with(argv[i], "--benchmark_out=");
      rest.push_back(argv[i]);
    }
  }
  if (cfg.full) {
    cfg.min_time = 0.05;
    cfg.big_iterations = 7;  // the headline point: 13
  }
  if (!has_out) {
    rest.push_back("--benchmark_out=" + cfg.out_dir + "/ntcopy-bench.json");
    rest.push_back("--benchmark_out_format=json");
  }
  return cfg;
}

}  // namespace
}  // namespace suite

int main(int argc, char** argv) {
  std::vector<std::string> rest;
  const suite::Config cfg = suite::parse_args(argc, argv, rest);
  mkdir(cfg.out_dir.c_str(), 0755);
  std::vector<char*> bargv;
  for (auto& s : rest) bargv.push_back(s.data());
  int bargc = static_cast<int>(bargv.size());
  benchmark::Initialize(&bargc, bargv.data());
  if (benchmark::ReportUnrecognizedArguments(bargc, bargv.data())) return 2;

  const int cpu = bench::pin_to_current_cpu();
  std::printf(
      "ntcopy-bench (%s): auto = %s, streaming from %zu bytes with flags 0, pinned to CPU %d\n",
      cfg.full ? "full" : "short", ntc_kernel(), ntc_nt_threshold(), cpu);
  suite::register_fill(cfg);
  suite::register_copy(cfg);
  suite::register_pollution(cfg);
  suite::register_dispatch(cfg);

  suite::Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::Shutdown();
  suite::write_report(cfg, collector.results);
  if (suite::failures()) {
    std::printf("\nntcopy-bench: %d verification failures\n", suite::failures());
    return 1;
  }
  return 0;
}
