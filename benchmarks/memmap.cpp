// ntcopy-memmap: the seed's experiment in user space. Initialises the memmap
// of a 100 GB namespace (26,214,400 64-byte struct pages, 1.6 GiB) the way
// memmap_init_zone_device() does, for order-0 pages (nd_pmem) and 2 MiB
// compound pages (dax_pmem), with three variants:
//   base    copy the template with a plain loop, then patch the section bits
//           in the destination (the kernel before the patch);
//   movnti  refresh the section bits in the template, then fixed-offset MOVNTI
//           stores, SFENCE before the compound head is updated (the patch);
//   ntcopy  ntc_fill_patched, the section bits refreshed in the staging batch.
// Prints, per variant, the first run on freshly mapped memory ("first
// binding") and the mean of N later runs ("rebind"), in the seed's format.
// Every variant is checked against the expected bytes after timing.
//
//   ntcopy-memmap [--runs N] [--out DIR]
#include <emmintrin.h>
#include <ntcopy/ntcopy.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.h"
#include "memmap_model.h"

namespace memmap {
namespace {

// ---- The variants: each writes the same bytes (checked after timing).

// Word w of a page. Through memcpy: a Page is not an array of uint64_t, and
// the compiler may assume a uint64_t load does not see its uint32_t fields.
inline uint64_t word(const Page& p, size_t w) {
  uint64_t v;
  std::memcpy(&v, reinterpret_cast<const unsigned char*>(&p) + 8 * w, 8);
  return v;
}

// The plain word-by-word copy of the kernel before the patch.
void copy_words(Page* dst, const Page& src) {
  for (size_t w = 0; w < sizeof(Page) / 8; ++w) {
    const uint64_t v = word(src, w);
    std::memcpy(reinterpret_cast<unsigned char*>(dst) + 8 * w, &v, 8);
  }
}

void base_pages(Page* dst, const Page& tmpl, const Namespace& ns, size_t first, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    copy_words(dst + i, tmpl);
    set_section(dst[i], ns.pfn(first + i));
  }
}

void base(Page* m, const Namespace& ns) {
  const size_t per = ns.pages_per_compound;
  if (per == 1) return base_pages(m, ns.head_template, ns, 0, ns.pages);
  for (size_t c = 0; c < ns.pages; c += per) {
    base_pages(m + c, ns.head_template, ns, c, 1);
    set_page_head(m + c);
    base_pages(m + c + 1, tail_template(ns.head_template, m + c), ns, c + 1, per - 1);
    prep_compound_head(m + c, ns.order());
  }
}

// The patch's stores: one MOVNTI per word, fixed offsets.
inline void movnti_words(Page* dst, const Page& src) {
  auto* d = reinterpret_cast<uint64_t*>(dst);
  for (size_t w = 0; w < sizeof(Page) / 8; ++w)
    asm volatile("movnti %1, %0" : "=m"(d[w]) : "r"(word(src, w)));
}

void movnti_pages(Page* dst, Page tmpl, const Namespace& ns, size_t first, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    set_section(tmpl, ns.pfn(first + i));  // refresh the template, not the destination
    movnti_words(dst + i, tmpl);
  }
}

void movnti(Page* m, const Namespace& ns) {
  const size_t per = ns.pages_per_compound;
  if (per == 1) {
    movnti_pages(m, ns.head_template, ns, 0, ns.pages);
  } else {
    for (size_t c = 0; c < ns.pages; c += per) {
      movnti_pages(m + c, ns.head_template, ns, c, 1);
      _mm_sfence();  // the head's streaming stores before __SetPageHead
      set_page_head(m + c);
      movnti_pages(m + c + 1, tail_template(ns.head_template, m + c), ns, c + 1, per - 1);
      prep_compound_head(m + c, ns.order());
    }
  }
  _mm_sfence();
}

// ntc_fill_patched's callback: the section bits of each staged element.
struct PatchContext {
  const Namespace* ns;
  size_t first;  // index of the call's first page
};

void patch_sections(void* elems, size_t first, size_t n, size_t, void* ctx) {
  const auto* c = static_cast<const PatchContext*>(ctx);
  auto* pages = static_cast<Page*>(elems);
  for (size_t i = 0; i < n; ++i) set_section(pages[i], c->ns->pfn(c->first + first + i));
}

bool ntcopy_pages(Page* dst, const Page& tmpl, const Namespace& ns, size_t first, size_t n,
                  unsigned flags) {
  PatchContext ctx{&ns, first};
  return ntc_fill_patched(dst, &tmpl, sizeof(Page), n, patch_sections, &ctx, flags) == 0;
}

bool g_ntcopy_ok = true;

void ntcopy(Page* m, const Namespace& ns) {
  const size_t per = ns.pages_per_compound;
  if (per == 1) {  // one call over the whole namespace: flags 0 stream it
    g_ntcopy_ok &= ntcopy_pages(m, ns.head_template, ns, 0, ns.pages, 0);
    return;
  }
  // 32 KiB of tails per call is below the flags-0 threshold; the memmap as a
  // whole is not, so stream, and drain where the kernel drains.
  const unsigned flags = NTC_F_NONTEMPORAL | NTC_F_NODRAIN;
  for (size_t c = 0; c < ns.pages; c += per) {
    g_ntcopy_ok &= ntcopy_pages(m + c, ns.head_template, ns, c, 1, flags);
    ntc_drain();
    set_page_head(m + c);
    g_ntcopy_ok &=
        ntcopy_pages(m + c + 1, tail_template(ns.head_template, m + c), ns, c + 1, per - 1, flags);
    prep_compound_head(m + c, ns.order());
  }
  ntc_drain();
}

struct Variant {
  const char* name;
  const char* title;  // the heading of its block in the seed's format
  void (*init)(Page*, const Namespace&);
};

const Variant kVariants[] = {
    {"base", "Base (plain copy loop, then the section bits patched in the destination)", base},
    {"movnti", "Open-coded MOVNTI (the kernel patch)", movnti},
    {"ntcopy", "ntcopy (ntc_fill_patched, section bits refreshed in the staging batch)", ntcopy},
};
constexpr size_t kNumVariants = sizeof kVariants / sizeof kVariants[0];

// ---- Measurement.

// The kernel maps the memmap (vmemmap) with 2 MiB pages where it can; so do
// these buffers, through transparent huge pages when the kernel allows them.
constexpr bench::Pages kMemmapPages = bench::Pages::huge;

struct Timing {
  double first_ms = 0;
  std::vector<double> rebind_ms;
};

bool matches_expected(const Page* m, const Namespace& ns) {
  for (size_t i = 0; i < ns.pages; ++i) {
    const Page e = expected_page(ns, m, i);
    if (std::memcmp(&m[i], &e, sizeof(Page)) != 0) {
      std::fprintf(stderr, "%s: page %zu differs from the expected bytes:\n", ns.driver, i);
      for (size_t w = 0; w < sizeof(Page) / 8; ++w)
        std::fprintf(stderr, "  word %zu: %016llx, expected %016llx\n", w,
                     static_cast<unsigned long long>(word(m[i], w)),
                     static_cast<unsigned long long>(word(e, w)));
      return false;
    }
  }
  return true;
}

double run_ms(const Variant& v, Page* m, const Namespace& ns) {
  return bench::time_reps([&] { v.init(m, ns); }) * 1e3;
}

// The first run of each variant, on memory mapped for it and never touched.
// One mapping of the same size is touched and released first, so the first
// variant measured does not alone pay for the process's (in a VM, the
// guest's) first use of that much memory.
void first_bindings(const Namespace& ns, Timing* t) {
  bench::Buffer(ns.pages * sizeof(Page), /*touch=*/true, kMemmapPages);
  for (size_t v = 0; v < kNumVariants; ++v) {
    bench::Buffer fresh(ns.pages * sizeof(Page), /*touch=*/false, kMemmapPages);
    t[v].first_ms = run_ms(kVariants[v], reinterpret_cast<Page*>(fresh.data()), ns);
  }
}

// `runs` rounds over one mapping, the variants interleaved and rotated, after
// one untimed round: the first pass over memory is slower than the next ones
// (first binding measures that), and the memmap was touched by memset only.
void rebinds(const Namespace& ns, Page* m, int runs, Timing* t) {
  for (const Variant& v : kVariants) v.init(m, ns);
  for (int r = 0; r < runs; ++r)
    for (size_t k = 0; k < kNumVariants; ++k) {
      const size_t v = (r + k) % kNumVariants;
      t[v].rebind_ms.push_back(run_ms(kVariants[v], m, ns));
    }
}

// Poisons the memmap, runs each variant once more and checks every byte.
int verify_all(const Namespace& ns, Page* m) {
  int failures = 0;
  for (const Variant& v : kVariants) {
    std::memset(static_cast<void*>(m), 0xa5, ns.pages * sizeof(Page));
    g_ntcopy_ok = true;
    v.init(m, ns);
    if (!g_ntcopy_ok || !matches_expected(m, ns)) {
      std::printf("VERIFY FAILED: %s, %s\n", v.name, ns.driver);
      ++failures;
    }
  }
  return failures;
}

// ---- Output.

struct CaseResult {
  const char* driver;
  Timing t[kNumVariants];
};

// The seed's closing line: "This reduces the average rebind time by about
// 61.8% for nd_pmem and 62.7% for dax_pmem." Signed when the cases differ in
// direction.
void print_change_line(FILE* f, const std::vector<CaseResult>& cases, size_t v) {
  std::vector<double> change;
  for (const CaseResult& c : cases)
    change.push_back(100 * (bench::mean(c.t[v].rebind_ms) / bench::mean(c.t[0].rebind_ms) - 1));
  const bool all_down = std::all_of(change.begin(), change.end(), [](double c) { return c < 0; });
  const bool all_up = std::all_of(change.begin(), change.end(), [](double c) { return c >= 0; });
  std::fprintf(f, "This %s the average rebind time by about",
               all_down ? "reduces"
               : all_up ? "increases"
                        : "changes");
  for (size_t i = 0; i < cases.size(); ++i)
    std::fprintf(f, all_down || all_up ? "%s %.1f%% for %s" : "%s %+.1f%% for %s", i ? " and" : "",
                 all_down || all_up ? std::abs(change[i]) : change[i], cases[i].driver);
  std::fprintf(f, ".\n");
}

void print_seed_format(FILE* f, const std::vector<CaseResult>& cases, int runs) {
  for (size_t v = 0; v < kNumVariants; ++v) {
    std::fprintf(f, "\n%s:\n", kVariants[v].title);
    for (size_t i = 0; i < cases.size(); ++i)
      std::fprintf(
          f, "%sFirst binding for %s driver: %.0f ms\nAverage of subsequent rebinds: %.2f ms\n",
          i ? "\n" : "", cases[i].driver, cases[i].t[v].first_ms,
          bench::mean(cases[i].t[v].rebind_ms));
    if (v == 0) continue;
    std::fprintf(f, "\n");
    print_change_line(f, cases, v);
  }
  std::fprintf(f, "\n(rebind: mean of %d runs; the variants interleaved round by round)\n", runs);
}

void print_table(FILE* f, const std::vector<CaseResult>& cases) {
  std::fprintf(f, "\n%-8s %-9s %12s %12s %12s %12s\n", "variant", "driver", "first (ms)",
               "rebind mean", "rebind med.", "mean vs base");
  for (const CaseResult& c : cases)
    for (size_t v = 0; v < kNumVariants; ++v) {
      const double mean = bench::mean(c.t[v].rebind_ms);
      std::fprintf(f, "%-8s %-9s %12.0f %12.2f %12.2f %11.1f%%\n", kVariants[v].name, c.driver,
                   c.t[v].first_ms, mean, bench::median(c.t[v].rebind_ms),
                   100 * (mean / bench::mean(c.t[0].rebind_ms) - 1));
    }
}

// memmap.tsv for the bar chart: one row per variant.
void write_table(const std::string& path, const std::vector<CaseResult>& cases) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return std::perror(path.c_str());
  std::fprintf(f, "variant");
  for (const CaseResult& c : cases) std::fprintf(f, "\t%s_first\t%s_rebind", c.driver, c.driver);
  std::fprintf(f, "\n");
  for (size_t v = 0; v < kNumVariants; ++v) {
    std::fprintf(f, "%s", kVariants[v].name);
    for (const CaseResult& c : cases)
      std::fprintf(f, "\t%.2f\t%.2f", c.t[v].first_ms, bench::mean(c.t[v].rebind_ms));
    std::fprintf(f, "\n");
  }
  std::fclose(f);
}

Namespace make_namespace(size_t pages_per_compound, const char* driver) {
  static const char dev_pagemap_stand_in[64] = {1};
  Namespace ns;
  ns.pages = bench::kSeedNamespacePages;
  ns.first_pfn = (uint64_t{64} << 30) >> 12;  // the namespace starts at 64 GiB
  ns.pages_per_compound = pages_per_compound;
  ns.head_template = head_template(reinterpret_cast<uintptr_t>(dev_pagemap_stand_in),
                                   0x5a5a0000 + pages_per_compound, 0);
  ns.driver = driver;
  return ns;
}

}  // namespace
}  // namespace memmap

int main(int argc, char** argv) {
  using namespace memmap;
  int runs = 30;
  std::string out_dir;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--out") == 0 && i + 1 < argc)
      out_dir = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--runs N] [--out DIR]\n", argv[0]);
      return 2;
    }
  }
  const Namespace cases[] = {make_namespace(1, "nd_pmem"), make_namespace(512, "dax_pmem")};
  const int cpu = bench::pin_to_current_cpu();
  std::printf(
      "ntcopy-memmap: %zu struct pages of %zu bytes (%s), ntcopy kernel %s, %d rebinds, CPU %d\n",
      cases[0].pages, sizeof(Page), bench::human_bytes(cases[0].pages * sizeof(Page)).c_str(),
      ntc_kernel(), runs, cpu);
  std::vector<CaseResult> results;
  int failures = 0;
  bench::Buffer memmap(cases[0].pages * sizeof(Page), /*touch=*/true, kMemmapPages);
  for (const Namespace& ns : cases) {
    if (ns.pages % ns.pages_per_compound) return 2;  // whole compound pages only
    CaseResult r{ns.driver, {}};
    first_bindings(ns, r.t);
    rebinds(ns, reinterpret_cast<Page*>(memmap.data()), runs, r.t);
    failures += verify_all(ns, reinterpret_cast<Page*>(memmap.data()));
    results.push_back(r);
  }
  print_seed_format(stdout, results, runs);
  print_table(stdout, results);
  if (!out_dir.empty()) {
    mkdir(out_dir.c_str(), 0755);
    write_table(out_dir + "/memmap.tsv", results);
    if (FILE* f = std::fopen((out_dir + "/memmap.txt").c_str(), "w")) {
      print_seed_format(f, results, runs);
      print_table(f, results);
      std::fclose(f);
    }
  }
  if (failures) std::printf("\nntcopy-memmap: %d verification failures\n", failures);
  return failures ? 1 : 0;
}
