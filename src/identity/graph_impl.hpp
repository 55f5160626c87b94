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
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "cdpcore/identity.hpp"
#include "cdpcore/workspace.hpp"
#include "identity/batch_state.hpp"
#include "identity/containers.hpp"
#include "identity/graph_records.hpp"
#include "identity/normalize.hpp"
#include "identity/value_codec.hpp"

namespace cdpcore::sql {
class Database;
}

namespace cdpcore::idg {

/// One computed part of a person being recomputed.
struct Part {
  std::vector<uint32_t> ids;  // sorted
};

struct LinkScratch;


/// The identity graph: the state batches change (BatchState) and what only
/// configuration, loading or a commit changes (listed in for_each_part).
struct GraphState : BatchState {
  GraphState();
  ~GraphState();
  GraphState(const GraphState&) = delete;
  GraphState& operator=(const GraphState&) = delete;

  std::shared_ptr<Workspace> ws;
  IdentityOptions options;
  sql::Database* db = nullptr;

  // ---- types
  std::vector<std::unique_ptr<TypeState>> types;
  std::unordered_map<std::string, TypeId> type_by_name;
  std::vector<uint32_t> limited_types;  // type ids with a limit, in index order

  // ---- suppression list (keyed hashes of erased values); a commit adds pending_suppress
  std::string suppression_key;
  std::set<std::pair<uint32_t, std::string>> suppressed;

  // ---- change log and conflicts
  // In-memory graphs only: the change log's latest entries (notes and split
  // parts kept aside), appended by a commit. Sequence numbers are
  // consecutive: mem_log[i] is change mem_log_first + i.
  std::deque<PendingChange> mem_log;
  uint64_t mem_log_first = 1;
  std::map<uint64_t, std::string> mem_notes;               // seq -> note (changes not caused by a record)
  std::map<uint64_t, std::vector<SplitPart>> mem_parts;    // seq -> parts of a split
  std::unique_ptr<LinkScratch> scratch;   // working vectors of apply_record
  std::deque<LinkConflict> mem_conflicts; // in-memory graphs only
  std::vector<IdentityListener*> listeners;
  std::vector<bool> notified;  // listeners that received events of the current batch

  /// BatchState::for_each_part, then GraphState's own members (role
  /// unbatched). A test checks that together they cover every byte of GraphState.
  template <typename F>
  static void for_each_part(F&& f) {
    BatchState::for_each_part(f);
#define CDPCORE_PART(member) \
  f(std::integral_constant<PartRole, PartRole::unbatched>{}, #member, [](auto& s) -> auto& { return s.member; })
    CDPCORE_PART(ws);
    CDPCORE_PART(options);
    CDPCORE_PART(db);
    CDPCORE_PART(types);
    CDPCORE_PART(type_by_name);
    CDPCORE_PART(limited_types);
    CDPCORE_PART(suppression_key);
    CDPCORE_PART(suppressed);
    CDPCORE_PART(mem_log);
    CDPCORE_PART(mem_log_first);
    CDPCORE_PART(mem_notes);
    CDPCORE_PART(mem_parts);
    CDPCORE_PART(scratch);
    CDPCORE_PART(mem_conflicts);
    CDPCORE_PART(listeners);
    CDPCORE_PART(notified);
#undef CDPCORE_PART
  }

  // ---- basic accessors
  uint32_t id_count() const noexcept { return static_cast<uint32_t>(ids.size()); }
  uint64_t record_count() const noexcept { return rec_time.size(); }
  uint32_t capacity() const noexcept { return static_cast<uint32_t>(persons.size()); }
  /// The stored form of an identifier's value.
  std::string value_of(uint32_t id) const {
    const uint64_t m = ids[id].meta;
    return unpack_value(arena.get(meta_off(m), 0).data(), packing(m), meta_len(m));
  }
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

  // ---- batches (begin, rollback and commit of the state: BatchState)
  void begin_batch() { begin(); }
  /// Publishes the batch (the in-memory change log, the suppression list),
  /// then commits the state.
  void commit_batch();
  void rollback_batch() noexcept { rollback(); }
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
    if (db && k < mark.next_key) dirty_keys.push_back(k);
  }
  void mark_dirty_id(uint32_t id) {
    if (db && id < mark.ids) dirty_ids.push_back(id);
  }
  void mark_dirty_rec(uint32_t r) {
    if (db && r < mark.recs) dirty_recs.push_back(r);
  }
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
/// The public description of identifier `id`, value unmasked (api.cpp).
IdentifierInfo info_of(const GraphState& g, uint32_t id);

}  // namespace cdpcore::idg

namespace cdpcore {
struct IdentityGraph::Impl : idg::GraphState {};
}  // namespace cdpcore
