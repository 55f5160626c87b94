// SegmentEngine: sources, definitions, members, algebra and snapshots.
#include <algorithm>
#include <cmath>
#include <set>

#include "cdpcore/error.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/rules.hpp"
#include "cdpcore/utf8.hpp"
#include "cdpcore/workspace.hpp"
#include "segment/engine_impl.hpp"
#include "util/names.hpp"

namespace cdpcore {

using segment_detail::NameKind;
using segment_detail::Segment;
using segment_detail::TagEntry;

const char* segment_kind_name(SegmentKind k) noexcept {
  switch (k) {
    case SegmentKind::dynamic:
      return "dynamic";
    case SegmentKind::fixed:
      return "fixed";
  }
  return "unknown";
}

namespace segment_detail {

const char* name_kind_text(NameKind k) noexcept {
  switch (k) {
    case NameKind::segment:
      return "segment";
    case NameKind::tag:
      return "tag";
    case NameKind::value_tag:
      return "value_tag";
    case NameKind::trait:
      return "trait";
    case NameKind::column:
      return "column";
  }
  return "unknown";
}

std::optional<NameKind> parse_name_kind(std::string_view t) noexcept {
  for (NameKind k : {NameKind::segment, NameKind::tag, NameKind::value_tag, NameKind::trait, NameKind::column})
    if (t == name_kind_text(k)) return k;
  return std::nullopt;
}

std::string at_pos(std::string_view segment, const std::string& what, uint32_t line, uint32_t column) {
  std::string s = "segment '" + std::string(segment) + "': " + what;
  if (line > 0) s += " (line " + std::to_string(line) + ", column " + std::to_string(column) + ")";
  return s;
}

Segment& Impl::get(std::string_view name) {
  auto it = segments.find(name);
  if (it == segments.end()) throw NotFound("segment '" + std::string(name) + "' does not exist");
  return *it->second;
}
const Segment& Impl::get(std::string_view name) const {
  auto it = segments.find(name);
  if (it == segments.end()) throw NotFound("segment '" + std::string(name) + "' does not exist");
  return *it->second;
}

void Impl::renumber() {
  rank_of_id.assign(by_id.size(), 0);
  name_by_rank.clear();
  for (const auto& [n, seg] : segments) {
    rank_of_id[seg->id] = static_cast<uint32_t>(name_by_rank.size());
    name_by_rank.push_back(n);
  }
}

void Impl::drop_plans() noexcept {
  for (auto& [n, s] : segments) s->plan.reset();
}

Bitmap Impl::universe_bitmap() const {
  if (universe) return *universe;
  if (graph) return graph->persons();
  if (store) return Bitmap::from_range(0, static_cast<uint32_t>(store->person_count()));
  throw StateError(
      "segments: `not` needs the universe of persons: attach an identity graph or a profile store, or call "
      "set_universe()");
}

}  // namespace segment_detail

namespace {

SegmentInfo make_info(const Segment& s) {
  SegmentInfo i;
  i.name = s.name;
  i.kind = s.kind;
  i.definition = s.definition;
  i.description = s.description;
  i.version = s.version;
  i.evaluated = s.evaluated;
  i.as_of = s.as_of;
  i.size = s.evaluated ? s.members.cardinality() : 0;
  i.time_relative = s.time_relative;
  i.segments = s.refs(NameKind::segment);
  for (NameKind k : {NameKind::tag, NameKind::value_tag}) {
    auto r = s.refs(k);
    i.tags.insert(i.tags.end(), r.begin(), r.end());
  }
  std::sort(i.tags.begin(), i.tags.end());
  for (NameKind k : {NameKind::trait, NameKind::column}) {
    auto r = s.refs(k);
    i.columns.insert(i.columns.end(), r.begin(), r.end());
  }
  std::sort(i.columns.begin(), i.columns.end());
  return i;
}

// The segment a definition of `name` replaces (nullptr for a new name);
// throws Conflict when one exists and `replace` is not set.
Segment* replaced_segment(segment_detail::Impl& im, std::string_view name, bool replace) {
  auto it = im.segments.find(name);
  if (it == im.segments.end()) return nullptr;
  if (!replace) throw Conflict("segment '" + std::string(name) + "' already exists (pass replace to redefine it)");
  return it->second.get();
}

// Stores a new definition in place of `old` (nullptr: a new segment): the
// file first, so a failure changes nothing, then the maps and the index.
Segment& install(segment_detail::Impl& im, std::unique_ptr<Segment> s, Segment* old) {
  im.save_definition(*s);
  if (old) im.unindex_segment(*old);
  else im.by_id.push_back(nullptr);
  Segment* raw = s.get();
  im.by_id[raw->id] = raw;
  im.segments[raw->name] = std::move(s);
  im.renumber();
  im.drop_plans();
  if (raw->evaluated) im.index_segment(*raw);
  return *raw;
}

// Adds or replaces a tag; plans that read tags are compiled again.
void put_tag(segment_detail::Impl& im, std::string_view name, TagEntry e) {
  im.tags[std::string(name)] = std::move(e);
  im.drop_plans();
}

// Segments in an order where every segment comes after those it refers to.
std::vector<Segment*> dependency_order(segment_detail::Impl& im) {
  std::vector<Segment*> out;
  std::set<const Segment*> done;
  std::function<void(Segment&)> visit = [&](Segment& s) {
    if (done.count(&s)) return;
    done.insert(&s);
    for (const auto& [n, k] : s.names) {
      if (k != NameKind::segment) continue;
      auto it = im.segments.find(n);
      if (it != im.segments.end()) visit(*it->second);
    }
    out.push_back(&s);
  };
  for (auto& [n, s] : im.segments) visit(*s);
  return out;
}

}  // namespace

// ---- construction ---------------------------------------------------------------------

SegmentEngine::SegmentEngine() : impl_(std::make_unique<Impl>()) {}

SegmentEngine::SegmentEngine(std::shared_ptr<Workspace> ws) : impl_(std::make_unique<Impl>()) {
  if (!ws) throw InvalidArgument("segments: workspace must not be null");
  impl_->ws = std::move(ws);
  impl_->ensure_schema();
  impl_->load();
  impl_->renumber();
  impl_->rebuild_index();
}

SegmentEngine::~SegmentEngine() = default;
SegmentEngine::SegmentEngine(SegmentEngine&&) noexcept = default;
SegmentEngine& SegmentEngine::operator=(SegmentEngine&&) noexcept = default;

const std::shared_ptr<Workspace>& SegmentEngine::workspace() const noexcept { return impl_->ws; }

// ---- sources -------------------------------------------------------------------------------

void SegmentEngine::attach_store(const ProfileStore* store) noexcept {
  impl_->store = store;
  impl_->drop_plans();
}
void SegmentEngine::attach_identity(const IdentityGraph* graph) noexcept { impl_->graph = graph; }
void SegmentEngine::set_universe(Bitmap persons) { impl_->universe = std::move(persons); }

void SegmentEngine::set_tags(const TagResults& results) {
  std::map<std::string, TagEntry, std::less<>> next;
  for (const TagColumn& c : results.tags) {
    TagEntry e;
    e.members = c.members;
    switch (c.kind) {
      case TagKind::boolean: e.kind = TagEntry::Kind::boolean; break;
      case TagKind::value:
        e.kind = TagEntry::Kind::value;
        e.labels = c.labels;
        e.label_members = c.label_members;
        break;
      case TagKind::trait:
        e.kind = TagEntry::Kind::trait;
        e.values = c.values;
        e.valid = c.valid;
        break;
    }
    next[c.name] = std::move(e);
  }
  impl_->tags = std::move(next);
  impl_->drop_plans();
}

void SegmentEngine::set_tag(std::string_view name, Bitmap members) {
  util::validate_name(name, "tag name");
  TagEntry e;
  e.kind = TagEntry::Kind::boolean;
  e.members = std::move(members);
  put_tag(*impl_, name, std::move(e));
}

void SegmentEngine::set_value_tag(std::string_view name, std::vector<std::string> labels, std::vector<Bitmap> members) {
  util::validate_name(name, "tag name");
  if (labels.size() != members.size()) {
    throw InvalidArgument("value tag '" + std::string(name) + "': " + std::to_string(labels.size()) + " labels but " +
                          std::to_string(members.size()) + " member bitmaps");
  }
  std::set<std::string_view> seen;
  for (const std::string& l : labels) {
    require_utf8(l, "label");
    if (!seen.insert(l).second) throw InvalidArgument("value tag '" + std::string(name) + "': label '" + l + "' twice");
  }
  TagEntry e;
  e.kind = TagEntry::Kind::value;
  std::vector<const Bitmap*> ptrs;
  for (const Bitmap& b : members) ptrs.push_back(&b);
  e.members = Bitmap::or_many(ptrs);
  e.labels = std::move(labels);
  e.label_members = std::move(members);
  put_tag(*impl_, name, std::move(e));
}

void SegmentEngine::set_trait(std::string_view name, std::vector<double> values, std::vector<uint8_t> valid) {
  util::validate_name(name, "trait name");
  if (!valid.empty() && valid.size() != values.size()) {
    throw InvalidArgument("trait '" + std::string(name) + "': " + std::to_string(values.size()) + " values but " +
                          std::to_string(valid.size()) + " validity flags");
  }
  TagEntry e;
  e.kind = TagEntry::Kind::trait;
  e.values = std::move(values);
  e.valid = std::move(valid);
  for (uint32_t p = 0; p < e.values.size(); ++p)
    if (e.is_valid(p)) e.members.add(p);
  put_tag(*impl_, name, std::move(e));
}

void SegmentEngine::set_person_tag(PersonOrdinal person, std::string_view tag, bool member) {
  auto it = impl_->tags.find(tag);
  if (it == impl_->tags.end() || it->second.kind != TagEntry::Kind::boolean)
    throw NotFound("boolean tag '" + std::string(tag) + "' does not exist");
  if (member) it->second.members.add(person);
  else it->second.members.remove(person);
}

void SegmentEngine::set_person_label(PersonOrdinal person, std::string_view tag, std::string_view label) {
  auto it = impl_->tags.find(tag);
  if (it == impl_->tags.end() || it->second.kind != TagEntry::Kind::value)
    throw NotFound("value tag '" + std::string(tag) + "' does not exist");
  require_utf8(label, "label");
  TagEntry& e = it->second;
  for (Bitmap& b : e.label_members) b.remove(person);
  e.members.remove(person);
  if (label.empty()) return;
  auto l = std::find(e.labels.begin(), e.labels.end(), label);
  if (l == e.labels.end()) {
    e.labels.emplace_back(label);
    e.label_members.emplace_back();
    l = e.labels.end() - 1;
  }
  e.label_members[static_cast<size_t>(l - e.labels.begin())].add(person);
  e.members.add(person);
}

bool SegmentEngine::remove_tag(std::string_view name) {
  auto it = impl_->tags.find(name);
  if (it == impl_->tags.end()) return false;
  impl_->tags.erase(it);
  impl_->drop_plans();
  return true;
}

const Bitmap& SegmentEngine::tag(std::string_view name) const {
  auto it = impl_->tags.find(name);
  if (it == impl_->tags.end()) throw NotFound("tag '" + std::string(name) + "' does not exist");
  return it->second.members;
}

std::vector<std::string> SegmentEngine::tag_names() const {
  std::vector<std::string> out;
  for (const auto& [n, t] : impl_->tags) out.push_back(n);
  return out;
}

// ---- definitions -----------------------------------------------------------------------

SegmentInfo SegmentEngine::define(std::string_view name, std::string_view definition, const DefineOptions& options) {
  util::validate_name(name, "segment name");
  require_utf8(definition, "segment definition");
  require_utf8(options.description, "segment description");
  Segment* old = replaced_segment(*impl_, name, options.replace);
  auto s = std::make_unique<Segment>();
  s->name = std::string(name);
  s->kind = SegmentKind::dynamic;
  s->definition = std::string(definition);
  s->description = options.description;
  impl_->compile_definition(*s, definition);
  impl_->check_cycles(*s);
  if (old) {
    s->version = old->version + 1;
    s->id = old->id;
    // Members stay until the next evaluation, so readers see the last answer.
    s->members = old->members;
    s->evaluated = old->evaluated;
    s->as_of = old->as_of;
  } else {
    s->id = static_cast<uint32_t>(impl_->by_id.size());
  }
  return make_info(install(*impl_, std::move(s), old));
}

SegmentInfo SegmentEngine::define_fixed(std::string_view name, Bitmap members, const DefineOptions& options) {
  util::validate_name(name, "segment name");
  require_utf8(options.description, "segment description");
  Segment* old = replaced_segment(*impl_, name, options.replace);
  auto s = std::make_unique<Segment>();
  s->name = std::string(name);
  s->kind = SegmentKind::fixed;
  s->description = options.description;
  s->members = std::move(members);
  s->members.optimize();
  s->evaluated = true;
  // A fixed segment refers to nothing, so replacing one never makes a cycle.
  s->version = old ? old->version + 1 : 1;
  s->id = old ? old->id : static_cast<uint32_t>(impl_->by_id.size());
  return make_info(install(*impl_, std::move(s), old));
}

ListReport SegmentEngine::define_list(std::string_view name, std::string_view identifier_type,
                                      std::span<const std::string_view> values, const DefineOptions& options) {
  util::validate_name(name, "segment name");
  if (!impl_->graph) throw StateError("segment '" + std::string(name) + "': uploaded lists need an identity graph");
  replaced_segment(*impl_, name, options.replace);  // the Conflict before any lookup
  TypeId type = impl_->graph->type_id(identifier_type);
  if (type == kNoType) throw NotFound("identifier type '" + std::string(identifier_type) + "' does not exist");
  for (size_t i = 0; i < values.size(); ++i) require_utf8(values[i], "identifier value");
  std::vector<PersonOrdinal> ordinals(values.size());
  impl_->graph->ordinals_of(type, values, ordinals);
  ListReport r;
  r.rows = values.size();
  std::vector<uint32_t> found;
  found.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (ordinals[i] != kNoPerson) {
      ++r.matched;
      found.push_back(ordinals[i]);
      continue;
    }
    if (impl_->graph->try_normalize(type, values[i])) ++r.unmatched;
    else ++r.invalid;
    if (r.rejected_rows.size() < 1000) r.rejected_rows.push_back(i);
  }
  Bitmap members = Bitmap::from_values(found);
  r.persons = members.cardinality();
  define_fixed(name, std::move(members), options);
  return r;
}

bool SegmentEngine::remove(std::string_view name) {
  auto it = impl_->segments.find(name);
  if (it == impl_->segments.end()) return false;
  std::vector<std::string> users;
  for (const auto& [n, s] : impl_->segments) {
    auto r = s->names.find(name);
    if (r != s->names.end() && r->second == NameKind::segment) users.push_back(n);
  }
  if (!users.empty()) {
    std::string list;
    for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
    throw Conflict("segment '" + std::string(name) + "' is used by " + list + "; remove or redefine those first");
  }
  impl_->delete_segment(name);
  for (auto s = impl_->mem_snapshots.begin(); s != impl_->mem_snapshots.end();) {
    if (s->second.info.segment == name) s = impl_->mem_snapshots.erase(s);
    else ++s;
  }
  impl_->unindex_segment(*it->second);
  impl_->by_id[it->second->id] = nullptr;
  impl_->segments.erase(it);
  impl_->renumber();
  return true;
}

bool SegmentEngine::contains(std::string_view name) const noexcept { return impl_->segments.count(name) > 0; }

SegmentInfo SegmentEngine::info(std::string_view name) const { return make_info(impl_->get(name)); }

std::vector<std::string> SegmentEngine::names() const {
  std::vector<std::string> out;
  for (const auto& [n, s] : impl_->segments) out.push_back(n);
  return out;
}

// ---- evaluation -------------------------------------------------------------------------

namespace {

// Stores new members of `s` (file first, then memory); returns the change,
// which is also logged when `s` had members before.
SegmentChange store_members(segment_detail::Impl& im, Segment& s, Bitmap next, Timestamp as_of) {
  SegmentChange ch;
  ch.segment = s.name;
  next.optimize();
  std::vector<MembershipEvent> events;
  if (s.evaluated) {
    ch.entered = next - s.members;
    ch.exited = s.members - next;
    auto add = [&](const Bitmap& b, bool entered) {
      b.for_each([&](uint32_t p) {
        events.push_back({0, s.name, p, entered, as_of});
        return true;
      });
    };
    add(ch.entered, true);
    add(ch.exited, false);
  }
  im.save_members(s, next, as_of, events);
  im.unindex_segment(s);
  s.members = std::move(next);
  s.evaluated = true;
  s.as_of = as_of;
  im.index_segment(s);
  return ch;
}

}  // namespace

const Bitmap& SegmentEngine::evaluate(std::string_view name, Timestamp as_of) {
  Segment& target = impl_->get(name);
  if (target.kind == SegmentKind::fixed) return target.members;
  // Dependencies first, each once, then the segment.
  std::vector<Segment*> order;
  std::set<Segment*> seen;
  std::function<void(Segment&)> visit = [&](Segment& s) {
    if (!seen.insert(&s).second) return;
    for (const auto& [n, k] : s.names)
      if (k == NameKind::segment) visit(impl_->get(n));
    if (s.kind == SegmentKind::dynamic) order.push_back(&s);
  };
  visit(target);
  for (Segment* s : order) store_members(*impl_, *s, impl_->compute(*s, as_of), as_of);
  return target.members;
}

std::vector<SegmentChange> SegmentEngine::refresh(Timestamp as_of) {
  std::vector<SegmentChange> out;
  // The reverse index is rebuilt once at the end, not per segment.
  struct Resume {
    segment_detail::Impl& im;
    ~Resume() { im.resume_index(); }
  } resume{*impl_};
  impl_->pause_index();
  for (Segment* s : dependency_order(*impl_)) {
    if (s->kind != SegmentKind::dynamic) continue;
    out.push_back(store_members(*impl_, *s, impl_->compute(*s, as_of), as_of));
  }
  return out;
}

Bitmap SegmentEngine::preview(std::string_view definition, Timestamp as_of) {
  require_utf8(definition, "segment definition");
  Segment tmp;
  tmp.name = "(preview)";
  impl_->compile_definition(tmp, definition);
  for (const auto& [n, k] : tmp.names) {
    if (k != NameKind::segment) continue;
    const Segment& dep = impl_->get(n);
    if (dep.kind == SegmentKind::dynamic && (!dep.evaluated || dep.as_of != as_of)) evaluate(n, as_of);
  }
  return impl_->compute(tmp, as_of);
}

uint64_t SegmentEngine::count_with(std::string_view name, std::string_view condition, Timestamp as_of) {
  const Bitmap& base = members(name);
  Bitmap extra = preview(condition, as_of);
  return Bitmap::and_cardinality(base, extra);
}

std::vector<MembershipEvent> SegmentEngine::update_person(PersonOrdinal person, std::span<const std::string> changed,
                                                          Timestamp as_of) {
  std::set<std::string, std::less<>> touched(changed.begin(), changed.end());
  std::vector<Segment*> affected;
  for (Segment* s : dependency_order(*impl_)) {
    if (s->kind != SegmentKind::dynamic) continue;
    bool hit = touched.empty();
    for (const auto& [n, k] : s->names) {
      if (hit) break;
      if (touched.count(n)) hit = true;
      // "order.amount" is read when "order" changed.
      auto dot = n.find('.');
      if (dot != std::string::npos && touched.count(std::string_view(n).substr(0, dot))) hit = true;
    }
    if (!hit) continue;
    affected.push_back(s);
    touched.insert(s->name);  // segments over this one are affected too
  }
  // Decide every change first (segments over segments read the new answers
  // of those before them), log them, then apply them.
  std::vector<MembershipEvent> events;
  std::map<Segment*, bool> decided;
  for (Segment* s : affected) {
    if (!s->evaluated) continue;  // nothing to compare with: evaluate() first
    bool now = impl_->compute_person(*s, person, as_of, decided);
    decided[s] = now;
    if (now != s->members.contains(person)) events.push_back({0, s->name, person, now, as_of});
  }
  impl_->save_person_events(events);
  for (const MembershipEvent& e : events) {
    Segment& s = impl_->get(e.segment);
    if (e.entered) s.members.add(person);
    else s.members.remove(person);
    impl_->index_person(s, person, e.entered);
  }
  return events;
}

const Bitmap& SegmentEngine::members(std::string_view name) const {
  const Segment& s = impl_->get(name);
  if (!s.evaluated)
    throw StateError("segment '" + std::string(name) + "' has not been evaluated yet; call evaluate()");
  return s.members;
}

uint64_t SegmentEngine::count(std::string_view name) const { return members(name).cardinality(); }

// ---- algebra -----------------------------------------------------------------------------

OverlapMatrix SegmentEngine::overlap(std::span<const std::string> names) const {
  OverlapMatrix m;
  std::vector<const Bitmap*> bms;
  for (const std::string& n : names) {
    bms.push_back(&members(n));
    m.names.push_back(n);
  }
  size_t n = bms.size();
  m.counts.assign(n * n, 0);
  for (size_t i = 0; i < n; ++i) {
    m.counts[i * n + i] = bms[i]->cardinality();
    for (size_t j = i + 1; j < n; ++j) {
      uint64_t c = Bitmap::and_cardinality(*bms[i], *bms[j]);
      m.counts[i * n + j] = m.counts[j * n + i] = c;
    }
  }
  return m;
}

Breakdown SegmentEngine::breakdown(std::string_view name, std::string_view value_tag) const {
  const Bitmap& m = members(name);
  auto it = impl_->tags.find(value_tag);
  if (it == impl_->tags.end() || it->second.kind != TagEntry::Kind::value)
    throw NotFound("value tag '" + std::string(value_tag) + "' does not exist");
  const TagEntry& t = it->second;
  Breakdown b;
  b.tag = std::string(value_tag);
  b.labels = t.labels;
  for (const Bitmap& l : t.label_members) b.counts.push_back(Bitmap::and_cardinality(m, l));
  b.unlabelled = Bitmap::andnot_cardinality(m, t.members);
  return b;
}

// ---- snapshots ---------------------------------------------------------------------------
// (bound engines: persist.cpp; these are the in-memory forms and the dispatch)

size_t SegmentEngine::memory_bytes() const noexcept {
  size_t n = 0;
  for (const auto& [name, s] : impl_->segments) n += s->members.memory_bytes();
  for (const auto& [name, t] : impl_->tags) {
    n += t.members.memory_bytes();
    for (const Bitmap& b : t.label_members) n += b.memory_bytes();
    n += t.values.capacity() * sizeof(double) + t.valid.capacity();
  }
  for (const auto& rows : impl_->index.by_key) n += rows.capacity() * sizeof(uint64_t);
  n += impl_->index.by_key.capacity() * sizeof(std::vector<uint64_t>);
  return n;
}

}  // namespace cdpcore
