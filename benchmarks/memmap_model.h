// An emulated ZONE_DEVICE memmap, as memmap_init_zone_device() builds it: a
// 64-byte struct page per 4 KiB page, order-0 pages (nd_pmem) or 2 MiB
// compound pages (dax_pmem, align=2097152). The field values follow the
// kernel's; the addresses are this process's.
#ifndef NTCOPY_BENCHMARKS_MEMMAP_MODEL_H
#define NTCOPY_BENCHMARKS_MEMMAP_MODEL_H

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace memmap {

struct Page {
  uint64_t flags;             // PG_* bits at the bottom; section, node, zone at the top
  uint64_t compound_head;     // tails: head address | 1; otherwise lru.next (poisoned)
  uint64_t pgmap;             // struct dev_pagemap *
  uint64_t zone_device_data;  // the driver's per-page word
  uint64_t mapping;           // tails: TAIL_MAPPING
  uint64_t index;             // page[1] of a compound page: the folio's page count
  uint32_t mapcount;          // _mapcount: -1 = not mapped
  uint32_t refcount;          // _refcount
  uint64_t memcg_data;
};
static_assert(sizeof(Page) == 64, "struct page is 64 bytes on x86-64");

// page->flags layout: the section number in the top bits, then node and zone,
// as with SECTION_IN_PAGE_FLAGS. A section is 128 MiB: 2^15 pages of 4 KiB.
constexpr int kSectionWidth = 19, kNodeWidth = 6, kZoneWidth = 3;
constexpr int kSectionShift = 64 - kSectionWidth;
constexpr int kNodeShift = kSectionShift - kNodeWidth;
constexpr int kZoneShift = kNodeShift - kZoneWidth;
constexpr uint64_t kSectionMask = ((uint64_t{1} << kSectionWidth) - 1) << kSectionShift;
constexpr int kPfnSectionShift = 15;
constexpr uint64_t kZoneDevice = 4;
constexpr uint64_t kPgReserved = uint64_t{1} << 10;
constexpr uint64_t kPgHead = uint64_t{1} << 6;
constexpr uint64_t kListPoison1 = 0xdead000000000100;
constexpr uint64_t kTailMapping = 0xdead000000000400;

// set_page_section(): the PFN-dependent part of a page descriptor.
inline void set_section(Page& p, uint64_t pfn) {
  p.flags = (p.flags & ~kSectionMask) | ((pfn >> kPfnSectionShift) << kSectionShift);
}

struct Namespace {
  size_t pages;               // struct pages to initialise
  uint64_t first_pfn;         // PFN of the first one
  size_t pages_per_compound;  // 1: order-0 pages; 512: 2 MiB compound pages
  Page head_template;         // order-0 pages and compound heads, section bits clear
  const char* driver;         // "nd_pmem" or "dax_pmem", as in the seed
  uint64_t pfn(size_t i) const { return first_pfn + i; }
  unsigned order() const {
    unsigned o = 0;
    while ((size_t{1} << o) < pages_per_compound) ++o;
    return o;
  }
};

// __init_zone_device_page() with the section bits left clear.
inline Page head_template(uint64_t pgmap, uint64_t driver_word, int node) {
  Page p{};
  p.flags = kPgReserved | (kZoneDevice << kZoneShift) | (uint64_t(node) << kNodeShift);
  p.compound_head = kListPoison1;
  p.pgmap = pgmap;
  p.zone_device_data = driver_word;
  p.mapcount = UINT32_MAX;
  p.refcount = 1;
  return p;
}

// prep_compound_tail(): what every tail page of one compound page shares.
inline Page tail_template(const Page& head_tmpl, const Page* head) {
  Page p = head_tmpl;
  p.compound_head = reinterpret_cast<uintptr_t>(head) | 1;
  p.mapping = kTailMapping;
  p.refcount = 0;
  return p;
}

// __SetPageHead(), after the head page was stored.
inline void set_page_head(Page* head) { head->flags |= kPgHead; }

// prep_compound_head(): the folio fields that live in page[1], after the tails.
inline void prep_compound_head(Page* head, unsigned order) {
  head[1].flags |= order;
  head[1].index = uint64_t{1} << order;
}

// What page i must hold when initialisation is done: the reference the
// variants are checked against, built field by field.
inline Page expected_page(const Namespace& ns, const Page* memmap, size_t i) {
  const size_t in_compound = i % ns.pages_per_compound;
  const Page* head = memmap + (i - in_compound);
  Page p = ns.head_template;
  if (ns.pages_per_compound > 1 && in_compound == 0) p.flags |= kPgHead;
  if (in_compound > 0) p = tail_template(ns.head_template, head);
  set_section(p, ns.pfn(i));
  if (in_compound == 1) {
    p.flags |= ns.order();
    p.index = uint64_t{1} << ns.order();
  }
  return p;
}

}  // namespace memmap

#endif
