// Internal: every piece of the identity graph's state that a batch changes,
// in one type, with the one place that begins, rolls back and commits them.
//
// A batch (link_batch, a removal, a block) is all or nothing: a failure or a
// cancellation leaves the graph exactly as before. Whatever a batch writes
// before its commit is a member of BatchState and is listed, with its role,
// in for_each_part; a test checks that the list covers every byte of the
// graph's state, and that a cancelled batch leaves every restored part equal
// to a twin graph's that never saw it (tests/cpp/identity/test_identity_rollback.cpp).
//
// Thread safety: none; the graph's single writer owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cdpcore/identity.hpp"
#include "identity/containers.hpp"
#include "identity/graph_records.hpp"
#include "identity/value_codec.hpp"

namespace cdpcore::idg {

/// Counts and next numbers that a batch moves. A rollback copies them back
/// whole from the mark, so a counter added here is restored with the others.
struct Tallies {
  PersonKey next_key = 1;
  uint64_t live_persons = 0;
  uint64_t live_ids = 0;
  uint64_t live_records = 0;
  uint64_t live_occ = 0;
  uint64_t blocked_count = 0;
  uint64_t last_seq = 0;
  uint64_t last_conflict = 0;
  bool operator==(const Tallies&) const = default;
};

/// Where the graph stood when the batch began: the tallies to restore, and the
/// sizes of the append-only parts (entries below them existed before the batch).
struct BatchMarks : Tallies {
  Arena::Mark arena{};
  size_t sources = 0;
  uint32_t ids = 0;   // identifiers
  uint32_t occ = 0;   // occurrences
  uint64_t recs = 0;  // records
};

/// What a batch does to a part of the state, and so how rollback() gets it back.
enum class PartRole : uint8_t {
  journaled,  // a JVec: the journal puts back its pre-batch entries and size
  restored,   // put back by a step of rollback(), from the mark or an undo log
  undo,       // an undo log (the journal too): empty outside a batch
  output,     // what the batch produced for its commit: empty outside a batch
  mark,       // where the parts stood at begin(): read inside a batch only
  unbatched,  // GraphState's own: no batch changes it before its commit
};

/// Empties a batch's log or output (a big PodVector gives its memory back).
template <typename T>
void clear_part(PodVector<T>& v) noexcept {
  clear_log(v);
}
template <typename T>
void clear_part(std::vector<T>& v) noexcept {
  v.clear();
}
inline void clear_part(std::string& s) noexcept { s.clear(); }
inline void clear_part(Timestamp& t) noexcept { t = 0; }
inline void clear_part(Journal&) noexcept {}  // emptied by its own commit() and rollback()

struct BatchState : Tallies {
  // A pre-batch identifier's occurrence-list head and last-seen time as they
  // were before its first occurrence in the batch. Every occurrence writes
  // both, and most identifiers change nothing else in a batch: these 12 bytes
  // restore them on rollback, where the journal would copy the whole IdRec
  // (and test a bitmap) for each.
  struct TouchUndo {
    uint32_t id;
    uint32_t occ_head;
    int32_t last_seen;
  };
  // Likewise a pre-batch person's size and its root's next member before the
  // first new identifier attached to it in the batch, while neither is in
  // the journal (a merge journals both; attaching after that uses the journal).
  struct AttachUndo {
    uint32_t ord;
    uint32_t root;
    uint32_t size;
    uint32_t next;
  };

  BatchState() = default;
  BatchState(const BatchState&) = delete;
  BatchState& operator=(const BatchState&) = delete;

  // ---- identifiers, records and persons: journaled arrays
  Journal journal;
  JVec<IdRec> ids{journal};
  JVec<uint8_t> seen{journal};  // distinct anchored persons bridged (saturating)
  JVec<uint32_t> rec_begin{journal};  // size records+1 (sentinel)
  JVec<int64_t> rec_time{journal};
  JVec<uint16_t> rec_src{journal};    // source id | kRecRemoved
  JVec<uint32_t> occ{journal};        // identifier id | kOccLinked | kOccRemoved
  JVec<uint32_t> occ_next{journal};   // previous occurrence of the same identifier
  JVec<PersonRec> persons{journal};   // by ordinal
  JVec<uint16_t> p_counts{journal};   // capacity x limited_types.size()
  JVec<uint64_t> key_state{journal};  // by key: kKeyAlive|ordinal, a forward key, or 0
  PodVector<TouchUndo> touch_undo;
  PodVector<AttachUndo> attach_undo;

  // ---- identifier values and their index
  Arena arena;
  IdTable table;

  // ---- record sources (names by id)
  std::vector<std::string> sources;
  std::unordered_map<std::string, uint32_t> source_by_name;

  // ---- person ordinals
  std::vector<uint32_t> free_ordinals;  // reusable now
  std::vector<uint32_t> popped_free;    // reused in this batch (for rollback)
  std::vector<uint32_t> pending_free;   // freed in this batch

  // ---- blocks and auto-block counts
  std::unordered_map<uint32_t, BlockMeta> block_meta;
  std::vector<std::pair<uint32_t, std::optional<BlockMeta>>> block_undo;
  // Which persons (keys) each counted identifier has met, so that the same
  // persons meeting again do not count twice. Only identifiers that ever met
  // a second person are here; kept in memory only (after reopening, a person
  // met before may be counted once more).
  std::unordered_map<uint32_t, std::vector<uint64_t>> seen_with;
  std::vector<std::pair<uint32_t, size_t>> seen_with_undo;  // (id, previous size)

  // ---- the batch's output: changes, conflicts, rows to write, values to suppress
  std::vector<PendingChange> pending;
  std::vector<PendingPart> pending_parts;
  std::vector<uint32_t> pending_part_ids;
  std::vector<LinkConflict> pending_conflicts;
  std::string pending_note;  // source of changes not caused by a record
  std::vector<std::pair<uint32_t, std::string>> pending_suppress;  // (type, digest) to store
  Timestamp pending_suppress_time = 0;
  std::vector<uint32_t> dirty_ids;
  std::vector<uint32_t> dirty_recs;
  std::vector<uint64_t> dirty_keys;
  std::vector<uint32_t> deleted_ids;  // to scrub and unindex after commit

  BatchMarks mark;
  bool in_batch = false;

  Tallies& tallies() noexcept { return *this; }
  const Tallies& tallies() const noexcept { return *this; }

  /// Calls f(role, name, get) for every part of the state: role is a
  /// std::integral_constant<PartRole, ...> (a visitor can decide on it at
  /// compile time) and get(state) that part of `state` (a BatchState or a
  /// GraphState). The order is rollback()'s:
  ///   1. the index forgets the batch's new identifiers while their values
  ///      are still readable (before the journal and the arena shrink);
  ///   2. the journal restores the arrays' pre-batch entries and sizes;
  ///   3. the touch and attach logs, after the journal: the journal may have
  ///      copied an IdRec or PersonRec after an occurrence or an attachment
  ///      had already changed the fields these logs hold, so its copy is not
  ///      the pre-batch value of those fields, theirs is (commits 86fb9a9,
  ///      c1c374d);
  ///   4. the arena drops the new values; the index is rebuilt instead of
  ///      step 1 when the batch doubled it (after 2: it reads restored flags);
  ///   5. sources, ordinals, blocks, auto-block counts and tallies, each from
  ///      its own log or the mark (independent of each other);
  ///   6. the logs and outputs are emptied and the mark is left as it was.
  template <typename F>
  static void for_each_part(F&& f) {
#define CDPCORE_PART(role, member) \
  f(std::integral_constant<PartRole, PartRole::role>{}, #member, [](auto& s) -> auto& { return s.member; })
    CDPCORE_PART(restored, table);
    CDPCORE_PART(undo, journal);
    CDPCORE_PART(journaled, ids);
    CDPCORE_PART(journaled, seen);
    CDPCORE_PART(journaled, rec_begin);
    CDPCORE_PART(journaled, rec_time);
    CDPCORE_PART(journaled, rec_src);
    CDPCORE_PART(journaled, occ);
    CDPCORE_PART(journaled, occ_next);
    CDPCORE_PART(journaled, persons);
    CDPCORE_PART(journaled, p_counts);
    CDPCORE_PART(journaled, key_state);
    CDPCORE_PART(undo, touch_undo);
    CDPCORE_PART(undo, attach_undo);
    CDPCORE_PART(restored, arena);
    CDPCORE_PART(restored, sources);
    CDPCORE_PART(restored, source_by_name);
    CDPCORE_PART(restored, free_ordinals);
    CDPCORE_PART(undo, popped_free);
    CDPCORE_PART(output, pending_free);
    CDPCORE_PART(restored, block_meta);
    CDPCORE_PART(undo, block_undo);
    CDPCORE_PART(restored, seen_with);
    CDPCORE_PART(undo, seen_with_undo);
    CDPCORE_PART(restored, tallies());
    CDPCORE_PART(output, pending);
    CDPCORE_PART(output, pending_parts);
    CDPCORE_PART(output, pending_part_ids);
    CDPCORE_PART(output, pending_conflicts);
    CDPCORE_PART(output, pending_note);
    CDPCORE_PART(output, pending_suppress);
    CDPCORE_PART(output, pending_suppress_time);
    CDPCORE_PART(output, dirty_ids);
    CDPCORE_PART(output, dirty_recs);
    CDPCORE_PART(output, dirty_keys);
    CDPCORE_PART(output, deleted_ids);
    CDPCORE_PART(mark, mark);
    CDPCORE_PART(restored, in_batch);
#undef CDPCORE_PART
  }

  /// Starts a batch: marks every part and empties the logs and outputs.
  void begin();
  /// Puts every part back as it was at begin() (the order: for_each_part).
  void rollback() noexcept;
  /// Keeps the batch: forgets the undo logs, frees what it deleted and empties
  /// the outputs (the caller has written and published them).
  void commit(bool reuse_ordinals);

  /// Records that identifier `id` met `who`; true when `who` is new to it.
  bool note_seen_with(uint32_t id, uint64_t who);
  /// Sets or drops an identifier's block time and reason (undone on rollback).
  void set_block_meta(uint32_t id, std::optional<BlockMeta> m);

  // ---- stored values (what rollback and commit need to find a value's slot and bytes)
  static Packing packing(uint64_t meta) noexcept {
    const uint8_t f = meta_flags(meta);
    return (f & kFlagPackedHex) ? Packing::hex : (f & kFlagPackedUuid) ? Packing::uuid : Packing::none;
  }
  static uint8_t packing_flag(Packing p) noexcept {
    return p == Packing::hex ? kFlagPackedHex : p == Packing::uuid ? kFlagPackedUuid : 0;
  }
  /// Bytes the value takes in the arena.
  static size_t arena_size(uint64_t meta) noexcept { return packed_size(packing(meta), meta_len(meta)); }
  uint64_t hash_of(uint32_t id) const noexcept;

 private:
  void clear_logs_and_outputs() noexcept;
  void rebuild_table() noexcept;
};

}  // namespace cdpcore::idg
