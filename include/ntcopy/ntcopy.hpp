// ntcopy C++ API: a header-only layer over the C ABI in ntcopy.h.
// Errors surface as std::system_error carrying the errno the C call set.
#ifndef NTCOPY_NTCOPY_HPP
#define NTCOPY_NTCOPY_HPP

#include <ntcopy/ntcopy.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace ntcopy {

enum class flags : unsigned {
  none = 0,
  nontemporal = NTC_F_NONTEMPORAL,  // stream regardless of size
  temporal = NTC_F_TEMPORAL,        // regular cached stores regardless of size
  nodrain = NTC_F_NODRAIN,          // no fence at the end; call drain() before dependent stores
};

constexpr flags operator|(flags a, flags b) noexcept {
  return static_cast<flags>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr flags operator&(flags a, flags b) noexcept {
  return static_cast<flags>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
constexpr flags& operator|=(flags& a, flags b) noexcept { return a = a | b; }

namespace detail {
[[noreturn]] inline void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}
template <class T>
constexpr void require_trivially_copyable() {
  static_assert(std::is_trivially_copyable_v<T>,
                "ntcopy copies raw bytes: T must be trivially copyable");
}
}  // namespace detail

// Fills every element of dst with a copy of tmpl.
template <class T>
void fill(std::span<T> dst, const T& tmpl, flags f = flags::none) {
  detail::require_trivially_copyable<T>();
  if (ntc_fill(dst.data(), &tmpl, sizeof(T), dst.size(), static_cast<unsigned>(f)) != 0)
    detail::throw_errno("ntcopy::fill");
}

// Fills dst with copies of tmpl, calling patch(element, index) on each copy
// before it is stored. patch runs on a staging copy, never on dst itself; it is
// inlined into one callback per batch (one indirect call per batch). If patch
// throws, the exception propagates and the contents of dst are unspecified
// (the fill stops mid-way; nothing outside dst is written).
template <class T, class Patch>
requires std::is_invocable_v<Patch&, T&, std::size_t>
void fill(std::span<T> dst, const T& tmpl, Patch&& patch, flags f = flags::none) {
  detail::require_trivially_copyable<T>();
  using P = std::remove_reference_t<Patch>;
  ntc_patch_fn batch = [](void* elems, std::size_t first, std::size_t n, std::size_t, void* ctx) {
    P& p = *static_cast<P*>(ctx);
    T* e = static_cast<T*>(elems);
    for (std::size_t i = 0; i < n; ++i) p(e[i], first + i);
  };
  void* ctx = const_cast<void*>(static_cast<const void*>(std::addressof(patch)));
  if (ntc_fill_patched(dst.data(), &tmpl, sizeof(T), dst.size(), batch, ctx,
                       static_cast<unsigned>(f)) != 0)
    detail::throw_errno("ntcopy::fill");
}

// Copies src into the front of dst (the spans may overlap). Throws
// std::system_error(EINVAL) when dst is shorter than src.
template <class T>
void copy(std::span<T> dst, std::span<const T> src, flags f = flags::none) {
  detail::require_trivially_copyable<T>();
  if (dst.size() < src.size()) {
    errno = EINVAL;
    detail::throw_errno("ntcopy::copy: destination shorter than source");
  }
  if (ntc_memcpy(dst.data(), src.data(), src.size_bytes(), static_cast<unsigned>(f)) == nullptr &&
      !src.empty())
    detail::throw_errno("ntcopy::copy");
}

// Orders earlier streaming stores of this thread before its later stores.
inline void drain() noexcept { ntc_drain(); }

// Name of the active kernel family.
inline std::string_view kernel() noexcept { return ntc_kernel(); }

// Makes `name` ("auto" or a family) the active family; throws on failure.
inline void use_kernel(const char* name) {
  if (ntc_use_kernel(name) != 0) detail::throw_errno("ntcopy::use_kernel");
}

}  // namespace ntcopy

#endif  // NTCOPY_NTCOPY_HPP
