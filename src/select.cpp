// Kernel-family selection and threshold policy. Pure functions: no globals,
// no I/O, so tests exercise every branch with fake CPUs.
#include "select.h"

#include <array>
#include <cstdio>

namespace ntcopy {

namespace {
constexpr std::array kFamilies{Family::avx512, Family::avx, Family::movnti, Family::generic};
constexpr std::array<std::string_view, 4> kNames{"avx512", "avx", "movnti", "generic"};
}  // namespace

std::span<const Family> families_best_first() { return kFamilies; }

std::string_view family_name(Family f) { return kNames[static_cast<std::size_t>(f)]; }

std::optional<Family> family_from_name(std::string_view name) {
  for (Family f : kFamilies)
    if (family_name(f) == name) return f;
  return std::nullopt;
}

bool family_supported(Family f, const CpuFeatures& cpu) {
  switch (f) {
    case Family::avx512: return cpu.x86_64 && cpu.avx512f;
    case Family::avx: return cpu.x86_64 && cpu.avx;
    case Family::movnti: return cpu.x86_64 && cpu.sse2;
    case Family::generic: return true;
  }
  return false;
}

Family best_family(const CpuFeatures& cpu) {
  for (Family f : kFamilies)
    if (family_supported(f, cpu)) return f;
  return Family::generic;
}

std::string printable_env_value(std::string_view value) {
  constexpr std::size_t kMaxShown = 64;
  std::string out;
  for (std::size_t i = 0; i < value.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (value.size() > kMaxShown) out += "...";
  return out;
}

FamilyChoice choose_family(const CpuFeatures& cpu, const char* env_value) {
  const Family best = best_family(cpu);
  if (env_value == nullptr || *env_value == '\0') return {best, {}};
  std::string_view value = env_value;
  if (value == "auto") return {best, {}};
  auto instead = [&] { return "; using auto (" + std::string(family_name(best)) + ")"; };
  std::optional<Family> named = family_from_name(value);
  if (!named)
    return {best, "ntcopy: NTCOPY_KERNEL=\"" + printable_env_value(value) +
                      "\" is not one of auto, avx512, avx, movnti, generic" + instead()};
  if (!family_supported(*named, cpu))
    return {best, "ntcopy: NTCOPY_KERNEL=\"" + std::string(value) +
                      "\" is not supported by this CPU" + instead()};
  return {*named, {}};
}

namespace {
// The binary shift of a K, M or G suffix, either case; 0 for any other byte.
unsigned suffix_shift(char c) {
  switch (c | 0x20) {  // only bit 5 tells 'K' from 'k'
    case 'k': return 10;
    case 'm': return 20;
    case 'g': return 30;
    default: return 0;
  }
}
}  // namespace

std::optional<std::size_t> parse_byte_count(std::string_view text) {
  std::size_t digits_end = 0;
  while (digits_end < text.size() && text[digits_end] >= '0' && text[digits_end] <= '9')
    ++digits_end;
  if (digits_end == 0) return std::nullopt;
  unsigned shift = 0;
  if (digits_end != text.size()) {
    shift = suffix_shift(text[digits_end]);
    if (shift == 0 || digits_end + 1 != text.size()) return std::nullopt;
  }
  constexpr std::size_t kMax = static_cast<std::size_t>(-1);
  std::size_t value = 0;
  for (std::size_t i = 0; i < digits_end; ++i) {
    std::size_t digit = static_cast<std::size_t>(text[i] - '0');
    if (value > (kMax - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (value > (kMax >> shift)) return std::nullopt;
  return value << shift;
}

std::size_t default_threshold(std::size_t llc_bytes) {
  // See docs/kernels.md: streaming pays off once the destination no longer fits
  // in the last-level cache. Unknown or absurd cache sizes (hypervisors report
  // them) fall back to the clamp.
  if (llc_bytes == 0) return kUnknownCacheThreshold;
  if (llc_bytes < kMinThreshold) return kMinThreshold;
  if (llc_bytes > kMaxThreshold) return kMaxThreshold;
  return llc_bytes;
}

ThresholdChoice choose_threshold(const CpuFeatures& cpu, const char* env_value) {
  const std::size_t fallback = default_threshold(cpu.llc_bytes);
  if (env_value == nullptr || *env_value == '\0') return {fallback, false, {}};
  std::optional<std::size_t> bytes = parse_byte_count(env_value);
  if (!bytes)
    return {fallback, false,
            "ntcopy: NTCOPY_NT_THRESHOLD=\"" + printable_env_value(env_value) +
                "\" is not a byte count (digits with an optional K, M or G); using the default " +
                std::to_string(fallback)};
  return {*bytes, true, {}};
}

}  // namespace ntcopy
