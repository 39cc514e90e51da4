// Writes the fuzzer's seed corpus: one file per case below, named after it, in
// the directory given as the only argument (tests/fuzz/corpus in the repo):
//   cmake --build build-fuzz --target ntcopy_fuzz_seeds &&
//   build-fuzz/tests/fuzz/ntcopy_fuzz_seeds tests/fuzz/corpus
// The cases reach each operation, each family (kernel 1..4 on x86-64), both
// store paths, the short-range, image, in-place-template, heap-staging and
// stepped-overlap paths, and the refusals; libFuzzer mutates from there.
#include <cstdio>
#include <string>
#include <vector>

#include "fuzz_case.h"

namespace {

using ntc_fuzz::Encoded;

struct Seed {
  std::string name;
  Encoded e;
  std::vector<std::uint8_t> payload;
};

constexpr std::uint8_t kNT = 1, kT = 2, kNoDrain = 4;
constexpr std::uint8_t kFront = 64, kInside = 128;

// Element sizes: bit 15 clear encodes 1..512 directly, set 1..kMaxTemplate.
std::uint16_t small_size(unsigned size) { return static_cast<std::uint16_t>(size - 1); }
std::uint16_t large_size(unsigned size) { return static_cast<std::uint16_t>(0x8000 | (size - 1)); }

// A count or n in the smallest length class whose bound it fits.
std::uint32_t length(std::size_t value, std::size_t bytes) {
  const std::uint32_t cls = bytes <= ntc_fuzz::kSmall ? 0 : bytes <= ntc_fuzz::kMedium ? 1 : 2;
  return cls << 22 | static_cast<std::uint32_t>(value);
}

std::vector<Seed> seeds() {
  std::vector<Seed> s;
  const std::vector<std::uint8_t> text = {'n', 't', 'c', 'o', 'p', 'y', '-', 'f',
                                          'u', 'z', 'z', '-', 's', 'e', 'e', 'd'};
  auto add = [&](std::string name, Encoded e, std::vector<std::uint8_t> payload = {}) {
    e.salt = static_cast<std::uint8_t>(s.size() * 37 + 11);
    s.push_back({std::move(name), e, std::move(payload)});
  };
  auto fill = [&](std::string name, std::uint8_t op, std::uint8_t kernel, std::uint8_t flags,
                  std::uint8_t dst, unsigned size, std::size_t count, std::uint32_t offset = 0,
                  std::vector<std::uint8_t> payload = {}) {
    Encoded e;
    e.op = op, e.kernel = kernel, e.flags = flags, e.dst = dst, e.offset = offset;
    e.size = size <= 512 ? small_size(size) : large_size(size);
    e.length = length(count, size * count);
    e.src = static_cast<std::uint8_t>(s.size() * 5 % 128);
    add(std::move(name), e, std::move(payload));
  };
  auto copy = [&](std::string name, std::uint8_t op, std::uint8_t kernel, std::uint8_t flags,
                  std::size_t n, std::uint8_t dst, std::uint8_t src = 0, std::uint32_t distance = 0,
                  bool dst_above = false) {
    Encoded e;
    e.op = op, e.kernel = kernel, e.flags = flags, e.dst = dst, e.src = src;
    e.length = length(n, n);
    e.offset = distance;
    e.dir = dst_above ? 1 : 0;
    add(std::move(name), e);
  };

  // ntc_fill
  for (std::uint8_t k = 1; k <= 4; ++k)
    fill("fill-size1-count300-nt-kernel" + std::to_string(k), 0, k, kNT, 0, 1, 300);
  fill("fill-size3-count1000-nt-nodrain-mis5", 0, 0, kNT | kNoDrain, 5, 3, 1000);
  fill("fill-size24-count900-flags0-mis7", 0, 2, 0, 7, 24, 900);
  fill("fill-size64-count4096-flags0", 0, 1, 0, 0, 64, 4096, 0, text);
  fill("fill-size100-count200-temporal-mis33", 0, 1, kT, 33, 100, 200);
  fill("fill-size127-count150-nt-front", 0, 3, kNT, kFront | 1, 127, 150);
  fill("fill-size4096-count5-nt", 0, 2, kNT, 9, 4096, 5);
  fill("fill-size8193-count2-nt", 0, 1, kNT, 63, 8193, 2);
  fill("fill-size16640-count2-temporal-front", 0, 4, kT, kFront, 16640, 2);
  fill("fill-size64-count100-template-inside", 0, 1, kNT, kInside | 3, 64, 100, 640);
  fill("fill-size10000-count2-template-inside", 0, 2, kNT, kInside, 10000, 2, 15000);
  fill("fill-size5-count0", 0, 1, kNT, 0, 5, 0);
  fill("fill-invalid-nt-and-temporal", 0, 1, kNT | kT, 0, 16, 40);
  fill("fill-invalid-unknown-flag", 0, 1, 0x80 | (2 << 3), 0, 16, 40);
  // ntc_fill_patched
  for (std::uint8_t k = 1; k <= 4; ++k)
    fill("patched-size64-count300-nt-kernel" + std::to_string(k), 1, k, kNT, 0, 64, 300);
  fill("patched-size1-count20000-nt-mis1", 1, 1, kNT, 1, 1, 20000);
  fill("patched-size7-count3000-front-mis13", 1, 2, kNT, kFront | 13, 7, 3000);
  fill("patched-size200-count100-temporal", 1, 3, kT, 40, 200, 100);
  fill("patched-size9000-count2-heap-staging", 1, 1, kNT, 17, 9000, 2);
  fill("patched-size48-count200-template-inside", 1, 1, 0, kInside | 8, 48, 200, 96);
  // ntc_memcpy, separate ranges
  const unsigned small_ns[] = {0, 1, 7, 16, 31, 63, 64, 100, 255, 256, 257, 513, 1023};
  for (std::size_t i = 0; i < std::size(small_ns); ++i)
    copy("memcpy-n" + std::to_string(small_ns[i]), 2, static_cast<std::uint8_t>(1 + i % 4),
         i % 2 ? kNT : 0, small_ns[i], static_cast<std::uint8_t>(i * 11 % 128),
         static_cast<std::uint8_t>(i * 13 % 128));
  copy("memcpy-n4096-nt", 2, 1, kNT, 4096, 0);
  copy("memcpy-n20000-nt-nodrain", 2, 2, kNT | kNoDrain, 20000, 3, 64 | 9);
  copy("memcpy-n262144-nt", 2, 1, kNT, 262144, 0);
  copy("memcpy-n100000-temporal", 2, 3, kT, 100000, 21, 5);
  // ntc_memcpy, one buffer, overlapping
  copy("overlap-n1000-dst-above-by1", 3, 1, kNT, 1000, 0, 0, 1, true);
  copy("overlap-n1000-dst-below-by63", 3, 2, 0, 1000, 7, 0, 63);
  copy("overlap-n200000-dst-above-by70000-nt", 3, 1, kNT, 200000, 0, 0, 70000, true);
  copy("overlap-n200000-dst-below-by70000-nt", 3, 1, kNT, 200000, 5, 0, 70000);
  copy("overlap-n20000-dst-above-by100-nt", 3, 2, kNT, 20000, 0, 0, 100, true);
  copy("overlap-n5000-same-range", 3, 1, kNT, 5000, 0, 0, 0);
  copy("overlap-invalid-flags", 3, 1, kNT | kT, 500, 0, 0, 20);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR (writes the seed corpus into DIR)\n", argv[0]);
    return 2;
  }
  const std::vector<Seed> all = seeds();
  for (const Seed& seed : all) {
    const std::string path = std::string(argv[1]) + "/" + seed.name;
    const std::vector<std::uint8_t> bytes = seed.e.bytes(seed.payload);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() ||
        std::fclose(f) != 0) {
      std::perror(path.c_str());
      return 1;
    }
  }
  std::printf("wrote %zu seeds to %s\n", all.size(), argv[1]);
  return 0;
}
