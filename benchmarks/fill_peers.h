// What people write instead of ntc_fill: the peers of the fill sweep. Each
// writes exactly `count` copies of the `size`-byte template at dst, the same
// bytes as ntc_fill.
#ifndef NTCOPY_BENCHMARKS_FILL_PEERS_H
#define NTCOPY_BENCHMARKS_FILL_PEERS_H

#include <cstddef>
#include <span>

namespace peers {

using FillFn = void (*)(unsigned char* dst, const unsigned char* tmpl, std::size_t size,
                        std::size_t count);

struct NamedFill {
  const char* name;
  FillFn fill;
};

// The template sizes the peers are compiled for: the struct-copy peers need
// the size at compile time, as the code they stand for has it.
std::span<const std::size_t> template_sizes();

// The peers for one template size, in report order:
//   plain_loop     the template copied word by word (8 bytes, then the rest)
//   memcpy_each    memcpy per element, size known only at run time (a call)
//   fill_n         std::fill_n over a struct of that size
//   movnti_oc      open-coded fixed-offset MOVNTI stores per element, then
//                  SFENCE (the kernel patch's approach)
//   libpmem        pmem_memcpy(NONTEMPORAL | NODRAIN) per element, then
//                  pmem_drain()
// Empty when `size` is not one of template_sizes().
std::span<const NamedFill> fills_for(std::size_t size);

}  // namespace peers

#endif
