// cdpcore — the sample-data generator: a synthetic retail / private-domain
// population with its ground truth, for tests, benchmarks and the demo.
//
//   cdpcore::datagen::Options opt;           // seed 42, 100k persons, one year
//   opt.persons = 20'000;
//   auto data = cdpcore::datagen::generate(opt);
//   for (size_t i = 0; i < data.links.size(); ++i)
//     use(data.links.record[i], data.links.type[i], data.links.value[i]);
//   cdpcore::datagen::write_to_workspace(*ws, data);   // sample_* tables
//
// Output is columnar (struct of arrays), so Python and Arrow view the numeric
// columns without copies. Strings are StringColumns (Arrow large_string
// layout); categorical columns are small integer codes whose names come from
// the *_names() functions or from SampleData::dicts (code -1 = not applicable).
//
// Deterministic: the same Options give byte-identical data on every run and
// build (the generator uses its own PRNG, never std:: distributions).
// Ground truth: every record, event, consent row and profile row carries the
// true person (or anonymous visitor) that produced it.
//
// Thread safety: generate() is a pure function (call it from any thread);
// SampleData is a plain value (concurrent reads are safe).
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cdpcore/time.hpp"
#include "cdpcore/workspace.hpp"

namespace cdpcore::datagen {

/// A column of strings in Arrow's large_string layout: value i is
/// bytes[offsets[i], offsets[i+1]); offsets has size()+1 entries, offsets[0]=0.
/// Every value is valid UTF-8. A value type.
struct StringColumn {
  std::vector<int64_t> offsets{0};
  std::string bytes;

  size_t size() const noexcept { return offsets.size() - 1; }
  bool empty() const noexcept { return offsets.size() == 1; }
  std::string_view operator[](size_t i) const noexcept {
    return std::string_view(bytes.data() + offsets[i], static_cast<size_t>(offsets[i + 1] - offsets[i]));
  }
  void push_back(std::string_view s) {
    bytes.append(s.data(), s.size());
    offsets.push_back(static_cast<int64_t>(bytes.size()));
  }
  void reserve(size_t n, size_t total_bytes) {
    offsets.reserve(n + 1);
    bytes.reserve(total_bytes);
  }
  void clear() noexcept {
    offsets.assign(1, 0);
    bytes.clear();
  }
};

// ---- codes ---------------------------------------------------------------
// The numeric values are fixed (stored in files and compared in tests); new
// codes are only ever appended.

/// Identifier types. Names: identifier_type_names()[code].
enum class IdType : uint8_t {
  phone = 0,      // mobile number, raw with formatting noise (E.164 when canonical)
  email = 1,      // raw with case noise and surrounding spaces
  unionid = 2,    // WeChat unionid (28 chars), one per person across apps
  openid_mp = 3,  // WeChat openid of the mini-program (28 chars)
  openid_oa = 4,  // WeChat openid of the official account (28 chars)
  device_id = 5,  // app device id, a UUID (IDFA upper case, Android lower case)
  crm_id = 6,     // CRM member id, "M00012345"
  cookie = 7,     // web cookie id, 32 hex digits
};
inline constexpr int kIdTypeCount = 8;

/// Where an identity record was observed. Names: record_source_names().
enum class RecordSource : uint8_t { app_login = 0, mp_login, oa_follow, order, crm_import, web_visit, store_pos };
inline constexpr int kRecordSourceCount = 7;

/// Event types. Names: event_type_names().
enum class EventType : uint8_t {
  page_view = 0,
  add_to_cart,
  order,
  sms_sent,
  sms_click,
  coupon_redeem,
  signup,
};
inline constexpr int kEventTypeCount = 7;

/// Member levels. Names: member_level_names() (none, silver, gold, platinum).
enum class MemberLevel : uint8_t { none = 0, silver, gold, platinum };
/// Genders. Names: gender_names() (unknown, female, male).
enum class Gender : uint8_t { unknown = 0, female, male };

/// Consent purposes. Names: purpose_names() ("marketing", "marketing.sms", …).
enum class Purpose : uint8_t {
  marketing = 0,
  marketing_sms,    // "marketing.sms"
  marketing_email,  // "marketing.email"
  personalization,
  profiling,
  analytics,
  third_party_sharing,
  cross_border_transfer,
};
inline constexpr int kPurposeCount = 8;

/// Contact channels. Names: channel_names(). kAnyChannel: the record applies
/// to every channel (a purpose-level decision).
enum class Channel : uint8_t { sms = 0, email, wechat, app_push, phone_call, mail, ads };
inline constexpr int kChannelCount = 7;
inline constexpr uint8_t kAnyChannel = 0xFF;

/// Consent decisions. Names: decision_names().
enum class Decision : uint8_t { granted = 0, denied, withdrawn, objected };
/// Where a consent record came from. Names: consent_source_names().
enum class ConsentSource : uint8_t { form = 0, app, store, call_centre, import };
/// Legal bases. Names: legal_basis_names() (consent, contract,
/// legitimate_interest, legal_obligation).
enum class LegalBasis : uint8_t { consent = 0, contract, legitimate_interest, legal_obligation };

/// Flags on an identity link (bits of IdentityLinks::flags): the hard cases
/// an identity graph must survive.
enum LinkFlag : uint8_t {
  kPlaceholder = 1,     // a placeholder value (13800000000, test@test.com, "null", …)
  kSharedDevice = 2,    // a device seen with several persons (family tablet, store demo device)
  kOldPhone = 4,        // a phone number its owner later replaced
  kDuplicateImport = 8, // part of a CRM import row repeated verbatim
  kInternational = 16,  // a non-Chinese phone number
};

inline constexpr Timestamp kNoTime = std::numeric_limits<int64_t>::min();  // no expiry / unknown
inline constexpr int32_t kNoDate = std::numeric_limits<int32_t>::min();    // unknown date

std::span<const char* const> identifier_type_names() noexcept;
std::span<const char* const> record_source_names() noexcept;
std::span<const char* const> event_type_names() noexcept;
std::span<const char* const> member_level_names() noexcept;
std::span<const char* const> gender_names() noexcept;
std::span<const char* const> purpose_names() noexcept;
std::span<const char* const> channel_names() noexcept;
std::span<const char* const> decision_names() noexcept;
std::span<const char* const> consent_source_names() noexcept;
std::span<const char* const> legal_basis_names() noexcept;

// ---- tables ----------------------------------------------------------------

/// One row per identifier occurrence. The rows of one record are adjacent and
/// records appear in increasing order (record i's rows are
/// [IdentityRecords::link_offsets[i], link_offsets[i+1])).
struct IdentityLinks {
  std::vector<uint32_t> record;  // index into IdentityRecords
  std::vector<uint8_t> type;     // IdType
  StringColumn value;            // raw value as a CRM receives it
  /// Ground truth of normalisation: E.164 for phones ("+8613800138000"),
  /// trimmed lower case for e-mails, the value itself for other types, and ""
  /// for a value that is not a valid identifier ("null", "11111111111").
  /// Empty column when Options::with_canonical is false.
  StringColumn canonical;
  std::vector<uint8_t> flags;  // LinkFlag bits
  size_t size() const noexcept { return record.size(); }
};

/// One row per record (a login, an order, a CRM import row …), sorted by time.
struct IdentityRecords {
  std::vector<Timestamp> time;
  std::vector<uint8_t> source;         // RecordSource
  std::vector<uint32_t> true_person;   // ground truth (index into Persons)
  std::vector<uint64_t> link_offsets;  // size()+1 entries into IdentityLinks
  size_t size() const noexcept { return time.size(); }
};

/// Ground truth, one row per true person or anonymous visitor (the index is
/// the `true_person` used by every other table).
struct Persons {
  std::vector<uint8_t> is_anonymous;   // 1 for an anonymous visitor
  std::vector<uint8_t> member_level;   // MemberLevel
  std::vector<Timestamp> signup_at;    // kNoTime when not a member
  std::vector<int32_t> birthday;       // days since 1970-01-01, kNoDate when unknown
  std::vector<int16_t> city;           // index into dicts.cities, -1 unknown
  std::vector<uint8_t> gender;         // Gender
  StringColumn crm_id;                 // "" when not a member
  StringColumn phone;                  // current phone, E.164, "" when none
  StringColumn email;                  // canonical e-mail, "" when none
  StringColumn unionid;                // "" when not a WeChat user
  std::vector<uint32_t> household;     // persons sharing a family device share this; else own index
  size_t size() const noexcept { return is_anonymous.size(); }
};

/// Profile attribute rows as a CRM exports them, keyed by an identifier:
/// crm_id for members, else the (raw) phone. One row per known person that
/// has either.
struct Profiles {
  std::vector<uint8_t> key_type;  // IdType (crm_id or phone)
  StringColumn key_value;         // raw
  std::vector<uint8_t> member_level;
  std::vector<Timestamp> signup_at;
  std::vector<int32_t> birthday;
  std::vector<int16_t> city;
  std::vector<uint8_t> gender;
  std::vector<uint32_t> true_person;
  size_t size() const noexcept { return key_type.size(); }
};

/// Behavioural events, sorted by time (ties in a fixed order).
struct Events {
  std::vector<Timestamp> time;
  std::vector<uint8_t> type;      // EventType
  std::vector<uint8_t> id_type;   // IdType the event arrived with
  StringColumn id_value;          // raw identifier value
  std::vector<double> amount;     // order / coupon amount (> 0), NaN when n/a
  std::vector<int32_t> sku;       // index into dicts.skus, -1 n/a
  std::vector<int16_t> category;  // index into dicts.categories, -1 n/a
  std::vector<int16_t> store;     // index into dicts.stores, -1 n/a (online)
  std::vector<int16_t> campaign;  // index into dicts.campaigns, -1 n/a
  std::vector<uint32_t> true_person;
  size_t size() const noexcept { return time.size(); }
};

/// The consent ledger, sorted by time.
struct ConsentRecords {
  std::vector<Timestamp> time;
  std::vector<uint8_t> subject_type;    // IdType (mostly phone, email, openid)
  StringColumn subject_value;           // raw
  std::vector<uint8_t> purpose;         // Purpose
  std::vector<uint8_t> channel;         // Channel, or kAnyChannel
  std::vector<uint8_t> decision;        // Decision
  std::vector<Timestamp> expiry;        // kNoTime = never expires
  std::vector<uint8_t> source;          // ConsentSource
  std::vector<uint8_t> legal_basis;     // LegalBasis
  std::vector<int16_t> policy_version;  // index into dicts.policy_versions
  std::vector<uint32_t> true_person;
  size_t size() const noexcept { return time.size(); }
};

/// Names behind the dictionary-coded columns.
struct Dictionaries {
  StringColumn cities;           // ~30 Chinese cities, most populous first
  StringColumn categories;       // 12 product categories
  StringColumn stores;           // 50 stores, "SH001 上海万象城店"
  std::vector<int16_t> store_city;  // city of each store
  StringColumn skus;             // a few thousand SKUs, "SKU-030042" (category 03, item 42)
  std::vector<int16_t> sku_category;
  std::vector<double> sku_price;  // list price
  StringColumn campaigns;        // SMS / coupon campaigns
  std::vector<Timestamp> campaign_time;
  StringColumn policy_versions;  // privacy-policy versions, oldest first
};

struct Options {
  uint64_t seed = 42;
  /// True persons including anonymous visitors.
  uint32_t persons = 100'000;
  /// End of the simulated year (exclusive); data covers [end - days, end).
  Timestamp end = 1'735'689'600'000'000;  // 2025-01-01T00:00:00Z
  int32_t days = 365;
  /// Share of `persons` that are anonymous visitors (cookies / device ids only).
  double anonymous_ratio = 0.2;
  /// Mean identity records per known person (anonymous visitors have fewer).
  double records_per_person = 4.0;
  /// Mean events per person (power-law skewed).
  double events_per_person = 20.0;
  bool with_events = true;
  bool with_consent = true;
  /// Only identity data (links, records, persons): the identity benchmark's
  /// input. Overrides with_events and with_consent.
  bool identity_only = false;
  /// Fill IdentityLinks::canonical (costs memory at large scale).
  bool with_canonical = true;
  /// Share of hard cases (scaled together): placeholder values, phone
  /// changes, shared devices, duplicate imports. 1.0 = the documented rates.
  double noise = 1.0;
};

/// Everything generate() produces.
struct SampleData {
  Options options;
  IdentityLinks links;
  IdentityRecords records;
  Persons persons;
  Profiles profiles;
  Events events;
  ConsentRecords consent;
  Dictionaries dicts;
};

/// Generates the sample population. Throws InvalidArgument for options out of
/// range (persons == 0 or above 50M, ratios outside [0, 1], days < 1 …).
SampleData generate(const Options& options = {});

/// A digest (SHA-256, lowercase hex) of every column of every table, in a
/// fixed order: equal digests mean identical data. Per column: SHA-256 of its
/// little-endian bytes; a StringColumn hashes SHA-256(offsets) || SHA-256(bytes).
struct ColumnDigest {
  std::string table;
  std::string column;
  std::string sha256;
};
std::vector<ColumnDigest> column_digests(const SampleData& data);
/// SHA-256 over all column digests (table, column and digest of each).
std::string data_digest(const SampleData& data);

/// Writes the data into tables sample_links, sample_records, sample_persons,
/// sample_profiles, sample_events, sample_consent and sample_info (replacing
/// them) in one transaction: on failure nothing changes. Codes are written as
/// their names, times as UTC microseconds, n/a as NULL.
void write_to_workspace(Workspace& ws, const SampleData& data);

/// Writes links.csv, records.csv, persons.csv, profiles.csv, events.csv,
/// consent.csv (RFC 4180, header row, UTF-8, times as ISO 8601 UTC, n/a
/// empty) into `dir`, creating it. Throws IoError naming the file on failure.
void write_csv(const SampleData& data, const std::string& dir);
/// The same tables as JSON Lines (<table>.jsonl, one object per row, n/a as
/// null, times as ISO 8601 UTC).
void write_jsonl(const SampleData& data, const std::string& dir);

}  // namespace cdpcore::datagen
