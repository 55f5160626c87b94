// C ABI of the tag engine: a thin layer over cdpcore::RuleSet.
#include <cmath>

#include "capi/bitmap_handles.hpp"
#include "capi/capi_internal.hpp"
#include "capi/handles.hpp"
#include "capi/profile_handles.hpp"
#include "cdpcore/rules.hpp"

using namespace cdpcore;

struct cdp_rule_set {
  RuleSet rs;
};

struct cdp_tag_results {
  TagResults r;
};

struct cdp_person_tags {
  std::vector<PersonTag> tags;
};

namespace {

CompileOptions compile_options(const cdp_rules_options* o) {
  CompileOptions c;
  if (!o) return c;
  capi::check_struct_version(o->version, CDP_RULES_OPTIONS_VERSION, "cdp_rules_options");
  if (o->max_text_bytes) c.limits.max_text_bytes = o->max_text_bytes;
  if (o->max_depth) c.limits.max_depth = o->max_depth;
  if (o->max_nodes) c.limits.max_nodes = o->max_nodes;
  if (o->max_rules) c.limits.max_rules = o->max_rules;
  if (o->max_cost) c.limits.max_cost = o->max_cost;
  if (o->time_zone) c.time_zone = std::string(capi::arg_cstring(o->time_zone, "time_zone"));
  return c;
}

const TagColumn& tag_at(const cdp_tag_results* r, size_t tag) {
  capi::arg_not_null(r, "results");
  if (tag >= r->r.tags.size()) throw InvalidArgument("tag index " + std::to_string(tag) + " is out of range");
  return r->r.tags[tag];
}

/// The body of the functions that lend a tag's column: `col`, which only a
/// tag of `kind` (`what`) has, as a pointer and length owned by the results.
template <typename T>
void put_column(const TagColumn& t, TagKind kind, const char* what, const std::vector<T>& col, const T** out,
                size_t* out_len) {
  if (t.kind != kind) throw TypeError("tag \"" + t.name + "\" is not a " + what);
  capi::arg_not_null(out, "out");
  *out = col.data();
  if (out_len) *out_len = col.size();
}

cdp_status put_string(const std::string& s, char** out, size_t* out_len) {
  capi::arg_not_null(out, "out");
  *out = capi::dup_string(s);
  if (out_len) *out_len = s.size();
  return CDP_OK;
}

}  // namespace

extern "C" {

CDP_DEFINE_OPTIONS_INIT(cdp_rules_options, CDP_RULES_OPTIONS)

cdp_status cdp_rules_compile(cdp_rule_set** out, const cdp_profile_store* store, const char* text, size_t text_len,
                             const cdp_rules_options* opts) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  capi::arg_not_null(store, "store");
  *out = new cdp_rule_set{RuleSet::compile(store->store, capi::arg_string(text, text_len, "text"), compile_options(opts))};
  CDP_API_END()
}

cdp_status cdp_rules_compile_json(cdp_rule_set** out, const cdp_profile_store* store, const char* json,
                                  size_t json_len, const cdp_rules_options* opts) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  capi::arg_not_null(store, "store");
  *out = new cdp_rule_set{
      RuleSet::compile_json(store->store, capi::arg_string(json, json_len, "json"), compile_options(opts))};
  CDP_API_END()
}

void cdp_rules_free(cdp_rule_set* rs) { delete rs; }

size_t cdp_rules_count(const cdp_rule_set* rs) { return rs ? rs->rs.size() : 0; }

cdp_status cdp_rules_info(const cdp_rule_set* rs, size_t i, const char** out_name, cdp_tag_kind* out_kind) {
  CDP_API_BEGIN()
  capi::arg_not_null(rs, "rule set");
  if (i >= rs->rs.size()) throw InvalidArgument("rule index " + std::to_string(i) + " is out of range");
  if (out_name) *out_name = rs->rs.rules()[i].name.c_str();
  if (out_kind) *out_kind = static_cast<cdp_tag_kind>(rs->rs.kind(i));
  CDP_API_END()
}

cdp_status cdp_rules_to_text(const cdp_rule_set* rs, char** out, size_t* out_len) {
  CDP_API_BEGIN()
  capi::arg_not_null(rs, "rule set");
  return put_string(rs->rs.to_text(), out, out_len);
  CDP_API_END()
}

cdp_status cdp_rules_to_json(const cdp_rule_set* rs, char** out, size_t* out_len) {
  CDP_API_BEGIN()
  capi::arg_not_null(rs, "rule set");
  return put_string(rs->rs.to_json(), out, out_len);
  CDP_API_END()
}

cdp_status cdp_rules_expression_to_json(const char* text, size_t text_len, char** out, size_t* out_len) {
  CDP_API_BEGIN()
  return put_string(rules::to_json(rules::parse_expression(capi::arg_string(text, text_len, "text"))), out, out_len);
  CDP_API_END()
}

cdp_status cdp_rules_expression_from_json(const char* json, size_t json_len, char** out, size_t* out_len) {
  CDP_API_BEGIN()
  return put_string(rules::to_text(rules::from_json(capi::arg_string(json, json_len, "json"))), out, out_len);
  CDP_API_END()
}

cdp_status cdp_rules_evaluate(const cdp_rule_set* rs, const cdp_profile_store* store, int64_t as_of,
                              unsigned threads, cdp_tag_results** out) {
  cdp_rules_eval_options o CDP_RULES_EVAL_OPTIONS_INIT;
  o.threads = threads;
  return cdp_rules_evaluate_v2(rs, store, as_of, &o, out);
}

CDP_DEFINE_OPTIONS_INIT(cdp_rules_eval_options, CDP_RULES_EVAL_OPTIONS)

cdp_status cdp_rules_evaluate_v2(const cdp_rule_set* rs, const cdp_profile_store* store, int64_t as_of,
                                 const cdp_rules_eval_options* opts, cdp_tag_results** out) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  capi::arg_not_null(rs, "rule set");
  capi::arg_not_null(store, "store");
  EvalOptions o;
  if (opts) {
    capi::check_struct_version(opts->version, CDP_RULES_EVAL_OPTIONS_VERSION, "cdp_rules_eval_options");
    if (opts->threads) o.threads = opts->threads;
    o.progress = capi::progress_callback(opts->progress, opts->progress_user_data);
  }
  *out = new cdp_tag_results{rs->rs.evaluate_all(store->store, as_of, o)};
  CDP_API_END()
}

cdp_status cdp_rules_update(const cdp_rule_set* rs, cdp_tag_results* results, const cdp_profile_store* store,
                            const cdp_bitmap* persons, int64_t as_of) {
  CDP_API_BEGIN()
  capi::arg_not_null(rs, "rule set");
  capi::arg_not_null(results, "results");
  capi::arg_not_null(store, "store");
  capi::arg_not_null(persons, "persons");
  rs->rs.update(results->r, store->store, persons->b, as_of);
  CDP_API_END()
}

void cdp_tag_results_free(cdp_tag_results* r) { delete r; }

size_t cdp_tag_results_person_count(const cdp_tag_results* r) { return r ? r->r.person_count : 0; }

cdp_status cdp_tag_results_members(const cdp_tag_results* r, size_t tag, cdp_bitmap** out) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = capi::new_bitmap(tag_at(r, tag).members);
  CDP_API_END()
}

cdp_status cdp_tag_results_label_count(const cdp_tag_results* r, size_t tag, size_t* out) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = tag_at(r, tag).labels.size();
  CDP_API_END()
}

cdp_status cdp_tag_results_label(const cdp_tag_results* r, size_t tag, size_t i, const char** out_label,
                                 cdp_bitmap** out_members) {
  CDP_API_BEGIN()
  const TagColumn& t = tag_at(r, tag);
  if (i >= t.labels.size()) throw InvalidArgument("label index " + std::to_string(i) + " is out of range");
  if (out_label) *out_label = t.labels[i].c_str();
  if (out_members) *out_members = capi::new_bitmap(t.label_members[i]);
  CDP_API_END()
}

cdp_status cdp_tag_results_codes(const cdp_tag_results* r, size_t tag, const int32_t** out, size_t* out_len) {
  CDP_API_BEGIN()
  const TagColumn& t = tag_at(r, tag);
  put_column(t, TagKind::value, "value tag", t.codes, out, out_len);
  CDP_API_END()
}

cdp_status cdp_tag_results_values(const cdp_tag_results* r, size_t tag, const double** out, size_t* out_len) {
  CDP_API_BEGIN()
  const TagColumn& t = tag_at(r, tag);
  put_column(t, TagKind::trait, "trait", t.values, out, out_len);
  CDP_API_END()
}

cdp_status cdp_rules_evaluate_person(const cdp_rule_set* rs, const cdp_profile_store* store, uint32_t person,
                                     int64_t as_of, cdp_person_tags** out) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  capi::arg_not_null(rs, "rule set");
  capi::arg_not_null(store, "store");
  *out = new cdp_person_tags{rs->rs.evaluate_person(store->store, person, as_of)};
  CDP_API_END()
}

cdp_status cdp_person_tags_get(const cdp_person_tags* t, size_t i, int* out_member, const char** out_label,
                               double* out_value) {
  CDP_API_BEGIN()
  capi::arg_not_null(t, "person tags");
  if (i >= t->tags.size()) throw InvalidArgument("rule index " + std::to_string(i) + " is out of range");
  const PersonTag& p = t->tags[i];
  if (out_member) *out_member = p.member ? 1 : 0;
  if (out_label) *out_label = p.label.c_str();
  if (out_value) *out_value = p.kind == TagKind::trait ? p.value : std::nan("");
  CDP_API_END()
}

void cdp_person_tags_free(cdp_person_tags* t) { delete t; }

cdp_status cdp_rules_save(const cdp_rule_set* rs, cdp_workspace* ws, const char* name, size_t name_len,
                          int64_t* out_version) {
  CDP_API_BEGIN()
  capi::arg_not_null(rs, "rule set");
  capi::arg_not_null(ws, "ws");
  int64_t v = rs->rs.save(*ws->ws, capi::arg_string(name, name_len, "name"));
  if (out_version) *out_version = v;
  CDP_API_END()
}

cdp_status cdp_rules_load(cdp_rule_set** out, const cdp_profile_store* store, cdp_workspace* ws, const char* name,
                          size_t name_len, int64_t version, const cdp_rules_options* opts) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  capi::arg_not_null(store, "store");
  capi::arg_not_null(ws, "ws");
  *out = new cdp_rule_set{
      RuleSet::load(store->store, *ws->ws, capi::arg_string(name, name_len, "name"), version, compile_options(opts))};
  CDP_API_END()
}

}  // extern "C"
