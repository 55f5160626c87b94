// Internal: page advice for large arrays — transparent huge pages for arrays
// read at random, and prefaulting for fresh memory read before it is written.
//
// An index of hundreds of MB probed at random misses the TLB on almost every
// probe with 4 KiB pages (and a miss is a nested page walk in a VM); with
// 2 MiB pages the same index needs a few hundred TLB entries. Linux backs a
// range with huge pages when asked (madvise) in the default THP mode; pages
// must be advised before they are first touched.
#pragma once

#include <algorithm>
#include <cstddef>

namespace cdpcore::util {

/// Asks for huge pages on the whole 2 MiB-aligned part of [p, p + bytes).
/// A no-op where the system has none or refuses; never fails.
void advise_huge_pages(const void* p, size_t bytes) noexcept;

/// Maps the whole pages of [p, p + bytes) writable now, in one call. For
/// fresh zeroed memory (calloc) that is read before it is written (a hash
/// table probed while it fills): a read maps the shared zero page and the
/// first write then faults a second time. Contents are kept. Returns false
/// where unsupported (nothing done).
bool populate_for_write(void* p, size_t bytes) noexcept;

/// Reserves room for `n` elements in `v` (growing by half again at least)
/// and advises huge pages on its storage, before the elements are written.
template <class Vector>
void reserve_huge(Vector& v, size_t n) {
  if (n > v.capacity()) v.reserve(std::max(n, v.capacity() + v.capacity() / 2));
  advise_huge_pages(v.data(), v.capacity() * sizeof(*v.data()));
}

}  // namespace cdpcore::util
