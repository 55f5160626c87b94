#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "capi/bitmap_handles.hpp"
#include "capi/capi_internal.hpp"
#include "capi/handles.hpp"
#include "capi/profile_handles.hpp"
#include "cdpcore/c/segment.h"
#include "cdpcore/segment.hpp"

using namespace cdpcore;

struct cdp_segment_engine {
  SegmentEngine engine;
  std::shared_ptr<Workspace> ws;  // kept open while the engine lives
};

namespace {

SegmentEngine& eng(cdp_segment_engine* e) { return capi::arg_not_null(e, "e")->engine; }
const SegmentEngine& eng(const cdp_segment_engine* e) { return capi::arg_not_null(e, "e")->engine; }
const Bitmap& bm(const cdp_bitmap* b, const char* what) { return capi::arg_not_null(b, what)->b; }

template <typename T>
const T* arg_array(const T* p, size_t count, const char* what) {
  if (!p && count > 0) throw InvalidArgument(std::string(what) + " is NULL with a count of " + std::to_string(count));
  return p;
}

DefineOptions define_options(const cdp_segment_define_options* opts) {
  DefineOptions o;
  if (!opts) return o;
  capi::check_struct_version(opts->version, CDP_SEGMENT_DEFINE_OPTIONS_VERSION, "cdp_segment_define_options");
  if (opts->description) o.description = std::string(capi::arg_cstring(opts->description, "description"));
  o.replace = opts->replace != 0;
  return o;
}

ExportOptions export_options(const cdp_segment_export_options* opts) {
  ExportOptions o;
  if (!opts) return o;
  capi::check_struct_version(opts->version, CDP_SEGMENT_EXPORT_OPTIONS_VERSION, "cdp_segment_export_options");
  arg_array(opts->identifier_types, opts->identifier_type_count, "identifier_types");
  for (size_t i = 0; i < opts->identifier_type_count; ++i)
    o.identifier_types.emplace_back(capi::arg_cstring(opts->identifier_types[i], "identifier_types[i]"));
  if (opts->allowed) o.allowed = &opts->allowed->b;
  if (opts->batch_size > 0) o.batch_size = opts->batch_size;
  if (opts->version >= 2 && opts->allow_identifier) {  // fields of version 2 exist only from then on
    cdp_segment_allow_identifier_fn fn = opts->allow_identifier;
    void* ud = opts->allow_identifier_user_data;
    o.allow_identifier = [fn, ud](PersonOrdinal p, std::string_view type, std::string_view value) {
      return fn(ud, p, type.data(), type.size(), value.data(), value.size()) != 0;
    };
  }
  return o;
}

void write_report(const ExportReport& r, cdp_segment_export_report* out) {
  if (!out) return;
  out->members = r.members;
  out->exported = r.exported;
  out->not_allowed = r.not_allowed;
  out->unreachable = r.unreachable;
}

// Strings packed one after another, each NUL-terminated, in one malloc'ed buffer.
char* pack_strings(const std::vector<std::string>& v) {
  if (v.empty()) return nullptr;
  size_t n = 0;
  for (const auto& s : v) n += s.size() + 1;
  char* p = static_cast<char*>(std::malloc(n));
  if (!p) throw std::bad_alloc();
  char* w = p;
  for (const auto& s : v) {
    std::memcpy(w, s.data(), s.size());
    w[s.size()] = '\0';
    w += s.size() + 1;
  }
  return p;
}

// Events and their segment names in one malloc'ed block: the array first,
// then the strings the entries point to.
cdp_membership_event* pack_events(const std::vector<MembershipEvent>& v) {
  if (v.empty()) return nullptr;
  size_t strings = 0;
  for (const auto& e : v) strings += e.segment.size() + 1;
  size_t head = v.size() * sizeof(cdp_membership_event);
  auto* block = static_cast<char*>(std::malloc(head + strings));
  if (!block) throw std::bad_alloc();
  auto* out = reinterpret_cast<cdp_membership_event*>(block);
  char* w = block + head;
  for (size_t i = 0; i < v.size(); ++i) {
    std::memcpy(w, v[i].segment.data(), v[i].segment.size());
    w[v[i].segment.size()] = '\0';
    out[i] = {v[i].seq, w, v[i].person, v[i].entered ? 1 : 0, v[i].at};
    w += v[i].segment.size() + 1;
  }
  return out;
}

std::string_view name_arg(const char* s, size_t len) { return capi::arg_string(s, len, "name"); }

}  // namespace

extern "C" {

cdp_status cdp_segment_engine_new(cdp_segment_engine** out, cdp_workspace* ws) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  if (ws) {
    *out = new cdp_segment_engine{SegmentEngine(ws->ws), ws->ws};
  } else {
    *out = new cdp_segment_engine{SegmentEngine(), nullptr};
  }
  CDP_API_END()
}

void cdp_segment_engine_free(cdp_segment_engine* e) { delete e; }

cdp_status cdp_segment_attach_store(cdp_segment_engine* e, const cdp_profile_store* store) {
  CDP_API_BEGIN()
  eng(e).attach_store(store ? &store->store : nullptr);
  CDP_API_END()
}

cdp_status cdp_segment_set_tag(cdp_segment_engine* e, const char* name, size_t name_len, const cdp_bitmap* members) {
  CDP_API_BEGIN()
  eng(e).set_tag(name_arg(name, name_len), bm(members, "members"));
  CDP_API_END()
}

cdp_status cdp_segment_set_value_tag(cdp_segment_engine* e, const char* name, size_t name_len,
                                     const char* const* labels, const size_t* label_lens,
                                     const cdp_bitmap* const* members, size_t count) {
  CDP_API_BEGIN()
  SegmentEngine& s = eng(e);
  arg_array(labels, count, "labels");
  arg_array(label_lens, count, "label_lens");
  arg_array(members, count, "members");
  std::vector<std::string> ls;
  std::vector<Bitmap> ms;
  for (size_t i = 0; i < count; ++i) {
    ls.emplace_back(capi::arg_string(labels[i], label_lens[i], "labels[i]"));
    ms.push_back(bm(members[i], "members[i]"));
  }
  s.set_value_tag(name_arg(name, name_len), std::move(ls), std::move(ms));
  CDP_API_END()
}

cdp_status cdp_segment_set_trait(cdp_segment_engine* e, const char* name, size_t name_len, const double* values,
                                 size_t count) {
  CDP_API_BEGIN()
  SegmentEngine& s = eng(e);
  arg_array(values, count, "values");
  s.set_trait(name_arg(name, name_len), std::vector<double>(values, values + count));
  CDP_API_END()
}

cdp_status cdp_segment_remove_tag(cdp_segment_engine* e, const char* name, size_t name_len, int* out_removed) {
  CDP_API_BEGIN()
  bool r = eng(e).remove_tag(name_arg(name, name_len));
  if (out_removed) *out_removed = r ? 1 : 0;
  CDP_API_END()
}

cdp_status cdp_segment_set_person_tag(cdp_segment_engine* e, uint32_t person, const char* tag, size_t tag_len,
                                      int member) {
  CDP_API_BEGIN()
  eng(e).set_person_tag(person, capi::arg_string(tag, tag_len, "tag"), member != 0);
  CDP_API_END()
}

cdp_status cdp_segment_set_universe(cdp_segment_engine* e, const cdp_bitmap* persons) {
  CDP_API_BEGIN()
  eng(e).set_universe(bm(persons, "persons"));
  CDP_API_END()
}

CDP_DEFINE_OPTIONS_INIT(cdp_segment_define_options, CDP_SEGMENT_DEFINE_OPTIONS)

cdp_status cdp_segment_define(cdp_segment_engine* e, const char* name, size_t name_len, const char* definition,
                              size_t definition_len, const cdp_segment_define_options* opts) {
  CDP_API_BEGIN()
  SegmentEngine& s = eng(e);
  DefineOptions o = define_options(opts);
  s.define(name_arg(name, name_len), capi::arg_string(definition, definition_len, "definition"), o);
  CDP_API_END()
}

cdp_status cdp_segment_define_fixed(cdp_segment_engine* e, const char* name, size_t name_len,
                                    const cdp_bitmap* members, const cdp_segment_define_options* opts) {
  CDP_API_BEGIN()
  SegmentEngine& s = eng(e);
  DefineOptions o = define_options(opts);
  s.define_fixed(name_arg(name, name_len), bm(members, "members"), o);
  CDP_API_END()
}

cdp_status cdp_segment_remove(cdp_segment_engine* e, const char* name, size_t name_len, int* out_removed) {
  CDP_API_BEGIN()
  bool r = eng(e).remove(name_arg(name, name_len));
  if (out_removed) *out_removed = r ? 1 : 0;
  CDP_API_END()
}

cdp_status cdp_segment_names(const cdp_segment_engine* e, char** out, size_t* out_count) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  capi::arg_not_null(out, "out");
  capi::arg_not_null(out_count, "out_count");
  *out = nullptr;
  *out_count = 0;
  auto names = s.names();
  *out = pack_strings(names);
  *out_count = names.size();
  CDP_API_END()
}

cdp_status cdp_segment_definition(const cdp_segment_engine* e, const char* name, size_t name_len, char** out) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  capi::arg_not_null(out, "out");
  *out = nullptr;
  *out = capi::dup_string(s.info(name_arg(name, name_len)).definition);
  CDP_API_END()
}

cdp_status cdp_segment_evaluate(cdp_segment_engine* e, const char* name, size_t name_len, int64_t as_of,
                                uint64_t* out_count) {
  CDP_API_BEGIN()
  const Bitmap& m = eng(e).evaluate(name_arg(name, name_len), as_of);
  if (out_count) *out_count = m.cardinality();
  CDP_API_END()
}

cdp_status cdp_segment_refresh(cdp_segment_engine* e, int64_t as_of, uint64_t* out_entered, uint64_t* out_exited) {
  CDP_API_BEGIN()
  auto changes = eng(e).refresh(as_of);
  uint64_t in = 0, out = 0;
  for (const auto& c : changes) {
    in += c.entered.cardinality();
    out += c.exited.cardinality();
  }
  if (out_entered) *out_entered = in;
  if (out_exited) *out_exited = out;
  CDP_API_END()
}

cdp_status cdp_segment_members(const cdp_segment_engine* e, const char* name, size_t name_len, cdp_bitmap** out) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  capi::arg_not_null(out, "out");
  *out = nullptr;
  *out = capi::new_bitmap(s.members(name_arg(name, name_len)));
  CDP_API_END()
}

cdp_status cdp_segment_count(const cdp_segment_engine* e, const char* name, size_t name_len, uint64_t* out) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  capi::arg_not_null(out, "out");
  *out = s.count(name_arg(name, name_len));
  CDP_API_END()
}

cdp_status cdp_segment_preview(cdp_segment_engine* e, const char* definition, size_t definition_len, int64_t as_of,
                               cdp_bitmap** out) {
  CDP_API_BEGIN()
  SegmentEngine& s = eng(e);
  capi::arg_not_null(out, "out");
  *out = nullptr;
  *out = capi::new_bitmap(s.preview(capi::arg_string(definition, definition_len, "definition"), as_of));
  CDP_API_END()
}

cdp_status cdp_segment_count_with(cdp_segment_engine* e, const char* name, size_t name_len, const char* condition,
                                  size_t condition_len, int64_t as_of, uint64_t* out) {
  CDP_API_BEGIN()
  SegmentEngine& s = eng(e);
  capi::arg_not_null(out, "out");
  *out = s.count_with(name_arg(name, name_len), capi::arg_string(condition, condition_len, "condition"), as_of);
  CDP_API_END()
}

cdp_status cdp_segment_update_person(cdp_segment_engine* e, uint32_t person, const char* const* changed,
                                     const size_t* changed_lens, size_t changed_count, int64_t as_of,
                                     cdp_membership_event** out, size_t* out_count) {
  CDP_API_BEGIN()
  SegmentEngine& s = eng(e);
  capi::arg_not_null(out, "out");
  capi::arg_not_null(out_count, "out_count");
  *out = nullptr;
  *out_count = 0;
  arg_array(changed, changed_count, "changed");
  arg_array(changed_lens, changed_count, "changed_lens");
  std::vector<std::string> names;
  for (size_t i = 0; i < changed_count; ++i) names.emplace_back(capi::arg_string(changed[i], changed_lens[i], "changed[i]"));
  auto events = s.update_person(person, names, as_of);
  *out = pack_events(events);
  *out_count = events.size();
  CDP_API_END()
}

cdp_status cdp_segment_changes_since(const cdp_segment_engine* e, uint64_t cursor, size_t limit,
                                     cdp_membership_event** out, size_t* out_count) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  capi::arg_not_null(out, "out");
  capi::arg_not_null(out_count, "out_count");
  *out = nullptr;
  *out_count = 0;
  auto events = s.changes_since(cursor, limit);
  *out = pack_events(events);
  *out_count = events.size();
  CDP_API_END()
}

cdp_status cdp_segment_segments_of(const cdp_segment_engine* e, uint32_t person, char** out, size_t* out_count) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  capi::arg_not_null(out, "out");
  capi::arg_not_null(out_count, "out_count");
  *out = nullptr;
  *out_count = 0;
  auto names = s.segments_of(person);
  *out = pack_strings(names);
  *out_count = names.size();
  CDP_API_END()
}

cdp_status cdp_segment_overlap(const cdp_segment_engine* e, const char* const* names, const size_t* name_lens,
                               size_t count, uint64_t* out) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  arg_array(names, count, "names");
  arg_array(name_lens, count, "name_lens");
  arg_array(out, count * count, "out");
  std::vector<std::string> ns;
  for (size_t i = 0; i < count; ++i) ns.emplace_back(capi::arg_string(names[i], name_lens[i], "names[i]"));
  OverlapMatrix m = s.overlap(ns);
  std::memcpy(out, m.counts.data(), m.counts.size() * sizeof(uint64_t));
  CDP_API_END()
}

cdp_status cdp_segment_sample(const cdp_bitmap* members, uint64_t k, uint64_t seed, cdp_bitmap** out) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  *out = capi::new_bitmap(SegmentEngine::sample(bm(members, "members"), k, seed));
  CDP_API_END()
}

cdp_status cdp_segment_split(const cdp_segment_engine* e, const cdp_bitmap* members, const char* salt,
                             size_t salt_len, const double* proportions, size_t count, cdp_bitmap** out_groups) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  arg_array(proportions, count, "proportions");
  arg_array(out_groups, count, "out_groups");
  for (size_t i = 0; i < count; ++i) out_groups[i] = nullptr;
  SplitOptions o;
  o.salt = std::string(capi::arg_string(salt, salt_len, "salt"));
  o.proportions.assign(proportions, proportions + count);
  auto groups = s.split(bm(members, "members"), o);
  std::vector<std::unique_ptr<cdp_bitmap>> made;
  for (auto& g : groups) made.emplace_back(capi::new_bitmap(std::move(g)));
  for (size_t i = 0; i < count; ++i) out_groups[i] = made[i].release();
  CDP_API_END()
}

cdp_status cdp_segment_snapshot(cdp_segment_engine* e, const char* name, size_t name_len, int64_t at,
                                const char* label, size_t label_len, int64_t* out_id) {
  CDP_API_BEGIN()
  SegmentEngine& s = eng(e);
  capi::arg_not_null(out_id, "out_id");
  *out_id = s.snapshot(name_arg(name, name_len), at, capi::arg_string(label, label_len, "label"));
  CDP_API_END()
}

cdp_status cdp_segment_snapshot_members(const cdp_segment_engine* e, int64_t id, cdp_bitmap** out) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  capi::arg_not_null(out, "out");
  *out = nullptr;
  *out = capi::new_bitmap(s.snapshot_members(id));
  CDP_API_END()
}

cdp_status cdp_segment_diff(const cdp_segment_engine* e, int64_t from, int64_t to, cdp_bitmap** out_entered,
                            cdp_bitmap** out_exited) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  capi::arg_not_null(out_entered, "out_entered");
  capi::arg_not_null(out_exited, "out_exited");
  *out_entered = *out_exited = nullptr;
  SnapshotDiff d = s.diff(from, to);
  std::unique_ptr<cdp_bitmap> in(capi::new_bitmap(std::move(d.entered)));
  *out_exited = capi::new_bitmap(std::move(d.exited));
  *out_entered = in.release();
  CDP_API_END()
}

cdp_status cdp_segment_export_options_init(cdp_segment_export_options* opts, unsigned version) {
  CDP_API_BEGIN()
  capi::init_options(opts, version, CDP_SEGMENT_EXPORT_OPTIONS_VERSION,
                     cdp_segment_export_options CDP_SEGMENT_EXPORT_OPTIONS_INIT, "cdp_segment_export_options",
                     {offsetof(cdp_segment_export_options, allow_identifier), sizeof(cdp_segment_export_options)});
  CDP_API_END()
}

cdp_status cdp_segment_export(const cdp_segment_engine* e, const cdp_bitmap* members,
                              const cdp_segment_export_options* opts, cdp_segment_export_fn fn, void* user_data,
                              cdp_segment_export_report* report) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  capi::arg_not_null(fn, "fn");
  ExportOptions o = export_options(opts);
  std::vector<const char*> types, values;
  bool stopped = false;
  ExportReport r = s.export_members(bm(members, "members"), o, [&](const ExportBatch& b) {
    types.clear();
    values.clear();
    for (const std::string& t : b.identifier_types) types.push_back(t.c_str());
    for (const std::string& v : b.identifiers) values.push_back(v.c_str());
    int rc = fn(user_data, b.persons.size(), b.persons.data(), b.keys.empty() ? nullptr : b.keys.data(),
                types.empty() ? nullptr : types.data(), values.empty() ? nullptr : values.data());
    stopped = rc != 0;
    return !stopped;
  });
  write_report(r, report);
  CDP_API_END()
}

cdp_status cdp_segment_export_csv(const cdp_segment_engine* e, const cdp_bitmap* members, const char* path,
                                  size_t path_len, const cdp_segment_export_options* opts,
                                  cdp_segment_export_report* report) {
  CDP_API_BEGIN()
  const SegmentEngine& s = eng(e);
  ExportOptions o = export_options(opts);
  ExportReport r = s.export_csv(bm(members, "members"), std::string(capi::arg_string(path, path_len, "path")), o);
  write_report(r, report);
  CDP_API_END()
}

}  // extern "C"
