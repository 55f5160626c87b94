// Internal: the representation behind cdpcore::ProfileStore, shared with the
// tag engine (src/rules), which reads the columns directly.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/profile.hpp"

namespace cdpcore::profile_detail {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept;
};

/// Interned strings of one column; codes are dense and never reused.
struct StringDict {
  std::vector<std::string> values;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> index;
  uint32_t intern(std::string_view s);
  /// UINT32_MAX when absent.
  uint32_t find(std::string_view s) const noexcept;
  size_t memory_bytes() const noexcept;
};

inline constexpr uint32_t kNoCode = 0xFFFFFFFFu;
inline constexpr PersonOrdinal kGone = 0xFFFFFFFFu;  // a removed event's person

/// One attribute cell as it was, to undo a change the identity graph rolled back.
struct CellSnapshot {
  size_t attr;
  PersonOrdinal person;
  uint8_t valid;
  int64_t i;
  double d;
  uint32_t code;
  std::vector<uint32_t> set;
  uint64_t seq;
  uint32_t source;
};

/// What the identity listener changed since the last settled call, so that
/// a batch the graph rolls back can be undone in memory.
struct Journal {
  bool active = false;
  std::vector<CellSnapshot> cells;
  std::vector<size_t> moves_before;  // per event table
  size_t person_count_before = 0;
  Bitmap retired_before;
};

struct AttrColumn {
  AttributeDef def;
  int64_t id = 0;                 // row id in profile_attributes
  std::vector<uint8_t> valid;     // one per person; defines the column's size
  std::vector<int64_t> ints;      // int64, timestamp, bool
  std::vector<double> doubles;    // double
  std::vector<uint32_t> codes;    // string
  std::vector<std::vector<uint32_t>> sets;  // set<string>: sorted codes
  std::vector<uint64_t> seq;      // write sequence of each value (latest / first)
  std::vector<uint32_t> source;   // identifier the value was written with; 0 = none
  StringDict dict;

  size_t size() const noexcept { return valid.size(); }
  void ensure_size(size_t n);
  void clear_cell(PersonOrdinal p);
  Value get(PersonOrdinal p) const;
  size_t memory_bytes() const noexcept;
};

/// Columns of events in some order (the compacted log, or the pending rows).
struct EventColumns {
  struct Prop {
    std::vector<int64_t> ints;
    std::vector<double> doubles;
    std::vector<uint32_t> codes;
    std::vector<uint8_t> valid;  // empty: no nulls
  };
  std::vector<PersonOrdinal> person;  // pending rows only (the log uses offsets)
  std::vector<int64_t> time;
  std::vector<uint32_t> source;  // identifier the event arrived with; 0 = none
  std::vector<Prop> props;
  size_t size() const noexcept { return time.size(); }
  size_t memory_bytes() const noexcept;
};

struct EventTable {
  EventTypeDef def;
  int64_t id = 0;
  std::vector<StringDict> dicts;  // per property (string properties)
  EventColumns main;              // sorted by (person, time)
  std::vector<uint64_t> offsets{0};  // person p: [offsets[p], offsets[p+1])
  EventColumns pending;              // appended since the last compaction
  std::unordered_map<PersonOrdinal, std::vector<uint32_t>> pending_by_person;
  /// Person changes (merges, splits, erasures) not yet applied to the rows:
  /// rows of `from` (only those that arrived with one of `sources` when it is
  /// not empty; pending rows only below `pending_limit`) belong to `to`
  /// (kNoPerson: removed). Applied in order by compact().
  struct Move {
    PersonOrdinal from;
    PersonOrdinal to;
    size_t pending_limit;
    std::vector<uint32_t> sources;  // sorted
  };
  std::vector<Move> moves;

  size_t main_rows_of(PersonOrdinal p, uint64_t* begin) const noexcept {
    if (static_cast<size_t>(p) + 1 >= offsets.size()) {
      *begin = 0;
      return 0;
    }
    *begin = offsets[p];
    return static_cast<size_t>(offsets[p + 1] - offsets[p]);
  }
  /// Sorts pending rows into the log.
  void compact(size_t person_count);
  void add_prop_columns();
};

}  // namespace cdpcore::profile_detail

namespace cdpcore {

struct ProfileStore::Impl {
  std::shared_ptr<Workspace> ws;
  TimeZone utc = TimeZone::utc();
  uint64_t id = 0;
  std::atomic<uint64_t> generation{0};
  ProfileSchema schema;
  std::vector<std::unique_ptr<profile_detail::AttrColumn>> attrs;  // schema order
  std::vector<std::unique_ptr<profile_detail::EventTable>> events;  // schema order
  std::unordered_map<std::string, size_t, profile_detail::StringHash, std::equal_to<>> attr_index;
  std::unordered_map<std::string, size_t, profile_detail::StringHash, std::equal_to<>> event_index;
  size_t person_count = 0;
  uint64_t next_seq = 1;
  Bitmap retired;  // ordinals merged away or erased

  // identifiers events arrived with: (type, value) ↔ source id (1-based)
  std::vector<std::pair<std::string, std::string>> sources;
  std::unordered_map<std::string, uint32_t, profile_detail::StringHash, std::equal_to<>> source_index;

  // identity resolution (set by attach_identity)
  IdentityGraph* graph = nullptr;
  std::unique_ptr<IdentityListener> listener;
  profile_detail::Journal journal;

  // Readers take it shared; compaction on read takes it exclusively.
  mutable std::shared_mutex compaction_mutex;
  std::atomic<bool> rows_pending{false};   // some event log has pending rows
  std::atomic<bool> moves_pending{false};  // some event log has person changes to apply

  const profile_detail::AttrColumn* find_attr(std::string_view name) const noexcept;
  profile_detail::AttrColumn* find_attr(std::string_view name) noexcept;
  const profile_detail::EventTable* find_event(std::string_view name) const noexcept;
  profile_detail::EventTable* find_event(std::string_view name) noexcept;
  const profile_detail::AttrColumn& attr_or_throw(std::string_view name) const;
  const profile_detail::EventTable& event_or_throw(std::string_view name) const;

  void note_person(PersonOrdinal p) {
    if (static_cast<size_t>(p) + 1 > person_count) person_count = static_cast<size_t>(p) + 1;
  }
  uint32_t source_id(std::string_view type, std::string_view value, bool create);
  /// The persons the store evaluates: person_count, or more when the identity
  /// graph knows more persons.
  size_t evaluated_person_count() const noexcept;
  void touch() noexcept { generation.fetch_add(1, std::memory_order_relaxed); }

  // ---- person changes (src/profile/merge.cpp) ----
  /// Forgets the undo journal: the identity batch that produced it is over.
  void settle() noexcept;
  /// Restores what the journal recorded (the identity batch rolled back).
  void undo_journal();
  /// Starts recording undo information for listener-driven changes.
  void begin_journal();
  void snapshot_cell(size_t attr, PersonOrdinal p);
  /// Merges `absorbed` into `survivor` (attributes by policy, events move).
  void merge(PersonOrdinal survivor, PersonOrdinal absorbed);
  /// Moves what arrived with `sources` (sorted) from `from` to `to`.
  void split(PersonOrdinal from, PersonOrdinal to, const std::vector<uint32_t>& sources);
  /// Removes every value and event of a person.
  void erase(PersonOrdinal p);
  /// Prepares the logs for reading: settles, and compacts when person
  /// changes are pending (or when `all` and any row is pending).
  void prepare_read(bool all) const;
  bool has_moves() const noexcept;
};

}  // namespace cdpcore
