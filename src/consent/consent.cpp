// The consent ledger: storage, taxonomy, the in-memory index and checks.
#include "cdpcore/consent.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cdpcore/error.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/utf8.hpp"
#include "cdpcore/workspace.hpp"
#include "consent/consent_impl.hpp"
#include "util/huge_pages.hpp"
#include "util/names.hpp"
#include "util/sqlite.hpp"

namespace cdpcore {

using namespace consent_detail;

namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE consent_purposes (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  separate_consent INTEGER NOT NULL DEFAULT 0,
  direct_marketing INTEGER NOT NULL DEFAULT 0,
  opt_out_jurisdictions INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE consent_channels (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  identifier_types TEXT NOT NULL DEFAULT '',
  opt_in_jurisdictions INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE consent_subjects (
  id INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  value TEXT NOT NULL
);
CREATE TABLE consent_ledger (
  seq INTEGER PRIMARY KEY,
  subject_id INTEGER,
  purpose_id INTEGER,
  channel_id INTEGER,
  decision INTEGER,
  time INTEGER,
  expiry INTEGER,
  source TEXT,
  legal_basis INTEGER,
  policy_version TEXT,
  proof_method TEXT,
  proof_location TEXT,
  proof_reference TEXT,
  recorded_at INTEGER,
  erased_by INTEGER,
  hash BLOB NOT NULL
);
CREATE INDEX consent_ledger_subject ON consent_ledger(subject_id);
CREATE TABLE consent_suppression (
  keyed_hash BLOB PRIMARY KEY,
  erasure_seq INTEGER NOT NULL,
  erased_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE consent_preferences (
  subject_id INTEGER PRIMARY KEY,
  spec TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE consent_contacts (
  subject_id INTEGER NOT NULL,
  channel_id INTEGER NOT NULL,
  time INTEGER NOT NULL
);
CREATE INDEX consent_contacts_subject ON consent_contacts(subject_id, time);
INSERT INTO consent_purposes(id, name, description, separate_consent, direct_marketing, opt_out_jurisdictions) VALUES
  (1, 'marketing', 'Direct marketing', 0, 1, 8),
  (2, 'marketing.sms', 'Direct marketing by text message', 0, 1, 8),
  (3, 'marketing.email', 'Direct marketing by e-mail', 0, 1, 8),
  (4, 'personalization', 'Personalised content and offers', 0, 0, 8),
  (5, 'profiling', 'Building a profile of interests and behaviour', 0, 0, 8),
  (6, 'analytics', 'Measurement and analytics', 0, 0, 8),
  (7, 'third_party_sharing', 'Sharing with or sale to third parties (separate consent under PIPL)', 1, 0, 8),
  (8, 'cross_border_transfer', 'Transfer outside the country (separate consent under PIPL)', 1, 0, 8),
  (9, 'sensitive_data', 'Processing of sensitive personal information (separate consent)', 1, 0, 0);
INSERT INTO consent_channels(id, name, identifier_types, opt_in_jurisdictions) VALUES
  (1, 'sms', 'phone', 8),
  (2, 'email', 'email', 0),
  (3, 'wechat', 'unionid,openid_mp,openid_oa', 0),
  (4, 'app_push', 'device_id', 0),
  (5, 'phone_call', 'phone', 8),
  (6, 'mail', '', 0),
  (7, 'ads', 'phone,email,device_id', 0);
)sql";

const Migration kMigrations[] = {{1, kSchemaV1}};

constexpr std::string_view kPersonType = "person";
constexpr size_t kMaxValueLength = 1023;
constexpr size_t kMaxTextLength = 4096;

bool less_key(Timestamp t1, uint64_t s1, Timestamp t2, uint64_t s2) { return t1 < t2 || (t1 == t2 && s1 < s2); }

ConsentReason reason_of(uint8_t decision) {
  switch (static_cast<ConsentDecision>(decision)) {
    case ConsentDecision::denied: return ConsentReason::denied;
    case ConsentDecision::withdrawn: return ConsentReason::withdrawn;
    case ConsentDecision::objected: return ConsentReason::objected;
    default: return ConsentReason::granted;
  }
}

void check_text(std::string_view s, std::string_view what, size_t max = kMaxTextLength) {
  require_utf8(s, what);
  if (s.size() > max) {
    throw InvalidArgument(std::string(what) + " is " + std::to_string(s.size()) + " bytes, longer than " +
                          std::to_string(max));
  }
}

std::string random_hex_key() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) throw Error(ErrorCode::error, "consent: no random bytes for the HMAC key");
  Sha256Digest d{};
  std::memcpy(d.data(), buf, 32);
  return to_hex(d);
}

std::string digest_bytes(const Sha256Digest& d) { return std::string(reinterpret_cast<const char*>(d.data()), d.size()); }

ContactPreferences prefs_from_json(const nlohmann::json& j) {
  ContactPreferences p;
  p.preferred_channels = j.value("preferred_channels", std::vector<std::string>{});
  p.topics = j.value("topics", std::vector<std::string>{});
  p.time_zone = j.value("time_zone", std::string());
  if (j.contains("quiet_hours") && j["quiet_hours"].is_object()) {
    p.quiet_hours = QuietHours{j["quiet_hours"].value<uint16_t>("start_minute", 0),
                               j["quiet_hours"].value<uint16_t>("end_minute", 0)};
  }
  if (j.contains("caps")) {
    for (const auto& c : j["caps"]) {
      p.caps.push_back({c.value("channel", std::string("*")), c.value<uint32_t>("max_contacts", 0),
                        c.value<Timestamp>("period", 0)});
    }
  }
  return p;
}

std::string join(const std::vector<std::string>& v, char sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s.push_back(sep);
    s += v[i];
  }
  return s;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      if (i > start) out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace

// ---- identity listener --------------------------------------------------------

struct Consent::Impl::Listener : IdentityListener {
  Impl* impl;
  explicit Listener(Impl* i) : impl(i) {}
  void dirty() {
    std::lock_guard<std::mutex> lock(impl->map_mu);
    impl->map_dirty = true;
  }
  void on_merged(const ChangeEvent&) override { dirty(); }
  void on_split(const ChangeEvent&) override { dirty(); }
  void on_erased(const ChangeEvent&) override { dirty(); }
  void on_rolled_back() override { dirty(); }
};

// ---- construction and loading -------------------------------------------------

Consent::Consent(std::shared_ptr<Workspace> ws, const ConsentOptions& options) : impl_(std::make_unique<Impl>()) {
  if (!ws) throw InvalidArgument("Consent: workspace is null");
  if (options.future_tolerance < 0) throw InvalidArgument("Consent: future_tolerance must not be negative");
  impl_->ws = std::move(ws);
  impl_->options = options;
  Workspace& w = *impl_->ws;
  w.ensure_schema("consent", kMigrations);

  // The HMAC key of suppression entries.
  static constexpr std::string_view kKeyCheck = "cdpcore consent key check";
  if (!options.hmac_key.empty()) {
    impl_->hmac_key = options.hmac_key;
    std::string fp = to_hex(hmac_sha256(options.hmac_key, kKeyCheck));
    auto stored = w.setting("consent.hmac_key_check");
    if (stored && *stored != fp) {
      throw InvalidArgument("Consent: hmac_key does not match the key this workspace's suppression entries were made "
                            "with");
    }
    if (!stored) {
      if (!w.read_only()) w.set_setting("consent.hmac_key_check", fp);
    }
  } else {
    auto stored_check = w.setting("consent.hmac_key_check");
    auto stored = w.setting("consent.hmac_key");
    if (stored) {
      impl_->hmac_key = *stored;
    } else if (stored_check) {
      throw InvalidArgument("Consent: this workspace's suppression entries use an application-supplied hmac_key; "
                            "pass it in ConsentOptions");
    } else {
      impl_->hmac_key = random_hex_key();
      if (!w.read_only()) {
        w.set_setting("consent.hmac_key", impl_->hmac_key);
        w.set_setting("consent.hmac_key_check", to_hex(hmac_sha256(impl_->hmac_key, kKeyCheck)));
      }
    }
  }
  impl_->person_type = impl_->intern_type(kPersonType);
  impl_->load();
}

Consent::~Consent() { detach_identity(); }

uint16_t Consent::Impl::intern_type(std::string_view name) {
  auto it = type_ids.find(std::string(name));
  if (it != type_ids.end()) return it->second;
  if (type_names.size() >= 0xFFFF) throw LimitError("consent: too many subject types");
  auto id = static_cast<uint16_t>(type_names.size());
  type_names.emplace_back(name);
  type_ids.emplace(std::string(name), id);
  return id;
}

void Consent::Impl::load_taxonomy() {
  sql::Database& db = ws->database();
  purposes.clear();
  channels.clear();
  purpose_ids.clear();
  channel_ids.clear();
  purposes.push_back({PurposeSpec{"*", "Every purpose", false, false, 0}, -1, 0});
  channels.push_back({ChannelSpec{"*", {}, 0}});
  purpose_ids.emplace("*", 0);
  channel_ids.emplace("*", 0);
  channel_ids.emplace("", 0);
  {
    auto st = db.prepare(
        "SELECT id, name, description, separate_consent, direct_marketing, opt_out_jurisdictions FROM consent_purposes "
        "ORDER BY id");
    while (st.step()) {
      auto id = static_cast<size_t>(st.column_int64(0));
      if (id == 0 || id >= kMaxPurposes) throw CorruptError("consent: purpose id " + std::to_string(id) + " out of range");
      if (purposes.size() <= id) purposes.resize(id + 1);
      Purpose& p = purposes[id];
      p.spec.name = std::string(st.column_text(1));
      p.spec.description = std::string(st.column_text(2));
      p.spec.separate_consent = st.column_int64(3) != 0;
      p.spec.direct_marketing = st.column_int64(4) != 0;
      p.spec.opt_out_jurisdictions = static_cast<uint8_t>(st.column_int64(5));
      purpose_ids[p.spec.name] = static_cast<uint16_t>(id);
    }
  }
  {
    auto st = db.prepare("SELECT id, name, identifier_types, opt_in_jurisdictions FROM consent_channels ORDER BY id");
    while (st.step()) {
      auto id = static_cast<size_t>(st.column_int64(0));
      if (id == 0 || id > kMaxChannels) throw CorruptError("consent: channel id " + std::to_string(id) + " out of range");
      if (channels.size() <= id) channels.resize(id + 1);
      Channel& c = channels[id];
      c.spec.name = std::string(st.column_text(1));
      c.spec.identifier_types = split(st.column_text(2), ',');
      c.spec.opt_in_jurisdictions = static_cast<uint8_t>(st.column_int64(3));
      channel_ids[c.spec.name] = static_cast<uint16_t>(id);
    }
  }
  rebuild_taxonomy_tables();
}

void Consent::Impl::rebuild_taxonomy_tables() {
  const size_t n = purposes.size();
  // Parents and depths from the dotted names.
  for (size_t i = 1; i < n; ++i) {
    Purpose& p = purposes[i];
    if (p.spec.name.empty()) continue;  // id gap
    auto dot = p.spec.name.rfind('.');
    if (dot == std::string::npos) {
      p.parent = 0;
    } else {
      auto it = purpose_ids.find(p.spec.name.substr(0, dot));
      if (it == purpose_ids.end()) throw CorruptError("consent: purpose \"" + p.spec.name + "\" has no parent");
      p.parent = it->second;
    }
  }
  for (size_t i = 1; i < n; ++i) {
    int d = 0;
    for (int32_t x = static_cast<int32_t>(i); x > 0 && d <= kMaxPurposeDepth + 1; x = purposes[static_cast<size_t>(x)].parent) ++d;
    purposes[i].depth = static_cast<uint8_t>(std::min(d, kMaxPurposeDepth));
  }
  applies.assign(n * n, -1);
  grant_floor.assign(n, 0);
  separate.assign(n, 0);
  for (size_t q = 0; q < n; ++q) {
    if (q > 0 && purposes[q].spec.name.empty()) continue;
    int8_t* row = &applies[q * n];
    bool sep = false;
    uint8_t floor = 0;
    for (int32_t x = static_cast<int32_t>(q); x >= 0; x = purposes[static_cast<size_t>(x)].parent) {
      row[x] = static_cast<int8_t>(purposes[static_cast<size_t>(x)].depth);
      if (purposes[static_cast<size_t>(x)].spec.separate_consent) {
        sep = true;
        floor = std::max(floor, purposes[static_cast<size_t>(x)].depth);
      }
      if (x == 0) break;
    }
    grant_floor[q] = floor;
    separate[q] = sep ? 1 : 0;
  }
}

void Consent::Impl::load() {
  sql::Database& db = ws->database();
  load_taxonomy();

  // Fresh storage for the large arrays (not clear()): huge pages are only
  // granted to pages advised before their first touch.
  std::vector<Subject>().swap(subjects);
  std::vector<uint64_t>().swap(slots);
  std::vector<IndexRecord>().swap(record_pool);
  std::vector<uint64_t>().swap(record_tags);
  subject_identifier.clear();
  live_subjects = 0;
  suppressed.clear();
  prefs.clear();
  contacts.clear();
  {
    const int64_t max_id = db.query_int64("SELECT coalesce(max(id), 0) FROM consent_subjects");
    // The index's large arrays are probed at random: huge pages (see util/huge_pages.hpp).
    util::reserve_huge(subjects, static_cast<size_t>(max_id) + 1);
    subjects.resize(static_cast<size_t>(max_id) + 1);
    auto st = db.prepare("SELECT id, type, value FROM consent_subjects");
    while (st.step()) {
      auto id = static_cast<size_t>(st.column_int64(0));
      Subject& s = subjects[id];
      s.type = intern_type(st.column_text(1));
      s.value = std::string(st.column_text(2));
      s.hash = hash_identifier(s.type, s.value);
      s.live = true;
      ++live_subjects;
    }
    size_t n_slots = 64;
    while (n_slots < live_subjects * 2) n_slots *= 2;
    util::reserve_huge(slots, n_slots);
    slots.assign(n_slots, 0);
    for (size_t id = 0; id < subjects.size(); ++id) {
      if (subjects[id].live) insert_slot(static_cast<uint32_t>(id));
    }
  }
  {
    auto st = db.prepare(
        "SELECT seq, subject_id, purpose_id, channel_id, decision, time, coalesce(expiry, 9223372036854775807), "
        "legal_basis FROM consent_ledger WHERE subject_id IS NOT NULL AND erased_by IS NULL ORDER BY seq");
    // Records arrive in ledger order; they are placed in subject order.
    std::vector<IndexRecord> loaded;
    std::vector<uint32_t> owner;
    while (st.step()) {
      auto sid = static_cast<size_t>(st.column_int64(1));
      if (sid >= subjects.size() || !subjects[sid].live) {
        throw CorruptError("consent: ledger record " + std::to_string(st.column_int64(0)) + " refers to subject " +
                           std::to_string(sid) + " which does not exist");
      }
      IndexRecord r{};
      r.seq = static_cast<uint64_t>(st.column_int64(0));
      r.purpose = static_cast<uint16_t>(st.column_int64(2));
      r.channel = static_cast<uint8_t>(st.column_int64(3));
      r.decision = static_cast<uint8_t>(st.column_int64(4));
      r.time = st.column_int64(5);
      r.expiry = st.column_int64(6);
      r.basis = static_cast<uint8_t>(st.column_int64(7));
      if (r.purpose >= purposes.size() || r.channel >= channels.size()) {
        throw CorruptError("consent: ledger record " + std::to_string(r.seq) + " has an unknown purpose or channel id");
      }
      loaded.push_back(r);
      owner.push_back(static_cast<uint32_t>(sid));
      ++subjects[sid].records.size;
    }
    uint64_t at = 0;
    for (Subject& s : subjects) {
      s.records.begin = at;
      s.records.capacity = s.records.size;
      at += s.records.size;
      s.records.size = 0;
    }
    util::reserve_huge(record_pool, at);
    record_pool.assign(at, IndexRecord{});
    record_pool_abandoned = 0;
    for (size_t k = 0; k < loaded.size(); ++k) {
      RecordRange& r = subjects[owner[k]].records;
      record_pool[r.begin + r.size++] = loaded[k];
    }
    for (Subject& s : subjects) {
      auto first = record_pool.begin() + static_cast<std::ptrdiff_t>(s.records.begin);
      auto last = first + s.records.size;
      if (!std::is_sorted(first, last, record_before)) std::sort(first, last, record_before);
    }
    util::reserve_huge(record_tags, 2 * record_pool.size());
    record_tags.resize(2 * record_pool.size());
    record_time_max = std::numeric_limits<Timestamp>::min();
    tags_partial = false;
    for (const Subject& s : subjects) {
      uint64_t* tags = record_tags.data() + 2 * s.records.begin;
      for (uint32_t j = 0; j < s.records.size; ++j) {
        const IndexRecord& r = record_pool[s.records.begin + j];
        tags[j] = record_tag(r);
        tags[s.records.capacity + j] = r.seq;
        record_time_max = std::max(record_time_max, r.time);
        tags_partial |= !taggable(r);
      }
    }
  }
  {
    auto st = db.prepare("SELECT seq, hash FROM consent_ledger ORDER BY seq DESC LIMIT 1");
    if (st.step()) {
      last_seq = static_cast<uint64_t>(st.column_int64(0));
      auto blob = st.column_blob(1);
      if (blob.size() != 32) throw CorruptError("consent: ledger record " + std::to_string(last_seq) + " has no hash");
      std::memcpy(last_hash.data(), blob.data(), 32);
    } else {
      last_seq = 0;
      last_hash.fill(0);
    }
  }
  {
    auto st = db.prepare("SELECT keyed_hash FROM consent_suppression");
    while (st.step()) {
      auto b = st.column_blob(0);
      suppressed.emplace(reinterpret_cast<const char*>(b.data()), b.size());
    }
  }
  {
    auto st = db.prepare("SELECT subject_id, spec FROM consent_preferences");
    while (st.step()) {
      auto sid = static_cast<uint32_t>(st.column_int64(0));
      if (sid >= subjects.size() || !subjects[sid].live) continue;
      ContactPreferences p = prefs_from_json(nlohmann::json::parse(st.column_text(1)));
      Prefs parsed;
      parsed.spec = p;
      for (const auto& c : p.preferred_channels) parsed.preferred.push_back(channel_id(c));
      if (!p.time_zone.empty()) parsed.tz = TimeZone::load(p.time_zone);
      for (const auto& c : p.caps) parsed.caps.push_back({channel_id(c.channel), c.max_contacts, c.period});
      prefs[sid] = std::move(parsed);
      subjects[sid].has_prefs = true;
    }
  }
  if (auto d = ws->setting("consent.default_preferences")) {
    ContactPreferences p = prefs_from_json(nlohmann::json::parse(*d));
    default_prefs = Prefs{};
    default_prefs.spec = p;
    if (!p.time_zone.empty()) default_prefs.tz = TimeZone::load(p.time_zone);
    for (const auto& c : p.caps) default_prefs.caps.push_back({channel_id(c.channel), c.max_contacts, c.period});
  } else {
    default_prefs = Prefs{};
  }
  {
    auto st = db.prepare("SELECT subject_id, channel_id, time FROM consent_contacts ORDER BY subject_id, time");
    while (st.step()) {
      contacts[static_cast<uint32_t>(st.column_int64(0))].push_back(
          {static_cast<uint16_t>(st.column_int64(1)), st.column_int64(2)});
    }
  }
  std::lock_guard<std::mutex> lock(map_mu);
  map_dirty = true;
}

void Consent::reload() { impl_->load(); }

// ---- subject table (open addressing over subject ids) -------------------------

void Consent::Impl::insert_slot(uint32_t id) {
  if ((live_subjects + 1) * 2 > slots.size()) grow_slots();
  const size_t mask = slots.size() - 1;
  size_t i = subjects[id].hash & mask;
  while (slots[i] != 0) i = (i + 1) & mask;
  slots[i] = slot_of(id, subjects[id].hash);
}

void Consent::Impl::grow_slots() {
  std::vector<uint64_t> old;
  old.swap(slots);
  util::reserve_huge(slots, std::max<size_t>(64, old.size() * 2));
  slots.assign(std::max<size_t>(64, old.size() * 2), 0);
  const size_t mask = slots.size() - 1;
  for (uint64_t v : old) {
    if (!v) continue;
    size_t i = subjects[slot_id(v)].hash & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = v;
  }
}

void Consent::Impl::remove_slot(uint32_t id) {
  // Backward-shift deletion keeps probe sequences intact.
  const size_t mask = slots.size() - 1;
  size_t i = subjects[id].hash & mask;
  while (slots[i] == 0 || slot_id(slots[i]) != id) {
    if (slots[i] == 0) return;
    i = (i + 1) & mask;
  }
  slots[i] = 0;
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (slots[j] == 0) break;
    size_t home = subjects[slot_id(slots[j])].hash & mask;
    bool move = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
    if (move) {
      slots[i] = slots[j];
      slots[j] = 0;
      i = j;
    }
  }
}

void Consent::Impl::insert_record(uint32_t sid, const IndexRecord& rec) {
  RecordRange& r = subjects[sid].records;
  if (r.size == r.capacity) {
    // Move the range to the end of the pool with room to grow.
    const uint32_t capacity = std::max<uint32_t>(4, r.capacity * 2);
    const uint64_t begin = record_pool.size();
    util::reserve_huge(record_pool, begin + capacity);
    util::reserve_huge(record_tags, 2 * (begin + capacity));
    record_pool.resize(begin + capacity);
    record_tags.resize(2 * (begin + capacity));
    std::copy_n(record_pool.begin() + static_cast<std::ptrdiff_t>(r.begin), r.size,
                record_pool.begin() + static_cast<std::ptrdiff_t>(begin));
    const RecordRange moved{begin, r.size, capacity};
    std::copy_n(tags_of(r), r.size, record_tags.data() + 2 * begin);
    std::copy_n(seqs_of(r), r.size, record_tags.data() + 2 * begin + capacity);
    record_pool_abandoned += r.capacity;
    r = moved;
  }
  auto first = record_pool.begin() + static_cast<std::ptrdiff_t>(r.begin);
  auto last = first + r.size;
  auto pos = std::upper_bound(first, last, rec, record_before);
  std::move_backward(pos, last, last + 1);
  *pos = rec;
  const auto at = static_cast<uint32_t>(pos - first);
  uint64_t* tags = record_tags.data() + 2 * r.begin;
  uint64_t* seqs = tags + r.capacity;
  std::move_backward(tags + at, tags + r.size, tags + r.size + 1);
  std::move_backward(seqs + at, seqs + r.size, seqs + r.size + 1);
  tags[at] = record_tag(rec);
  seqs[at] = rec.seq;
  record_time_max = std::max(record_time_max, rec.time);
  tags_partial |= !taggable(rec);
  ++r.size;
  if (record_pool_abandoned > 4096 && record_pool_abandoned * 3 > record_pool.size()) compact_records();
}

void Consent::Impl::clear_records(uint32_t sid) noexcept {
  RecordRange& r = subjects[sid].records;
  record_pool_abandoned += r.capacity;
  r = RecordRange{};
}

void Consent::Impl::compact_records() {
  uint64_t n = 0;
  for (const Subject& s : subjects) n += s.records.size;
  std::vector<IndexRecord> pool;
  std::vector<uint64_t> tags;
  util::reserve_huge(pool, n);
  util::reserve_huge(tags, 2 * n);
  for (Subject& s : subjects) {
    const uint64_t begin = pool.size();
    const auto b = static_cast<std::ptrdiff_t>(s.records.begin), e = b + s.records.size;
    pool.insert(pool.end(), record_pool.begin() + b, record_pool.begin() + e);
    tags.insert(tags.end(), tags_of(s.records), tags_of(s.records) + s.records.size);
    tags.insert(tags.end(), seqs_of(s.records), seqs_of(s.records) + s.records.size);
    s.records.begin = begin;
    s.records.capacity = s.records.size;
  }
  record_pool.swap(pool);
  record_tags.swap(tags);
  record_pool_abandoned = 0;
}

uint32_t Consent::Impl::find_subject(uint16_t type, std::string_view value) const noexcept {
  if (slots.empty()) return kNone;
  return find_subject(type, value, hash_identifier(type, value));
}

uint32_t Consent::Impl::find_subject(uint16_t type, std::string_view value, uint64_t h) const noexcept {
  return find_subject_from(h & (slots.size() - 1), type, value, h);
}

std::string Consent::Impl::keyed_hash(std::string_view type, std::string_view value) const {
  std::string msg(type);
  msg.push_back('\0');
  msg.append(value);
  return digest_bytes(hmac_sha256(hmac_key, msg));
}

bool Consent::Impl::is_suppressed_value(std::string_view type, std::string_view value) const {
  if (suppressed.empty()) return false;
  return suppressed.count(keyed_hash(type, value)) != 0;
}

std::string Consent::Impl::normalize(std::string_view type, std::string_view value) const {
  if (type == kPersonType) {
    // A person key: a positive decimal integer, kept canonical.
    uint64_t k = 0;
    if (value.empty() || value.size() > 20) throw InvalidArgument("person key \"" + std::string(value) + "\" is not a key");
    for (char c : value) {
      if (c < '0' || c > '9') throw InvalidArgument("person key \"" + std::string(value) + "\" is not a number");
      k = k * 10 + static_cast<uint64_t>(c - '0');
    }
    if (k == 0) throw InvalidArgument("person key 0 is not a person");
    return std::to_string(k);
  }
  if (graph) {
    TypeId t = graph->type_id(type);
    if (t != kNoType) return graph->normalize(t, value);
  }
  return std::string(value);
}

// ---- taxonomy -------------------------------------------------------------------

uint16_t Consent::Impl::purpose_id(std::string_view name) const {
  auto it = purpose_ids.find(std::string(name));
  if (it == purpose_ids.end()) {
    std::string known;
    for (size_t i = 1; i < purposes.size(); ++i) {
      if (purposes[i].spec.name.empty()) continue;
      if (!known.empty()) known += ", ";
      known += purposes[i].spec.name;
    }
    throw InvalidArgument("unknown purpose \"" + std::string(name) + "\" (defined: *, " + known + ")");
  }
  return it->second;
}

uint16_t Consent::Impl::channel_id(std::string_view name) const {
  auto it = channel_ids.find(std::string(name));
  if (it == channel_ids.end()) {
    std::string known;
    for (size_t i = 1; i < channels.size(); ++i) {
      if (channels[i].spec.name.empty()) continue;
      if (!known.empty()) known += ", ";
      known += channels[i].spec.name;
    }
    throw InvalidArgument("unknown channel \"" + std::string(name) + "\" (defined: *, " + known + ")");
  }
  return it->second;
}

void Consent::define_purpose(const PurposeSpec& spec) {
  Impl& m = *impl_;
  util::validate_name(spec.name, "purpose", util::NameShape::dotted);
  check_text(spec.description, "purpose description");
  const bool exists = m.purpose_ids.count(spec.name) != 0;
  auto dot = spec.name.rfind('.');
  int depth = 1;
  if (dot != std::string::npos) {
    const std::string parent = spec.name.substr(0, dot);
    auto it = m.purpose_ids.find(parent);
    if (it == m.purpose_ids.end()) {
      throw InvalidArgument("purpose \"" + spec.name + "\": its parent \"" + parent + "\" is not defined");
    }
    depth = m.purposes[it->second].depth + 1;
  }
  if (depth > kMaxPurposeDepth) {
    throw InvalidArgument("purpose \"" + spec.name + "\" is " + std::to_string(depth) + " levels deep (at most " +
                          std::to_string(kMaxPurposeDepth) + ")");
  }
  if (!exists && m.purposes.size() >= kMaxPurposes) throw LimitError("consent: at most 999 purposes");
  sql::Database& db = m.ws->database();
  sql::Transaction tx(db);
  if (exists) {
    db.cached("UPDATE consent_purposes SET description = ?, separate_consent = ?, direct_marketing = ?, "
              "opt_out_jurisdictions = ? WHERE name = ?")
        .bind_all(spec.description, int64_t{spec.separate_consent}, int64_t{spec.direct_marketing},
                  int64_t{spec.opt_out_jurisdictions}, spec.name)
        .run();
  } else {
    db.cached("INSERT INTO consent_purposes(id, name, description, separate_consent, direct_marketing, "
              "opt_out_jurisdictions) VALUES (?, ?, ?, ?, ?, ?)")
        .bind_all(static_cast<int64_t>(m.purposes.size()), spec.name, spec.description,
                  int64_t{spec.separate_consent}, int64_t{spec.direct_marketing}, int64_t{spec.opt_out_jurisdictions})
        .run();
  }
  tx.commit();
  m.load_taxonomy();
}

void Consent::define_channel(const ChannelSpec& spec) {
  Impl& m = *impl_;
  util::validate_name(spec.name, "channel");
  // References to subject types (as consent records name them, checked no
  // further there), stored comma-separated.
  for (const auto& t : spec.identifier_types) {
    if (t.empty() || t.find(',') != std::string::npos) {
      throw InvalidArgument("channel \"" + spec.name + "\": identifier type \"" + t + "\" is empty or has a comma");
    }
    check_text(t, "identifier type", util::kMaxNameBytes);
  }
  const bool exists = m.channel_ids.count(spec.name) != 0;
  if (!exists && m.channels.size() > kMaxChannels) throw LimitError("consent: at most 255 channels");
  sql::Database& db = m.ws->database();
  sql::Transaction tx(db);
  if (exists) {
    db.cached("UPDATE consent_channels SET identifier_types = ?, opt_in_jurisdictions = ? WHERE name = ?")
        .bind_all(join(spec.identifier_types, ','), int64_t{spec.opt_in_jurisdictions}, spec.name)
        .run();
  } else {
    db.cached("INSERT INTO consent_channels(id, name, identifier_types, opt_in_jurisdictions) VALUES (?, ?, ?, ?)")
        .bind_all(static_cast<int64_t>(m.channels.size()), spec.name, join(spec.identifier_types, ','),
                  int64_t{spec.opt_in_jurisdictions})
        .run();
  }
  tx.commit();
  m.load_taxonomy();
}

std::vector<PurposeSpec> Consent::purposes() const {
  std::vector<PurposeSpec> out;
  for (size_t i = 1; i < impl_->purposes.size(); ++i) {
    if (!impl_->purposes[i].spec.name.empty()) out.push_back(impl_->purposes[i].spec);
  }
  return out;
}

std::vector<ChannelSpec> Consent::channels() const {
  std::vector<ChannelSpec> out;
  for (size_t i = 1; i < impl_->channels.size(); ++i) {
    if (!impl_->channels[i].spec.name.empty()) out.push_back(impl_->channels[i].spec);
  }
  return out;
}

// ---- evaluation -------------------------------------------------------------------

EvalQuery Consent::Impl::make_eval(const ConsentQuery& q, Timestamp at) const {
  const size_t n = purposes.size();
  if (q.purpose >= n || q.channel >= channels.size()) throw InvalidArgument("consent: query from another Consent");
  EvalQuery e;
  e.applies = &applies[static_cast<size_t>(q.purpose) * n];
  e.channel = static_cast<uint8_t>(q.channel);
  e.grant_floor = grant_floor[q.purpose];
  e.separate = separate[q.purpose] != 0;
  e.pipl = q.jurisdiction == Jurisdiction::pipl;
  const uint8_t bit = jurisdiction_bit(q.jurisdiction);
  e.default_allow = q.purpose != 0 && (purposes[q.purpose].spec.opt_out_jurisdictions & bit) != 0 &&
                    (channels[q.channel].spec.opt_in_jurisdictions & bit) == 0;
  e.at = at;
  return e;
}

namespace {
// The state of one evaluation: the latest record per specificity level, the
// newest valid grant per level (any basis / consent basis), the newest
// negative record, and the notes behind deny reasons.
struct EvalState {
  Timestamp latest_t[kLevels];
  uint64_t latest_s[kLevels];
  uint8_t latest_d[kLevels];
  Timestamp grant_t[kLevels];
  uint64_t grant_s[kLevels];
  Timestamp cgrant_t[kLevels];
  uint64_t cgrant_s[kLevels];
  Timestamp neg_t = 0;
  uint64_t neg_s = 0;
  uint8_t neg_d = 0;
  bool objection = false;
  int top = -1;  // the highest level any record reached
  uint64_t expired_s = 0, separate_s = 0, basis_s = 0;
  Timestamp expired_t = 0, separate_t = 0, basis_t = 0;

  // Levels 0..top are initialised; a record above `top` clears the levels up
  // to its own first (most subjects have records at two or three levels).

  void add(const IndexRecord& r, const EvalQuery& q) {
    const int8_t d = q.applies[r.purpose];
    if (d < 0) return;
    if (r.channel != 0 && r.channel != q.channel) return;
    const int lvl = d * 2 + (r.channel != 0 ? 1 : 0);
    if (lvl > top) {
      for (int l = top + 1; l <= lvl; ++l) {
        latest_d[l] = 0;
        grant_s[l] = 0;
        cgrant_s[l] = 0;
      }
      top = lvl;
    }
    if (!latest_d[lvl] || less_key(latest_t[lvl], latest_s[lvl], r.time, r.seq)) {
      latest_t[lvl] = r.time;
      latest_s[lvl] = r.seq;
      latest_d[lvl] = r.decision;
    }
    if (r.decision != static_cast<uint8_t>(ConsentDecision::granted)) {
      if (!neg_d || less_key(neg_t, neg_s, r.time, r.seq)) {
        neg_t = r.time;
        neg_s = r.seq;
        neg_d = r.decision;
      }
      if (r.decision == static_cast<uint8_t>(ConsentDecision::objected)) objection = true;
      return;
    }
    auto note = [&](uint64_t& s, Timestamp& t) {
      if (!s || less_key(t, s, r.time, r.seq)) {
        s = r.seq;
        t = r.time;
      }
    };
    if (d < q.grant_floor) return note(separate_s, separate_t);
    if (r.expiry <= q.at) return note(expired_s, expired_t);
    const auto basis = static_cast<LegalBasis>(r.basis);
    if ((q.pipl && basis == LegalBasis::legitimate_interest) || (q.separate && basis != LegalBasis::consent)) {
      return note(basis_s, basis_t);
    }
    if (!grant_s[lvl] || less_key(grant_t[lvl], grant_s[lvl], r.time, r.seq)) {
      grant_t[lvl] = r.time;
      grant_s[lvl] = r.seq;
    }
    if (basis == LegalBasis::consent && (!cgrant_s[lvl] || less_key(cgrant_t[lvl], cgrant_s[lvl], r.time, r.seq))) {
      cgrant_t[lvl] = r.time;
      cgrant_s[lvl] = r.seq;
    }
  }

  void add_all(std::span<const IndexRecord> rs, const EvalQuery& q) {
    for (const IndexRecord& r : rs) {
      if (r.time > q.at) break;  // sorted by time
      add(r, q);
    }
  }

  Eval finish(const EvalQuery& q) const {
    // From the most specific level to the broadest: a valid grant newer than
    // every negative record allows; a level whose latest record is negative
    // blocks every broader level.
    for (int lvl = top; lvl >= 0; --lvl) {  // levels above `top` hold nothing
      const uint64_t gs = objection ? cgrant_s[lvl] : grant_s[lvl];
      if (gs) {
        const Timestamp gt = objection ? cgrant_t[lvl] : grant_t[lvl];
        if (!neg_d || less_key(neg_t, neg_s, gt, gs)) return {ConsentReason::granted, gs};
      }
      if (latest_d[lvl] && latest_d[lvl] != static_cast<uint8_t>(ConsentDecision::granted)) {
        return {reason_of(latest_d[lvl]), latest_s[lvl]};
      }
    }
    if (neg_d) return {reason_of(neg_d), neg_s};
    if (q.default_allow) return {ConsentReason::default_allowed, 0};
    if (expired_s) return {ConsentReason::expired, expired_s};
    if (separate_s) return {ConsentReason::separate_consent_required, separate_s};
    if (basis_s) return {ConsentReason::legal_basis_invalid, basis_s};
    return {ConsentReason::no_consent, 0};
  }
};
}  // namespace

Eval Consent::Impl::evaluate(std::span<const IndexRecord> a, std::span<const IndexRecord> b, const EvalQuery& q) const {
  EvalState st;
  st.add_all(a, q);
  st.add_all(b, q);
  return st.finish(q);
}

TagQuery Consent::Impl::make_tag_query(const EvalQuery& e) const {
  TagQuery t;
  t.applies = e.applies;
  std::fill(std::begin(t.channel_level), std::end(t.channel_level), int8_t{-1});
  t.channel_level[0] = 0;
  if (e.channel != 0) t.channel_level[e.channel] = 1;
  for (int b = 0; b < 8; ++b) {
    const auto basis = static_cast<LegalBasis>(b);
    t.bad_basis[b] =
        (e.pipl && basis == LegalBasis::legitimate_interest) || (e.separate && basis != LegalBasis::consent);
  }
  t.grant_floor = e.grant_floor;
  int depth = -1;
  for (size_t p = 0; p < purposes.size(); ++p) depth = std::max<int>(depth, e.applies[p]);
  t.levels = static_cast<uint8_t>(2 * (depth + 1));
  t.default_allow = e.default_allow;
  t.usable = !tags_partial && e.at >= record_time_max;
  t.at_key = tag_time_key(e.at);
  t.at = e.at;
  return t;
}

Eval Consent::Impl::evaluate_many(const std::vector<std::span<const IndexRecord>>& sources, const EvalQuery& q) const {
  EvalState st;
  for (const auto& s : sources) st.add_all(s, q);
  return st.finish(q);
}

const Prefs* Consent::Impl::prefs_of(uint32_t subject) const {
  if (subject == kNone || subject >= subjects.size() || !subjects[subject].has_prefs) return nullptr;
  auto it = prefs.find(subject);
  return it == prefs.end() ? nullptr : &it->second;
}

// The contact rules for contacting `own` (kNone: an unknown subject); caps
// count the contacts of every subject in `group` (the person's subjects).
ConsentReason Consent::Impl::contact_rules(std::span<const uint32_t> group, uint32_t own, const ConsentQuery& q,
                                           Timestamp at) const {
  const Prefs* p = prefs_of(own);
  if (p) {
    if (!p->preferred.empty() && q.channel != 0 &&
        std::find(p->preferred.begin(), p->preferred.end(), q.channel) == p->preferred.end()) {
      return ConsentReason::channel_not_preferred;
    }
    if (!p->spec.topics.empty() && !q.topic.empty() &&
        std::find(p->spec.topics.begin(), p->spec.topics.end(), q.topic) == p->spec.topics.end()) {
      return ConsentReason::topic_not_subscribed;
    }
  }
  const Prefs& rules = (p && (p->spec.quiet_hours || !p->caps.empty())) ? *p : default_prefs;
  if (rules.spec.quiet_hours) {
    const TimeZone* tz = nullptr;
    if (p && p->tz) tz = &*p->tz;
    else if (rules.tz) tz = &*rules.tz;
    else tz = &ws->time_zone();
    CivilTime local = tz->to_local(at);
    if (rules.spec.quiet_hours->contains(local.hour * 60 + local.minute)) return ConsentReason::quiet_hours;
  }
  for (const auto& cap : rules.caps) {
    if (cap.channel != 0 && cap.channel != q.channel) continue;
    uint64_t n = 0;
    for (uint32_t sid : group) {
      auto it = contacts.find(sid);
      if (it == contacts.end()) continue;
      for (const Contact& c : it->second) {
        if (c.time > at - cap.period && c.time <= at && (cap.channel == 0 || c.channel == cap.channel)) ++n;
      }
    }
    if (n >= cap.max_contacts) return ConsentReason::frequency_cap;
  }
  return ConsentReason::granted;
}

// ---- checks -------------------------------------------------------------------------

ConsentQuery Consent::prepare(std::string_view purpose, std::string_view channel, const CheckOptions& options) const {
  ConsentQuery q;
  q.purpose = impl_->purpose_id(purpose);
  q.channel = impl_->channel_id(channel);
  q.jurisdiction = options.jurisdiction.value_or(impl_->options.jurisdiction);
  q.contact_rules = options.contact_rules;
  q.topic = options.topic;
  return q;
}

// The answer for a looked-up subject (kNone: not in the ledger).
ConsentCheck Consent::Impl::answer(const ConsentQuery& q, const EvalQuery& e, const TagQuery* tq,
                                   std::string_view type, std::string_view value, uint32_t sid, Timestamp at) const {
  if (sid == kNone && is_suppressed_value(type, value)) return {false, ConsentReason::suppressed, 0};
  Eval r;
  if (sid == kNone) {
    r = evaluate({}, {}, e);
  } else if (tq && tq->usable) {
    const RecordRange& rr = subjects[sid].records;
    const consent_detail::TagEval te = evaluate_tags(sid, *tq);
    r = {te.reason, te.pos ? seqs_of(rr)[te.pos - 1] : 0};
  } else {
    r = evaluate(records_of(sid), {}, e);
  }
  if (r.allowed() && q.contact_rules) {
    uint32_t group[1] = {sid};
    ConsentReason cr = contact_rules(std::span<const uint32_t>(group, sid == kNone ? 0 : 1), sid, q, at);
    if (cr != ConsentReason::granted) return {false, cr, r.seq};
  }
  return {r.allowed(), r.reason, r.seq};
}

ConsentCheck Consent::check(const ConsentQuery& q, std::string_view type, std::string_view value, Timestamp at) const {
  const Impl& m = *impl_;
  EvalQuery e = m.make_eval(q, at);
  auto tit = m.type_ids.find(std::string(type));
  std::string normalized;
  std::string_view v = value;
  if (m.graph || type == kPersonType) {
    normalized = m.normalize(type, value);
    v = normalized;
  }
  uint32_t sid = tit == m.type_ids.end() ? kNone : m.find_subject(tit->second, v);
  return m.answer(q, e, nullptr, type, v, sid, at);
}

ConsentCheck Consent::check(const ConsentSubject& subject, std::string_view purpose, std::string_view channel,
                            Timestamp at, const CheckOptions& options) const {
  return check(prepare(purpose, channel, options), subject.type, subject.value, at);
}

void Consent::check_many(const ConsentQuery& q, std::string_view type, std::span<const std::string_view> values,
                         Timestamp at, ConsentCheck* out) const {
  const Impl& m = *impl_;
  if (!out && !values.empty()) throw InvalidArgument("check_many: out is null");
  auto tit = m.type_ids.find(std::string(type));
  if (tit == m.type_ids.end() || m.slots.empty()) {
    for (size_t i = 0; i < values.size(); ++i) out[i] = check(q, type, values[i], at);
    return;
  }
  const bool normalize = m.graph || type == kPersonType;
  const EvalQuery e = m.make_eval(q, at);
  const TagQuery tq = m.make_tag_query(e);
  const uint16_t t = tit->second;
  const size_t mask = m.slots.size() - 1;
  // Each check is three dependent cache misses on a large ledger: slot,
  // subject, then the subject's tags and sequence numbers (its records for a
  // time inside the ledger). A block of checks goes through them stage by
  // stage, prefetching the next stage's lines for every check of the block,
  // so the misses overlap instead of adding up. (Pipelining the stages across
  // blocks was measured slower: too many lines in flight.)
  constexpr size_t kBlock = 16;
  uint64_t h[kBlock];
  size_t candidate[kBlock];
  uint32_t sid[kBlock];
  std::string normalized[kBlock];
  std::string_view block[kBlock];
  for (size_t base = 0; base < values.size(); base += kBlock) {
    const size_t k = std::min(kBlock, values.size() - base);
    const std::string_view* v = values.data() + base;
    if (normalize) {
      for (size_t i = 0; i < k; ++i) {
        normalized[i] = m.normalize(type, v[i]);
        block[i] = normalized[i];
      }
      v = block;
    }
    for (size_t i = 0; i < k; ++i) {
      h[i] = hash_identifier(t, v[i]);
      __builtin_prefetch(&m.slots[h[i] & mask]);
    }
    for (size_t i = 0; i < k; ++i) {
      candidate[i] = m.first_candidate(h[i]);
      if (candidate[i] != Impl::kNoSlot) __builtin_prefetch(&m.subjects[Impl::slot_id(m.slots[candidate[i]])]);
    }
    for (size_t i = 0; i < k; ++i) {
      sid[i] = m.find_subject_from(candidate[i], t, v[i], h[i]);
      if (sid[i] == kNone) continue;
      const RecordRange& rr = m.subjects[sid[i]].records;
      if (!rr.size) continue;
      if (tq.usable) {  // the tags and the numbers, usually adjacent
        consent_detail::prefetch_span(m.tags_of(rr), rr.size * sizeof(uint64_t));
        consent_detail::prefetch_span(m.seqs_of(rr), rr.size * sizeof(uint64_t));
      } else {
        consent_detail::prefetch_span(m.record_pool.data() + rr.begin, rr.size * sizeof(IndexRecord));
      }
    }
    for (size_t i = 0; i < k; ++i) out[base + i] = m.answer(q, e, &tq, type, v[i], sid[i], at);
  }
}

void Consent::check_many(std::string_view type, std::span<const std::string_view> values, std::string_view purpose,
                         std::string_view channel, Timestamp at, ConsentCheck* out, const CheckOptions& options) const {
  check_many(prepare(purpose, channel, options), type, values, at, out);
}

// ---- identity ---------------------------------------------------------------------------

void Consent::attach_identity(IdentityGraph& graph) {
  detach_identity();
  impl_->graph = &graph;
  impl_->listener = std::make_unique<Impl::Listener>(impl_.get());
  graph.add_listener(impl_->listener.get());
  std::lock_guard<std::mutex> lock(impl_->map_mu);
  impl_->map_dirty = true;
  impl_->subject_identifier.clear();
}

void Consent::detach_identity() noexcept {
  if (impl_ && impl_->graph && impl_->listener) impl_->graph->remove_listener(impl_->listener.get());
  if (impl_) {
    impl_->graph = nullptr;
    impl_->listener.reset();
  }
}

void Consent::attach_profiles(ProfileStore& store) { impl_->profiles = &store; }
void Consent::detach_profiles() noexcept { impl_->profiles = nullptr; }

void Consent::Impl::ensure_mapping() const {
  if (!graph) throw StateError("consent: person-level checks need an identity graph (attach_identity)");
  std::lock_guard<std::mutex> lock(map_mu);
  // Merges, splits and erasures are announced to the listener; identifiers
  // added or dropped without one show in the counts.
  const uint64_t change = graph->last_change();
  const uint32_t capacity = graph->identifier_capacity();
  const uint64_t live = graph->stats().identifiers;
  if (!map_dirty && change == map_change && capacity == map_capacity && live == map_live) return;
  std::vector<PersonOrdinal> part = graph->partition();
  const uint32_t n_persons = graph->ordinal_capacity();
  std::vector<uint32_t> person_of(subjects.size(), kNone);
  subject_identifier.resize(subjects.size(), kNoIdentifier);
  std::vector<TypeId> graph_types(type_names.size(), kNoType);
  for (size_t t = 0; t < type_names.size(); ++t) graph_types[t] = graph->type_id(type_names[t]);
  for (size_t id = 0; id < subjects.size(); ++id) {
    const Subject& s = subjects[id];
    if (!s.live) continue;
    PersonOrdinal ord = kNoPerson;
    if (s.type == person_type) {
      auto o = graph->ordinal_of_key(std::stoull(s.value));
      if (o) ord = *o;
    } else {
      const TypeId gt = graph_types[s.type];
      if (gt == kNoType) continue;
      IdentifierId& ident = subject_identifier[id];
      if (ident == kNoIdentifier) {
        if (auto i = graph->identifier_id(gt, s.value)) ident = *i;
      }
      if (ident != kNoIdentifier && ident < part.size()) ord = part[ident];
    }
    if (ord == kNoPerson || ord >= n_persons) continue;
    person_of[id] = ord;
  }
  person_subject_begin.assign(size_t{n_persons} + 1, 0);
  for (uint32_t ord : person_of) {
    if (ord != kNone) ++person_subject_begin[ord + 1];
  }
  for (size_t o = 0; o < n_persons; ++o) person_subject_begin[o + 1] += person_subject_begin[o];
  person_subjects.resize(person_subject_begin.back());
  {
    std::vector<uint32_t> fill(person_subject_begin.begin(), person_subject_begin.end() - 1);
    for (size_t id = 0; id < person_of.size(); ++id) {
      if (person_of[id] != kNone) person_subjects[fill[person_of[id]]++] = static_cast<uint32_t>(id);
    }
  }
  map_dirty = false;
  map_change = change;
  map_capacity = capacity;
  map_live = live;
}

PersonQuery Consent::Impl::prepare_person(const ConsentQuery& q, Timestamp at) const {
  PersonQuery pq;
  pq.q = q;
  pq.at = at;
  pq.e = make_eval(q, at);
  const Channel& ch = channels[q.channel];
  pq.typed_channel = !ch.spec.identifier_types.empty();
  pq.channel_type.resize(type_names.size());
  for (size_t t = 0; t < type_names.size(); ++t) pq.channel_type[t] = ch.receives(type_names[t]);
  pq.no_records = evaluate({}, {}, pq.e);
  return pq;
}

void Consent::Impl::check_person_impl(uint32_t person, const PersonQuery& pq, bool with_identifiers,
                                      PersonScratch& sc, PersonConsentCheck& out) const {
  out.allowed = false;
  out.reason = ConsentReason::no_consent;
  out.record = 0;
  out.contactable.clear();
  const ConsentQuery& q = pq.q;
  const Timestamp at = pq.at;
  const EvalQuery& e = pq.e;
  const Channel& ch = channels[q.channel];
  const bool typed_channel = pq.typed_channel;
  auto subject_channel_type = [&](uint32_t sid) { return pq.channel_type[subjects[sid].type] != 0; };

  // The person's subjects: person keys (their records apply to every
  // identifier) and identifiers.
  sc.group.clear();
  sc.ids.clear();
  sc.allowed.clear();
  sc.person_records.clear();
  for (uint32_t s : subjects_of_person(person)) {
    sc.group.push_back(s);
    if (subjects[s].type == person_type) {
      sc.person_records.push_back(records_of(s));
    } else {
      sc.ids.push_back(s);
    }
  }
  const size_t n_person = sc.person_records.size();
  auto eval_person_only = [&]() -> Eval {
    if (n_person == 0) return pq.no_records;
    if (n_person == 1) return evaluate(sc.person_records[0], {}, e);
    return evaluate_many(sc.person_records, e);
  };
  auto eval_with_person = [&](uint32_t sid) -> Eval {
    if (n_person == 0) return evaluate(records_of(sid), {}, e);
    if (n_person == 1) return evaluate(records_of(sid), sc.person_records[0], e);
    sc.all.assign(sc.person_records.begin(), sc.person_records.end());
    sc.all.push_back(records_of(sid));
    return evaluate_many(sc.all, e);
  };

  BestDeny deny;
  auto note_allow = [&](const Eval& r) {
    if (!out.allowed || r.seq > out.record) {
      out.record = r.seq;
      out.reason = r.reason;
    }
    out.allowed = true;  // provisional: contact rules and identifiers decide below
  };

  const PersonRule rule = options.person_rule;
  bool any_channel_identifier = false;
  if (rule == PersonRule::pooled) {
    sc.all.assign(sc.person_records.begin(), sc.person_records.end());
    for (uint32_t sid : sc.ids) sc.all.push_back(records_of(sid));
    Eval r = evaluate_many(sc.all, e);
    if (!r.allowed()) {
      out.reason = r.reason;
      out.record = r.seq;
      return;
    }
    for (uint32_t sid : sc.ids) {
      if (!subject_channel_type(sid)) continue;
      any_channel_identifier = true;
      sc.allowed.push_back(sid);
    }
    note_allow(r);
  } else {
    for (uint32_t sid : sc.ids) {
      Eval r = eval_with_person(sid);
      const bool is_channel = subject_channel_type(sid);
      any_channel_identifier |= is_channel;
      if (!r.allowed()) {
        if (rule == PersonRule::strict && r.explicit_deny()) {
          out.allowed = false;
          out.reason = r.reason;
          out.record = r.seq;
          return;
        }
        if (is_channel) deny.note(r);
        continue;
      }
      if (!is_channel) continue;
      sc.allowed.push_back(sid);
      note_allow(r);
    }
  }

  // Identifiers without records of their own follow the person-level records
  // (or the jurisdiction's default): contactable when those allow.
  const Eval person_only = rule == PersonRule::pooled && out.allowed ? Eval{out.reason, out.record} : eval_person_only();
  bool queried_graph = false;
  size_t extra_begin = out.contactable.size();
  size_t extra_count = 0;
  if (person_only.allowed()) {
    if (typed_channel && graph) {
      queried_graph = true;
      for (const IdentifierInfo& info : graph->identifiers_of(person)) {
        if (info.blocked || !ch.receives(info.type_name)) continue;
        any_channel_identifier = true;
        auto t = type_ids.find(info.type_name);
        if (t != type_ids.end() && find_subject(t->second, info.value) != kNone) continue;  // evaluated above
        if (!q.contact_rules || contact_rules(sc.group, kNone, q, at) == ConsentReason::granted) {
          ++extra_count;
          if (with_identifiers) out.contactable.push_back({info.type_name, info.value});
        }
      }
      if (extra_count > 0) note_allow(person_only);
    } else if (!typed_channel) {
      note_allow(person_only);
    }
  } else {
    deny.note(person_only);
  }
  (void)extra_begin;

  if (!out.allowed) {
    if (!graph->key_of(person)) {
      out.reason = ConsentReason::unknown_person;
      out.record = 0;
    } else if (queried_graph && !any_channel_identifier) {
      out.reason = ConsentReason::no_identifier;
      out.record = 0;
    } else {
      out.reason = deny.best.reason;
      out.record = deny.best.seq;
    }
    return;
  }

  // Contact rules per contactable identifier (its own preferences, else the
  // person's, else the defaults); caps count the whole person.
  ConsentReason rule_reason = ConsentReason::granted;
  auto passes = [&](uint32_t sid) {
    if (!q.contact_rules) return true;
    uint32_t own = sid;
    if (!prefs_of(own)) {
      for (uint32_t s : sc.group) {
        if (subjects[s].type == person_type && prefs_of(s)) own = s;
      }
    }
    ConsentReason r = contact_rules(sc.group, own, q, at);
    if (r != ConsentReason::granted) {
      rule_reason = r;
      return false;
    }
    return true;
  };
  size_t contactable = extra_count;
  for (uint32_t sid : sc.allowed) {
    if (!passes(sid)) continue;
    ++contactable;
    if (with_identifiers) out.contactable.push_back({type_names[subjects[sid].type], subjects[sid].value});
  }
  // An untyped channel ("*", mail) allowed by person-level records alone.
  if (!typed_channel && sc.allowed.empty() && contactable == 0 && passes(kNone)) contactable = 1;
  if (contactable == 0) {
    out.allowed = false;
    out.reason = rule_reason == ConsentReason::granted ? ConsentReason::no_identifier : rule_reason;
  }
}

PersonConsentCheck Consent::check_person(uint32_t person, std::string_view purpose, std::string_view channel,
                                         Timestamp at, const CheckOptions& options) const {
  ConsentQuery q = prepare(purpose, channel, options);
  impl_->ensure_mapping();
  PersonScratch sc;
  PersonConsentCheck out;
  impl_->check_person_impl(person, impl_->prepare_person(q, at), true, sc, out);
  return out;
}

}  // namespace cdpcore
