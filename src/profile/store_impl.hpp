// Private to profile: the representation behind cdpcore::ProfileStore. Other
// components read the columns through profile/snapshot.hpp.
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
#include "profile/columns.hpp"

namespace cdpcore::profile_detail {

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
