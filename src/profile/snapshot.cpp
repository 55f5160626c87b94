// SchemaView and ProfileSnapshot: the read interface profile declares to the
// components that read its columns (see profile/snapshot.hpp).
#include "profile/snapshot.hpp"

#include <algorithm>
#include <mutex>

#include "cdpcore/identity.hpp"
#include "profile/store_impl.hpp"
#include "util/impl_access.hpp"

namespace cdpcore::profile_detail {

// ---- SchemaView -----------------------------------------------------------------

SchemaView::SchemaView(const ProfileStore& store) noexcept : im_(detail::ImplAccess::of(store)) {}

uint64_t SchemaView::store_id() const noexcept { return im_.id; }
const ProfileSchema& SchemaView::schema() const noexcept { return im_.schema; }

std::optional<size_t> SchemaView::attribute_index(std::string_view name) const noexcept {
  auto it = im_.attr_index.find(name);
  if (it == im_.attr_index.end()) return std::nullopt;
  return it->second;
}

std::optional<size_t> SchemaView::event_type_index(std::string_view name) const noexcept {
  auto it = im_.event_index.find(name);
  if (it == im_.event_index.end()) return std::nullopt;
  return it->second;
}

const AttributeDef& SchemaView::attribute(size_t i) const noexcept { return im_.attrs[i]->def; }
const EventTypeDef& SchemaView::event_type(size_t i) const noexcept { return im_.events[i]->def; }

// ---- ProfileSnapshot ------------------------------------------------------------

namespace {
// Prepares before the lock is taken: preparing takes it exclusively.
const ProfileStore::Impl& prepared(const ProfileStore& store, bool compact_rows) {
  const ProfileStore::Impl& im = detail::ImplAccess::of(store);
  im.prepare_read(compact_rows);
  return im;
}
}  // namespace

ProfileSnapshot::ProfileSnapshot(const ProfileStore& store, bool compact_rows)
    : im_(prepared(store, compact_rows)), attrs_(im_.attrs), events_(im_.events), lock_(im_.compaction_mutex) {}

ProfileSnapshot::~ProfileSnapshot() = default;

uint64_t ProfileSnapshot::store_id() const noexcept { return im_.id; }
uint64_t ProfileSnapshot::generation() const noexcept { return im_.generation.load(std::memory_order_relaxed); }
const ProfileSchema& ProfileSnapshot::schema() const noexcept { return im_.schema; }
size_t ProfileSnapshot::person_count() const noexcept { return im_.person_count; }
size_t ProfileSnapshot::evaluated_person_count() const noexcept { return im_.evaluated_person_count(); }

const AttrColumn* ProfileSnapshot::find_attribute(std::string_view name) const noexcept { return im_.find_attr(name); }
const AttrColumn& ProfileSnapshot::attribute_or_throw(std::string_view name) const { return im_.attr_or_throw(name); }
const EventTable* ProfileSnapshot::find_event_table(std::string_view name) const noexcept {
  return im_.find_event(name);
}
const EventTable& ProfileSnapshot::event_table_or_throw(std::string_view name) const {
  return im_.event_or_throw(name);
}

bool ProfileSnapshot::is_alive(PersonOrdinal p) const noexcept {
  if (im_.graph) return im_.graph->key_of(p).has_value() || p >= im_.graph->ordinal_capacity();
  return !im_.retired.contains(p);
}

Bitmap ProfileSnapshot::dead_persons(size_t count) const {
  if (im_.graph) {
    // Ordinals beyond the graph's are persons known to the store only.
    size_t n = std::min<size_t>(count, im_.graph->ordinal_capacity());
    return Bitmap::from_range(0, static_cast<uint32_t>(n)) - im_.graph->persons();
  }
  return im_.retired;
}

}  // namespace cdpcore::profile_detail
