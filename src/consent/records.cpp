// The record pool: every subject's records (sorted by time) and their tags,
// inserted in place, dropped and compacted.
#include <algorithm>
#include <vector>

#include "cdpcore/consent.hpp"
#include "consent/consent_impl.hpp"
#include "util/huge_pages.hpp"

namespace cdpcore {

using namespace consent_detail;

void Consent::Impl::insert_record(uint32_t sid, const IndexRecord& rec) {
  RecordRange& r = subjects[sid].records;
  if (r.size == r.capacity) {
    // Move the range to the end of the pool with room to grow.
    const uint32_t capacity = std::max<uint32_t>(4, r.capacity * 2);
    const uint64_t begin = record_pool.size();
    util::reserve_huge(record_pool, begin + capacity);
    util::reserve_huge(record_tags, 2 * (begin + capacity));
    record_pool.resize(begin + capacity);
    record_tags.resize(2 * (begin + capacity));
    std::copy_n(record_pool.begin() + static_cast<std::ptrdiff_t>(r.begin), r.size,
                record_pool.begin() + static_cast<std::ptrdiff_t>(begin));
    const RecordRange moved{begin, r.size, capacity};
    std::copy_n(tags_of(r), r.size, record_tags.data() + 2 * begin);
    std::copy_n(seqs_of(r), r.size, record_tags.data() + 2 * begin + capacity);
    record_pool_abandoned += r.capacity;
    r = moved;
  }
  auto first = record_pool.begin() + static_cast<std::ptrdiff_t>(r.begin);
  auto last = first + r.size;
  auto pos = std::upper_bound(first, last, rec, record_before);
  std::move_backward(pos, last, last + 1);
  *pos = rec;
  const auto at = static_cast<uint32_t>(pos - first);
  uint64_t* tags = record_tags.data() + 2 * r.begin;
  uint64_t* seqs = tags + r.capacity;
  std::move_backward(tags + at, tags + r.size, tags + r.size + 1);
  std::move_backward(seqs + at, seqs + r.size, seqs + r.size + 1);
  tags[at] = record_tag(rec);
  seqs[at] = rec.seq;
  record_time_max = std::max(record_time_max, rec.time);
  tags_partial |= !taggable(rec);
  ++r.size;
  if (record_pool_abandoned > 4096 && record_pool_abandoned * 3 > record_pool.size()) compact_records();
}

void Consent::Impl::clear_records(uint32_t sid) noexcept {
  RecordRange& r = subjects[sid].records;
  record_pool_abandoned += r.capacity;
  r = RecordRange{};
}

void Consent::Impl::compact_records() {
  uint64_t n = 0;
  for (const Subject& s : subjects) n += s.records.size;
  std::vector<IndexRecord> pool;
  std::vector<uint64_t> tags;
  util::reserve_huge(pool, n);
  util::reserve_huge(tags, 2 * n);
  for (Subject& s : subjects) {
    const uint64_t begin = pool.size();
    const auto b = static_cast<std::ptrdiff_t>(s.records.begin), e = b + s.records.size;
    pool.insert(pool.end(), record_pool.begin() + b, record_pool.begin() + e);
    tags.insert(tags.end(), tags_of(s.records), tags_of(s.records) + s.records.size);
    tags.insert(tags.end(), seqs_of(s.records), seqs_of(s.records) + s.records.size);
    s.records.begin = begin;
    s.records.capacity = s.records.size;
  }
  record_pool.swap(pool);
  record_tags.swap(tags);
  record_pool_abandoned = 0;
}

}  // namespace cdpcore
