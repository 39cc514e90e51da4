// The same memmap initialisation through ntcopy's C++ API: a lambda patches
// each page's frame number; errors would arrive as std::system_error.
#include <cstdint>
#include <cstdio>
#include <ntcopy/ntcopy.hpp>
#include <vector>

struct Page {  // 64 bytes, like Linux's struct page
  std::uint64_t flags = 0;
  std::uint64_t pgmap = 0;
  std::uint64_t zone_device_data = 0;
  std::uint32_t refcount = 0;
  std::uint32_t mapcount = 0;
  std::uint64_t pfn = 0;
  std::uint64_t reserved[3] = {};
};
static_assert(sizeof(Page) == 64);

int main() {
  std::vector<Page> pages(std::size_t{1} << 20);
  const Page tmpl{.flags = 0x0a00000000000200u, .pgmap = 0xffff888000001000u, .refcount = 1};
  const std::uint64_t base_pfn = 0x100000;
  ntcopy::fill(std::span(pages), tmpl, [&](Page& p, std::size_t i) { p.pfn = base_pfn + i; });

  std::vector<Page> copy(pages.size());
  ntcopy::copy(std::span(copy), std::span<const Page>(pages), ntcopy::flags::nontemporal);
  for (std::size_t i = 0; i < copy.size(); ++i)
    if (copy[i].pfn != base_pfn + i || copy[i].flags != tmpl.flags) {
      std::fprintf(stderr, "page %zu is wrong\n", i);
      return 1;
    }
  std::printf("fill_pages (C++): %zu pages initialised with the %s kernel\n", pages.size(),
              ntcopy::kernel().data());
  return 0;
}
