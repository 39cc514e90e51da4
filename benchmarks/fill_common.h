// What the fill sweep, the headline and the pollution test share: the fill
// variants and their inputs.
#ifndef NTCOPY_BENCHMARKS_FILL_COMMON_H
#define NTCOPY_BENCHMARKS_FILL_COMMON_H

#include <cstddef>
#include <string>
#include <vector>

#include "bare_loops.h"
#include "fill_peers.h"

namespace suite {

// `count` copies of a `size`-byte template at dst.
struct FillJob {
  unsigned char* dst;
  const unsigned char* tmpl;
  size_t size;
  size_t count;
  size_t bytes() const { return size * count; }
};

// An ntcopy family (peer == nullptr: ntc_fill with flags 0) or a peer.
struct FillVariant {
  std::string name;
  peers::FillFn peer = nullptr;
};

// Runs the fill; false when ntc_fill reported an error.
bool run_variant(const FillVariant& v, const FillJob& j);

// The ntcopy variants (ntc_variants()), then the peers for this size.
std::vector<FillVariant> fill_variants(size_t size);

// The named peer for this template size; aborts when there is none.
FillVariant peer_variant(size_t size, const char* name);

// Random non-zero template bytes, the same for every call with this size.
const unsigned char* template_of(size_t size);

// The 64 random non-zero bytes the bare loops repeat.
const unsigned char* ceiling_pattern();

// The widest bare loops this CPU supports, probed once.
const bare::Loops& ceiling_loops();

// Poisons [dst, dst + bytes) with zeros (no template byte is zero), runs the
// variant once and checks every byte it wrote and the bytes just past them.
bool verify_variant(const FillVariant& v, const FillJob& j);

}  // namespace suite

#endif
