// Kernel-family selection and threshold policy: pure functions of the CPU's
// features and the environment's strings, so tests can feed them fake CPUs.
#ifndef NTCOPY_SRC_SELECT_H
#define NTCOPY_SRC_SELECT_H

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ntcopy {

enum class Family : unsigned char { avx512, avx, movnti, generic };

// What selection needs to know about the machine (filled by cpu.cpp).
struct CpuFeatures {
  bool x86_64 = false;        // the movnti/avx/avx512 kernels were built (x86-64 target)
  bool sse2 = false;          // MOVNTI
  bool avx = false;           // AVX with YMM state enabled by the OS
  bool avx512f = false;       // AVX-512F with ZMM state enabled by the OS
  std::size_t llc_bytes = 0;  // last-level cache size as reported; 0 = unknown
};

// The families this build knows, best first.
std::span<const Family> families_best_first();
std::string_view family_name(Family f);
// Exact, lower-case family name; "auto" is not a family.
std::optional<Family> family_from_name(std::string_view name);
bool family_supported(Family f, const CpuFeatures& cpu);
// The best family that `cpu` supports (generic at worst).
Family best_family(const CpuFeatures& cpu);

// A choice and, when the environment's value was rejected, the one warning
// line (without newline) that explains what is used instead.
struct FamilyChoice {
  Family family;
  std::string warning;
};
// env_value: NTCOPY_KERNEL as read (nullptr = unset; "" is rejected).
FamilyChoice choose_family(const CpuFeatures& cpu, const char* env_value);

// Strict byte count: decimal digits with an optional K, M or G suffix (powers
// of 1024, either case). No sign, no spaces, no overflow; nullopt otherwise.
std::optional<std::size_t> parse_byte_count(std::string_view text);

// Threshold in bytes derived from the last-level cache size (0 = unknown),
// clamped to [kMinThreshold, kMaxThreshold].
inline constexpr std::size_t kMinThreshold = std::size_t{8} << 20;
inline constexpr std::size_t kMaxThreshold = std::size_t{64} << 20;
inline constexpr std::size_t kUnknownCacheThreshold = std::size_t{32} << 20;
std::size_t default_threshold(std::size_t llc_bytes);

struct ThresholdChoice {
  std::size_t bytes;
  bool from_env;
  std::string warning;
};
// env_value: NTCOPY_NT_THRESHOLD as read (nullptr = unset; "" is rejected).
ThresholdChoice choose_threshold(const CpuFeatures& cpu, const char* env_value);

// NTCOPY_CPU_MASK hides CPU features from selection, as if the CPU lacked
// them: a comma-separated list of sse2, avx, avx512f. Hiding a feature also
// hides the features built on it (sse2 < avx < avx512f), so the result is a
// CPU that could exist. A mask can only take families away, never add one.
struct CpuMaskChoice {
  CpuFeatures cpu;
  std::string hidden;   // the accepted list, e.g. "avx512f,avx"; empty = none
  std::string warning;  // non-empty: the value was rejected and nothing is hidden
};
// env_value: NTCOPY_CPU_MASK as read (nullptr = unset; "" is rejected).
CpuMaskChoice mask_cpu_features(const CpuFeatures& probed, const char* env_value);

// The three variables as read from the environment (nullptr = unset).
struct Environment {
  const char* kernel = nullptr;        // NTCOPY_KERNEL
  const char* nt_threshold = nullptr;  // NTCOPY_NT_THRESHOLD
  const char* cpu_mask = nullptr;      // NTCOPY_CPU_MASK
};

// Everything initialisation decides, from the probed CPU and the environment.
struct Selection {
  CpuFeatures cpu;  // the probed CPU less any features NTCOPY_CPU_MASK hides
  std::string hidden_features;
  Family family;
  ThresholdChoice threshold;
  std::vector<std::string> warnings;  // one line each, in the order above
};
Selection make_selection(const CpuFeatures& probed, const Environment& env);

// The environment value as it is safe to print on one line: non-printable
// bytes as \xNN, at most 64 bytes of it followed by "..." when longer.
std::string printable_env_value(std::string_view value);

}  // namespace ntcopy

#endif  // NTCOPY_SRC_SELECT_H
