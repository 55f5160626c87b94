// Profile's declared interface for components that read a store's columns
// (the tag engine): a lock-free view of the schema for compiling, and a
// read-only snapshot of the columns for evaluating.
//
// Columns are numbered in schema order: SchemaView's indices are the ones
// ProfileSnapshot::attribute(i) / event_table(i) take, and they stay valid
// for the life of the store (definitions only append).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/profile.hpp"
#include "profile/columns.hpp"

namespace cdpcore::profile_detail {

/// The schema of a store by column position, read without a lock.
/// Thread safety: as ProfileStore::schema(): share freely among readers,
/// never use while the store's writer defines attributes or event types.
class SchemaView {
 public:
  explicit SchemaView(const ProfileStore& store) noexcept;

  uint64_t store_id() const noexcept;
  const ProfileSchema& schema() const noexcept;
  /// Position of the attribute / event type of that name, if there is one.
  std::optional<size_t> attribute_index(std::string_view name) const noexcept;
  std::optional<size_t> event_type_index(std::string_view name) const noexcept;
  /// The definition at a position (as returned by the *_index functions).
  const AttributeDef& attribute(size_t i) const noexcept;
  const EventTypeDef& event_type(size_t i) const noexcept;

 private:
  const ProfileStore::Impl& im_;
};

/// A consistent read of a store's columns. Construction prepares the store
/// for reading — applies pending person changes (merges, splits, erasures) to
/// the event logs and, with `compact_rows`, sorts every pending event row into
/// the logs — then holds the store's shared read lock until destruction, so
/// that no other reader's compaction moves the rows being read. Pending rows
/// left in place are read through EventTable::pending_by_person.
///
/// Thread safety: const access may be shared by the threads of one
/// evaluation; several snapshots of a store may live at once (in any
/// threads); never alive while the store's writer writes (the store's
/// one-writer rule). Not copyable, not movable (it owns the lock).
class ProfileSnapshot {
 public:
  ProfileSnapshot(const ProfileStore& store, bool compact_rows);
  ~ProfileSnapshot();
  ProfileSnapshot(const ProfileSnapshot&) = delete;
  ProfileSnapshot& operator=(const ProfileSnapshot&) = delete;

  uint64_t store_id() const noexcept;
  uint64_t generation() const noexcept;
  const ProfileSchema& schema() const noexcept;
  /// One more than the largest ordinal with data (the columns' length).
  size_t person_count() const noexcept;
  /// The persons an evaluation covers: person_count(), or more when the
  /// attached identity graph knows more persons.
  size_t evaluated_person_count() const noexcept;

  size_t attribute_count() const noexcept { return attrs_.size(); }
  const AttrColumn& attribute(size_t i) const noexcept { return *attrs_[i]; }
  const AttrColumn* find_attribute(std::string_view name) const noexcept;
  /// Throws NotFound: unknown attribute "<name>".
  const AttrColumn& attribute_or_throw(std::string_view name) const;

  size_t event_table_count() const noexcept { return events_.size(); }
  const EventTable& event_table(size_t i) const noexcept { return *events_[i]; }
  const EventTable* find_event_table(std::string_view name) const noexcept;
  /// Throws NotFound: unknown event type "<name>".
  const EventTable& event_table_or_throw(std::string_view name) const;

  /// Whether ordinal p is a person: not merged away or erased. With an
  /// identity graph attached the graph decides (ordinals beyond the graph's
  /// are persons known to the store only); without one, the store's record
  /// of retired ordinals.
  bool is_alive(PersonOrdinal p) const noexcept;
  /// The ordinals that are not persons: each one below `count` whose
  /// is_alive is false (it may hold larger ones too).
  Bitmap dead_persons(size_t count) const;

 private:
  const ProfileStore::Impl& im_;
  const std::vector<std::unique_ptr<AttrColumn>>& attrs_;
  const std::vector<std::unique_ptr<EventTable>>& events_;
  std::shared_lock<std::shared_mutex> lock_;
};

}  // namespace cdpcore::profile_detail
