// Internal: the identity graph's state.
//
// Identifiers are dense ids with parallel arrays. Persons are union-find
// trees over identifiers (parent[root] holds kRootBit | ordinal) whose
// members also form a circular list (next) for enumeration. Records are
// stored as ranges of occurrences (identifier id + "linked" bit); each
// occurrence also chains to the previous occurrence of the same identifier,
// so the records of an identifier can be walked without an index.
//
// Invariant: the persons are exactly the connected components of the
// identifiers (blocked and removed ones excluded) under the links of active
// records (occurrences with kOccLinked). Loading rebuilds them that way.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cdpcore/identity.hpp"
#include "cdpcore/workspace.hpp"
#include "identity/containers.hpp"
#include "identity/normalize.hpp"
#include "identity/value_codec.hpp"

namespace cdpcore::sql {
class Database;
}

namespace cdpcore::idg {

constexpr uint32_t kNone = 0xFFFFFFFFu;
constexpr uint32_t kRootBit = 0x80000000u;   // parent[root] = kRootBit | ordinal
constexpr uint32_t kOccLinked = 0x80000000u; // occurrence linked by its record
constexpr uint32_t kOccRemoved = 0x40000000u;
constexpr uint32_t kIdMask = 0x3FFFFFFFu;
constexpr uint32_t kMaxIds = kIdMask;        // ids < 2^30
constexpr uint16_t kRecRemoved = 0x8000;     // in rec_src
constexpr uint64_t kKeyAlive = uint64_t{1} << 63;

// Identifier flags (meta bits 56..63).
constexpr uint8_t kFlagBlocked = 1;
constexpr uint8_t kFlagDeleted = 2;
constexpr uint8_t kFlagBlocklist = 4;  // blocked by block(), not by the threshold
constexpr uint8_t kFlagPackedHex = 8;   // the arena holds the value packed (value_codec.hpp)
constexpr uint8_t kFlagPackedUuid = 16;
constexpr uint8_t kFlagsPacking = kFlagPackedHex | kFlagPackedUuid;

inline uint64_t pack_meta(uint64_t off, uint32_t len, uint32_t type, uint8_t flags) {
  return off | (static_cast<uint64_t>(len) << 38) | (static_cast<uint64_t>(type) << 48) |
         (static_cast<uint64_t>(flags) << 56);
}
inline uint64_t meta_off(uint64_t m) { return m & ((uint64_t{1} << 38) - 1); }
inline uint32_t meta_len(uint64_t m) { return static_cast<uint32_t>((m >> 38) & 0x3FF); }
inline uint32_t meta_type(uint64_t m) { return static_cast<uint32_t>((m >> 48) & 0xFF); }
inline uint8_t meta_flags(uint64_t m) { return static_cast<uint8_t>(m >> 56); }
inline uint64_t meta_with_flags(uint64_t m, uint8_t f) {
  return (m & ((uint64_t{1} << 56) - 1)) | (static_cast<uint64_t>(f) << 56);
}

/// Minutes since the epoch (floor), clamped to int32.
inline int32_t to_minutes(Timestamp t) {
  int64_t m = t >= 0 ? t / kMicrosPerMinute : -((-t + kMicrosPerMinute - 1) / kMicrosPerMinute);
  if (m > INT32_MAX) m = INT32_MAX;
  if (m < INT32_MIN + 1) m = INT32_MIN + 1;
  return static_cast<int32_t>(m);
}

/// The hot fields of one identifier, together in one cache line's worth.
struct IdRec {
  uint64_t meta;      // value offset, length, type, flags (pack_meta)
  uint32_t parent;    // union-find parent, kRootBit | ordinal at a root, kNone without a person
  uint32_t next;      // next member of the same person (circular)
  uint32_t occ_head;  // latest occurrence, or kNone
  int32_t last_seen;  // minutes since the epoch
};

/// One person slot (by ordinal).
struct PersonRec {
  uint64_t key;   // 0 when the slot is free
  uint32_t root;  // union-find root, kNone when free
  uint32_t size;  // identifiers
};

/// A change waiting for the end of its batch.
struct PendingChange {
  // Wide fields first: no padding (the in-memory log keeps up to
  // memory_log_limit of these).
  Timestamp time = 0;
  RecordId record = 0;
  PersonKey key = 0;
  PersonKey absorbed_key = 0;
  uint32_t source = 0;  // source id, or kNone (note)
  PersonOrdinal ordinal = 0;
  PersonOrdinal absorbed = 0;
  uint32_t parts_begin = 0, parts_end = 0;  // into pending_parts
  ChangeKind kind = ChangeKind::merged;
  ChangeCause cause = ChangeCause::link;

  PendingChange() = default;
  PendingChange(ChangeKind kind_, ChangeCause cause_, Timestamp time_, uint32_t source_, RecordId record_,
                PersonOrdinal ordinal_, PersonKey key_, PersonOrdinal absorbed_, PersonKey absorbed_key_,
                uint32_t parts_begin_, uint32_t parts_end_)
      : time(time_), record(record_), key(key_), absorbed_key(absorbed_key_), source(source_), ordinal(ordinal_),
        absorbed(absorbed_), parts_begin(parts_begin_), parts_end(parts_end_), kind(kind_), cause(cause_) {}
};
static_assert(sizeof(PendingChange) == 56);
struct PendingPart {
  PersonOrdinal ordinal;
  PersonKey key;
  uint32_t ids_begin, ids_end;  // into pending_part_ids
};

struct BlockMeta {
  Timestamp time = 0;
  uint8_t reason = 0;  // BlockReason
};

/// One computed part of a person being recomputed.
struct Part {
  std::vector<uint32_t> ids;  // sorted
};

struct LinkScratch;


struct GraphState {
  GraphState();
  ~GraphState();
  GraphState(const GraphState&) = delete;
  GraphState& operator=(const GraphState&) = delete;

  std::shared_ptr<Workspace> ws;
  IdentityOptions options;
  sql::Database* db = nullptr;

  // ---- types and sources
  std::vector<std::unique_ptr<TypeState>> types;
  std::unordered_map<std::string, TypeId> type_by_name;
  std::vector<uint32_t> limited_types;  // type ids with a limit, in index order
  std::vector<std::string> sources;
  std::unordered_map<std::string, uint32_t> source_by_name;
  size_t sources_mark = 0;

  // ---- identifiers
  Journal journal;
  Arena arena;
  Arena::Mark arena_mark{};
  IdTable table;
  JVec<IdRec> ids{journal};
  JVec<uint8_t> seen{journal};  // distinct anchored persons bridged (saturating)
  // Which persons (keys) each counted identifier has met, so that the same
  // persons meeting again do not count twice. Only identifiers that ever met
  // a second person are here; kept in memory only (after reopening, a person
  // met before may be counted once more).
  std::unordered_map<uint32_t, std::vector<uint64_t>> seen_with;
  std::vector<std::pair<uint32_t, size_t>> seen_with_undo;  // (id, previous size)
  /// Records that identifier `id` met `who`; true when `who` is new to it.
  bool note_seen_with(uint32_t id, uint64_t who);

  // A pre-batch identifier's occurrence-list head and last-seen time as they
  // were before its first occurrence in the batch. Every occurrence writes
  // both, and most identifiers change nothing else in a batch: these 12 bytes
  // restore them on rollback, where the journal would copy the whole IdRec
  // (and test a bitmap) for each. Rollback applies them after the journal.
  struct TouchUndo {
    uint32_t id;
    uint32_t occ_head;
    int32_t last_seen;
  };
  PodVector<TouchUndo> touch_undo;
  uint32_t occ_mark = 0;  // occurrences before the batch
  // Likewise a pre-batch person's size and its root's next member before the
  // first new identifier attached to it in the batch, while neither is in
  // the journal (a merge journals both; attaching after that uses the journal).
  struct AttachUndo {
    uint32_t ord;
    uint32_t root;
    uint32_t size;
    uint32_t next;
  };
  PodVector<AttachUndo> attach_undo;

  // ---- records
  JVec<uint32_t> rec_begin{journal};  // size records+1 (sentinel)
  JVec<int64_t> rec_time{journal};
  JVec<uint16_t> rec_src{journal};    // source id | kRecRemoved
  JVec<uint32_t> occ{journal};        // identifier id | kOccLinked | kOccRemoved
  JVec<uint32_t> occ_next{journal};   // previous occurrence of the same identifier

  // ---- persons (by ordinal)
  JVec<PersonRec> persons{journal};
  JVec<uint16_t> p_counts{journal};  // capacity x limited_types.size()
  JVec<uint64_t> key_state{journal}; // by key: kKeyAlive|ordinal, a forward key, or 0
  std::vector<uint32_t> free_ordinals;     // reusable now
  std::vector<uint32_t> pending_free;      // freed in this batch
  std::vector<uint32_t> popped_free;       // reused in this batch (for rollback)
  PersonKey next_key = 1;
  PersonKey next_key_mark = 1;
  uint64_t live_persons = 0, live_persons_mark = 0;
  uint64_t live_ids = 0, live_ids_mark = 0;
  uint64_t live_records = 0, live_records_mark = 0;
  uint64_t live_occ = 0, live_occ_mark = 0;
  uint64_t blocked_count = 0, blocked_count_mark = 0;

  std::unordered_map<uint32_t, BlockMeta> block_meta;
  std::vector<std::pair<uint32_t, std::optional<BlockMeta>>> block_undo;

  // ---- suppression list (keyed hashes of erased values)
  std::string suppression_key;
  std::set<std::pair<uint32_t, std::string>> suppressed;

  // ---- change log and conflicts
  uint64_t last_seq = 0, last_seq_mark = 0;
  uint64_t last_conflict = 0, last_conflict_mark = 0;
  std::vector<PendingChange> pending;
  std::vector<PendingPart> pending_parts;
  std::vector<uint32_t> pending_part_ids;
  std::vector<LinkConflict> pending_conflicts;
  // In-memory graphs only: the change log's latest entries (notes and split
  // parts kept aside). Sequence numbers are consecutive: mem_log[i] is change
  // mem_log_first + i.
  std::deque<PendingChange> mem_log;
  uint64_t mem_log_first = 1;
  std::map<uint64_t, std::string> mem_notes;               // seq -> note (changes not caused by a record)
  std::map<uint64_t, std::vector<SplitPart>> mem_parts;    // seq -> parts of a split
  std::unique_ptr<LinkScratch> scratch;   // working vectors of apply_record
  std::deque<LinkConflict> mem_conflicts; // in-memory graphs only
  std::vector<IdentityListener*> listeners;
  std::vector<bool> notified;  // listeners that received events of the current batch
  std::string pending_note;    // source of changes not caused by a record

  // ---- dirty sets for persistence (bound graphs)
  uint32_t ids_mark = 0;
  uint64_t recs_mark = 0;
  std::vector<uint32_t> dirty_ids;
  std::vector<uint32_t> dirty_recs;
  std::vector<uint64_t> dirty_keys;
  std::vector<uint32_t> deleted_ids;  // to scrub and unindex after commit
  bool in_batch = false;

  // ---- basic accessors
  uint32_t id_count() const noexcept { return static_cast<uint32_t>(ids.size()); }
  uint64_t record_count() const noexcept { return rec_time.size(); }
  uint32_t capacity() const noexcept { return static_cast<uint32_t>(persons.size()); }
  static Packing packing(uint64_t meta) noexcept {
    const uint8_t f = meta_flags(meta);
    return (f & kFlagPackedHex) ? Packing::hex : (f & kFlagPackedUuid) ? Packing::uuid : Packing::none;
  }
  static uint8_t packing_flag(Packing p) noexcept {
    return p == Packing::hex ? kFlagPackedHex : p == Packing::uuid ? kFlagPackedUuid : 0;
  }
  /// The stored form of an identifier's value.
  std::string value_of(uint32_t id) const {
    const uint64_t m = ids[id].meta;
    return unpack_value(arena.get(meta_off(m), 0).data(), packing(m), meta_len(m));
  }
  /// Bytes the value takes in the arena.
  static size_t arena_size(uint64_t meta) noexcept { return packed_size(packing(meta), meta_len(meta)); }
  /// Whether the identifier with `meta` holds the stored form `v`.
  bool value_equals(uint64_t meta, std::string_view v) const noexcept {
    return meta_len(meta) == v.size() && packed_equals(arena.get(meta_off(meta), 0).data(), packing(meta), v);
  }
  /// Appends `v` to the arena in its packed form; returns the meta of an
  /// identifier of `type` with `flags` holding it.
  uint64_t store_value(std::string_view v, uint32_t type, uint8_t flags) {
    char buf[kMaxIdentifierLength / 2 + 16];
    const Packing p = pack(v, buf);
    const uint64_t off =
        p == Packing::none ? arena.append(v) : arena.append(std::string_view(buf, packed_size(p, v.size())));
    return pack_meta(off, static_cast<uint32_t>(v.size()), type, static_cast<uint8_t>(flags | packing_flag(p)));
  }
  uint32_t type_of(uint32_t id) const noexcept { return meta_type(ids[id].meta); }
  uint8_t flags_of(uint32_t id) const noexcept { return meta_flags(ids[id].meta); }
  bool live_person(uint32_t ord) const noexcept { return ord < capacity() && persons[ord].root != kNone; }
  bool is_blocked(uint32_t id) const noexcept { return flags_of(id) & kFlagBlocked; }
  bool is_deleted(uint32_t id) const noexcept { return flags_of(id) & kFlagDeleted; }
  uint64_t hash_of(uint32_t id) const noexcept;
  bool binary_type(uint32_t type) const noexcept {
    const auto& o = types[type]->opt;
    return o.storage == Storage::keyed_hash || o.input == InputKind::sha256;
  }
  /// The value as shown to callers (hex for hashed types).
  std::string display_value(uint32_t id) const;
  uint32_t lookup(uint32_t type, std::string_view stored, uint64_t h) const;

  /// Root of id without path compression (readers), kNone when no person.
  uint32_t find_root(uint32_t id) const noexcept {
    uint32_t p = ids[id].parent;
    if (p == kNone) return kNone;
    while (!(p & kRootBit)) {
      id = p;
      p = ids[id].parent;
    }
    return id;
  }
  uint32_t ordinal_of_id(uint32_t id) const noexcept {
    const uint32_t r = find_root(id);
    return r == kNone ? kNone : (ids[r].parent & ~kRootBit);
  }
  /// Root with path compression (writers).
  uint32_t find_mut(uint32_t id);
  uint32_t record_of_occ(uint32_t o) const noexcept;
  bool anchored(uint32_t ord) const noexcept {
    const size_t L = limited_types.size();
    for (size_t i = 0; i < L; ++i)
      if (p_counts[ord * L + i]) return true;
    return false;
  }
  template <typename F>
  void for_members(uint32_t ord, F&& f) const {
    const uint32_t root = persons[ord].root;
    if (root == kNone) return;
    uint32_t x = root;
    do {
      f(x);
      x = ids[x].next;
    } while (x != root);
  }

  // ---- types
  void rebuild_limited();
  void recount_all();
  TypeState& type_checked(TypeId t);
  const TypeState& type_checked(TypeId t) const;
  uint32_t source_id(std::string_view name);

  // ---- batches
  void begin_batch();
  void commit_batch();
  void rollback_batch() noexcept;
  /// Writes the batch to the file (bound graphs) and tells the listeners,
  /// in one transaction; throws without committing anything.
  void finish_write();
  void deliver_events();
  void notify_rollback() noexcept;
  std::vector<ChangeEvent> materialise_pending(bool with_values) const;
  ChangeEvent materialise_mem(uint64_t seq, const PendingChange& p) const;
  void trim_memory_logs();

  // ---- linking
  struct Item {
    std::string_view value;  // stored form
    uint64_t hash;
    uint32_t type;
    uint32_t found;  // the identifier when known before the record (kNone: look up)
  };
  /// Resolves items to existing identifiers (Item::found), many at a time
  /// with prefetching: the table, the identifier and its value are fetched
  /// for all items before any is compared.
  void resolve_items(Item* items, size_t n) const;
  struct LinkCounters {
    size_t identifiers = 0, new_identifiers = 0, new_persons = 0, merges = 0, splits = 0, conflicts = 0,
           blocked = 0, newly_blocked = 0, suppressed = 0, expired = 0;
  };
  RecordId apply_record(const Item* items, size_t n, Timestamp t, uint32_t src, LinkCounters& c);
  uint32_t create_identifier(uint32_t type, std::string_view stored, uint64_t h, int32_t tmin, uint8_t flags);
  /// Room for `n` more identifiers (and table entries) without reallocation.
  void reserve_identifiers(size_t n);
  void grow_table();
  uint32_t alloc_ordinal();
  PersonKey new_person_key(uint32_t ord);
  uint32_t create_singleton(uint32_t id);
  void attach(uint32_t ord, uint32_t id);
  uint32_t merge_persons(uint32_t survivor, uint32_t absorbed);
  void free_person(uint32_t ord, bool erased);
  bool is_suppressed_stored(uint32_t type, std::string_view stored) const;
  std::string suppression_digest(uint32_t type, std::string_view stored) const;
  void set_flags(uint32_t id, uint8_t f);
  void unlink_occurrences(uint32_t id);
  void mark_dirty_key(PersonKey k) {
    if (db && k < next_key_mark) dirty_keys.push_back(k);
  }
  void mark_dirty_id(uint32_t id) {
    if (db && id < ids_mark) dirty_ids.push_back(id);
  }
  void mark_dirty_rec(uint32_t r) {
    if (db && r < recs_mark) dirty_recs.push_back(r);
  }
  void set_block_meta(uint32_t id, std::optional<BlockMeta> m);
  uint32_t windowed_count(uint32_t ord, uint32_t type, int32_t since_min) const;

  // ---- recomputation (removal, blocks, expiry)
  /// The parts person `ord` falls into when identifiers for which
  /// `excluded(id)` holds are dropped and occurrences for which
  /// `dead_occ(o)` holds no longer link. Parts sorted: largest first, ties by
  /// smallest id.
  std::vector<Part> plan_parts(uint32_t ord, const std::function<bool(uint32_t)>& excluded,
                               const std::function<bool(uint32_t)>& dead_occ) const;
  /// Recomputes `ord` from the current links; logs a split or erasure.
  void recompute(uint32_t ord, ChangeCause cause, Timestamp t, uint32_t source, RecordId record,
                 LinkCounters* c);
  void rebuild_person(uint32_t ord, const std::vector<uint32_t>& members);
  void block_identifier(uint32_t id, BlockReason reason, Timestamp t, ChangeCause cause, LinkCounters* c,
                        uint32_t source = kNone, RecordId record = kNoRecord);
  /// Removes an identifier from every record and from the graph (no recompute).
  void delete_identifier(uint32_t id, bool suppress, Timestamp t);
  std::vector<std::pair<uint32_t, std::string>> pending_suppress;  // (type, digest) to store
  Timestamp pending_suppress_time = 0;

  // ---- persistence (persist.cpp)
  void open_schema();
  void load();
  void persist_batch();
  void persist_types();
  void write_type(const TypeState& t);
  void checkpoint_wal();

  // ---- memory
  size_t memory_bytes() const;
};

/// The JSON form of a type's options as stored (no callback, no key).
std::string type_config_json(const TypeState& t);
void type_config_from_json(std::string_view json, TypeState& t);
/// Fills the derived fields of a type from its options (validates them).
void finish_type(TypeState& t, const IdentityOptions& g);

}  // namespace cdpcore::idg

namespace cdpcore {
struct IdentityGraph::Impl : idg::GraphState {};
}  // namespace cdpcore
