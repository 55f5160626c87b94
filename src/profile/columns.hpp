// The column data of a profile store, as profile declares it to the other
// components: interned strings, attribute columns, event logs (sorted rows
// plus pending rows). Other components read these only through a
// ProfileSnapshot (profile/snapshot.hpp), which holds the store's read lock.
//
// Thread safety: plain data. Reading is safe while a ProfileSnapshot of the
// store is alive; the store's writer changes them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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

/// One attribute's values, indexed by person ordinal.
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

/// One event type's log: compacted rows sorted by (person, time), rows
/// appended since, and person changes not yet applied to the rows.
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
