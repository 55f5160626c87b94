// Loading the in-memory index from the workspace: subjects, records (in
// subject order, with their tags), the ledger head, suppression,
// preferences and contacts.
#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cdpcore/consent.hpp"
#include "cdpcore/error.hpp"
#include "consent/consent_impl.hpp"
#include "util/huge_pages.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

namespace cdpcore {

using namespace consent_detail;

namespace {

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

}  // namespace

void Consent::Impl::load() {
  sql::Database& db = database_of(*ws);
  sql::ReadSnapshot snapshot(db);  // one view of every table, whatever other connections commit
  load_taxonomy();

  // Fresh storage for the large arrays (not clear()): huge pages are only
  // granted to pages advised before their first touch.
  std::vector<Subject>().swap(subjects);
  std::vector<IndexRecord>().swap(record_pool);
  std::vector<uint64_t>().swap(record_tags);
  subject_identifier.clear();
  live_subjects = 0;
  suppressed.clear();
  prefs.clear();
  contacts.clear();
  {
    const int64_t max_id = db.query_int64("SELECT coalesce(max(id), 0) FROM consent_subjects");
    if (max_id < 0 || max_id >= int64_t{UINT32_MAX}) {
      throw CorruptError("consent_subjects: largest id " + std::to_string(max_id) + " is outside 0.." +
                         std::to_string(UINT32_MAX - 1));
    }
    // The index's large arrays are probed at random: huge pages (see util/huge_pages.hpp).
    util::reserve_huge(subjects, static_cast<size_t>(max_id) + 1);
    subjects.resize(static_cast<size_t>(max_id) + 1);
    auto st = db.prepare("SELECT id, type, value FROM consent_subjects");
    while (st.step()) {
      const int64_t raw_id = st.column_int64(0);
      if (raw_id < 0 || raw_id > max_id) {
        throw CorruptError("consent_subjects: row id " + std::to_string(raw_id) + " is outside 0.." +
                           std::to_string(max_id));
      }
      auto id = static_cast<size_t>(raw_id);
      Subject& s = subjects[id];
      s.type = intern_type(st.column_text(1));
      s.value = std::string(st.column_text(2));
      s.hash = hash_identifier(s.type, s.value);
      s.live = true;
      ++live_subjects;
    }
    subject_index.reset(SubjectIndex::capacity_for(live_subjects));
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

}  // namespace cdpcore
