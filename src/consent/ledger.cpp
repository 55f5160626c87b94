// The consent ledger's writes (append, import, GPC, erasure), reads (records,
// history, export), the hash chain, preferences and the contact log.
#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "cdpcore/consent.hpp"
#include "cdpcore/error.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/utf8.hpp"
#include "cdpcore/workspace.hpp"
#include "consent/consent_impl.hpp"
#include "util/names.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

namespace cdpcore {

using namespace consent_detail;

namespace {

void put_u64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_str(std::string& out, std::string_view s) {
  put_u64(out, s.size());
  out.append(s);
}

Sha256Digest chain(const Sha256Digest& prev, const std::string& canonical) {
  std::string buf(reinterpret_cast<const char*>(prev.data()), prev.size());
  buf += canonical;
  return sha256(buf);
}

std::string erasure_canonical(uint64_t seq, std::string_view keyed_hashes, std::string_view digest, Timestamp time,
                              Timestamp recorded_at) {
  std::string c;
  put_str(c, "cdpcore.consent.erasure.v1");
  put_u64(c, seq);
  put_str(c, keyed_hashes);
  put_str(c, digest);
  put_u64(c, static_cast<uint64_t>(time));
  put_u64(c, static_cast<uint64_t>(recorded_at));
  return c;
}

std::string seqs_digest(const std::vector<uint64_t>& seqs) {
  std::string b;
  for (uint64_t s : seqs) put_u64(b, s);
  return to_hex(sha256(b));
}

std::string at_index(size_t i) { return "record " + std::to_string(i) + ": "; }

void check_field(std::string_view s, size_t i, const char* field, size_t max, bool required) {
  if (auto bad = find_invalid_utf8(s)) {
    throw Utf8Error(at_index(i) + field + ": invalid UTF-8 at byte " + std::to_string(*bad), *bad);
  }
  if (required && s.empty()) throw InvalidArgument(at_index(i) + field + " is empty");
  if (s.size() > max) {
    throw InvalidArgument(at_index(i) + field + " is " + std::to_string(s.size()) + " bytes, longer than " +
                          std::to_string(max));
  }
}

nlohmann::json record_json(const StoredConsentRecord& r) {
  nlohmann::json j;
  j["seq"] = r.seq;
  j["hash"] = r.hash;
  if (r.erased_by) {
    j["erased_by"] = r.erased_by;
    return j;
  }
  if (r.is_erasure_entry) {
    j["erasure"] = true;
    j["time"] = format_iso8601(r.record.time);
    return j;
  }
  j["subject"] = {{"type", r.record.subject.type}, {"value", r.record.subject.value}};
  j["purpose"] = r.record.purpose;
  j["channel"] = r.record.channel;
  j["decision"] = consent_decision_name(r.record.decision);
  j["time"] = format_iso8601(r.record.time);
  j["expiry"] = r.record.expiry == kNoExpiry ? nlohmann::json(nullptr) : nlohmann::json(format_iso8601(r.record.expiry));
  j["source"] = r.record.source;
  j["legal_basis"] = legal_basis_name(r.record.legal_basis);
  j["policy_version"] = r.record.policy_version;
  j["proof"] = {{"method", r.record.proof.method},
                {"location", r.record.proof.location},
                {"reference", r.record.proof.reference}};
  j["recorded_at"] = format_iso8601(r.recorded_at);
  return j;
}

constexpr std::string_view kSelectRecord =
    "SELECT l.seq, s.type, s.value, l.purpose_id, l.channel_id, l.decision, l.time, l.expiry, l.source, "
    "l.legal_basis, l.policy_version, l.proof_method, l.proof_location, l.proof_reference, l.recorded_at, "
    "l.erased_by, l.hash, l.subject_id FROM consent_ledger l LEFT JOIN consent_subjects s ON s.id = l.subject_id ";

}  // namespace

std::string Consent::Impl::canonical(uint64_t seq, std::string_view type, std::string_view value,
                                     std::string_view purpose, std::string_view channel, int decision, Timestamp time,
                                     Timestamp expiry, std::string_view source, int basis, std::string_view policy,
                                     const ConsentProof& proof, Timestamp recorded_at) const {
  std::string c;
  c.reserve(160 + value.size() + policy.size() + proof.method.size() + proof.location.size() + proof.reference.size());
  put_str(c, "cdpcore.consent.v1");
  put_u64(c, seq);
  put_str(c, type);
  put_str(c, value);
  put_str(c, purpose);
  put_str(c, channel);
  put_u64(c, static_cast<uint64_t>(decision));
  put_u64(c, static_cast<uint64_t>(time));
  put_u64(c, static_cast<uint64_t>(expiry));
  put_str(c, source);
  put_u64(c, static_cast<uint64_t>(basis));
  put_str(c, policy);
  put_str(c, proof.method);
  put_str(c, proof.location);
  put_str(c, proof.reference);
  put_u64(c, static_cast<uint64_t>(recorded_at));
  return c;
}

void Consent::Impl::save_head() {
  ws->set_setting("consent.chain_head", std::to_string(last_seq) + ":" + to_hex(last_hash));
}

// ---- append / import -------------------------------------------------------------

uint64_t Consent::Impl::append_records(std::span<const ConsentRecord> records, Timestamp now,
                                       const ImportOptions& opt, ImportReport* report) {
  if (ws->read_only()) throw StateError("consent: the workspace is read-only");
  struct Pending {
    uint32_t subject;
    uint16_t type;
    std::string value;  // normalised
    IndexRecord rec;
    size_t index;
  };
  std::vector<Pending> pending;
  pending.reserve(records.size());
  struct NewSubject {
    uint16_t type;
    std::string value;
  };
  std::vector<NewSubject> new_subjects;
  std::unordered_map<std::string, uint32_t> new_subject_ids;  // type \0 value → id
  struct Key {
    uint32_t subject;
    uint16_t purpose;
    uint8_t channel;
    Timestamp time;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept {
      return std::hash<uint64_t>()((uint64_t{k.subject} << 24) ^ (uint64_t{k.purpose} << 8) ^ k.channel) ^
             std::hash<int64_t>()(k.time) * 31;
    }
  };
  std::unordered_map<Key, std::pair<uint8_t, size_t>, KeyHash> batch_keys;
  uint64_t suppressed_count = 0;
  uint64_t invalid_count = 0;
  const uint32_t first_new_id = static_cast<uint32_t>(subjects.size());
  const uint64_t total = records.size();
  auto progress = [&](uint64_t done) {
    if (opt.progress && !opt.progress(done, total * 2)) throw Cancelled("consent import cancelled; nothing applied");
  };
  std::vector<std::string> new_type_names;  // interned only after commit

  for (size_t i = 0; i < records.size(); ++i) {
    if ((i & 8191) == 0) progress(i);
    const ConsentRecord& r = records[i];
    check_field(r.subject.type, i, "subject type", 64, true);
    check_field(r.subject.value, i, "subject value", 1023, true);
    check_field(r.source, i, "source", 64, true);
    check_field(r.policy_version, i, "policy_version", 256, false);
    check_field(r.proof.method, i, "proof method", 2048, false);
    check_field(r.proof.location, i, "proof location", 2048, false);
    check_field(r.proof.reference, i, "proof reference", 2048, false);
    std::string value;
    try {
      value = normalize(r.subject.type, r.subject.value);
    } catch (const Error& e) {
      if (opt.skip_invalid_subjects) {
        ++invalid_count;
        continue;
      }
      throw InvalidArgument(at_index(i) + "subject " + r.subject.type + " \"" + r.subject.value + "\": " + e.what());
    }
    uint16_t purpose, channel;
    try {
      purpose = purpose_id(r.purpose);
      channel = channel_id(r.channel);
    } catch (const Error& e) {
      throw InvalidArgument(at_index(i) + e.what());
    }
    const auto d = static_cast<uint8_t>(r.decision);
    if (d < 1 || d > 4) throw InvalidArgument(at_index(i) + "decision " + std::to_string(d) + " is not valid");
    const auto b = static_cast<uint8_t>(r.legal_basis);
    if (b < 1 || b > 6) throw InvalidArgument(at_index(i) + "legal_basis " + std::to_string(b) + " is not valid");
    if (r.time > now && r.time - now > options.future_tolerance) {
      throw InvalidArgument(at_index(i) + "time " + format_iso8601(r.time) + " is in the future (now " +
                            format_iso8601(now) + ", tolerance " +
                            std::to_string(options.future_tolerance / kMicrosPerSecond) + " s)");
    }
    if (r.expiry != kNoExpiry && r.expiry <= r.time) {
      throw InvalidArgument(at_index(i) + "expiry " + format_iso8601(r.expiry) + " is not after its time " +
                            format_iso8601(r.time));
    }
    if (is_suppressed_value(r.subject.type, value)) {
      if (opt.skip_suppressed) {
        ++suppressed_count;
        continue;
      }
      throw Conflict(at_index(i) + "subject " + r.subject.type + " was erased and is suppressed");
    }
    // Resolve the subject (an existing one, or new in this batch).
    uint32_t sid = kNone;
    uint16_t type = 0;
    auto tit = type_ids.find(r.subject.type);
    if (tit != type_ids.end()) {
      type = tit->second;
      sid = find_subject(type, value);
    } else {
      auto nit = std::find(new_type_names.begin(), new_type_names.end(), r.subject.type);
      if (nit == new_type_names.end()) {
        new_type_names.push_back(r.subject.type);
        nit = new_type_names.end() - 1;
      }
      type = static_cast<uint16_t>(type_names.size() + static_cast<size_t>(nit - new_type_names.begin()));
    }
    if (sid == kNone) {
      std::string key = r.subject.type;
      key.push_back('\0');
      key += value;
      auto it = new_subject_ids.find(key);
      if (it != new_subject_ids.end()) {
        sid = it->second;
      } else {
        sid = first_new_id + static_cast<uint32_t>(new_subjects.size());
        new_subjects.push_back({type, value});
        new_subject_ids.emplace(std::move(key), sid);
      }
    }
    // Contradictions: the same subject, purpose, channel and time with
    // another decision, in this batch or in the ledger.
    Key k{sid, purpose, static_cast<uint8_t>(channel), r.time};
    auto [it, inserted] = batch_keys.emplace(k, std::make_pair(d, i));
    if (!inserted && it->second.first != d) {
      throw Conflict(at_index(i) + "contradicts record " + std::to_string(it->second.second) + " of the batch (" +
                     consent_decision_name(r.decision) + " vs " +
                     consent_decision_name(static_cast<ConsentDecision>(it->second.first)) + " for the same subject, " +
                     "purpose, channel and time)");
    }
    if (sid < first_new_id) {
      for (const IndexRecord& x : records_of(sid)) {
        if (x.time == r.time && x.purpose == purpose && x.channel == channel && x.decision != d) {
          throw Conflict(at_index(i) + "contradicts ledger record " + std::to_string(x.seq) + " (" +
                         consent_decision_name(r.decision) + " vs " +
                         consent_decision_name(static_cast<ConsentDecision>(x.decision)) +
                         " for the same subject, purpose, channel and time)");
        }
      }
    }
    IndexRecord rec{r.time, r.expiry, 0, purpose, static_cast<uint8_t>(channel), d, b};
    pending.push_back({sid, type, std::move(value), rec, i});
  }

  // Write everything in one transaction.
  sql::Database& db = database_of(*ws);
  sql::Transaction tx(db);
  {
    auto& ins = db.cached("INSERT INTO consent_subjects(id, type, value) VALUES (?, ?, ?)");
    for (size_t j = 0; j < new_subjects.size(); ++j) {
      const NewSubject& ns = new_subjects[j];
      const std::string& tname =
          ns.type < type_names.size() ? type_names[ns.type] : new_type_names[ns.type - type_names.size()];
      ins.bind_all(static_cast<int64_t>(first_new_id + j), tname, ns.value);
      ins.run();
    }
  }
  uint64_t seq = last_seq;
  Sha256Digest head = last_hash;
  {
    auto& ins = db.cached(
        "INSERT INTO consent_ledger(seq, subject_id, purpose_id, channel_id, decision, time, expiry, source, "
        "legal_basis, policy_version, proof_method, proof_location, proof_reference, recorded_at, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (size_t j = 0; j < pending.size(); ++j) {
      if ((j & 8191) == 0) progress(total + j);
      Pending& p = pending[j];
      const ConsentRecord& r = records[p.index];
      p.rec.seq = ++seq;
      const std::string& tname = p.type < type_names.size() ? type_names[p.type] : new_type_names[p.type - type_names.size()];
      head = chain(head, canonical(seq, tname, p.value, purposes[p.rec.purpose].spec.name,
                                   channels[p.rec.channel].spec.name, p.rec.decision, r.time, r.expiry, r.source,
                                   p.rec.basis, r.policy_version, r.proof, now));
      ins.bind(1, static_cast<int64_t>(seq));
      ins.bind(2, static_cast<int64_t>(p.subject));
      ins.bind(3, static_cast<int64_t>(p.rec.purpose));
      ins.bind(4, static_cast<int64_t>(p.rec.channel));
      ins.bind(5, static_cast<int64_t>(p.rec.decision));
      ins.bind(6, r.time);
      if (r.expiry == kNoExpiry) ins.bind_null(7);
      else ins.bind(7, r.expiry);
      ins.bind(8, r.source);
      ins.bind(9, static_cast<int64_t>(p.rec.basis));
      ins.bind(10, r.policy_version);
      ins.bind(11, r.proof.method);
      ins.bind(12, r.proof.location);
      ins.bind(13, r.proof.reference);
      ins.bind(14, now);
      ins.bind_blob(15, std::span<const uint8_t>(head.data(), head.size()));
      ins.run();
    }
  }
  const uint64_t old_seq = last_seq;
  const Sha256Digest old_hash = last_hash;
  last_seq = seq;
  last_hash = head;
  try {
    save_head();
    progress(total * 2);
    tx.commit();
  } catch (...) {
    last_seq = old_seq;
    last_hash = old_hash;
    throw;
  }

  // Committed: apply to the index.
  for (const auto& t : new_type_names) intern_type(t);
  if (!new_subjects.empty()) {
    subjects.resize(first_new_id + new_subjects.size());
    for (size_t j = 0; j < new_subjects.size(); ++j) {
      Subject& s = subjects[first_new_id + j];
      s.type = new_subjects[j].type;
      s.value = std::move(new_subjects[j].value);
      s.hash = hash_identifier(s.type, s.value);
      s.live = true;
      ++live_subjects;
      insert_slot(first_new_id + static_cast<uint32_t>(j));
    }
    std::lock_guard<std::mutex> lock(map_mu);
    map_dirty = true;
  }
  for (const Pending& p : pending) {
    insert_record(p.subject, p.rec);
  }
  if (report) {
    report->appended = pending.size();
    report->suppressed = suppressed_count;
    report->invalid = invalid_count;
    report->first_seq = pending.empty() ? 0 : old_seq + 1;
    report->last_seq = pending.empty() ? 0 : seq;
  }
  return pending.empty() ? 0 : seq;
}

uint64_t Consent::append(const ConsentRecord& record, Timestamp now) {
  ImportOptions opt;
  opt.skip_suppressed = true;
  ImportReport rep;
  impl_->append_records(std::span<const ConsentRecord>(&record, 1), now, opt, &rep);
  return rep.last_seq;
}

ImportReport Consent::import(std::span<const ConsentRecord> records, Timestamp now, const ImportOptions& options) {
  ImportReport rep;
  impl_->append_records(records, now, options, &rep);
  return rep;
}

uint64_t Consent::record_gpc(const ConsentSubject& subject, Timestamp at, Timestamp now, const ConsentProof& proof) {
  ConsentRecord a;
  a.subject = subject;
  a.purpose = "third_party_sharing";
  a.channel = "*";
  a.decision = ConsentDecision::withdrawn;
  a.time = at;
  a.source = "gpc";
  a.proof = proof;
  if (a.proof.method.empty()) a.proof.method = "Sec-GPC: 1";
  ConsentRecord b = a;
  b.purpose = "*";
  b.channel = "ads";
  ConsentRecord both[2] = {a, b};
  ImportReport rep = import(both, now);
  return rep.last_seq;
}

uint64_t Consent::size() const noexcept { return impl_->last_seq; }

// ---- reads ----------------------------------------------------------------------------

namespace {
StoredConsentRecord read_row(const sql::Statement& st, const Consent::Impl& m) {
  StoredConsentRecord out;
  out.seq = static_cast<uint64_t>(st.column_int64(0));
  auto blob = st.column_blob(16);
  if (blob.size() == 32) {
    Sha256Digest d{};
    std::memcpy(d.data(), blob.data(), 32);
    out.hash = to_hex(d);
  }
  if (!st.is_null(15)) {
    out.erased_by = static_cast<uint64_t>(st.column_int64(15));
    return out;
  }
  if (st.is_null(17)) {
    out.is_erasure_entry = true;
    out.record.time = st.column_int64(6);
    out.record.source = std::string(st.column_text(8));
    out.recorded_at = st.column_int64(14);
    return out;
  }
  ConsentRecord& r = out.record;
  r.subject.type = std::string(st.column_text(1));
  r.subject.value = std::string(st.column_text(2));
  auto p = static_cast<size_t>(st.column_int64(3));
  auto c = static_cast<size_t>(st.column_int64(4));
  r.purpose = p < m.purposes.size() ? m.purposes[p].spec.name : "?";
  r.channel = c < m.channels.size() ? m.channels[c].spec.name : "?";
  r.decision = static_cast<ConsentDecision>(st.column_int64(5));
  r.time = st.column_int64(6);
  r.expiry = st.is_null(7) ? kNoExpiry : st.column_int64(7);
  r.source = std::string(st.column_text(8));
  r.legal_basis = static_cast<LegalBasis>(st.column_int64(9));
  r.policy_version = std::string(st.column_text(10));
  r.proof.method = std::string(st.column_text(11));
  r.proof.location = std::string(st.column_text(12));
  r.proof.reference = std::string(st.column_text(13));
  out.recorded_at = st.column_int64(14);
  return out;
}
}  // namespace

std::optional<StoredConsentRecord> Consent::get(uint64_t seq) const {
  auto st = database_of(*impl_->ws).prepare(std::string(kSelectRecord) + "WHERE l.seq = ?");
  st.bind(1, static_cast<int64_t>(seq));
  if (!st.step()) return std::nullopt;
  return read_row(st, *impl_);
}

std::vector<StoredConsentRecord> Consent::history(const ConsentSubject& subject) const {
  const Impl& m = *impl_;
  std::vector<StoredConsentRecord> out;
  std::string v = m.normalize(subject.type, subject.value);
  auto tit = m.type_ids.find(subject.type);
  if (tit == m.type_ids.end()) return out;
  uint32_t sid = m.find_subject(tit->second, v);
  if (sid == kNone) return out;
  auto st = database_of(*m.ws).prepare(std::string(kSelectRecord) + "WHERE l.subject_id = ? ORDER BY l.seq");
  st.bind(1, static_cast<int64_t>(sid));
  while (st.step()) out.push_back(read_row(st, m));
  return out;
}

// ---- hash chain --------------------------------------------------------------------------

ChainVerification Consent::verify_chain() const {
  const Impl& m = *impl_;
  ChainVerification v;
  auto fail = [&](uint64_t seq, std::string problem) {
    if (v.ok || seq < v.first_bad) {
      v.ok = false;
      v.first_bad = seq;
      v.problem = std::move(problem);
    }
  };
  auto st = database_of(*m.ws).prepare(std::string(kSelectRecord) + "ORDER BY l.seq");
  Sha256Digest prev{};
  uint64_t expect = 1;
  std::map<uint64_t, std::vector<uint64_t>> tombstones;  // erasure entry → erased seqs
  std::map<uint64_t, std::pair<std::string, uint64_t>> erasures;  // seq → (digest, index)
  while (st.step()) {
    const auto seq = static_cast<uint64_t>(st.column_int64(0));
    ++v.records;
    if (seq != expect) {
      fail(expect, "record " + std::to_string(expect) + " is missing (the ledger jumps from " +
                       std::to_string(expect - 1) + " to " + std::to_string(seq) + ")");
      if (!v.ok) break;
    }
    expect = seq + 1;
    auto blob = st.column_blob(16);
    Sha256Digest stored{};
    if (blob.size() != 32) {
      fail(seq, "record " + std::to_string(seq) + " has no 32-byte hash");
      break;
    }
    std::memcpy(stored.data(), blob.data(), 32);
    if (!st.is_null(15)) {
      // Content erased: the stored hash carries the chain on.
      const auto by = static_cast<uint64_t>(st.column_int64(15));
      if (by <= seq) fail(seq, "record " + std::to_string(seq) + " claims an erasure entry before it");
      tombstones[by].push_back(seq);
      prev = stored;
      continue;
    }
    Sha256Digest expected{};
    if (st.is_null(17)) {
      if (st.is_null(5) || st.column_int64(5) != 0) {
        fail(seq, "record " + std::to_string(seq) + " has lost its subject");
        prev = stored;
        continue;
      }
      std::string digest(st.column_text(10));
      erasures[seq] = {digest, seq};
      expected = chain(prev, erasure_canonical(seq, st.column_text(13), digest, st.column_int64(6),
                                               st.column_int64(14)));
    } else {
      if (st.is_null(1)) {
        fail(seq, "record " + std::to_string(seq) + " refers to a subject that does not exist");
        prev = stored;
        continue;
      }
      auto p = static_cast<size_t>(st.column_int64(3));
      auto c = static_cast<size_t>(st.column_int64(4));
      std::string pname = p < m.purposes.size() ? m.purposes[p].spec.name : "?" + std::to_string(p);
      std::string cname = c < m.channels.size() ? m.channels[c].spec.name : "?" + std::to_string(c);
      ConsentProof proof{std::string(st.column_text(11)), std::string(st.column_text(12)),
                         std::string(st.column_text(13))};
      expected = chain(prev, m.canonical(seq, st.column_text(1), st.column_text(2), pname, cname,
                                         static_cast<int>(st.column_int64(5)), st.column_int64(6),
                                         st.is_null(7) ? kNoExpiry : st.column_int64(7), st.column_text(8),
                                         static_cast<int>(st.column_int64(9)), st.column_text(10), proof,
                                         st.column_int64(14)));
    }
    if (expected != stored) {
      fail(seq, "record " + std::to_string(seq) + " does not match its hash (edited, or a record before it was)");
    }
    prev = stored;
  }
  for (const auto& [by, seqs] : tombstones) {
    auto it = erasures.find(by);
    if (it == erasures.end()) {
      fail(seqs.front(), "record " + std::to_string(seqs.front()) + " was erased by " + std::to_string(by) +
                             ", which is not an erasure entry");
      continue;
    }
    if (seqs_digest(seqs) != it->second.first) {
      fail(seqs.front(), "the records erased by entry " + std::to_string(by) + " are not the ones it lists (from " +
                             std::to_string(seqs.front()) + ")");
    }
  }
  for (const auto& [seq, e] : erasures) {
    if (!tombstones.count(seq) && e.first != seqs_digest({})) {
      fail(seq, "erasure entry " + std::to_string(seq) + " lists records that are not erased");
    }
  }
  // The head written with the last batch: a truncated tail is detected here.
  if (auto head = m.ws->setting("consent.chain_head")) {
    auto colon = head->find(':');
    uint64_t head_seq = colon == std::string::npos ? 0 : std::stoull(head->substr(0, colon));
    std::string head_hash = colon == std::string::npos ? "" : head->substr(colon + 1);
    if (head_seq != expect - 1) {
      fail(std::min(head_seq, expect), "the ledger ends at record " + std::to_string(expect - 1) +
                                           " but the chain head says " + std::to_string(head_seq));
    } else if (head_seq > 0 && head_hash != to_hex(prev)) {
      fail(head_seq, "record " + std::to_string(head_seq) + " (the last) does not match the chain head");
    }
  }
  return v;
}

// ---- preferences and contacts --------------------------------------------------------------

namespace {
Prefs parse_prefs(const Consent::Impl& m, const ContactPreferences& p, const Workspace& ws) {
  (void)ws;
  Prefs out;
  out.spec = p;
  for (const auto& c : p.preferred_channels) out.preferred.push_back(m.channel_id(c));
  for (const auto& t : p.topics) {
    require_utf8(t, "topic");
    if (t.empty() || t.size() > 128) throw InvalidArgument("topic must be 1..128 bytes");
  }
  if (!p.time_zone.empty()) {
    require_utf8(p.time_zone, "time zone");
    out.tz = TimeZone::load(p.time_zone);
  }
  if (p.quiet_hours && (p.quiet_hours->start_minute > 1439 || p.quiet_hours->end_minute > 1439)) {
    throw InvalidArgument("quiet hours: minutes must be within 0..1439 (got " +
                          std::to_string(p.quiet_hours->start_minute) + ".." +
                          std::to_string(p.quiet_hours->end_minute) + ")");
  }
  for (const auto& c : p.caps) {
    if (c.period <= 0) throw InvalidArgument("frequency cap on \"" + c.channel + "\": period must be positive");
    out.caps.push_back({m.channel_id(c.channel), c.max_contacts, c.period});
  }
  return out;
}

// Finds or creates the subject row (in the caller's transaction); returns its id.
uint32_t subject_for_write(Consent::Impl& m, const ConsentSubject& subject, std::string* normalized, bool* created) {
  require_utf8(subject.type, "subject type");
  require_utf8(subject.value, "subject value");
  if (subject.type.empty() || subject.type.size() > util::kMaxNameBytes) {
    throw InvalidArgument("subject type must be 1.." + std::to_string(util::kMaxNameBytes) + " bytes");
  }
  if (subject.value.empty() || subject.value.size() > 1023) throw InvalidArgument("subject value must be 1..1023 bytes");
  *normalized = m.normalize(subject.type, subject.value);
  if (m.is_suppressed_value(subject.type, *normalized)) {
    throw StateError("subject " + subject.type + " was erased and is suppressed");
  }
  uint16_t type = m.intern_type(subject.type);
  uint32_t sid = m.find_subject(type, *normalized);
  *created = sid == kNone;
  if (sid == kNone) {
    sid = static_cast<uint32_t>(m.subjects.size());
    database_of(*m.ws)
        .cached("INSERT INTO consent_subjects(id, type, value) VALUES (?, ?, ?)")
        .bind_all(static_cast<int64_t>(sid), subject.type, *normalized)
        .run();
  }
  return sid;
}

void add_subject_in_memory(Consent::Impl& m, uint32_t sid, const ConsentSubject& subject, std::string normalized) {
  uint16_t type = m.intern_type(subject.type);
  m.subjects.resize(sid + 1);
  Subject& s = m.subjects[sid];
  s.type = type;
  s.value = std::move(normalized);
  s.hash = hash_identifier(type, s.value);
  s.live = true;
  ++m.live_subjects;
  m.insert_slot(sid);
  std::lock_guard<std::mutex> lock(m.map_mu);
  m.map_dirty = true;
}
}  // namespace

void Consent::set_preferences(const ConsentSubject& subject, const ContactPreferences& prefs, Timestamp at) {
  Impl& m = *impl_;
  Prefs parsed = parse_prefs(m, prefs, *m.ws);
  sql::Database& db = database_of(*m.ws);
  sql::Transaction tx(db);
  std::string normalized;
  bool created = false;
  uint32_t sid = subject_for_write(m, subject, &normalized, &created);
  db.cached("INSERT INTO consent_preferences(subject_id, spec, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(subject_id) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at")
      .bind_all(static_cast<int64_t>(sid), nlohmann::json{{"preferred_channels", prefs.preferred_channels},
                                                          {"topics", prefs.topics},
                                                          {"time_zone", prefs.time_zone},
                                                          {"quiet_hours",
                                                           prefs.quiet_hours
                                                               ? nlohmann::json{{"start_minute", prefs.quiet_hours->start_minute},
                                                                                {"end_minute", prefs.quiet_hours->end_minute}}
                                                               : nlohmann::json(nullptr)},
                                                          {"caps", [&] {
                                                             nlohmann::json a = nlohmann::json::array();
                                                             for (const auto& c : prefs.caps)
                                                               a.push_back({{"channel", c.channel},
                                                                            {"max_contacts", c.max_contacts},
                                                                            {"period", c.period}});
                                                             return a;
                                                           }()}}
                                                  .dump(),
                int64_t{at})
      .run();
  tx.commit();
  if (created) add_subject_in_memory(m, sid, subject, std::move(normalized));
  m.prefs[sid] = std::move(parsed);
  m.subjects[sid].has_prefs = true;
}

std::optional<ContactPreferences> Consent::preferences(const ConsentSubject& subject) const {
  const Impl& m = *impl_;
  auto tit = m.type_ids.find(subject.type);
  if (tit == m.type_ids.end()) return std::nullopt;
  uint32_t sid = m.find_subject(tit->second, m.normalize(subject.type, subject.value));
  const Prefs* p = m.prefs_of(sid);
  if (!p) return std::nullopt;
  return p->spec;
}

void Consent::set_default_preferences(const ContactPreferences& prefs) {
  Impl& m = *impl_;
  Prefs parsed = parse_prefs(m, prefs, *m.ws);
  parsed.preferred.clear();  // per subject only
  nlohmann::json j;
  j["time_zone"] = prefs.time_zone;
  j["quiet_hours"] = prefs.quiet_hours ? nlohmann::json{{"start_minute", prefs.quiet_hours->start_minute},
                                                        {"end_minute", prefs.quiet_hours->end_minute}}
                                       : nlohmann::json(nullptr);
  j["caps"] = nlohmann::json::array();
  for (const auto& c : prefs.caps) {
    j["caps"].push_back({{"channel", c.channel}, {"max_contacts", c.max_contacts}, {"period", c.period}});
  }
  m.ws->set_setting("consent.default_preferences", j.dump());
  parsed.spec.preferred_channels.clear();
  parsed.spec.topics.clear();
  m.default_prefs = std::move(parsed);
}

ContactPreferences Consent::default_preferences() const { return impl_->default_prefs.spec; }

void Consent::log_contact(const ConsentSubject& subject, std::string_view channel, Timestamp at) {
  Impl& m = *impl_;
  const uint16_t ch = m.channel_id(channel);
  if (ch == 0) throw InvalidArgument("log_contact: name the channel the message was sent on, not \"*\"");
  sql::Database& db = database_of(*m.ws);
  sql::Transaction tx(db);
  std::string normalized;
  bool created = false;
  uint32_t sid = subject_for_write(m, subject, &normalized, &created);
  db.cached("INSERT INTO consent_contacts(subject_id, channel_id, time) VALUES (?, ?, ?)")
      .bind_all(static_cast<int64_t>(sid), int64_t{ch}, int64_t{at})
      .run();
  tx.commit();
  if (created) add_subject_in_memory(m, sid, subject, std::move(normalized));
  auto& v = m.contacts[sid];
  Contact c{ch, at};
  v.insert(std::upper_bound(v.begin(), v.end(), c, [](const Contact& a, const Contact& b) { return a.time < b.time; }),
           c);
}

uint64_t Consent::contacts(const ConsentSubject& subject, std::string_view channel, Timestamp from,
                           Timestamp to) const {
  const Impl& m = *impl_;
  const uint16_t ch = m.channel_id(channel);
  auto tit = m.type_ids.find(subject.type);
  if (tit == m.type_ids.end()) return 0;
  uint32_t sid = m.find_subject(tit->second, m.normalize(subject.type, subject.value));
  auto it = m.contacts.find(sid);
  if (sid == kNone || it == m.contacts.end()) return 0;
  uint64_t n = 0;
  for (const Contact& c : it->second) {
    if (c.time >= from && c.time < to && (ch == 0 || c.channel == ch)) ++n;
  }
  return n;
}

// ---- rights requests ---------------------------------------------------------------------------

std::string Consent::export_subject(const ConsentSubject& subject) const {
  const Impl& m = *impl_;
  std::string v = m.normalize(subject.type, subject.value);
  nlohmann::json j;
  j["subject"] = {{"type", subject.type}, {"value", v}};
  j["suppressed"] = m.is_suppressed_value(subject.type, v);

  // The subjects covered: the subject itself, and for a person (or an
  // identifier of one) every identifier and key of the person.
  std::vector<ConsentSubject> covered{{subject.type, v}};
  std::optional<PersonOrdinal> person;
  if (m.graph) {
    if (subject.type == kPersonType) {
      person = m.graph->ordinal_of_key(std::stoull(v));
    } else if (m.graph->type_id(subject.type) != kNoType) {
      person = m.graph->ordinal_of(subject.type, v);
    }
  }
  if (person) {
    nlohmann::json pj;
    pj["ordinal"] = *person;
    auto key = m.graph->key_of(*person);
    pj["key"] = key ? nlohmann::json(*key) : nlohmann::json(nullptr);
    pj["identifiers"] = nlohmann::json::array();
    for (const IdentifierInfo& info : m.graph->identifiers_of(*person)) {
      pj["identifiers"].push_back({{"type", info.type_name},
                                   {"value", info.value},
                                   {"last_seen", format_iso8601(info.last_seen)},
                                   {"blocked", info.blocked}});
      ConsentSubject s{info.type_name, info.value};
      if (!(s == covered[0])) covered.push_back(s);
    }
    if (key && subject.type != kPersonType) covered.push_back({std::string(kPersonType), std::to_string(*key)});
    if (m.profiles) {
      nlohmann::json prof = nlohmann::json::object();
      for (const auto& attr : m.profiles->schema().attributes) {
        Value val = m.profiles->value(*person, attr.name);
        std::visit(
            [&](const auto& x) {
              using T = std::decay_t<decltype(x)>;
              if constexpr (std::is_same_v<T, std::monostate>) {
                prof[attr.name] = nullptr;
              } else {
                prof[attr.name] = x;
              }
            },
            val);
      }
      pj["profile"] = prof;
    }
    j["person"] = pj;
  }
  nlohmann::json subjects_json = nlohmann::json::array();
  for (const ConsentSubject& s : covered) {
    nlohmann::json sj;
    sj["type"] = s.type;
    sj["value"] = s.value;
    sj["consent_history"] = nlohmann::json::array();
    for (const auto& r : history(s)) sj["consent_history"].push_back(record_json(r));
    if (auto p = preferences(s)) {
      sj["preferences"] = {{"preferred_channels", p->preferred_channels},
                           {"topics", p->topics},
                           {"time_zone", p->time_zone}};
      if (p->quiet_hours) {
        sj["preferences"]["quiet_hours"] = {{"start_minute", p->quiet_hours->start_minute},
                                            {"end_minute", p->quiet_hours->end_minute}};
      }
      nlohmann::json caps = nlohmann::json::array();
      for (const auto& c : p->caps) {
        caps.push_back({{"channel", c.channel}, {"max_contacts", c.max_contacts}, {"period", c.period}});
      }
      sj["preferences"]["caps"] = caps;
    }
    sj["contacts"] = nlohmann::json::array();
    auto tit = m.type_ids.find(s.type);
    if (tit != m.type_ids.end()) {
      uint32_t sid = m.find_subject(tit->second, s.value);
      auto cit = m.contacts.find(sid);
      if (sid != kNone && cit != m.contacts.end()) {
        for (const Contact& c : cit->second) {
          sj["contacts"].push_back({{"channel", m.channels[c.channel].spec.name}, {"time", format_iso8601(c.time)}});
        }
      }
    }
    subjects_json.push_back(sj);
  }
  j["subjects"] = subjects_json;
  return j.dump(2);
}

bool Consent::is_suppressed(const ConsentSubject& subject) const {
  return impl_->is_suppressed_value(subject.type, impl_->normalize(subject.type, subject.value));
}

ErasureReport Consent::erase(const ConsentSubject& subject, Timestamp at) {
  Impl& m = *impl_;
  if (m.ws->read_only()) throw StateError("consent: the workspace is read-only");
  require_utf8(subject.type, "subject type");
  require_utf8(subject.value, "subject value");
  const std::string v = m.normalize(subject.type, subject.value);

  // Everything to erase: the subject, and for a person every identifier and
  // every key that maps to it.
  std::vector<ConsentSubject> targets{{subject.type, v}};
  std::optional<PersonOrdinal> person;
  if (subject.type == kPersonType) {
    if (!m.graph) throw StateError("consent: erasing a person needs an identity graph (attach_identity)");
    person = m.graph->ordinal_of_key(std::stoull(v));
    if (!person) throw NotFound("person " + v + " is not in the identity graph");
    for (const IdentifierInfo& info : m.graph->identifiers_of(*person)) targets.push_back({info.type_name, info.value});
    m.ensure_mapping();
    for (uint32_t s : m.subjects_of_person(*person)) {
      ConsentSubject cs{m.type_names[m.subjects[s].type], m.subjects[s].value};
      if (std::find(targets.begin(), targets.end(), cs) == targets.end()) targets.push_back(cs);
    }
  }

  sql::Database& db = database_of(*m.ws);
  ErasureReport rep;
  std::vector<std::string> keyed;
  std::vector<uint32_t> erased_subjects;
  std::vector<uint64_t> erased_seqs;
  const uint64_t erasure_seq = m.last_seq + 1;
  sql::Transaction tx(db);
  for (const ConsentSubject& t : targets) {
    std::string kh = m.keyed_hash(t.type, t.value);
    db.cached("INSERT OR IGNORE INTO consent_suppression(keyed_hash, erasure_seq, erased_at) VALUES (?, ?, ?)")
        .bind_blob(1, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kh.data()), kh.size()))
        .bind(2, static_cast<int64_t>(erasure_seq))
        .bind(3, int64_t{at})
        .run();
    keyed.push_back(to_hex([&] {
      Sha256Digest d{};
      std::memcpy(d.data(), kh.data(), 32);
      return d;
    }()));
    ++rep.subjects;
    auto tit = m.type_ids.find(t.type);
    if (tit == m.type_ids.end()) continue;
    uint32_t sid = m.find_subject(tit->second, t.value);
    if (sid == kNone) continue;
    erased_subjects.push_back(sid);
    {
      auto& st = db.cached("SELECT seq FROM consent_ledger WHERE subject_id = ?");
      st.bind(1, static_cast<int64_t>(sid));
      while (st.step()) erased_seqs.push_back(static_cast<uint64_t>(st.column_int64(0)));
      st.reset();
    }
    db.cached("UPDATE consent_ledger SET subject_id = NULL, purpose_id = NULL, channel_id = NULL, decision = NULL, "
              "time = NULL, expiry = NULL, source = NULL, legal_basis = NULL, policy_version = NULL, "
              "proof_method = NULL, proof_location = NULL, proof_reference = NULL, recorded_at = NULL, erased_by = ? "
              "WHERE subject_id = ?")
        .bind_all(static_cast<int64_t>(erasure_seq), static_cast<int64_t>(sid))
        .run();
    db.cached("DELETE FROM consent_preferences WHERE subject_id = ?").bind_all(static_cast<int64_t>(sid)).run();
    db.cached("DELETE FROM consent_contacts WHERE subject_id = ?").bind_all(static_cast<int64_t>(sid)).run();
    db.cached("DELETE FROM consent_subjects WHERE id = ?").bind_all(static_cast<int64_t>(sid)).run();
  }
  std::sort(keyed.begin(), keyed.end());
  std::sort(erased_seqs.begin(), erased_seqs.end());
  std::string keyed_list;
  for (size_t i = 0; i < keyed.size(); ++i) {
    if (i) keyed_list.push_back(',');
    keyed_list += keyed[i];
  }
  const std::string digest = seqs_digest(erased_seqs);
  const Sha256Digest head = chain(m.last_hash, erasure_canonical(erasure_seq, keyed_list, digest, at, at));
  db.cached("INSERT INTO consent_ledger(seq, decision, time, source, policy_version, proof_reference, recorded_at, "
            "hash) VALUES (?, 0, ?, 'erasure', ?, ?, ?, ?)")
      .bind(1, static_cast<int64_t>(erasure_seq))
      .bind(2, int64_t{at})
      .bind(3, digest)
      .bind(4, keyed_list)
      .bind(5, int64_t{at})
      .bind_blob(6, std::span<const uint8_t>(head.data(), head.size()))
      .run();
  const uint64_t old_seq = m.last_seq;
  const Sha256Digest old_hash = m.last_hash;
  m.last_seq = erasure_seq;
  m.last_hash = head;
  try {
    m.save_head();
    tx.commit();
  } catch (...) {
    m.last_seq = old_seq;
    m.last_hash = old_hash;
    throw;
  }
  // Committed: forget the subjects in memory.
  for (uint32_t sid : erased_subjects) {
    m.remove_slot(sid);
    Subject& s = m.subjects[sid];
    s.live = false;
    m.clear_records(sid);
    std::string().swap(s.value);
    s.has_prefs = false;
    m.prefs.erase(sid);
    m.contacts.erase(sid);
    --m.live_subjects;
  }
  for (const ConsentSubject& t : targets) m.suppressed.insert(m.keyed_hash(t.type, t.value));
  {
    std::lock_guard<std::mutex> lock(m.map_mu);
    m.map_dirty = true;
  }
  rep.records = erased_seqs.size();
  rep.erasure_seq = erasure_seq;

  // The identity graph erases its own copy (with its own suppression list).
  if (m.graph) {
    RemoveOptions ro;
    ro.suppress = true;
    ro.time = at;
    ro.note = "consent erasure";
    if (person) {
      m.graph->erase_person(*person, ro);
    } else if (TypeId t = m.graph->type_id(subject.type); t != kNoType && m.graph->identifier_id(t, v)) {
      m.graph->remove_identifier(t, v, ro);
    }
  }
  // Move the rewritten pages into the database file and empty the WAL, so
  // the erased bytes are gone from both files (secure_delete zeroes them).
  if (m.ws->path() != ":memory:") {
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  return rep;
}

}  // namespace cdpcore
