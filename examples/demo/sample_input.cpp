// The generator's columnar tables as the library's batch inputs: identity
// records, profile rows and events keyed by raw identifiers, consent records.
// Nothing here resolves identities: that is the library's job.
#include <string_view>
#include <vector>

#include "demo.hpp"

namespace demo {

namespace {

using cdpcore::ColumnInput;
using cdpcore::ValueType;

std::vector<std::string_view> views(const dg::StringColumn& c) {
  std::vector<std::string_view> v(c.size());
  for (size_t i = 0; i < c.size(); ++i) v[i] = c[i];
  return v;
}

std::vector<std::string_view> views(std::span<const char* const> names) { return {names.begin(), names.end()}; }

}  // namespace

cdpcore::RecordBatch identity_records(const dg::SampleData& d) {
  const auto& R = d.records;
  const auto& L = d.links;
  const auto sources = dg::record_source_names();
  cdpcore::RecordBatch batch;
  batch.reserve(R.size(), L.size(), L.value.bytes.size());
  for (size_t r = 0; r < R.size(); ++r) {
    batch.begin_record(R.time[r], sources[R.source[r]]);
    for (uint64_t k = R.link_offsets[r]; k < R.link_offsets[r + 1]; ++k)
      batch.add(static_cast<cdpcore::TypeId>(L.type[k]), L.value[k]);
  }
  return batch;
}

void define_sample_schema(cdpcore::ProfileStore& store) {
  using cdpcore::MergePolicy;
  store.define_attribute({"member_level", ValueType::string, MergePolicy::latest});
  store.define_attribute({"signup_at", ValueType::timestamp, MergePolicy::min});
  store.define_attribute({"birthday", ValueType::timestamp, MergePolicy::latest});
  store.define_attribute({"city", ValueType::string, MergePolicy::latest});
  store.define_attribute({"gender", ValueType::string, MergePolicy::latest});
  store.define_event_type({"order",
                           {{"amount", ValueType::float64},
                            {"sku", ValueType::string},
                            {"category", ValueType::string},
                            {"store", ValueType::string}}});
  store.define_event_type({"add_to_cart", {{"sku", ValueType::string}, {"category", ValueType::string}}});
  store.define_event_type({"coupon_redeem", {{"amount", ValueType::float64}, {"campaign", ValueType::string}}});
  store.define_event_type({"sms_sent", {{"campaign", ValueType::string}}});
  store.define_event_type({"sms_click", {{"campaign", ValueType::string}}});
  store.define_event_type({"page_view", {{"category", ValueType::string}}});
  store.define_event_type({"signup", {}});
}

cdpcore::WriteReport load_profile_rows(cdpcore::ProfileStore& store, const dg::SampleData& d) {
  const auto& P = d.profiles;
  const size_t n = P.size();
  const auto type_names = dg::identifier_type_names();
  std::vector<std::string_view> key_types(n), key_values = views(P.key_value);
  std::vector<int32_t> level(n), city(n), gender(n);
  std::vector<int64_t> signup(n), birthday(n);
  std::vector<uint8_t> signup_valid(n), birthday_valid(n);
  for (size_t i = 0; i < n; ++i) {
    key_types[i] = type_names[P.key_type[i]];
    level[i] = P.member_level[i] == 0 ? -1 : P.member_level[i];  // "none": no value
    city[i] = P.city[i];
    gender[i] = P.gender[i] == 0 ? -1 : P.gender[i];  // "unknown": no value
    signup_valid[i] = P.signup_at[i] != dg::kNoTime;
    signup[i] = signup_valid[i] ? P.signup_at[i] : 0;
    birthday_valid[i] = P.birthday[i] != dg::kNoDate;
    birthday[i] = birthday_valid[i] ? int64_t{P.birthday[i]} * cdpcore::kMicrosPerDay : 0;  // midnight UTC
  }
  const auto levels = views(dg::member_level_names()), genders = views(dg::gender_names());
  const auto cities = views(d.dicts.cities);
  std::vector<ColumnInput> cols = {ColumnInput::of_codes("member_level", level, levels),
                                   ColumnInput::of_codes("city", city, cities),
                                   ColumnInput::of_codes("gender", gender, genders),
                                   ColumnInput::of_timestamps("signup_at", signup),
                                   ColumnInput::of_timestamps("birthday", birthday)};
  cols[3].valid = signup_valid;
  cols[4].valid = birthday_valid;
  cdpcore::RowKeys keys;
  keys.identifier_types = key_types;  // one type per row: crm_id or phone
  keys.identifier_values = key_values;
  cdpcore::WriteOptions opt;
  opt.best_effort = true;
  opt.time = d.options.end;
  return store.upsert_attributes(keys, cols, opt);
}

std::vector<cdpcore::WriteReport> load_events(cdpcore::ProfileStore& store, const dg::SampleData& d) {
  const auto& E = d.events;
  const auto type_names = dg::identifier_type_names();
  const auto skus = views(d.dicts.skus), categories = views(d.dicts.categories);
  const auto stores = views(d.dicts.stores), campaigns = views(d.dicts.campaigns);
  std::vector<std::vector<size_t>> rows_of(dg::kEventTypeCount);
  for (size_t i = 0; i < E.size(); ++i) rows_of[E.type[i]].push_back(i);

  std::vector<cdpcore::WriteReport> reports;
  for (int type = 0; type < dg::kEventTypeCount; ++type) {
    const auto& rows = rows_of[static_cast<size_t>(type)];
    const size_t n = rows.size();
    std::vector<std::string_view> id_types(n), id_values(n);
    std::vector<cdpcore::Timestamp> times(n);
    std::vector<double> amount(n);
    std::vector<int32_t> sku(n), category(n), shop(n), campaign(n);
    for (size_t j = 0; j < n; ++j) {
      const size_t i = rows[j];
      id_types[j] = type_names[E.id_type[i]];
      id_values[j] = E.id_value[i];
      times[j] = E.time[i];
      amount[j] = E.amount[i];  // NaN: null
      sku[j] = E.sku[i];        // -1: null
      category[j] = E.category[i];
      shop[j] = E.store[i];
      campaign[j] = E.campaign[i];
    }
    std::vector<ColumnInput> props;
    switch (static_cast<dg::EventType>(type)) {
      case dg::EventType::order:
        props = {ColumnInput::of_doubles("amount", amount), ColumnInput::of_codes("sku", sku, skus),
                 ColumnInput::of_codes("category", category, categories),
                 ColumnInput::of_codes("store", shop, stores)};
        break;
      case dg::EventType::add_to_cart:
        props = {ColumnInput::of_codes("sku", sku, skus), ColumnInput::of_codes("category", category, categories)};
        break;
      case dg::EventType::coupon_redeem:
        props = {ColumnInput::of_doubles("amount", amount), ColumnInput::of_codes("campaign", campaign, campaigns)};
        break;
      case dg::EventType::sms_sent:
      case dg::EventType::sms_click:
        props = {ColumnInput::of_codes("campaign", campaign, campaigns)};
        break;
      case dg::EventType::page_view:
        props = {ColumnInput::of_codes("category", category, categories)};
        break;
      case dg::EventType::signup:
        break;
    }
    cdpcore::RowKeys keys;
    keys.identifier_types = id_types;  // the identifier each event arrived with
    keys.identifier_values = id_values;
    cdpcore::WriteOptions opt;
    opt.best_effort = true;
    reports.push_back(store.append_events(dg::event_type_names()[static_cast<size_t>(type)], keys, times, props, opt));
  }
  return reports;
}

std::vector<cdpcore::ConsentRecord> consent_records(const dg::SampleData& d) {
  const auto& C = d.consent;
  const auto types = dg::identifier_type_names(), purposes = dg::purpose_names(), channels = dg::channel_names();
  const auto decisions = dg::decision_names(), sources = dg::consent_source_names();
  const auto bases = dg::legal_basis_names();
  std::vector<cdpcore::ConsentRecord> out(C.size());
  for (size_t i = 0; i < C.size(); ++i) {
    cdpcore::ConsentRecord& r = out[i];
    r.subject = {types[C.subject_type[i]], std::string(C.subject_value[i])};
    r.purpose = purposes[C.purpose[i]];
    r.channel = C.channel[i] == dg::kAnyChannel ? "*" : channels[C.channel[i]];
    r.decision = cdpcore::parse_consent_decision(decisions[C.decision[i]]);
    r.time = C.time[i];
    r.expiry = C.expiry[i] == dg::kNoTime ? cdpcore::kNoExpiry : C.expiry[i];
    r.source = sources[C.source[i]];
    r.legal_basis = cdpcore::parse_legal_basis(bases[C.legal_basis[i]]);
    r.policy_version = std::string(d.dicts.policy_versions[static_cast<size_t>(C.policy_version[i])]);
  }
  return out;
}

}  // namespace demo
