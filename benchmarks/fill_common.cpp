#include "fill_common.h"

#include <ntcopy/ntcopy.h>

#include <cstdlib>
#include <cstring>
#include <map>

#include "bench_util.h"
#include "suite.h"

namespace suite {

bool run_variant(const FillVariant& v, const FillJob& j) {
  if (!v.peer) return ntc_fill(j.dst, j.tmpl, j.size, j.count, 0) == 0;
  v.peer(j.dst, j.tmpl, j.size, j.count);
  return true;
}

std::vector<FillVariant> fill_variants(size_t size) {
  std::vector<FillVariant> v;
  for (const auto& name : ntc_variants()) v.push_back({name, nullptr});
  for (const auto& p : peers::fills_for(size)) v.push_back({p.name, p.fill});
  return v;
}

FillVariant peer_variant(size_t size, const char* name) {
  for (const auto& p : peers::fills_for(size))
    if (std::strcmp(p.name, name) == 0) return {name, p.fill};
  std::fprintf(stderr, "ntcopy-bench: no peer %s for %zu-byte templates\n", name, size);
  std::abort();
}

const unsigned char* template_of(size_t size) {
  static std::map<size_t, std::vector<unsigned char>> cache;
  auto& t = cache[size];
  if (t.empty()) t = bench::nonzero_bytes(size, size);
  return t.data();
}

const unsigned char* ceiling_pattern() {
  static const std::vector<unsigned char> p = bench::nonzero_bytes(64, 6464);
  return p.data();
}

const bare::Loops& ceiling_loops() {
  static const bare::Loops l = bare::widest_loops();
  return l;
}

bool verify_variant(const FillVariant& v, const FillJob& j) {
  std::memset(j.dst, 0, j.bytes());
  bench::Sentinel guard(j.dst + j.bytes());
  return run_variant(v, j) && bench::holds_copies(j.dst, j.tmpl, j.size, j.count) && guard.intact();
}

}  // namespace suite
