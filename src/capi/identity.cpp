// C ABI of the identity graph: a thin layer over cdpcore::IdentityGraph.
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "capi/bitmap_handles.hpp"
#include "capi/capi_internal.hpp"
#include "capi/handles.hpp"
#include "capi/identity_handles.hpp"
#include "cdpcore/identity.hpp"

using namespace cdpcore;
using nlohmann::json;

namespace {

class CListener final : public IdentityListener {
 public:
  explicit CListener(const cdp_identity_listener& l) : l_(l) {}
  void* user_data() const noexcept { return l_.user_data; }
  void on_merged(const ChangeEvent& e) override;
  void on_split(const ChangeEvent& e) override;
  void on_erased(const ChangeEvent& e) override;
  void on_rolled_back() override {
    if (l_.on_rolled_back) l_.on_rolled_back(l_.user_data);
  }

 private:
  cdp_identity_listener l_;
};

}  // namespace

struct cdp_identity_graph {
  std::unique_ptr<IdentityGraph> g;
  std::vector<std::unique_ptr<CListener>> listeners;
};

IdentityGraph& cdpcore::capi::identity_graph(cdp_identity_graph* g) { return *arg_not_null(g, "graph")->g; }

struct cdp_identity_batch {
  RecordBatch b;
};

struct cdp_identity_link_result {
  BatchResult r;
};

namespace {

json info_json(const IdentifierInfo& i) {
  return {{"id", i.id},         {"type", i.type},       {"type_name", i.type_name}, {"value", i.value},
          {"last_seen", i.last_seen}, {"records", i.records}, {"blocked", i.blocked}};
}

json opt_u64(uint64_t v, uint64_t none) { return v == none ? json(nullptr) : json(v); }

json event_json(const ChangeEvent& e) {
  json parts = json::array();
  for (const SplitPart& p : e.parts) {
    json part = {{"ordinal", p.ordinal}, {"key", p.key}, {"identifiers", p.identifiers}};
    if (!p.values.empty()) {
      json vals = json::array();
      for (const auto& [t, v] : p.values) vals.push_back({t, v});
      part["values"] = std::move(vals);
    }
    parts.push_back(std::move(part));
  }
  return {{"seq", e.seq},
          {"kind", change_kind_name(e.kind)},
          {"cause", change_cause_name(e.cause)},
          {"time", e.time},
          {"source", e.source},
          {"record", opt_u64(e.record, kNoRecord)},
          {"ordinal", opt_u64(e.ordinal, kNoPerson)},
          {"key", opt_u64(e.key, kNoKey)},
          {"absorbed", opt_u64(e.absorbed, kNoPerson)},
          {"absorbed_key", opt_u64(e.absorbed_key, kNoKey)},
          {"parts", std::move(parts)}};
}

json report_json(const RemovalReport& r) {
  json ids = json::array(), splits = json::array();
  for (const auto& i : r.removed_identifiers) ids.push_back(info_json(i));
  for (const auto& s : r.splits) splits.push_back(event_json(s));
  return {{"dry_run", r.dry_run},
          {"removed_identifiers", std::move(ids)},
          {"records_removed", r.records_removed},
          {"occurrences_removed", r.occurrences_removed},
          {"erased_persons", r.erased_persons},
          {"splits", std::move(splits)},
          {"first_change", r.first_change},
          {"last_change", r.last_change}};
}

void put_json(char** out, const json& j) {
  if (out) *out = capi::dup_string(j.dump());
}

/// The body of the functions that list things as JSON: *out_json is NULL
/// until `items()` returns, then a JSON array of `to_json` of each item.
template <typename F, typename G>
void put_json_list(char** out_json, F&& items, G&& to_json) {
  capi::arg_not_null(out_json, "out_json");
  *out_json = nullptr;
  json a = json::array();
  for (const auto& x : items()) a.push_back(to_json(x));
  put_json(out_json, a);
}

json conflict_json(const LinkConflict& c) {
  return {{"id", c.id},
          {"record", opt_u64(c.record, kNoRecord)},
          {"time", c.time},
          {"source", c.source},
          {"identifier", c.identifier},
          {"limited_type", opt_u64(c.limited_type, kNoType)},
          {"reason", conflict_reason_name(c.reason)},
          {"kept_in", opt_u64(c.kept_in, kNoKey)},
          {"refused", opt_u64(c.refused, kNoKey)}};
}

json blocked_json(const BlockedIdentifier& b) {
  return {{"identifier", b.identifier},
          {"type", b.type},
          {"type_name", b.type_name},
          {"value", b.value},
          {"reason", block_reason_name(b.reason)},
          {"time", b.time},
          {"persons_seen", b.persons_seen}};
}

/// The body of the removal functions: *out_report (when given) is NULL until
/// `remove` returns its report, then that report as JSON.
template <typename F>
void put_report(char** out_report, F&& remove) {
  if (out_report) *out_report = nullptr;
  put_json(out_report, report_json(remove()));
}

void call_listener(int rc, const char* what) {
  if (rc != 0) throw Cancelled(std::string("identity listener ") + what + " returned " + std::to_string(rc));
}

void CListener::on_merged(const ChangeEvent& e) {
  if (!l_.on_merged) return;
  const std::string s = event_json(e).dump();
  call_listener(l_.on_merged(l_.user_data, e.ordinal, e.key, e.absorbed, e.absorbed_key, s.data(), s.size()),
                "on_merged");
}
void CListener::on_split(const ChangeEvent& e) {
  if (!l_.on_split) return;
  const std::string s = event_json(e).dump();
  call_listener(l_.on_split(l_.user_data, e.ordinal, e.key, s.data(), s.size()), "on_split");
}
void CListener::on_erased(const ChangeEvent& e) {
  if (!l_.on_erased) return;
  const std::string s = event_json(e).dump();
  call_listener(l_.on_erased(l_.user_data, e.ordinal, e.key, s.data(), s.size()), "on_erased");
}

IdentityGraph& graph(cdp_identity_graph* g) { return *capi::arg_not_null(g, "g")->g; }
const IdentityGraph& graph(const cdp_identity_graph* g) { return *capi::arg_not_null(g, "g")->g; }


NormalizeFn wrap_normalizer(cdp_identity_normalize_fn fn, void* user, uint32_t max_length) {
  return [fn, user, max_length](std::string_view raw) {
    std::string out(max_length, '\0');
    size_t len = 0;
    const int rc = fn(user, raw.data(), raw.size(), out.data(), out.size(), &len);
    if (rc != 0) throw InvalidArgument("rejected (the callback returned " + std::to_string(rc) + ")");
    if (len > out.size()) throw LimitError("the callback wrote more than " + std::to_string(out.size()) + " bytes");
    out.resize(len);
    return out;
  };
}

IdentifierTypeOptions type_options(const cdp_identity_type_options* o) {
  IdentifierTypeOptions t;
  if (!o) return t;
  capi::check_options_version(o, CDP_IDENTITY_TYPE_OPTIONS_VERSION, "cdp_identity_type_options");
  if (o->normalizer < CDP_NORMALIZER_NONE || o->normalizer > CDP_NORMALIZER_CUSTOM) {
    throw InvalidArgument("cdp_identity_type_options.normalizer " + std::to_string(o->normalizer) + " is not a CDP_NORMALIZER_*");
  }
  t.normalizer = static_cast<Normalizer>(o->normalizer);
  if (o->phone_region) t.phone_region = std::string(capi::arg_cstring(o->phone_region, "phone_region"));
  t.email_fold_providers = o->email_fold_providers != 0;
  t.limit = o->limit;
  t.limit_window = o->limit_window;
  t.priority = o->priority;
  t.ttl = o->ttl;
  if (o->storage != CDP_STORAGE_CLEAR && o->storage != CDP_STORAGE_KEYED_HASH) {
    throw InvalidArgument("cdp_identity_type_options.storage must be CDP_STORAGE_CLEAR or CDP_STORAGE_KEYED_HASH");
  }
  t.storage = static_cast<Storage>(o->storage);
  if (o->hash_key) t.hash_key = std::string(o->hash_key, o->hash_key_len);
  if (o->input != CDP_INPUT_RAW && o->input != CDP_INPUT_SHA256) {
    throw InvalidArgument("cdp_identity_type_options.input must be CDP_INPUT_RAW or CDP_INPUT_SHA256");
  }
  t.input = static_cast<InputKind>(o->input);
  t.max_length = o->max_length;
  t.auto_block_threshold = o->auto_block_threshold;
  t.never_auto_block = o->never_auto_block != 0;
  if (o->custom_fn) {
    t.custom_normalizer = wrap_normalizer(o->custom_fn, o->custom_user_data, o->max_length ? o->max_length : 256);
    t.custom_thread_safe = o->custom_thread_safe != 0;
  }
  return t;
}

RemoveOptions remove_options(const cdp_identity_remove_options* o) {
  RemoveOptions r;
  if (!o) return r;
  capi::check_options_version(o, CDP_IDENTITY_REMOVE_OPTIONS_VERSION, "cdp_identity_remove_options");
  r.dry_run = o->dry_run != 0;
  r.suppress = o->suppress != 0;
  r.time = o->time;
  r.note = std::string(capi::arg_string(o->note, o->note_len, "note"));
  return r;
}

}  // namespace

extern "C" {

CDP_DEFINE_OPTIONS_INIT(cdp_identity_options, CDP_IDENTITY_OPTIONS)

cdp_status cdp_identity_graph_new(cdp_identity_graph** out, cdp_workspace* ws, const cdp_identity_options* opts) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  IdentityOptions o;
  if (opts) {
    capi::check_options_version(opts, CDP_IDENTITY_OPTIONS_VERSION, "cdp_identity_options");
    o.max_identifiers = opts->max_identifiers;
    o.auto_block_threshold = opts->auto_block_threshold;
    o.reuse_ordinals = opts->reuse_ordinals != 0;
    o.drop_suppressed = opts->drop_suppressed != 0;
    if (opts->suppression_key) o.suppression_key = std::string(opts->suppression_key, opts->suppression_key_len);
    o.memory_log_limit = static_cast<size_t>(opts->memory_log_limit);
  }
  auto h = std::make_unique<cdp_identity_graph>();
  h->g = ws ? std::make_unique<IdentityGraph>(ws->ws, o) : std::make_unique<IdentityGraph>(o);
  *out = h.release();
  CDP_API_END()
}

void cdp_identity_graph_free(cdp_identity_graph* g) { delete g; }

CDP_DEFINE_OPTIONS_INIT(cdp_identity_type_options, CDP_IDENTITY_TYPE_OPTIONS)

cdp_status cdp_identity_register_type(cdp_identity_graph* g, const char* name, size_t name_len,
                                      const cdp_identity_type_options* opts, uint32_t* out_type) {
  CDP_API_BEGIN()
  const TypeId id = graph(g).register_type(capi::arg_string(name, name_len, "name"), type_options(opts));
  if (out_type) *out_type = id;
  CDP_API_END()
}

cdp_status cdp_identity_register_default_types(cdp_identity_graph* g) {
  CDP_API_BEGIN()
  graph(g).register_default_types();
  CDP_API_END()
}

cdp_status cdp_identity_type_id(const cdp_identity_graph* g, const char* name, size_t name_len, uint32_t* out_type) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_type, "out_type");
  const std::string_view n = capi::arg_string(name, name_len, "name");
  *out_type = graph(g).type_id(n);
  if (*out_type == kNoType) throw NotFound("unknown identifier type \"" + std::string(n) + "\"");
  CDP_API_END()
}

cdp_status cdp_identity_set_custom_normalizer(cdp_identity_graph* g, uint32_t type, cdp_identity_normalize_fn fn,
                                              void* user_data, int thread_safe) {
  CDP_API_BEGIN()
  if (!fn) throw InvalidArgument("fn must not be NULL");
  IdentityGraph& G = graph(g);
  const uint32_t max_length = G.type_info(type).options.max_length;
  G.set_custom_normalizer(type, wrap_normalizer(fn, user_data, max_length), thread_safe != 0);
  CDP_API_END()
}

cdp_status cdp_identity_set_hash_key(cdp_identity_graph* g, uint32_t type, const char* key, size_t key_len) {
  CDP_API_BEGIN()
  if (!key && key_len) throw InvalidArgument("key is NULL with a length");
  graph(g).set_hash_key(type, std::string_view(key ? key : "", key_len));
  CDP_API_END()
}

cdp_status cdp_identity_normalize(const cdp_identity_graph* g, uint32_t type, const char* value, size_t value_len,
                                  char** out, size_t* out_len) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  if (!value && value_len) throw InvalidArgument("value is NULL with a length");
  const std::string s = graph(g).normalize(type, std::string_view(value ? value : "", value_len));
  *out = capi::dup_string(s);
  if (out_len) *out_len = s.size();
  CDP_API_END()
}

cdp_status cdp_identity_batch_new(cdp_identity_batch** out) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = new cdp_identity_batch{};
  CDP_API_END()
}

void cdp_identity_batch_free(cdp_identity_batch* b) { delete b; }

cdp_status cdp_identity_batch_begin_record(cdp_identity_batch* b, int64_t time, const char* source,
                                           size_t source_len) {
  CDP_API_BEGIN()
  capi::arg_not_null(b, "b")->b.begin_record(time, capi::arg_string(source, source_len, "source"));
  CDP_API_END()
}

// Values are checked (UTF-8 included) when the batch is linked, per record.
cdp_status cdp_identity_batch_add(cdp_identity_batch* b, uint32_t type, const char* value, size_t value_len) {
  CDP_API_BEGIN()
  if (!value && value_len) throw InvalidArgument("value is NULL with a length");
  capi::arg_not_null(b, "b")->b.add(type, std::string_view(value ? value : "", value_len));
  CDP_API_END()
}

cdp_status cdp_identity_batch_add_named(cdp_identity_batch* b, const char* type, size_t type_len, const char* value,
                                        size_t value_len) {
  CDP_API_BEGIN()
  if (!value && value_len) throw InvalidArgument("value is NULL with a length");
  capi::arg_not_null(b, "b")->b.add(capi::arg_string(type, type_len, "type"),
                                    std::string_view(value ? value : "", value_len));
  CDP_API_END()
}

cdp_status cdp_identity_batch_add_records(cdp_identity_batch* b, size_t n_records, const int64_t* times,
                                          const uint64_t* offsets, const uint32_t* types, const char* const* values,
                                          const size_t* value_lens, const char* source, size_t source_len) {
  CDP_API_BEGIN()
  capi::arg_not_null(b, "b");
  if (n_records == 0) return CDP_OK;
  capi::arg_not_null(times, "times");
  capi::arg_not_null(offsets, "offsets");
  const uint64_t total = offsets[n_records];
  for (size_t i = 0; i < n_records; ++i) {
    if (offsets[i] > offsets[i + 1]) {
      throw InvalidArgument("offsets must not decrease (offsets[" + std::to_string(i) + "] > offsets[" +
                            std::to_string(i + 1) + "])");
    }
  }
  if (offsets[0] != 0) throw InvalidArgument("offsets[0] must be 0");
  if (total) {
    capi::arg_not_null(types, "types");
    capi::arg_not_null(values, "values");
    capi::arg_not_null(value_lens, "value_lens");
  }
  const std::string_view src = capi::arg_string(source, source_len, "source");
  RecordBatch copy = b->b;  // all or nothing: build on a copy
  for (size_t i = 0; i < n_records; ++i) {
    copy.begin_record(times[i], src);
    for (uint64_t k = offsets[i]; k < offsets[i + 1]; ++k) {
      if (!values[k] && value_lens[k]) throw InvalidArgument("values[" + std::to_string(k) + "] is NULL with a length");
      copy.add(types[k], std::string_view(values[k] ? values[k] : "", value_lens[k]));
    }
  }
  b->b = std::move(copy);
  CDP_API_END()
}

size_t cdp_identity_batch_size(const cdp_identity_batch* b) { return b ? b->b.size() : 0; }
void cdp_identity_batch_clear(cdp_identity_batch* b) {
  if (b) b->b.clear();
}

CDP_DEFINE_OPTIONS_INIT(cdp_identity_link_options, CDP_IDENTITY_LINK_OPTIONS)

cdp_status cdp_identity_link(cdp_identity_graph* g, const cdp_identity_batch* b, const cdp_identity_link_options* opts,
                             cdp_identity_link_result** out_result) {
  CDP_API_BEGIN()
  if (out_result) *out_result = nullptr;
  capi::arg_not_null(b, "b");
  BatchOptions o;
  o.return_record_ids = out_result != nullptr;
  if (opts) {
    capi::check_options_version(opts, CDP_IDENTITY_LINK_OPTIONS_VERSION, "cdp_identity_link_options");
    o.mode = opts->best_effort ? BatchMode::best_effort : BatchMode::all_or_nothing;
    o.skip_invalid_identifiers = opts->skip_invalid_identifiers != 0;
    o.progress = capi::progress_callback(opts->progress, opts->progress_user_data);
  }
  BatchResult r = graph(g).link_batch(b->b, o);
  if (out_result) *out_result = new cdp_identity_link_result{std::move(r)};
  CDP_API_END()
}

uint64_t cdp_identity_link_result_count(const cdp_identity_link_result* res, int which) {
  if (!res) return 0;
  const BatchResult& r = res->r;
  switch (which) {
    case CDP_LINK_RECORDS: return r.records;
    case CDP_LINK_REJECTED: return r.rejected;
    case CDP_LINK_IDENTIFIERS: return r.identifiers;
    case CDP_LINK_NEW_IDENTIFIERS: return r.new_identifiers;
    case CDP_LINK_NEW_PERSONS: return r.new_persons;
    case CDP_LINK_MERGES: return r.merges;
    case CDP_LINK_SPLITS: return r.splits;
    case CDP_LINK_CONFLICTS: return r.conflicts;
    case CDP_LINK_BLOCKED: return r.blocked;
    case CDP_LINK_NEWLY_BLOCKED: return r.newly_blocked;
    case CDP_LINK_SUPPRESSED: return r.suppressed;
    case CDP_LINK_EXPIRED: return r.expired;
    case CDP_LINK_FIRST_CHANGE: return r.first_change;
    case CDP_LINK_LAST_CHANGE: return r.last_change;
    default: return 0;
  }
}

size_t cdp_identity_link_result_error_count(const cdp_identity_link_result* r) { return r ? r->r.errors.size() : 0; }

cdp_status cdp_identity_link_result_error(const cdp_identity_link_result* r, size_t i, size_t* out_record,
                                          size_t* out_identifier, cdp_status* out_code, const char** out_message) {
  CDP_API_BEGIN()
  capi::arg_not_null(r, "r");
  if (i >= r->r.errors.size()) {
    throw InvalidArgument("error index " + std::to_string(i) + " out of range (" + std::to_string(r->r.errors.size()) +
                          " errors)");
  }
  const RecordError& e = r->r.errors[i];
  if (out_record) *out_record = e.record;
  if (out_identifier) *out_identifier = e.identifier;
  if (out_code) *out_code = static_cast<cdp_status>(e.code);
  if (out_message) *out_message = e.message.c_str();
  CDP_API_END()
}

uint64_t cdp_identity_link_result_record_id(const cdp_identity_link_result* r, size_t index) {
  if (!r || index >= r->r.record_ids.size()) return CDP_NO_RECORD;
  return r->r.record_ids[index];
}

void cdp_identity_link_result_free(cdp_identity_link_result* r) { delete r; }

cdp_status cdp_identity_ordinal_of(const cdp_identity_graph* g, uint32_t type, const char* value, size_t value_len,
                                   uint32_t* out_ordinal) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_ordinal, "out_ordinal");
  *out_ordinal = CDP_NO_PERSON;
  if (!value && value_len) throw InvalidArgument("value is NULL with a length");
  *out_ordinal = graph(g).ordinal_of(type, std::string_view(value ? value : "", value_len)).value_or(kNoPerson);
  CDP_API_END()
}

cdp_status cdp_identity_ordinals_of(const cdp_identity_graph* g, uint32_t type, size_t n, const char* const* values,
                                    const size_t* value_lens, uint32_t* out) {
  CDP_API_BEGIN()
  if (n == 0) return CDP_OK;
  capi::arg_not_null(values, "values");
  capi::arg_not_null(value_lens, "value_lens");
  capi::arg_not_null(out, "out");
  std::vector<std::string_view> v(n);
  for (size_t i = 0; i < n; ++i) {
    if (!values[i] && value_lens[i]) throw InvalidArgument("values[" + std::to_string(i) + "] is NULL with a length");
    v[i] = std::string_view(values[i] ? values[i] : "", value_lens[i]);
  }
  graph(g).ordinals_of(type, v, std::span<PersonOrdinal>(out, n));
  CDP_API_END()
}

cdp_status cdp_identity_key_of(const cdp_identity_graph* g, uint32_t ordinal, uint64_t* out_key) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_key, "out_key");
  *out_key = graph(g).key_of(ordinal).value_or(kNoKey);
  CDP_API_END()
}

cdp_status cdp_identity_ordinal_of_key(const cdp_identity_graph* g, uint64_t key, uint32_t* out_ordinal) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_ordinal, "out_ordinal");
  *out_ordinal = graph(g).ordinal_of_key(key).value_or(kNoPerson);
  CDP_API_END()
}

cdp_status cdp_identity_resolve_key(const cdp_identity_graph* g, uint64_t key, uint64_t* out_key) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_key, "out_key");
  *out_key = graph(g).resolve_key(key).value_or(kNoKey);
  CDP_API_END()
}

cdp_status cdp_identity_identifiers_of(const cdp_identity_graph* g, uint32_t ordinal, uint32_t type, char** out_json) {
  CDP_API_BEGIN()
  put_json_list(out_json, [&] { return graph(g).identifiers_of(ordinal, type); }, info_json);
  CDP_API_END()
}

cdp_status cdp_identity_persons(const cdp_identity_graph* g, cdp_bitmap** out) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  *out = capi::new_bitmap(graph(g).persons());
  CDP_API_END()
}

cdp_status cdp_identity_ordinal_capacity(const cdp_identity_graph* g, uint32_t* out) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = graph(g).ordinal_capacity();
  CDP_API_END()
}

cdp_status cdp_identity_stats(const cdp_identity_graph* g, char** out_json) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_json, "out_json");
  *out_json = nullptr;
  const IdentityStats s = graph(g).stats();
  put_json(out_json, {{"identifiers", s.identifiers},
                      {"persons", s.persons},
                      {"records", s.records},
                      {"occurrences", s.occurrences},
                      {"blocked", s.blocked},
                      {"memory_bytes", s.memory_bytes}});
  CDP_API_END()
}

cdp_status cdp_identity_changes_since(const cdp_identity_graph* g, uint64_t cursor, size_t limit, char** out_json) {
  CDP_API_BEGIN()
  put_json_list(out_json, [&] { return graph(g).changes_since(cursor, limit); }, event_json);
  CDP_API_END()
}

cdp_status cdp_identity_last_change(const cdp_identity_graph* g, uint64_t* out_seq) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_seq, "out_seq");
  *out_seq = graph(g).last_change();
  CDP_API_END()
}

cdp_status cdp_identity_add_listener(cdp_identity_graph* g, const cdp_identity_listener* listener) {
  CDP_API_BEGIN()
  capi::arg_not_null(g, "g");
  capi::arg_not_null(listener, "listener");
  capi::check_options_version(listener, CDP_IDENTITY_LISTENER_VERSION, "cdp_identity_listener");
  auto l = std::make_unique<CListener>(*listener);
  g->g->add_listener(l.get());
  g->listeners.push_back(std::move(l));
  CDP_API_END()
}

cdp_status cdp_identity_remove_listener(cdp_identity_graph* g, void* user_data) {
  CDP_API_BEGIN()
  capi::arg_not_null(g, "g");
  for (size_t i = 0; i < g->listeners.size(); ++i) {
    if (g->listeners[i]->user_data() == user_data) {
      g->g->remove_listener(g->listeners[i].get());
      g->listeners.erase(g->listeners.begin() + static_cast<std::ptrdiff_t>(i));
      return CDP_OK;
    }
  }
  throw NotFound("no identity listener with that user_data");
  CDP_API_END()
}

cdp_status cdp_identity_conflicts(const cdp_identity_graph* g, uint64_t cursor, size_t limit, char** out_json) {
  CDP_API_BEGIN()
  put_json_list(out_json, [&] { return graph(g).conflicts(cursor, limit); }, conflict_json);
  CDP_API_END()
}

cdp_status cdp_identity_blocked(const cdp_identity_graph* g, char** out_json) {
  CDP_API_BEGIN()
  put_json_list(out_json, [&] { return graph(g).blocked(); }, blocked_json);
  CDP_API_END()
}

CDP_DEFINE_OPTIONS_INIT(cdp_identity_remove_options, CDP_IDENTITY_REMOVE_OPTIONS)

cdp_status cdp_identity_block(cdp_identity_graph* g, uint32_t type, const char* value, size_t value_len,
                              const cdp_identity_remove_options* opts, char** out_report) {
  CDP_API_BEGIN()
  put_report(out_report, [&] {
    return graph(g).block(type, capi::arg_string(value, value_len, "value"), remove_options(opts));
  });
  CDP_API_END()
}

cdp_status cdp_identity_unblock(cdp_identity_graph* g, uint32_t type, const char* value, size_t value_len,
                                int* out_was_blocked) {
  CDP_API_BEGIN()
  const bool was = graph(g).unblock(type, capi::arg_string(value, value_len, "value"));
  if (out_was_blocked) *out_was_blocked = was ? 1 : 0;
  CDP_API_END()
}

cdp_status cdp_identity_remove_identifier(cdp_identity_graph* g, uint32_t type, const char* value, size_t value_len,
                                          const cdp_identity_remove_options* opts, char** out_report) {
  CDP_API_BEGIN()
  put_report(out_report, [&] {
    return graph(g).remove_identifier(type, capi::arg_string(value, value_len, "value"), remove_options(opts));
  });
  CDP_API_END()
}

cdp_status cdp_identity_remove_record(cdp_identity_graph* g, uint64_t record, const cdp_identity_remove_options* opts,
                                      char** out_report) {
  CDP_API_BEGIN()
  put_report(out_report, [&] { return graph(g).remove_record(record, remove_options(opts)); });
  CDP_API_END()
}

cdp_status cdp_identity_erase_person(cdp_identity_graph* g, uint32_t ordinal, const cdp_identity_remove_options* opts,
                                     char** out_report) {
  CDP_API_BEGIN()
  put_report(out_report, [&] { return graph(g).erase_person(ordinal, remove_options(opts)); });
  CDP_API_END()
}

cdp_status cdp_identity_expire(cdp_identity_graph* g, int64_t as_of, const cdp_identity_remove_options* opts,
                               char** out_report) {
  CDP_API_BEGIN()
  put_report(out_report, [&] { return graph(g).expire(as_of, remove_options(opts)); });
  CDP_API_END()
}

cdp_status cdp_identity_is_suppressed(const cdp_identity_graph* g, uint32_t type, const char* value, size_t value_len,
                                      int* out) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = graph(g).is_suppressed(type, capi::arg_string(value, value_len, "value")) ? 1 : 0;
  CDP_API_END()
}

cdp_status cdp_identity_explain(const cdp_identity_graph* g, uint32_t type_a, const char* a, size_t a_len,
                                uint32_t type_b, const char* b, size_t b_len, char** out_json) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_json, "out_json");
  *out_json = nullptr;
  const Explanation ex = graph(g).explain(type_a, capi::arg_string(a, a_len, "a"), type_b, capi::arg_string(b, b_len, "b"));
  json steps = json::array();
  for (const auto& s : ex.steps) {
    steps.push_back({{"record", s.record},
                     {"time", s.time},
                     {"source", s.source},
                     {"from", info_json(s.from)},
                     {"to", info_json(s.to)}});
  }
  put_json(out_json, {{"same_person", ex.same_person}, {"steps", std::move(steps)}});
  CDP_API_END()
}

cdp_status cdp_identity_to_dot(const cdp_identity_graph* g, uint32_t ordinal, int mask_values, char** out_dot,
                               size_t* out_len) {
  cdp_identity_dot_options o CDP_IDENTITY_DOT_OPTIONS_INIT;
  o.mask_values = mask_values;
  return cdp_identity_to_dot_v2(g, ordinal, &o, out_dot, out_len);
}

CDP_DEFINE_OPTIONS_INIT(cdp_identity_dot_options, CDP_IDENTITY_DOT_OPTIONS)

cdp_status cdp_identity_to_dot_v2(const cdp_identity_graph* g, uint32_t ordinal, const cdp_identity_dot_options* opts,
                                  char** out_dot, size_t* out_len) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_dot, "out_dot");
  *out_dot = nullptr;
  DotOptions o;
  if (opts) {
    capi::check_struct_version(opts->version, CDP_IDENTITY_DOT_OPTIONS_VERSION, "cdp_identity_dot_options");
    o.mask_values = opts->mask_values != 0;
    o.show_conflicts = opts->show_conflicts != 0;
  }
  const std::string s = graph(g).to_dot(ordinal, o);
  *out_dot = capi::dup_string(s);
  if (out_len) *out_len = s.size();
  CDP_API_END()
}

}  // extern "C"
