// The reverse index: which segments a person is in, as one row of bits per
// person (see ReverseIndex in engine_impl.hpp). Segments' bitmaps are
// transposed into it chunk by chunk, so each 65,536-person block of rows is
// written while it is in cache.
#include <algorithm>
#include <bit>

#include "cdpcore/error.hpp"
#include "segment/engine_impl.hpp"

namespace cdpcore {

namespace segment_detail {

namespace {

constexpr size_t kRows = 65536;

}  // namespace

void Impl::rebuild_index() {
  index.by_key.clear();
  index.words = std::max<uint32_t>(1, static_cast<uint32_t>((by_id.size() + 63) / 64));
  std::vector<const Segment*> live;
  size_t keys = 0;
  for (const Segment* s : by_id) {
    if (!s || !s->evaluated || s->members.empty()) continue;
    live.push_back(s);
    keys = std::max<size_t>(keys, size_t{s->members.chunk(s->members.chunk_count() - 1).key} + 1);
  }
  index.by_key.resize(keys);
  // Chunk by chunk: the block of rows being written stays in cache.
  std::vector<size_t> next(live.size(), 0);  // per segment: its next chunk
  for (size_t key = 0; key < keys; ++key) {
    for (size_t i = 0; i < live.size(); ++i) {
      const Bitmap& members = live[i]->members;
      if (next[i] >= members.chunk_count()) continue;
      const Bitmap::Chunk chunk = members.chunk(next[i]);
      if (chunk.key != key) continue;
      auto& rows = index.by_key[key];
      if (rows.empty()) rows.assign(kRows * index.words, 0);
      const uint32_t id = live[i]->id;
      uint64_t* base = rows.data() + id / 64;
      const uint64_t bit = uint64_t{1} << (id % 64);
      const size_t stride = index.words;
      chunk.for_each_low([&](uint32_t low) { base[low * stride] |= bit; });
      ++next[i];
    }
  }
}

void Impl::index_person(const Segment& s, PersonOrdinal p, bool member) {
  if (index_paused) return;
  if (s.id / 64 >= index.words) {
    rebuild_index();
    return;
  }
  uint32_t key = p >> 16;
  if (member) {
    if (key >= index.by_key.size()) index.by_key.resize(size_t{key} + 1);
    if (index.by_key[key].empty()) index.by_key[key].assign(kRows * index.words, 0);
  }
  uint64_t* row = index.row(p);
  if (!row) return;
  uint64_t bit = uint64_t{1} << (s.id % 64);
  if (member) row[s.id / 64] |= bit;
  else row[s.id / 64] &= ~bit;
}

void Impl::unindex_segment(const Segment& s) {
  if (index_paused || !s.evaluated || s.id / 64 >= index.words) return;
  const uint64_t mask = ~(uint64_t{1} << (s.id % 64));
  for (size_t i = 0; i < s.members.chunk_count(); ++i) {
    const Bitmap::Chunk chunk = s.members.chunk(i);
    if (chunk.key >= index.by_key.size() || index.by_key[chunk.key].empty()) continue;
    uint64_t* base = index.by_key[chunk.key].data() + s.id / 64;
    const size_t stride = index.words;
    chunk.for_each_low([&](uint32_t low) { base[low * stride] &= mask; });
  }
}

void Impl::index_segment(const Segment& s) {
  if (index_paused || !s.evaluated) return;
  if (s.id / 64 >= index.words) {
    rebuild_index();  // wider rows; includes s
    return;
  }
  const size_t chunks = s.members.chunk_count();
  if (chunks && s.members.chunk(chunks - 1).key >= index.by_key.size())
    index.by_key.resize(size_t{s.members.chunk(chunks - 1).key} + 1);
  const uint64_t bit = uint64_t{1} << (s.id % 64);
  for (size_t i = 0; i < chunks; ++i) {
    const Bitmap::Chunk chunk = s.members.chunk(i);
    auto& rows = index.by_key[chunk.key];
    if (rows.empty()) rows.assign(kRows * index.words, 0);
    uint64_t* base = rows.data() + s.id / 64;
    const size_t stride = index.words;
    chunk.for_each_low([&](uint32_t low) { base[low * stride] |= bit; });
  }
}

void Impl::resume_index() {
  index_paused = false;
  rebuild_index();
}

}  // namespace segment_detail

std::vector<std::string> SegmentEngine::segments_of(PersonOrdinal person) const {
  std::vector<std::string> out;
  const uint64_t* row = impl_->index.row(person);
  if (!row) return out;
  std::vector<uint32_t> ranks;
  ranks.reserve(128);
  for (uint32_t w = 0; w < impl_->index.words; ++w)
    for (uint64_t x = row[w]; x; x &= x - 1)
      ranks.push_back(impl_->rank_of_id[w * 64 + static_cast<uint32_t>(std::countr_zero(x))]);
  std::sort(ranks.begin(), ranks.end());  // name order, without comparing strings
  out.reserve(ranks.size());
  for (uint32_t r : ranks) out.push_back(impl_->name_by_rank[r]);
  return out;
}

}  // namespace cdpcore
