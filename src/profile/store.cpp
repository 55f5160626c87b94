// ProfileStore: construction, loading, reads and compaction of event logs.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <utility>

#include "cdpcore/error.hpp"
#include "cdpcore/workspace.hpp"
#include "profile/identity_link.hpp"
#include "profile/persist.hpp"
#include "profile/snapshot.hpp"
#include "profile/store_impl.hpp"

namespace cdpcore {

using namespace profile_detail;

namespace {
std::atomic<uint64_t> g_next_store_id{1};
}

ProfileStore::ProfileStore() : impl_(std::make_unique<Impl>()) { impl_->id = g_next_store_id.fetch_add(1); }

ProfileStore::ProfileStore(std::shared_ptr<Workspace> ws) : impl_(std::make_unique<Impl>()) {
  if (!ws) throw InvalidArgument("ProfileStore: the workspace is null");
  impl_->id = g_next_store_id.fetch_add(1);
  persist::ensure_tables(*ws);
  persist::load(*ws, *impl_);
  impl_->ws = std::move(ws);
}

ProfileStore::~ProfileStore() {
  if (impl_) detach_identity();
}
// The identity listener points at the Impl, which does not move.
ProfileStore::ProfileStore(ProfileStore&& o) noexcept : impl_(std::move(o.impl_)) {}
ProfileStore& ProfileStore::operator=(ProfileStore&& o) noexcept {
  if (this != &o) {
    if (impl_) detach_identity();
    impl_ = std::move(o.impl_);
  }
  return *this;
}

const std::shared_ptr<Workspace>& ProfileStore::workspace() const noexcept { return impl_->ws; }
const TimeZone& ProfileStore::time_zone() const noexcept { return impl_->ws ? impl_->ws->time_zone() : impl_->utc; }
uint64_t ProfileStore::id() const noexcept { return impl_->id; }
uint64_t ProfileStore::generation() const noexcept { return impl_->generation.load(std::memory_order_relaxed); }

size_t ProfileStore::person_count() const noexcept { return impl_->evaluated_person_count(); }

AttributeColumn ProfileStore::attribute(std::string_view name) const {
  const auto& col = impl_->attr_or_throw(name);
  AttributeColumn v;
  v.def = &col.def;
  v.size = col.size();
  v.valid = col.valid.data();
  v.dictionary = &col.dict.values;
  switch (col.def.type) {
    case ValueType::boolean:
    case ValueType::int64:
    case ValueType::timestamp: v.int64s = col.ints.data(); break;
    case ValueType::float64: v.doubles = col.doubles.data(); break;
    case ValueType::string: v.codes = col.codes.data(); break;
    case ValueType::string_set: {
      v.set_offsets.reserve(col.size() + 1);
      v.set_offsets.push_back(0);
      for (const auto& s : col.sets) {
        v.set_codes.insert(v.set_codes.end(), s.begin(), s.end());
        v.set_offsets.push_back(static_cast<uint32_t>(v.set_codes.size()));
      }
      break;
    }
    case ValueType::null: break;
  }
  return v;
}

Value ProfileStore::value(PersonOrdinal person, std::string_view attribute) const {
  return impl_->attr_or_throw(attribute).get(person);
}

std::vector<double> ProfileStore::read_doubles(std::string_view attribute,
                                               std::span<const PersonOrdinal> ordinals) const {
  const auto& col = impl_->attr_or_throw(attribute);
  if (col.def.type == ValueType::string || col.def.type == ValueType::string_set) {
    throw TypeError("attribute \"" + col.def.name + "\" is " + value_type_name(col.def.type) + ", not a number");
  }
  std::vector<double> out(ordinals.size());
  for (size_t i = 0; i < ordinals.size(); ++i) {
    PersonOrdinal p = ordinals[i];
    if (p >= col.size() || !col.valid[p]) {
      out[i] = std::nan("");
    } else {
      out[i] = col.def.type == ValueType::float64 ? col.doubles[p] : static_cast<double>(col.ints[p]);
    }
  }
  return out;
}

EventLogView ProfileStore::events(std::string_view event_type) const {
  const auto& t = impl_->event_or_throw(event_type);
  impl_->prepare_read(false);
  EventLogView v;
  v.def = &t.def;
  v.rows = t.main.size();
  v.offsets = t.offsets;
  v.time = t.main.time.data();
  for (size_t i = 0; i < t.def.properties.size(); ++i) {
    EventLogView::Column c;
    c.type = t.def.properties[i].type;
    const auto& p = t.main.props[i];
    if (c.type == ValueType::float64) c.doubles = p.doubles.data();
    else if (c.type == ValueType::string) {
      c.codes = p.codes.data();
      c.dictionary = &t.dicts[i].values;
    } else c.int64s = p.ints.data();
    c.valid = p.valid.empty() ? nullptr : p.valid.data();
    v.columns.push_back(c);
  }
  return v;
}

namespace {
Value prop_value(const EventTable& t, const EventColumns& c, size_t i, size_t row) {
  const auto& p = c.props[i];
  if (!p.valid.empty() && !p.valid[row]) return std::monostate{};
  switch (t.def.properties[i].type) {
    case ValueType::boolean: return p.ints[row] != 0;
    case ValueType::float64: return p.doubles[row];
    case ValueType::string: return t.dicts[i].values[p.codes[row]];
    default: return p.ints[row];
  }
}
}  // namespace

std::vector<Event> ProfileStore::person_events(PersonOrdinal person, std::string_view event_type) const {
  const auto& t = impl_->event_or_throw(event_type);
  ProfileSnapshot read(*this, false);
  std::vector<std::pair<int64_t, std::pair<int, size_t>>> rows;  // time, (part, row)
  uint64_t b = 0;
  size_t n = t.main_rows_of(person, &b);
  for (size_t r = b; r < b + n; ++r) rows.push_back({t.main.time[r], {0, r}});
  auto it = t.pending_by_person.find(person);
  if (it != t.pending_by_person.end())
    for (uint32_t r : it->second) rows.push_back({t.pending.time[r], {1, r}});
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b2) { return a.first < b2.first; });
  std::vector<Event> out;
  out.reserve(rows.size());
  for (const auto& [time, where] : rows) {
    Event e;
    e.time = time;
    const auto& c = where.first == 0 ? t.main : t.pending;
    for (size_t i = 0; i < t.def.properties.size(); ++i) e.properties.push_back(prop_value(t, c, i, where.second));
    out.push_back(std::move(e));
  }
  return out;
}

uint64_t ProfileStore::event_count(std::string_view event_type) const {
  const auto& t = impl_->event_or_throw(event_type);
  ProfileSnapshot read(*this, false);  // applies pending merges and erasures
  return t.main.size() + t.pending.size();
}

void ProfileStore::compact() {
  impl_->prepare_read(true);
  std::unique_lock lock(impl_->compaction_mutex);
  for (const auto& t : impl_->events) t->compact(impl_->person_count);
}

ProfileStore::MemoryUsage ProfileStore::memory_usage() const {
  ProfileSnapshot read(*this, false);
  MemoryUsage m;
  for (const auto& a : impl_->attrs) m.attribute_bytes += a->memory_bytes();
  for (const auto& t : impl_->events) {
    m.event_bytes += t->main.memory_bytes() + t->pending.memory_bytes() + t->offsets.capacity() * 8;
    for (const auto& d : t->dicts) m.event_bytes += d.memory_bytes();
    m.events += t->main.size() + t->pending.size();
  }
  return m;
}

// ---- Impl ---------------------------------------------------------------------

const AttrColumn* ProfileStore::Impl::find_attr(std::string_view name) const noexcept {
  auto it = attr_index.find(name);
  return it == attr_index.end() ? nullptr : attrs[it->second].get();
}
// The non-const lookups are the const ones on a store the caller may change.
AttrColumn* ProfileStore::Impl::find_attr(std::string_view name) noexcept {
  return const_cast<AttrColumn*>(std::as_const(*this).find_attr(name));
}
const EventTable* ProfileStore::Impl::find_event(std::string_view name) const noexcept {
  auto it = event_index.find(name);
  return it == event_index.end() ? nullptr : events[it->second].get();
}
EventTable* ProfileStore::Impl::find_event(std::string_view name) noexcept {
  return const_cast<EventTable*>(std::as_const(*this).find_event(name));
}
const AttrColumn& ProfileStore::Impl::attr_or_throw(std::string_view name) const {
  if (auto* a = find_attr(name)) return *a;
  throw NotFound("unknown attribute \"" + std::string(name) + "\"");
}
const EventTable& ProfileStore::Impl::event_or_throw(std::string_view name) const {
  if (auto* t = find_event(name)) return *t;
  throw NotFound("unknown event type \"" + std::string(name) + "\"");
}


uint32_t ProfileStore::Impl::source_id(std::string_view type, std::string_view value, bool create) {
  std::string key;
  key.reserve(type.size() + value.size() + 1);
  key.append(type);
  key.push_back('\x1f');
  key.append(value);
  auto it = source_index.find(key);
  if (it != source_index.end()) return it->second;
  if (!create) return 0;
  sources.emplace_back(std::string(type), std::string(value));
  auto id = static_cast<uint32_t>(sources.size());
  source_index.emplace(std::move(key), id);
  return id;
}

size_t ProfileStore::Impl::evaluated_person_count() const noexcept {
  size_t n = person_count;
  if (graph) n = std::max(n, identity_link::graph_person_count(*graph));
  return n;
}

// ---- compaction -----------------------------------------------------------------

namespace profile_detail {

void EventTable::compact(size_t person_count) {
  const size_t nm = main.size();
  const size_t np = pending.size();
  size_t persons = std::max(person_count, offsets.empty() ? size_t{0} : offsets.size() - 1);
  for (PersonOrdinal p : pending.person) persons = std::max(persons, static_cast<size_t>(p) + 1);
  for (const auto& mv : moves)
    if (mv.to != kGone) persons = std::max(persons, static_cast<size_t>(mv.to) + 1);
  if (offsets.empty()) offsets.push_back(0);
  if (np == 0 && moves.empty()) {
    // Only grow the offsets to cover new persons.
    offsets.resize(persons + 1, offsets.back());
    return;
  }
  const size_t n = nm + np;
  if (n > 0xFFFFFFFFull) throw LimitError("event type \"" + def.name + "\": more than 4294967295 events");
  auto main_range = [&](PersonOrdinal p, uint64_t* b, uint64_t* e) {
    if (static_cast<size_t>(p) + 1 < offsets.size()) {
      *b = offsets[p];
      *e = offsets[p + 1];
    } else {
      *b = *e = 0;
    }
  };
  std::vector<uint8_t> touched(persons, 0);
  // Where each row goes, when merges, splits or erasures moved rows.
  std::vector<PersonOrdinal> dest;
  if (!moves.empty()) {
    dest.resize(n);
    for (size_t p = 0; p + 1 < offsets.size(); ++p)
      for (uint64_t r = offsets[p]; r < offsets[p + 1]; ++r) dest[r] = static_cast<PersonOrdinal>(p);
    for (size_t r = 0; r < np; ++r) dest[nm + r] = pending.person[r];
    std::unordered_map<PersonOrdinal, std::vector<uint32_t>> pending_of;
    for (size_t r = 0; r < np; ++r) pending_of[pending.person[r]].push_back(static_cast<uint32_t>(nm + r));
    std::unordered_map<PersonOrdinal, std::vector<uint32_t>> rows_of;  // current rows of touched persons
    auto original_rows = [&](PersonOrdinal p, std::vector<uint32_t>& out) {
      uint64_t b, e;
      main_range(p, &b, &e);
      for (uint64_t r = b; r < e; ++r) out.push_back(static_cast<uint32_t>(r));
      auto it = pending_of.find(p);
      if (it != pending_of.end()) out.insert(out.end(), it->second.begin(), it->second.end());
    };
    auto rows = [&](PersonOrdinal p) -> std::vector<uint32_t>& {
      auto [it, inserted] = rows_of.try_emplace(p);
      if (inserted) original_rows(p, it->second);
      return it->second;
    };
    auto source_of = [&](uint32_t idx) { return idx < nm ? main.source[idx] : pending.source[idx - nm]; };
    for (const auto& mv : moves) {
      auto& from = rows(mv.from);
      std::vector<uint32_t> keep, moved;
      for (uint32_t idx : from) {
        bool applies = idx < nm + mv.pending_limit &&
                       (mv.sources.empty() || std::binary_search(mv.sources.begin(), mv.sources.end(), source_of(idx)));
        (applies ? moved : keep).push_back(idx);
      }
      from = std::move(keep);
      if (mv.to != kGone && !moved.empty()) {
        auto& to = rows(mv.to);
        to.insert(to.end(), moved.begin(), moved.end());
      }
    }
    std::vector<uint32_t> orig;
    for (auto& [p, list] : rows_of) {
      orig.clear();
      original_rows(p, orig);
      for (uint32_t idx : orig) dest[idx] = kGone;
    }
    for (auto& [p, list] : rows_of) {
      for (uint32_t idx : list) dest[idx] = p;
      if (!list.empty()) touched[p] = 1;
    }
  }
  // Counting sort by person: rows keep their order within a person (the log's
  // rows first, then pending rows in arrival order), so equal times keep
  // arrival order.
  std::vector<uint64_t> new_offsets(persons + 1, 0);
  if (dest.empty()) {
    for (size_t p = 0; p + 1 < offsets.size(); ++p) new_offsets[p + 1] = offsets[p + 1] - offsets[p];
    for (PersonOrdinal p : pending.person) ++new_offsets[static_cast<size_t>(p) + 1];
  } else {
    for (PersonOrdinal d : dest)
      if (d != kGone) ++new_offsets[static_cast<size_t>(d) + 1];
  }
  for (size_t p = 0; p < persons; ++p) new_offsets[p + 1] += new_offsets[p];
  const size_t m = new_offsets[persons];
  std::vector<uint32_t> src(m);
  std::vector<uint64_t> cursor(new_offsets.begin(), new_offsets.end() - 1);
  if (dest.empty()) {
    for (size_t p = 0; p + 1 < offsets.size(); ++p)
      for (uint64_t r = offsets[p]; r < offsets[p + 1]; ++r) src[cursor[p]++] = static_cast<uint32_t>(r);
    for (size_t r = 0; r < np; ++r) {
      PersonOrdinal p = pending.person[r];
      src[cursor[p]++] = static_cast<uint32_t>(nm + r);
      touched[p] = 1;
    }
  } else {
    for (size_t idx = 0; idx < n; ++idx) {
      PersonOrdinal d = dest[idx];
      if (d == kGone) continue;
      src[cursor[d]++] = static_cast<uint32_t>(idx);
      if (idx >= nm) touched[d] = 1;
    }
  }
  auto time_of = [&](uint32_t s) { return s < nm ? main.time[s] : pending.time[s - nm]; };
  for (size_t p = 0; p < persons; ++p) {
    if (!touched[p]) continue;
    auto b = src.begin() + static_cast<ptrdiff_t>(new_offsets[p]);
    auto e = src.begin() + static_cast<ptrdiff_t>(new_offsets[p + 1]);
    bool sorted = true;
    for (auto it = b + (b != e ? 1 : 0); it < e; ++it)
      if (time_of(*(it - 1)) > time_of(*it)) {
        sorted = false;
        break;
      }
    // Rows of one person keep their order for equal times: index order is
    // arrival order (merged rows keep their own order).
    if (!sorted) std::stable_sort(b, e, [&](uint32_t x, uint32_t y) { return time_of(x) < time_of(y); });
  }
  auto gather = [&](auto& out, const auto& a, const auto& b) {
    using T = typename std::decay_t<decltype(out)>::value_type;
    std::vector<T> g(m);
    for (size_t i = 0; i < m; ++i) {
      uint32_t s = src[i];
      g[i] = s < nm ? a[s] : b[s - nm];
    }
    out = std::move(g);
  };
  gather(main.time, main.time, pending.time);
  gather(main.source, main.source, pending.source);
  for (size_t i = 0; i < def.properties.size(); ++i) {
    auto& mp = main.props[i];
    auto& pp = pending.props[i];
    switch (def.properties[i].type) {
      case ValueType::float64: gather(mp.doubles, mp.doubles, pp.doubles); break;
      case ValueType::string: gather(mp.codes, mp.codes, pp.codes); break;
      default: gather(mp.ints, mp.ints, pp.ints); break;
    }
    if (!mp.valid.empty() || !pp.valid.empty()) {
      if (mp.valid.empty()) mp.valid.assign(nm, 1);
      if (pp.valid.empty()) pp.valid.assign(np, 1);
      gather(mp.valid, mp.valid, pp.valid);
    }
  }
  main.person.clear();
  offsets = std::move(new_offsets);
  pending = EventColumns{};
  pending.props.resize(def.properties.size());
  pending_by_person.clear();
  moves.clear();
}

}  // namespace profile_detail
}  // namespace cdpcore
