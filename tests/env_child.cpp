// Helper for env_test.cpp, run in a child process with NTCOPY_KERNEL,
// NTCOPY_NT_THRESHOLD and NTCOPY_CPU_MASK set by the parent. Prints, on stdout:
//   kernel=<ntc_kernel()>
//   threshold=<ntc_nt_threshold()>
//   fill=ok | fill=FAILED: <what>
//   supported=<ntc_kernels(), comma-separated>
//   refused=<families ntc_use_kernel refuses with ENOTSUP, comma-separated>
// and exits 0 when the fills and copies it checks are correct, 1 otherwise.
// It writes nothing to stderr itself: whatever appears there is the library's.
#include <ntcopy/ntcopy.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string check_fill(std::size_t size, std::size_t count, std::size_t misalign, unsigned flags) {
  std::vector<unsigned char> buf(size * count + 256, 0xa5), tmpl(size);
  for (std::size_t i = 0; i < size; ++i) tmpl[i] = static_cast<unsigned char>((i * 29 + 1) | 1u);
  unsigned char* dst = buf.data() + 64 + misalign;
  if (ntc_fill(dst, tmpl.data(), size, count, flags) != 0) return "ntc_fill failed";
  ntc_drain();
  for (std::size_t i = 0; i < size * count; ++i)
    if (dst[i] != tmpl[i % size]) return "wrong byte at " + std::to_string(i);
  for (unsigned char* p = buf.data(); p < dst; ++p)
    if (*p != 0xa5) return "wrote before dst";
  for (unsigned char* p = dst + size * count; p < buf.data() + buf.size(); ++p)
    if (*p != 0xa5) return "wrote past the end";
  return {};
}

std::string check_copy(std::size_t n, unsigned flags) {
  std::vector<unsigned char> src(n + 64), dst(n + 128, 0);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<unsigned char>(i * 7 + i / 251);
  if (ntc_memcpy(dst.data() + 3, src.data() + 5, n, flags) != dst.data() + 3)
    return "ntc_memcpy failed";
  ntc_drain();
  if (std::memcmp(dst.data() + 3, src.data() + 5, n) != 0) return "copy differs";
  return {};
}

std::string supported_list() {
  const char* names[8];
  const std::size_t n = ntc_kernels(names, 8);
  std::string out;
  for (std::size_t i = 0; i < n && i < 8; ++i) {
    if (i != 0) out += ',';
    out += names[i];
  }
  return out;
}

// Asks for each family in turn, then restores the active one.
std::string refused_list() {
  const std::string active = ntc_kernel();
  std::string out;
  for (const char* f : {"avx512", "avx", "movnti", "generic"}) {
    errno = 0;
    if (ntc_use_kernel(f) == 0 || errno != ENOTSUP) continue;
    if (!out.empty()) out += ',';
    out += f;
  }
  ntc_use_kernel(active.c_str());
  return out;
}

}  // namespace

int main() {
  const char* kernel = ntc_kernel();
  const std::size_t threshold = ntc_nt_threshold();
  std::string what;
  const unsigned flag_sets[] = {0u, NTC_F_NONTEMPORAL, NTC_F_TEMPORAL};
  for (unsigned flags : flag_sets) {
    if (what.empty()) what = check_fill(24, 3000, 5, flags);
    if (what.empty()) what = check_fill(100, 1000, 33, flags);
    if (what.empty()) what = check_copy(100003, flags);
  }
  // With a small threshold, flags 0 streams these.
  if (what.empty() && threshold <= (std::size_t{2} << 20)) what = check_fill(64, 40000, 7, 0);
  if (what.empty() && threshold <= (std::size_t{2} << 20)) what = check_copy(3 << 20, 0);
  std::printf("kernel=%s\nthreshold=%zu\nfill=%s\nsupported=%s\nrefused=%s\n", kernel, threshold,
              what.empty() ? "ok" : ("FAILED: " + what).c_str(), supported_list().c_str(),
              refused_list().c_str());
  return what.empty() ? 0 : 1;
}
