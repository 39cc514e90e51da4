// The input format of the ntcopy differential fuzzer: a 16-byte header that
// names one call, then payload bytes that become the template or the source.
// Every byte string decodes to a valid case (a short input reads as if padded
// with zeros), so libFuzzer's mutations always reach the library. Shared by the
// harness (fuzz_ntcopy.cpp) and the seed generator (make_seeds.cpp).
//
//   byte 0       operation, mod 4: fill, fill_patched, memcpy (separate
//                source), memcpy within one buffer (the ranges may overlap)
//   byte 1       kernel: 0 = "auto", k = the ((k-1) mod n)-th of ntc_kernels()
//   byte 2       flags: bits 0-2 as NTC_F_*; bit 7 adds the unknown flag bit
//                8 << bits 3-5 (the call must then fail with EINVAL)
//   byte 3       destination: bits 0-5 dst % 64; bit 6: dst starts just after a
//                PROT_NONE page rather than ending just before one; bit 7
//                (fills): the template lies in the destination's buffer,
//                overlapping the destination
//   bytes 4-5    fills: element size; bit 15 clear: 1 + bits 0-8 (1..512),
//                set: 1 + (bits 0-14 mod kMaxTemplate)
//   bytes 6-8    length: bits 22-23 pick the bound (0: kSmall, 1: kMedium,
//                2-3: kMaxTotal bytes); fills: count = bits 0-21 mod (the most
//                elements that fit, at least 2, plus 1); memcpy: n = bits 0-21
//                mod (bound + 1)
//   byte 9       separate source or template: bits 0-5 gap to the guard page;
//                bit 6: against the front guard page rather than the back one
//   bytes 10-12  offset: overlapping memcpy, the distance = offset mod (n + 65);
//                fill with the template inside, where it starts: dst - size +
//                (offset mod (size*count + size))
//   byte 13      bit 0: overlapping memcpy with dst above src
//   byte 14      salt for the patch callback and the payload stream
//   byte 15      unused
//   16..         payload: the template (fills) or source (memcpy) bytes; past
//                the end of the input they continue as a pseudo-random stream
// Multi-byte fields are little-endian.
#ifndef NTCOPY_TESTS_FUZZ_FUZZ_CASE_H
#define NTCOPY_TESTS_FUZZ_FUZZ_CASE_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ntc_fuzz {

// Bounds that keep one execution short while still reaching every path:
// templates over 8 KiB (read in place), patched fills of several 8 KiB
// batches, and overlapping streaming copies whose distance reaches the 64 KiB
// step. Most inputs stay in the two smaller classes, where head and tail
// handling lives and executions are cheap.
inline constexpr std::size_t kSmall = 1024;
inline constexpr std::size_t kMedium = 24 << 10;
inline constexpr std::size_t kMaxTotal = std::size_t{256} << 10;
inline constexpr std::size_t kMaxTemplate = 16640;  // 16 KiB + 256
inline constexpr std::size_t kHeader = 16;

enum class Op : std::uint8_t { fill, fill_patched, memcpy_separate, memcpy_overlap };

struct Case {
  Op op = Op::fill;
  std::uint8_t kernel = 0;
  unsigned flags = 0;
  std::size_t dst_mis = 0;      // dst % 64
  bool dst_front = false;       // dst starts right after a PROT_NONE page
  bool tmpl_inside = false;     // fills: template overlaps the destination
  std::size_t size = 0;         // fills: element size
  std::size_t count = 0;        // fills
  std::size_t n = 0;            // memcpy
  bool dst_above = false;       // overlapping memcpy: dst > src
  std::size_t distance = 0;     // overlapping memcpy: |dst - src|
  std::size_t tmpl_offset = 0;  // fill, template inside: it starts at dst - size + this
  std::size_t src_gap = 0;      // separate source: bytes between it and the guard
  bool src_front = false;       // separate source: right after the front guard
  std::uint8_t salt = 0;
  const std::uint8_t* payload = nullptr;
  std::size_t payload_len = 0;
};

inline Case decode(const std::uint8_t* data, std::size_t len) {
  std::uint8_t h[kHeader] = {};
  for (std::size_t i = 0; i < kHeader && i < len; ++i) h[i] = data[i];
  auto u24 = [&](std::size_t at) {
    return std::size_t{h[at]} | std::size_t{h[at + 1]} << 8 | std::size_t{h[at + 2]} << 16;
  };
  const std::size_t size_field = h[4] | std::size_t{h[5]} << 8;
  const std::size_t length = u24(6), offset = u24(10);
  const std::size_t bound = (length >> 22) == 0   ? kSmall
                            : (length >> 22) == 1 ? kMedium
                                                  : kMaxTotal;
  const std::size_t value = length & 0x3fffff;
  Case k;
  k.op = static_cast<Op>(h[0] % 4);
  k.kernel = h[1];
  k.flags = h[2] & 7u;
  if (h[2] & 0x80) k.flags |= 8u << ((h[2] >> 3) & 7);
  k.dst_mis = h[3] & 63u;
  k.dst_front = (h[3] & 64) != 0;
  k.src_gap = h[9] & 63u;
  k.src_front = (h[9] & 64) != 0;
  k.salt = h[14];
  if (k.op == Op::fill || k.op == Op::fill_patched) {
    k.tmpl_inside = (h[3] & 128) != 0;
    k.size =
        (size_field & 0x8000) ? 1 + (size_field & 0x7fff) % kMaxTemplate : 1 + (size_field & 0x1ff);
    const std::size_t most = bound / k.size < 2 ? 2 : bound / k.size;
    k.count = value % (most + 1);
    k.tmpl_offset = offset % (k.size * k.count + k.size);
  } else {
    k.n = value % (bound + 1);
    k.dst_above = (h[13] & 1) != 0;
    k.distance = offset % (k.n + 65);
  }
  if (len > kHeader) {
    k.payload = data + kHeader;
    k.payload_len = len - kHeader;
  }
  return k;
}

// A header field by field (the inverse of decode), for the seed generator.
struct Encoded {
  std::uint8_t op = 0, kernel = 0, flags = 0, dst = 0;
  std::uint16_t size = 0;
  std::uint32_t length = 0;  // 24 bits: class in bits 22-23
  std::uint8_t src = 0;
  std::uint32_t offset = 0;  // 24 bits
  std::uint8_t dir = 0, salt = 0;

  std::vector<std::uint8_t> bytes(const std::vector<std::uint8_t>& payload = {}) const {
    auto b = [](std::uint32_t v, int shift) { return static_cast<std::uint8_t>(v >> shift); };
    std::vector<std::uint8_t> out = {op,
                                     kernel,
                                     flags,
                                     dst,
                                     b(size, 0),
                                     b(size, 8),
                                     b(length, 0),
                                     b(length, 8),
                                     b(length, 16),
                                     src,
                                     b(offset, 0),
                                     b(offset, 8),
                                     b(offset, 16),
                                     dir,
                                     salt,
                                     0};
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
};

}  // namespace ntc_fuzz

#endif  // NTCOPY_TESTS_FUZZ_FUZZ_CASE_H
