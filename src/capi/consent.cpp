// C ABI of consent (include/cdpcore/c/consent.h): a thin layer over cdpcore::Consent.
#include <nlohmann/json.hpp>

#include "capi/bitmap_handles.hpp"
#include "capi/capi_internal.hpp"
#include "capi/identity_handles.hpp"
#include "capi/handles.hpp"
#include "cdpcore/c/consent.h"
#include "cdpcore/consent.hpp"
#include "cdpcore/tcf.hpp"

using namespace cdpcore;

struct cdp_consent {
  std::shared_ptr<Workspace> ws;
  std::unique_ptr<Consent> c;
};

namespace {

Consent& consent(cdp_consent* c) { return *capi::arg_not_null(c, "c")->c; }
const Consent& consent(const cdp_consent* c) { return *capi::arg_not_null(c, "c")->c; }

std::string str(const char* s, size_t len, const char* what) { return std::string(capi::arg_string(s, len, what)); }

ConsentRecord to_record(const cdp_consent_record& r, size_t index) {
  capi::check_struct_version(r.version, CDP_CONSENT_RECORD_VERSION, "cdp_consent_record",
                             "record " + std::to_string(index) + ": ");
  const std::string at = "record " + std::to_string(index) + " ";
  ConsentRecord out;
  out.subject.type = str(r.subject_type, r.subject_type_len, (at + "subject_type").c_str());
  out.subject.value = str(r.subject_value, r.subject_value_len, (at + "subject_value").c_str());
  out.purpose = str(r.purpose, r.purpose_len, (at + "purpose").c_str());
  out.channel = str(r.channel, r.channel_len, (at + "channel").c_str());
  out.decision = static_cast<ConsentDecision>(r.decision);
  out.time = r.time_us;
  out.expiry = r.expiry_us;
  out.source = str(r.source, r.source_len, (at + "source").c_str());
  out.legal_basis = static_cast<LegalBasis>(r.legal_basis);
  out.policy_version = str(r.policy_version, r.policy_version_len, (at + "policy_version").c_str());
  out.proof.method = str(r.proof_method, r.proof_method_len, (at + "proof_method").c_str());
  out.proof.location = str(r.proof_location, r.proof_location_len, (at + "proof_location").c_str());
  out.proof.reference = str(r.proof_reference, r.proof_reference_len, (at + "proof_reference").c_str());
  return out;
}

/// The options of the _v2 checks; NULL: CDP_CONSENT_CHECK_OPTIONS_INIT.
FilterOptions check_options(const cdp_consent_check_options* opts) {
  FilterOptions o;
  if (!opts) return o;
  capi::check_struct_version(opts->version, CDP_CONSENT_CHECK_OPTIONS_VERSION, "cdp_consent_check_options");
  if (opts->jurisdiction != 0) {
    if (opts->jurisdiction < 1 || opts->jurisdiction > 3) {
      throw InvalidArgument("jurisdiction " + std::to_string(opts->jurisdiction) + " is not valid");
    }
    o.jurisdiction = static_cast<Jurisdiction>(opts->jurisdiction);
  }
  o.contact_rules = opts->contact_rules != 0;
  o.topic = std::string(capi::arg_string(opts->topic, opts->topic_len, "topic"));
  o.threads = opts->threads;
  return o;
}

/// The (jurisdiction, flags) arguments of the first checks as _v2 options.
cdp_consent_check_options check_options_v1(int32_t jurisdiction, uint32_t flags) {
  cdp_consent_check_options o CDP_CONSENT_CHECK_OPTIONS_INIT;
  o.jurisdiction = jurisdiction;
  o.contact_rules = (flags & CDP_CHECK_CONTACT_RULES) != 0;
  return o;
}

ContactPreferences prefs_from_json(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ParseError(std::string("preferences JSON: ") + e.what(), e.byte);
  }
  if (!j.is_object()) throw InvalidArgument("preferences JSON must be an object");
  ContactPreferences p;
  try {
    p.preferred_channels = j.value("preferred_channels", std::vector<std::string>{});
    p.topics = j.value("topics", std::vector<std::string>{});
    p.time_zone = j.value("time_zone", std::string());
    if (j.contains("quiet_hours") && j["quiet_hours"].is_object()) {
      p.quiet_hours = QuietHours{j["quiet_hours"].at("start_minute").get<uint16_t>(),
                                 j["quiet_hours"].at("end_minute").get<uint16_t>()};
    }
    if (j.contains("caps")) {
      for (const auto& c : j.at("caps")) {
        p.caps.push_back({c.value("channel", std::string("*")), c.at("max_contacts").get<uint32_t>(),
                          c.at("period").get<Timestamp>()});
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(std::string("preferences JSON: ") + e.what());
  }
  return p;
}

nlohmann::json ids_json(const std::vector<uint8_t>& v) { return nlohmann::json(v); }

std::string tc_json(const tcf::TCString& t) {
  nlohmann::json j;
  j["version"] = t.version;
  j["created"] = t.created;
  j["last_updated"] = t.last_updated;
  j["cmp_id"] = t.cmp_id;
  j["cmp_version"] = t.cmp_version;
  j["consent_screen"] = t.consent_screen;
  j["consent_language"] = t.consent_language;
  j["vendor_list_version"] = t.vendor_list_version;
  j["tcf_policy_version"] = t.tcf_policy_version;
  j["is_service_specific"] = t.is_service_specific;
  j["use_non_standard_texts"] = t.use_non_standard_texts;
  j["purpose_one_treatment"] = t.purpose_one_treatment;
  j["publisher_cc"] = t.publisher_cc;
  j["special_feature_opt_ins"] = ids_json(t.special_feature_opt_ins);
  j["purposes_consent"] = ids_json(t.purposes_consent);
  j["purposes_li_transparency"] = ids_json(t.purposes_li_transparency);
  j["vendor_consents"] = t.vendor_consents;
  j["vendor_legitimate_interests"] = t.vendor_legitimate_interests;
  j["publisher_restrictions"] = nlohmann::json::array();
  for (const auto& r : t.publisher_restrictions) {
    nlohmann::json ranges = nlohmann::json::array();
    for (const auto& x : r.ranges) ranges.push_back({x.first, x.last});
    j["publisher_restrictions"].push_back(
        {{"purpose_id", r.purpose_id}, {"restriction_type", static_cast<int>(r.type)}, {"vendor_ranges", ranges}});
  }
  if (t.has_disclosed_vendors) j["disclosed_vendors"] = t.disclosed_vendors;
  if (t.has_allowed_vendors) j["allowed_vendors"] = t.allowed_vendors;
  if (t.has_publisher_tc) {
    j["publisher_tc"] = {{"purposes_consent", ids_json(t.pub_purposes_consent)},
                         {"purposes_li_transparency", ids_json(t.pub_purposes_li_transparency)},
                         {"num_custom_purposes", t.num_custom_purposes},
                         {"custom_purposes_consent", ids_json(t.custom_purposes_consent)},
                         {"custom_purposes_li_transparency", ids_json(t.custom_purposes_li_transparency)}};
  }
  j["warnings"] = t.warnings;
  return j.dump();
}

}  // namespace

extern "C" {

const char* cdp_consent_reason_name(int32_t reason) {
  return consent_reason_name(static_cast<ConsentReason>(reason));
}

CDP_DEFINE_OPTIONS_INIT(cdp_consent_options, CDP_CONSENT_OPTIONS)

cdp_status cdp_consent_new(cdp_consent** out, cdp_workspace* ws, const cdp_consent_options* opts) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  capi::arg_not_null(ws, "ws");
  ConsentOptions o;
  if (opts) {
    capi::check_struct_version(opts->version, CDP_CONSENT_OPTIONS_VERSION, "cdp_consent_options");
    if (opts->jurisdiction < 1 || opts->jurisdiction > 3) throw InvalidArgument("jurisdiction is not valid");
    if (opts->person_rule < 0 || opts->person_rule > 2) throw InvalidArgument("person_rule is not valid");
    o.jurisdiction = static_cast<Jurisdiction>(opts->jurisdiction);
    o.person_rule = static_cast<PersonRule>(opts->person_rule);
    o.future_tolerance = opts->future_tolerance_us;
    if (opts->hmac_key) o.hmac_key = std::string(opts->hmac_key, opts->hmac_key_len);
  }
  auto h = std::make_unique<cdp_consent>();
  h->ws = ws->ws;
  h->c = std::make_unique<Consent>(ws->ws, o);
  *out = h.release();
  CDP_API_END()
}

void cdp_consent_free(cdp_consent* c) { delete c; }

cdp_status cdp_consent_define_purpose(cdp_consent* c, const char* name, size_t name_len, int separate_consent,
                                      int direct_marketing, uint32_t opt_out_jurisdictions) {
  CDP_API_BEGIN()
  PurposeSpec s;
  s.name = str(name, name_len, "name");
  s.separate_consent = separate_consent != 0;
  s.direct_marketing = direct_marketing != 0;
  s.opt_out_jurisdictions = static_cast<uint8_t>(opt_out_jurisdictions);
  consent(c).define_purpose(s);
  CDP_API_END()
}

cdp_status cdp_consent_define_channel(cdp_consent* c, const char* name, size_t name_len, const char* identifier_types,
                                      size_t identifier_types_len, uint32_t opt_in_jurisdictions) {
  CDP_API_BEGIN()
  ChannelSpec s;
  s.name = str(name, name_len, "name");
  std::string types = str(identifier_types, identifier_types_len, "identifier_types");
  size_t start = 0;
  for (size_t i = 0; i <= types.size(); ++i) {
    if (i == types.size() || types[i] == ',') {
      if (i > start) s.identifier_types.push_back(types.substr(start, i - start));
      start = i + 1;
    }
  }
  s.opt_in_jurisdictions = static_cast<uint8_t>(opt_in_jurisdictions);
  consent(c).define_channel(s);
  CDP_API_END()
}

cdp_status cdp_consent_append(cdp_consent* c, const cdp_consent_record* record, int64_t now_us, uint64_t* out_seq) {
  CDP_API_BEGIN()
  capi::arg_not_null(record, "record");
  uint64_t seq = consent(c).append(to_record(*record, 0), now_us);
  if (out_seq) *out_seq = seq;
  CDP_API_END()
}

cdp_status cdp_consent_import(cdp_consent* c, const cdp_consent_record* records, size_t count, int64_t now_us,
                              uint64_t* out_appended, uint64_t* out_suppressed) {
  return cdp_consent_import_v2(c, records, count, now_us, nullptr, out_appended, out_suppressed, nullptr);
}

CDP_DEFINE_OPTIONS_INIT(cdp_consent_import_options, CDP_CONSENT_IMPORT_OPTIONS)

cdp_status cdp_consent_import_v2(cdp_consent* c, const cdp_consent_record* records, size_t count, int64_t now_us,
                                 const cdp_consent_import_options* opts, uint64_t* out_appended,
                                 uint64_t* out_suppressed, uint64_t* out_invalid) {
  CDP_API_BEGIN()
  if (count > 0) capi::arg_not_null(records, "records");
  ImportOptions o;
  if (opts) {
    capi::check_struct_version(opts->version, CDP_CONSENT_IMPORT_OPTIONS_VERSION, "cdp_consent_import_options");
    o.skip_suppressed = opts->skip_suppressed != 0;
    o.skip_invalid_subjects = opts->skip_invalid_subjects != 0;
    o.progress = capi::progress_callback(opts->progress, opts->progress_user_data);
  }
  std::vector<ConsentRecord> rs;
  rs.reserve(count);
  for (size_t i = 0; i < count; ++i) rs.push_back(to_record(records[i], i));
  ImportReport rep = consent(c).import(rs, now_us, o);
  if (out_appended) *out_appended = rep.appended;
  if (out_suppressed) *out_suppressed = rep.suppressed;
  if (out_invalid) *out_invalid = rep.invalid;
  CDP_API_END()
}

cdp_status cdp_consent_record_gpc(cdp_consent* c, const char* type, size_t type_len, const char* value,
                                  size_t value_len, int64_t at_us, int64_t now_us) {
  CDP_API_BEGIN()
  consent(c).record_gpc({str(type, type_len, "type"), str(value, value_len, "value")}, at_us, now_us);
  CDP_API_END()
}

uint64_t cdp_consent_size(const cdp_consent* c) { return c && c->c ? c->c->size() : 0; }

cdp_status cdp_consent_check(const cdp_consent* c, const char* type, size_t type_len, const char* value,
                             size_t value_len, const char* purpose, size_t purpose_len, const char* channel,
                             size_t channel_len, int64_t at_us, int32_t jurisdiction, uint32_t flags, int* out_allowed,
                             int32_t* out_reason, uint64_t* out_record) {
  const cdp_consent_check_options o = check_options_v1(jurisdiction, flags);
  return cdp_consent_check_v2(c, type, type_len, value, value_len, purpose, purpose_len, channel, channel_len, at_us,
                              &o, out_allowed, out_reason, out_record);
}

CDP_DEFINE_OPTIONS_INIT(cdp_consent_check_options, CDP_CONSENT_CHECK_OPTIONS)

cdp_status cdp_consent_check_v2(const cdp_consent* c, const char* type, size_t type_len, const char* value,
                                size_t value_len, const char* purpose, size_t purpose_len, const char* channel,
                                size_t channel_len, int64_t at_us, const cdp_consent_check_options* opts,
                                int* out_allowed, int32_t* out_reason, uint64_t* out_record) {
  CDP_API_BEGIN()
  const Consent& k = consent(c);
  ConsentQuery q = k.prepare(capi::arg_string(purpose, purpose_len, "purpose"),
                             capi::arg_string(channel, channel_len, "channel"), check_options(opts));
  ConsentCheck r = k.check(q, capi::arg_string(type, type_len, "type"), capi::arg_string(value, value_len, "value"),
                           at_us);
  if (out_allowed) *out_allowed = r.allowed ? 1 : 0;
  if (out_reason) *out_reason = static_cast<int32_t>(r.reason);
  if (out_record) *out_record = r.record;
  CDP_API_END()
}

cdp_status cdp_consent_check_many(const cdp_consent* c, const char* type, size_t type_len, const char* const* values,
                                  const size_t* value_lens, size_t count, const char* purpose, size_t purpose_len,
                                  const char* channel, size_t channel_len, int64_t at_us, int32_t jurisdiction,
                                  uint32_t flags, uint8_t* out_allowed, int32_t* out_reasons, uint64_t* out_records) {
  const cdp_consent_check_options o = check_options_v1(jurisdiction, flags);
  return cdp_consent_check_many_v2(c, type, type_len, values, value_lens, count, purpose, purpose_len, channel,
                                   channel_len, at_us, &o, out_allowed, out_reasons, out_records);
}

cdp_status cdp_consent_check_many_v2(const cdp_consent* c, const char* type, size_t type_len,
                                     const char* const* values, const size_t* value_lens, size_t count,
                                     const char* purpose, size_t purpose_len, const char* channel, size_t channel_len,
                                     int64_t at_us, const cdp_consent_check_options* opts, uint8_t* out_allowed,
                                     int32_t* out_reasons, uint64_t* out_records) {
  CDP_API_BEGIN()
  const Consent& k = consent(c);
  if (count > 0) {
    capi::arg_not_null(values, "values");
    capi::arg_not_null(value_lens, "value_lens");
  }
  ConsentQuery q = k.prepare(capi::arg_string(purpose, purpose_len, "purpose"),
                             capi::arg_string(channel, channel_len, "channel"), check_options(opts));
  std::string_view t = capi::arg_string(type, type_len, "type");
  // Validate every value first so that a bad one writes no output.
  for (size_t i = 0; i < count; ++i) capi::arg_string(values[i], value_lens[i], "values[i]");
  // Checked in blocks: bounded scratch, and check_many overlaps the lookups.
  constexpr size_t kBlock = 256;
  std::string_view views[kBlock];
  ConsentCheck checks[kBlock];
  for (size_t base = 0; base < count; base += kBlock) {
    const size_t n = std::min(kBlock, count - base);
    for (size_t i = 0; i < n; ++i) {
      views[i] = std::string_view(values[base + i] ? values[base + i] : "", value_lens[base + i]);
    }
    k.check_many(q, t, std::span<const std::string_view>(views, n), at_us, checks);
    for (size_t i = 0; i < n; ++i) {
      const ConsentCheck& r = checks[i];
      if (out_allowed) out_allowed[base + i] = r.allowed ? 1 : 0;
      if (out_reasons) out_reasons[base + i] = static_cast<int32_t>(r.reason);
      if (out_records) out_records[base + i] = r.record;
    }
  }
  CDP_API_END()
}

cdp_status cdp_consent_attach_identity(cdp_consent* c, cdp_identity_graph* graph) {
  CDP_API_BEGIN()
  Consent& k = consent(c);
  if (graph == nullptr) {
    k.detach_identity();
  } else {
    k.attach_identity(capi::identity_graph(graph));
  }
  CDP_API_END()
}

cdp_status cdp_consent_check_person(const cdp_consent* c, uint32_t person, const char* purpose, size_t purpose_len,
                                    const char* channel, size_t channel_len, int64_t at_us, int32_t jurisdiction,
                                    uint32_t flags, int* out_allowed, int32_t* out_reason, uint64_t* out_record) {
  const cdp_consent_check_options o = check_options_v1(jurisdiction, flags);
  return cdp_consent_check_person_v2(c, person, purpose, purpose_len, channel, channel_len, at_us, &o, out_allowed,
                                     out_reason, out_record);
}

cdp_status cdp_consent_check_person_v2(const cdp_consent* c, uint32_t person, const char* purpose,
                                       size_t purpose_len, const char* channel, size_t channel_len, int64_t at_us,
                                       const cdp_consent_check_options* opts, int* out_allowed, int32_t* out_reason,
                                       uint64_t* out_record) {
  CDP_API_BEGIN()
  const Consent& k = consent(c);
  PersonConsentCheck r = k.check_person(person, capi::arg_string(purpose, purpose_len, "purpose"),
                                        capi::arg_string(channel, channel_len, "channel"), at_us,
                                        check_options(opts));
  if (out_allowed) *out_allowed = r.allowed ? 1 : 0;
  if (out_reason) *out_reason = static_cast<int32_t>(r.reason);
  if (out_record) *out_record = r.record;
  CDP_API_END()
}

cdp_status cdp_consent_filter(const cdp_consent* c, const cdp_bitmap* persons, const char* purpose, size_t purpose_len,
                              const char* channel, size_t channel_len, int64_t at_us, int32_t jurisdiction,
                              uint32_t flags, cdp_bitmap** out_allowed, cdp_consent_dropped* out_dropped,
                              size_t dropped_capacity, size_t* out_dropped_count) {
  const cdp_consent_check_options o = check_options_v1(jurisdiction, flags);
  return cdp_consent_filter_v2(c, persons, purpose, purpose_len, channel, channel_len, at_us, &o, out_allowed,
                               out_dropped, dropped_capacity, out_dropped_count);
}

cdp_status cdp_consent_filter_v2(const cdp_consent* c, const cdp_bitmap* persons, const char* purpose,
                                 size_t purpose_len, const char* channel, size_t channel_len, int64_t at_us,
                                 const cdp_consent_check_options* opts, cdp_bitmap** out_allowed,
                                 cdp_consent_dropped* out_dropped, size_t dropped_capacity,
                                 size_t* out_dropped_count) {
  CDP_API_BEGIN()
  const Consent& k = consent(c);
  capi::arg_not_null(persons, "persons");
  capi::arg_not_null(out_allowed, "out_allowed");
  if (dropped_capacity > 0) capi::arg_not_null(out_dropped, "out_dropped");
  const FilterOptions o = check_options(opts);
  ConsentFilterResult r = k.filter(persons->b, capi::arg_string(purpose, purpose_len, "purpose"),
                                   capi::arg_string(channel, channel_len, "channel"), at_us, o);
  for (size_t i = 0; i < r.dropped.size() && i < dropped_capacity; ++i) {
    out_dropped[i].reason = static_cast<int32_t>(r.dropped[i].first);
    out_dropped[i].count = r.dropped[i].second;
  }
  if (out_dropped_count) *out_dropped_count = r.dropped.size();
  *out_allowed = capi::new_bitmap(std::move(r.allowed));
  CDP_API_END()
}

cdp_status cdp_consent_verify_chain(const cdp_consent* c, int* out_ok, uint64_t* out_first_bad, char** out_problem) {
  CDP_API_BEGIN()
  if (out_problem) *out_problem = nullptr;
  ChainVerification v = consent(c).verify_chain();
  if (out_ok) *out_ok = v.ok ? 1 : 0;
  if (out_first_bad) *out_first_bad = v.first_bad;
  if (out_problem && !v.ok) *out_problem = capi::dup_string(v.problem);
  CDP_API_END()
}

cdp_status cdp_consent_get_json(const cdp_consent* c, uint64_t seq, char** out_json) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_json, "out_json");
  *out_json = nullptr;
  auto r = consent(c).get(seq);
  if (!r) throw NotFound("consent record " + std::to_string(seq) + " does not exist");
  nlohmann::json j;
  j["seq"] = r->seq;
  j["hash"] = r->hash;
  j["erased_by"] = r->erased_by;
  j["erasure_entry"] = r->is_erasure_entry;
  j["subject"] = {{"type", r->record.subject.type}, {"value", r->record.subject.value}};
  j["purpose"] = r->record.purpose;
  j["channel"] = r->record.channel;
  j["decision"] = static_cast<int>(r->record.decision);
  j["time"] = r->record.time;
  j["expiry"] = r->record.expiry;
  j["source"] = r->record.source;
  j["legal_basis"] = static_cast<int>(r->record.legal_basis);
  j["policy_version"] = r->record.policy_version;
  j["proof"] = {{"method", r->record.proof.method},
                {"location", r->record.proof.location},
                {"reference", r->record.proof.reference}};
  j["recorded_at"] = r->recorded_at;
  *out_json = capi::dup_string(j.dump());
  CDP_API_END()
}

cdp_status cdp_consent_set_preferences_json(cdp_consent* c, const char* type, size_t type_len, const char* value,
                                            size_t value_len, const char* json, size_t json_len, int64_t at_us) {
  CDP_API_BEGIN()
  ContactPreferences p = prefs_from_json(capi::arg_string(json, json_len, "json"));
  consent(c).set_preferences({str(type, type_len, "type"), str(value, value_len, "value")}, p, at_us);
  CDP_API_END()
}

cdp_status cdp_consent_set_default_preferences_json(cdp_consent* c, const char* json, size_t json_len) {
  CDP_API_BEGIN()
  consent(c).set_default_preferences(prefs_from_json(capi::arg_string(json, json_len, "json")));
  CDP_API_END()
}

cdp_status cdp_consent_log_contact(cdp_consent* c, const char* type, size_t type_len, const char* value,
                                   size_t value_len, const char* channel, size_t channel_len, int64_t at_us) {
  CDP_API_BEGIN()
  consent(c).log_contact({str(type, type_len, "type"), str(value, value_len, "value")},
                         capi::arg_string(channel, channel_len, "channel"), at_us);
  CDP_API_END()
}

cdp_status cdp_consent_export_json(const cdp_consent* c, const char* type, size_t type_len, const char* value,
                                   size_t value_len, char** out_json) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_json, "out_json");
  *out_json = nullptr;
  std::string j = consent(c).export_subject({str(type, type_len, "type"), str(value, value_len, "value")});
  *out_json = capi::dup_string(j);
  CDP_API_END()
}

cdp_status cdp_consent_erase(cdp_consent* c, const char* type, size_t type_len, const char* value, size_t value_len,
                             int64_t at_us, uint64_t* out_records) {
  CDP_API_BEGIN()
  ErasureReport r = consent(c).erase({str(type, type_len, "type"), str(value, value_len, "value")}, at_us);
  if (out_records) *out_records = r.records;
  CDP_API_END()
}

cdp_status cdp_consent_is_suppressed(const cdp_consent* c, const char* type, size_t type_len, const char* value,
                                     size_t value_len, int* out_suppressed) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_suppressed, "out_suppressed");
  *out_suppressed = consent(c).is_suppressed({str(type, type_len, "type"), str(value, value_len, "value")}) ? 1 : 0;
  CDP_API_END()
}

cdp_status cdp_tcf_decode_json(const char* tc_string, size_t len, int lenient, char** out_json) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_json, "out_json");
  *out_json = nullptr;
  auto t = tcf::decode_tc_string(capi::arg_string(tc_string, len, "tc_string"),
                                 lenient ? tcf::Mode::lenient : tcf::Mode::strict);
  *out_json = capi::dup_string(tc_json(t));
  CDP_API_END()
}

cdp_status cdp_us_privacy_decode(const char* s, size_t len, char* out_notice, char* out_opt_out, char* out_lspa) {
  CDP_API_BEGIN()
  auto u = tcf::decode_us_privacy(capi::arg_string(s, len, "s"));
  if (out_notice) *out_notice = u.notice_given;
  if (out_opt_out) *out_opt_out = u.opted_out_of_sale;
  if (out_lspa) *out_lspa = u.lspa_covered;
  CDP_API_END()
}

cdp_status cdp_gpp_decode_json(const char* s, size_t len, char** out_json) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_json, "out_json");
  *out_json = nullptr;
  auto g = tcf::decode_gpp(capi::arg_string(s, len, "s"));
  nlohmann::json j;
  j["version"] = g.version;
  j["section_ids"] = g.section_ids;
  j["sections"] = nlohmann::json::array();
  for (const auto& sec : g.sections) j["sections"].push_back({{"id", sec.id}, {"name", sec.name}, {"data", sec.data}});
  *out_json = capi::dup_string(j.dump());
  CDP_API_END()
}

int cdp_gpc_parse(const char* value, size_t len) {
  if (!value) return 0;
  return tcf::parse_gpc_header(std::string_view(value, len)) ? 1 : 0;
}

}  // extern "C"
