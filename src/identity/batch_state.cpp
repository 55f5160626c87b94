// Batches of the in-memory state: begin, rollback and commit of every part
// BatchState lists (the order and why: BatchState::for_each_part).
#include <algorithm>

#include "cdpcore/hash.hpp"
#include "identity/batch_state.hpp"

namespace cdpcore::idg {

uint64_t BatchState::hash_of(uint32_t id) const noexcept {
  // Rehashing all identifiers when the table is rebuilt: no allocation.
  const uint64_t m = ids[id].meta;
  const char* stored = arena.get(meta_off(m), 0).data();
  const Packing p = packing(m);
  if (p == Packing::none) return hash_identifier(meta_type(m), std::string_view(stored, meta_len(m)));
  char buf[kMaxIdentifierLength];
  unpack_value_into(stored, p, meta_len(m), buf);
  return hash_identifier(meta_type(m), std::string_view(buf, meta_len(m)));
}

void BatchState::clear_logs_and_outputs() noexcept {
  for_each_part([this](auto role, const char*, auto get) {
    if constexpr (decltype(role)::value == PartRole::undo || decltype(role)::value == PartRole::output)
      clear_part(get(*this));
  });
}

void BatchState::begin() {
  clear_logs_and_outputs();
  journal.begin();
  mark = BatchMarks{{tallies()}, arena.mark(), sources.size(), static_cast<uint32_t>(ids.size()),
                    static_cast<uint32_t>(occ.size()), rec_time.size()};
  in_batch = true;
}

void BatchState::rebuild_table() noexcept {
  size_t cap = 1024;
  while (cap * 3 < ids.size() * 4 + 4) cap *= 2;
  table.reset(cap);
  for (uint32_t id = 0; id < ids.size(); ++id) {
    if (meta_flags(ids[id].meta) & kFlagDeleted) continue;
    if (table.full()) table.grow();
    table.insert(hash_of(id), id);
  }
}

void BatchState::rollback() noexcept {
  // 1. The index: new identifiers leave it while their values exist, unless
  // they are more than half of it (then rebuilt at 4).
  const uint32_t n = static_cast<uint32_t>(ids.size());
  const bool rebuild = n > mark.ids && n - mark.ids > table.count() / 2;
  if (!rebuild)
    for (uint32_t id = n; id-- > mark.ids;) table.erase(hash_of(id), id);
  // 2. The journaled arrays.
  journal.rollback();
  // 3. The touch and attach logs, after the journal (see for_each_part).
  for (size_t i = touch_undo.size(); i-- > 0;) {
    IdRec& x = ids.raw()[touch_undo[i].id];
    x.occ_head = touch_undo[i].occ_head;
    x.last_seen = touch_undo[i].last_seen;
  }
  for (size_t i = attach_undo.size(); i-- > 0;) {
    const AttachUndo& u = attach_undo[i];
    persons.raw()[u.ord].size = u.size;
    ids.raw()[u.root].next = u.next;
  }
  // 4. The values, and the index when it is rebuilt.
  arena.truncate(mark.arena);
  if (rebuild) rebuild_table();
  // 5. Each from its own log or the mark.
  for (size_t i = sources.size(); i-- > mark.sources;) source_by_name.erase(sources[i]);
  sources.resize(mark.sources);
  for (size_t i = popped_free.size(); i-- > 0;) free_ordinals.push_back(popped_free[i]);
  for (size_t i = block_undo.size(); i-- > 0;) {
    auto& [id, old] = block_undo[i];
    if (old) block_meta[id] = *old;
    else block_meta.erase(id);
  }
  for (size_t i = seen_with_undo.size(); i-- > 0;) {
    auto [id, size] = seen_with_undo[i];
    auto it = seen_with.find(id);
    if (it == seen_with.end()) continue;
    if (size == 0) seen_with.erase(it);
    else it->second.resize(size);
  }
  tallies() = mark;
  // 6. Logs and outputs.
  clear_logs_and_outputs();
  in_batch = false;
}

void BatchState::commit(bool reuse_ordinals) {
  journal.commit();
  last_seq = mark.last_seq + pending.size();
  if (reuse_ordinals) free_ordinals.insert(free_ordinals.end(), pending_free.begin(), pending_free.end());
  // Removed identifiers leave the index and their bytes are overwritten.
  for (uint32_t id : deleted_ids) {
    seen_with.erase(id);
    table.erase(hash_of(id), id);
    const uint64_t m = ids[id].meta;
    arena.scrub(meta_off(m), arena_size(m));
  }
  clear_logs_and_outputs();
  in_batch = false;
}

bool BatchState::note_seen_with(uint32_t id, uint64_t who) {
  auto& v = seen_with[id];
  if (std::find(v.begin(), v.end(), who) != v.end()) return false;
  if (in_batch) seen_with_undo.emplace_back(id, v.size());
  v.push_back(who);
  return true;
}

void BatchState::set_block_meta(uint32_t id, std::optional<BlockMeta> m) {
  auto it = block_meta.find(id);
  std::optional<BlockMeta> old;
  if (it != block_meta.end()) old = it->second;
  if (in_batch) block_undo.emplace_back(id, old);
  if (m) block_meta[id] = *m;
  else if (it != block_meta.end()) block_meta.erase(it);
}

}  // namespace cdpcore::idg
