// The report of ntcopy-bench: gnuplot tables (*.tsv) and summary.txt, built
// from the results the run collected. Every figure comes from this run.
#include <cpu_features/cpuinfo_x86.h>
#include <ntcopy/ntcopy.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bench_util.h"
#include "fill_common.h"
#include "suite.h"

namespace suite {
namespace {

using Results = std::vector<Result>;

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

double counter(const Result& r, const char* name) {
  auto it = r.counters.find(name);
  return it == r.counters.end() ? 0 : it->second;
}

std::vector<const Result*> in_section(const Results& all, Section s) {
  std::vector<const Result*> v;
  for (const auto& r : all)
    if (r.point.section == s && !r.error) v.push_back(&r);
  return v;
}

// Distinct values, in first-seen order (variants) or sorted (sizes).
template <class F>
std::vector<std::string> variants_of(const std::vector<const Result*>& rs, F keep) {
  std::vector<std::string> v;
  for (const Result* r : rs)
    if (keep(*r) && std::find(v.begin(), v.end(), r->point.variant) == v.end())
      v.push_back(r->point.variant);
  return v;
}
template <class F>
std::vector<size_t> sorted_set(const std::vector<const Result*>& rs, F key) {
  std::set<size_t> s;
  for (const Result* r : rs) s.insert(key(*r));
  return {s.begin(), s.end()};
}

const Result* find(const std::vector<const Result*>& rs, size_t param, size_t bytes,
                   const std::string& variant) {
  for (const Result* r : rs)
    if (r->point.param == param && r->point.bytes == bytes && r->point.variant == variant) return r;
  return nullptr;
}

// A gnuplot table: one row per byte count, one column per variant, "?" where
// a value is missing.
struct Table {
  std::vector<std::string> columns;
  std::map<size_t, std::map<std::string, double>> rows;
  void write(const std::string& path) const {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return std::perror(path.c_str());
    std::fprintf(f, "bytes");
    for (const auto& c : columns) std::fprintf(f, "\t%s", c.c_str());
    std::fprintf(f, "\n");
    for (const auto& [bytes, vals] : rows) {
      std::fprintf(f, "%zu", bytes);
      for (const auto& c : columns) {
        auto it = vals.find(c);
        if (it == vals.end())
          std::fprintf(f, "\t?");
        else
          std::fprintf(f, "\t%.4g", it->second);
      }
      std::fprintf(f, "\n");
    }
    std::fclose(f);
  }
};

// fill-<template>.tsv: GB/s per variant, plus the bare loops' median GB/s.
void write_fill_tables(const Config& cfg, const std::vector<const Result*>& fill) {
  for (size_t size : sorted_set(fill, [](const Result& r) { return r.point.param; })) {
    Table t;
    t.columns = variants_of(fill, [&](const Result& r) { return r.point.param == size; });
    t.columns.push_back("ceiling");
    t.columns.push_back("store_loop");
    std::map<size_t, std::vector<double>> ceil, store;
    for (const Result* r : fill) {
      if (r->point.param != size) continue;
      t.rows[r->point.bytes][r->point.variant] = counter(*r, "GBps");
      ceil[r->point.bytes].push_back(counter(*r, "ceiling_GBps"));
      store[r->point.bytes].push_back(counter(*r, "store_loop_GBps"));
    }
    for (auto& [bytes, v] : ceil) t.rows[bytes]["ceiling"] = bench::median(v);
    for (auto& [bytes, v] : store) t.rows[bytes]["store_loop"] = bench::median(v);
    t.write(cfg.out_dir + "/fill-" + std::to_string(size) + ".tsv");
  }
}

// copy-<destination offset>.tsv: GB/s per variant.
void write_copy_tables(const Config& cfg, const std::vector<const Result*>& copy) {
  for (size_t mis : sorted_set(copy, [](const Result& r) { return r.point.param; })) {
    Table t;
    t.columns = variants_of(copy, [&](const Result& r) { return r.point.param == mis; });
    for (const Result* r : copy)
      if (r->point.param == mis) t.rows[r->point.bytes][r->point.variant] = counter(*r, "GBps");
    t.write(cfg.out_dir + "/copy-" + std::to_string(mis) + ".tsv");
  }
}

// pollution-<hot bytes>-<fill bytes>.tsv: one row per variant: the read after the fill
// (median, least disturbed round) and the warm read before it, microseconds.
void write_pollution_tables(const Config& cfg, const std::vector<const Result*>& all) {
  std::vector<const Result*> pol;
  for (const Result* r : all)
    if (r->point.variant != "probe") pol.push_back(r);
  for (size_t hot : sorted_set(pol, [](const Result& r) { return r.point.param; })) {
    const Result* any = *std::find_if(pol.begin(), pol.end(),
                                      [&](const Result* r) { return r->point.param == hot; });
    const std::string path = cfg.out_dir + "/pollution-" + std::to_string(hot) + "-" +
                             std::to_string(any->point.bytes) + ".tsv";
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return std::perror(path.c_str());
    std::fprintf(f,
                 "variant\tafter the fill, median\tafter the fill, least disturbed round\twarm, "
                 "before the fill\n");
    for (const Result* r : pol)
      if (r->point.param == hot)
        std::fprintf(f, "%s\t%.1f\t%.1f\t%.1f\n", r->point.variant.c_str(), counter(*r, "after_us"),
                     counter(*r, "after_min_us"), counter(*r, "warm_us"));
    std::fclose(f);
  }
}

std::string cpu_line() {
  const cpu_features::X86Info info = cpu_features::GetX86Info();
  return format("CPU: %s (family %d, model %d), %ld online CPUs", info.brand_string, info.family,
                info.model, sysconf(_SC_NPROCESSORS_ONLN));
}

bool is_ntcopy(const std::string& variant) {
  for (const auto& v : ntc_variants())
    if (v == variant) return true;
  return false;
}

// The seed's point: auto's speed against the ceiling and every peer, from the
// rounds in which all of them ran.
void headline_summary(std::string& out, const std::vector<const Result*>& fill) {
  const size_t size = bench::kSeedPageDescriptorBytes;
  const size_t bytes = bench::kSeedNamespacePages * size;
  const Result* a = find(fill, size, bytes, "auto");
  if (!a) return;
  out += format(
      "\nHeadline: %zu-byte template over %s (%zu copies), %lld interleaved rounds, "
      "medians (> 1: auto faster)\n",
      size, bench::human_bytes(bytes).c_str(), bench::kSeedNamespacePages, a->iterations);
  auto versus = [&](const std::string& name, double gbps) {
    const std::string k = "vs_" + name;
    out += format("  %-12s %7.2f GB/s   auto / %-12s %.3f (rounds %.2f to %.2f)\n", name.c_str(),
                  gbps, name.c_str(), counter(*a, k.c_str()), counter(*a, (k + "_lo").c_str()),
                  counter(*a, (k + "_hi").c_str()));
  };
  out += format("  %-12s %7.2f GB/s\n", "auto", counter(*a, "GBps"));
  versus("ceiling", counter(*a, "ceiling_GBps"));
  out += format("  %-12s %7.2f GB/s   (the bare loop with regular stores, same rounds)\n",
                "store_loop", counter(*a, "store_loop_GBps"));
  for (const Result* r : fill)
    if (r->point.param == size && r->point.bytes == bytes && !is_ntcopy(r->point.variant))
      versus(r->point.variant, counter(*r, "GBps"));
}

// One row of the fill table: every variant's speed relative to the ceiling.
std::string fill_row(const std::vector<const Result*>& fill, const std::vector<std::string>& cols,
                     size_t size, size_t bytes) {
  std::string row = format("%-5zu %-10s", size, bench::human_bytes(bytes).c_str());
  for (const auto& c : cols) {
    const Result* r = find(fill, size, bytes, c);
    row += r ? format(" %*.2f", static_cast<int>(std::max<size_t>(c.size(), 5)),
                      counter(*r, "vs_ceiling"))
             : format(" %*s", static_cast<int>(std::max<size_t>(c.size(), 5)), "-");
  }
  const Result* a = find(fill, size, bytes, "auto");
  if (a)
    row += format("  %8.2f %8.2f %8.2f  %5.2f", counter(*a, "GBps"), counter(*a, "ceiling_GBps"),
                  counter(*a, "store_loop_GBps"), counter(*a, "vs_store_loop"));
  return row + "\n";
}

void fill_table_summary(std::string& out, const std::vector<const Result*>& fill) {
  const std::vector<std::string> cols = variants_of(fill, [](const Result&) { return true; });
  out += format(
      "\nFill: speed relative to the ceiling (bare %s streaming loop, same bytes,\n"
      "interleaved rounds, median ratio; > 1 is faster). Below %s auto uses regular\n"
      "stores: compare it there with the bare regular-store loop (store, auto/store);\n"
      "on small ranges the streaming loop's speed depends on whether lines are cached.\n",
      ceiling_loops().isa, bench::human_bytes(ntc_nt_threshold()).c_str());
  std::string head = format("%-5s %-10s", "tmpl", "total");
  for (const auto& c : cols)
    head += format(" %*s", static_cast<int>(std::max<size_t>(c.size(), 5)), c.c_str());
  out += head + format("  %8s %8s %8s  %5s\n", "auto", "ceiling", "store", "auto/") +
         format("%*s%-26s  %5s\n", static_cast<int>(head.size()) + 2, "", "(GB/s)", "store");
  const auto sizes = sorted_set(fill, [](const Result& r) { return r.point.param; });
  for (size_t size : sizes) {
    std::vector<size_t> totals;
    for (const Result* r : fill)
      if (r->point.param == size && r->point.variant == "auto") totals.push_back(r->point.bytes);
    std::sort(totals.begin(), totals.end());
    if (size != bench::kSeedPageDescriptorBytes && totals.size() > 3)  // long tables: the big end
      totals.erase(totals.begin(), totals.end() - 3);
    for (size_t bytes : totals) out += fill_row(fill, cols, size, bytes);
  }
}

// Where auto is below 0.95 of the bare loop with its kind of stores, or below
// 0.9 of the best peer. Each variant is compared through that same bare loop,
// measured in its own rounds: below the threshold the regular-store loop,
// whose speed is stable; the streaming loop's speed on small ranges depends
// on whether the lines happen to be cached, and would make peers look faster
// or slower than they are.
void shortfall_summary(std::string& out, const std::vector<const Result*>& fill) {
  out +=
      "\nWhere auto falls short (< 0.95 x the bare loop with its kind of stores, or "
      "< 0.9 x the best peer):\n";
  int n = 0;
  for (const Result* a : fill) {
    if (a->point.variant != "auto") continue;
    const bool streams = a->point.bytes >= ntc_nt_threshold();
    const char* via = streams ? "vs_ceiling" : "vs_store_loop";
    const double vs_bare = counter(*a, via);
    double best = 0;
    std::string best_name;
    for (const Result* p : fill)
      if (p->point.param == a->point.param && p->point.bytes == a->point.bytes &&
          !is_ntcopy(p->point.variant) && counter(*p, via) > best) {
        best = counter(*p, via);
        best_name = p->point.variant;
      }
    const double vs_best = best > 0 ? vs_bare / best : 0;
    if (vs_bare >= 0.95 && (best == 0 || vs_best >= 0.9)) continue;
    ++n;
    out += format("  %4zu-byte template, %-10s auto %.2f x the %s loop, %.2f x %s", a->point.param,
                  bench::human_bytes(a->point.bytes).c_str(), vs_bare,
                  streams ? "streaming" : "regular-store", vs_best, best_name.c_str());
    if (streams)  // how the two bare loops compare here
      out += format("; streaming loop / regular-store loop %.2f",
                    counter(*a, "ceiling_GBps") / counter(*a, "store_loop_GBps"));
    out += "\n";
  }
  if (!n) out += "  nowhere\n";
}

void copy_summary(std::string& out, const std::vector<const Result*>& copy) {
  const auto mis = sorted_set(copy, [](const Result& r) { return r.point.param; });
  const auto sizes = sorted_set(copy, [](const Result& r) { return r.point.bytes; });
  for (const char* v : {"auto", "pmem_nt", "pmem"}) {
    out += format(
        "\nCopy: %s relative to glibc memcpy (interleaved, median ratio), by where "
        "the destination starts past a page boundary (the source starts on one)\n%-10s",
        v, "bytes");
    for (size_t m : mis) out += format(" %7s", format("+%zu", m).c_str());
    out += "\n";
    for (size_t bytes : sizes) {
      out += format("%-10s", bench::human_bytes(bytes).c_str());
      for (size_t m : mis) {
        const Result* r = find(copy, m, bytes, v);
        out += r ? format(" %7.2f", counter(*r, "vs_memcpy")) : format(" %7s", "-");
      }
      out += "\n";
    }
  }
}

void pollution_summary(std::string& out, const std::vector<const Result*>& all) {
  std::vector<const Result*> pol, probe;
  for (const Result* r : all) (r->point.variant == "probe" ? probe : pol).push_back(r);
  out += "\nCache probe: one dependent read per line of a set just read, by set size (ns)\n";
  for (const Result* r : probe)
    out += format(" %s: %.1f;", bench::human_bytes(r->point.param).c_str(),
                  counter(*r, "ns_per_line"));
  out += "\n";
  for (size_t hot : sorted_set(pol, [](const Result& r) { return r.point.param; })) {
    const Result* any = *std::find_if(pol.begin(), pol.end(),
                                      [&](const Result* r) { return r->point.param == hot; });
    out += format(
        "\nPollution: reading a %s hot set after a %s fill of 64-byte templates, us "
        "(median of rounds; min: the least disturbed round)\n",
        bench::human_bytes(hot).c_str(), bench::human_bytes(any->point.bytes).c_str());
    out += format("%-12s %10s %10s %10s %10s\n", "between", "after", "after min", "warm",
                  "after/warm");
    for (const Result* r : pol)
      if (r->point.param == hot)
        out += format("%-12s %10.0f %10.0f %10.0f %10.2f\n", r->point.variant.c_str(),
                      counter(*r, "after_us"), counter(*r, "after_min_us"), counter(*r, "warm_us"),
                      counter(*r, "after_vs_warm"));
  }
}

void dispatch_summary(std::string& out, const std::vector<const Result*>& d) {
  out += "\nDispatch: one 64-byte operation (ns per call)\n";
  for (const Result* r : d)
    out += format("  %-14s %6.2f\n", r->point.variant.c_str(), r->ns_per_iteration);
}

// wall-seconds.tsv: how long each benchmark took to run and check, for
// whoever needs to trim the short mode.
void write_wall_times(const Config& cfg, const Results& all) {
  const std::string path = cfg.out_dir + "/wall-seconds.tsv";
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return std::perror(path.c_str());
  for (const Result& r : all) std::fprintf(f, "%s\t%.3f\n", r.name.c_str(), r.wall_seconds);
  std::fclose(f);
}

void wall_time_summary(std::string& out, const Results& all) {
  const char* names[] = {"fill", "copy", "pollution", "dispatch"};
  double total = 0;
  out += "\nWall time by section:";
  for (int s = 0; s < 4; ++s) {
    double t = 0;
    for (const Result& r : all)
      if (static_cast<int>(r.point.section) == s) t += r.wall_seconds;
    total += t;
    out += format(" %s %.0f s,", names[s], t);
  }
  out += format(" total %.0f s\n", total);
}

}  // namespace

void write_report(const Config& cfg, const std::vector<Result>& results) {
  const auto fill = in_section(results, Section::fill);
  const auto copy = in_section(results, Section::copy);
  const auto pol = in_section(results, Section::pollution);
  write_fill_tables(cfg, fill);
  write_copy_tables(cfg, copy);
  write_pollution_tables(cfg, pol);

  std::string out = format("== ntcopy-bench summary (%s mode) ==\n%s\n",
                           cfg.full ? "full" : "short", cpu_line().c_str());
  out += format("auto = %s; flags 0 stream from %s; ceiling = bare %s loops\n", ntc_kernel(),
                bench::human_bytes(ntc_nt_threshold()).c_str(), ceiling_loops().isa);
  headline_summary(out, fill);
  fill_table_summary(out, fill);
  shortfall_summary(out, fill);
  copy_summary(out, copy);
  pollution_summary(out, pol);
  dispatch_summary(out, in_section(results, Section::dispatch));
  wall_time_summary(out, results);
  write_wall_times(cfg, results);
  if (cfg.print_summary) std::printf("\n%s", out.c_str());
  const std::string path = cfg.out_dir + "/summary.txt";
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fputs(out.c_str(), f);
    std::fclose(f);
  }
}

}  // namespace suite
