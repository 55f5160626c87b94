// Internal: the state behind cdpcore::Consent.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cdpcore/consent.hpp"
#include "cdpcore/hash.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/time.hpp"
#include "cdpcore/workspace.hpp"
#include "util/bytes.hpp"
#include "util/open_table.hpp"

namespace cdpcore::consent_detail {

inline constexpr uint32_t kNone = 0xFFFFFFFFu;
inline constexpr int kMaxPurposeDepth = 7;
inline constexpr int kLevels = 2 * (kMaxPurposeDepth + 1);
inline constexpr size_t kMaxPurposes = 1000;
inline constexpr size_t kMaxChannels = 255;
/// The subject type of person keys (consent given for a whole person).
inline constexpr std::string_view kPersonType = "person";

/// The consent tables' migrations (schema.cpp).
std::span<const Migration> schema_migrations() noexcept;

/// The subject index's table: subject ids are 32-bit (kNone stays free),
/// the table grows past half full (checks probe it at random, and short
/// probes matter more than its size beside the 64-byte subjects), on huge
/// pages.
using SubjectIndex = util::OpenTable<util::OpenTableLayout</*kIdBits*/ 32, /*kLoadNum*/ 1, /*kLoadDen*/ 2,
                                                           /*kMinCapacity*/ 64, /*kHugePages*/ true>>;
static_assert(SubjectIndex::kNoId == kNone);

/// One ledger record as the index keeps it (the decisive fields only).
struct IndexRecord {
  Timestamp time;
  Timestamp expiry;
  uint64_t seq;
  uint16_t purpose;  // 0 = every purpose
  uint8_t channel;   // 0 = every channel
  uint8_t decision;  // ConsentDecision
  uint8_t basis;     // LegalBasis
};

struct Purpose {
  PurposeSpec spec;
  int32_t parent = -1;  // -1 for the root "*"
  uint8_t depth = 0;
};

struct Channel {
  ChannelSpec spec;
  /// Whether identifiers of `type` can receive the channel (any type when
  /// the channel names none).
  bool receives(std::string_view type) const noexcept {
    return spec.identifier_types.empty() ||
           std::find(spec.identifier_types.begin(), spec.identifier_types.end(), type) != spec.identifier_types.end();
  }
};

/// Parsed preferences (time zone loaded).
struct Prefs {
  ContactPreferences spec;
  std::vector<uint16_t> preferred;  // channel ids
  std::optional<TimeZone> tz;
  struct Cap {
    uint16_t channel;  // 0 = all channels
    uint32_t max_contacts;
    Timestamp period;
  };
  std::vector<Cap> caps;
};

/// A subject's records in Impl::record_pool: [begin, begin + size), with room
/// for `capacity` before the range must move.
struct RecordRange {
  uint64_t begin = 0;
  uint32_t size = 0;
  uint32_t capacity = 0;
};

// One cache line: what a lookup compares (type, hash, value) and what a
// check then reads (records).
struct alignas(64) Subject {
  uint16_t type = 0;  // index into Impl::type_names
  bool live = false;  // false once erased (or an id gap)
  bool has_prefs = false;
  uint64_t hash = 0;
  RecordRange records;  // sorted by (time, seq)
  std::string value;    // short values are inline
};
static_assert(sizeof(Subject) == 64);

/// Prefetches the cache lines of [p, p + bytes).
inline void prefetch_span(const void* p, size_t bytes) noexcept {
  const auto* c = static_cast<const char*>(p);
  __builtin_prefetch(c);
  if (((reinterpret_cast<uintptr_t>(c) & 63) + bytes) > 64) __builtin_prefetch(c + 64);
  if (((reinterpret_cast<uintptr_t>(c) & 63) + bytes) > 128) __builtin_prefetch(c + 128);
}

/// The answer of evaluating records.
struct Eval {
  ConsentReason reason = ConsentReason::no_consent;
  uint64_t seq = 0;
  bool allowed() const noexcept { return consent_reason_allows(reason); }
  bool explicit_deny() const noexcept {
    return reason == ConsentReason::denied || reason == ConsentReason::withdrawn ||
           reason == ConsentReason::objected || reason == ConsentReason::suppressed;
  }
};

/// The denial that best explains a person's "no": an explicit no beats a
/// contact rule, which beats a missing or invalid consent, which beats none;
/// among equals, the newest record.
struct BestDeny {
  Eval best{ConsentReason::no_consent, 0};
  static int rank(ConsentReason x) noexcept {
    if (x == ConsentReason::no_consent) return 0;
    if (x == ConsentReason::denied || x == ConsentReason::withdrawn || x == ConsentReason::objected ||
        x == ConsentReason::suppressed)
      return 3;
    if (static_cast<uint16_t>(x) >= 120) return 2;
    return 1;
  }
  void note(const Eval& r) noexcept {
    const int a = rank(r.reason), b = rank(best.reason);
    if (a > b || (a == b && r.seq > best.seq)) best = r;
  }
};

// A record's query-independent fields in one word, kept in Impl::record_tags
// beside record_pool: bulk evaluation streams 8 bytes per record instead of
// 32. Bits: purpose 0-15, channel 16-23, decision 24-26, basis 27-29, and the
// expiry in 2^24 µs units (clamped) from bit 30; an expiry in the query
// time's unit is compared on the full record.
inline constexpr int kTagExpiryShift = 30;
inline constexpr uint64_t kTagExpiryMax = (uint64_t{1} << 34) - 1;
inline uint64_t tag_time_key(Timestamp t) noexcept {
  const int64_t k = (t >> 24) + (int64_t{1} << 33);
  return k < 0 ? 0 : k > static_cast<int64_t>(kTagExpiryMax) ? kTagExpiryMax : static_cast<uint64_t>(k);
}
/// Whether the tag holds the record exactly (a valid decision; the basis fits).
inline bool taggable(const IndexRecord& r) noexcept { return r.decision >= 1 && r.decision <= 4 && r.basis < 8; }
inline uint64_t record_tag(const IndexRecord& r) noexcept {
  return r.purpose | uint64_t{r.channel} << 16 | uint64_t{r.decision & 7u} << 24 | uint64_t{r.basis & 7u} << 27 |
         tag_time_key(r.expiry) << kTagExpiryShift;
}

/// What evaluate_tags() needs to know about the question (from an EvalQuery).
struct TagQuery {
  const int8_t* applies = nullptr;  // as EvalQuery::applies
  int8_t channel_level[256];        // 0 for "*", 1 for the query's channel, -1 for the others
  uint8_t bad_basis[8];             // a grant on this basis is no basis here
  uint8_t grant_floor = 0;
  uint8_t levels = 0;               // the levels a record can reach
  bool default_allow = false;
  bool usable = false;              // no record after `at`, every record tagged exactly
  uint64_t at_key = 0;
  Timestamp at = 0;
};

/// evaluate_tags()'s answer: the reason and the deciding record's position in
/// the subject's records plus one (0: none).
struct TagEval {
  ConsentReason reason;
  uint32_t pos;
};

/// Consent::Impl::evaluate() of one subject's records (n tags, records for an
/// expiry in the query time's unit), all at or before q.at, from the tags.
/// Each record is newer than those before it (they are in (time, seq)
/// order), so positions replace (time, seq) comparisons. Every step is
/// arithmetic and stores to computed slots (a record that does not count
/// writes to the spare half of an array): the data-dependent branches of
/// evaluate() cost more than the records' memory.
inline TagEval evaluate_tags(const uint64_t* tags, uint32_t n, const IndexRecord* records, const TagQuery& q) noexcept {
  constexpr uint32_t kSpare = 16;  // levels are 0..15
  static_assert(kLevels <= kSpare);
  // Only the real levels need clearing; fixed 64-byte clears compile to a
  // few vector stores (a whole-array clear to `rep stos`, which costs more
  // than the records).
  uint32_t latest[2 * kSpare], grant[2 * kSpare], cgrant[2 * kSpare];
  uint8_t latest_d[2 * kSpare];
  std::memset(latest, 0, kSpare * sizeof(uint32_t));
  std::memset(grant, 0, kSpare * sizeof(uint32_t));
  std::memset(cgrant, 0, kSpare * sizeof(uint32_t));
  std::memset(latest_d, 0, kSpare);
  uint32_t neg[2] = {}, neg_d[2] = {}, notes[4] = {};  // notes: separate, expired, basis, spare
  uint32_t objection = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t t = tags[i];
    const uint32_t pos = i + 1;
    const int d = q.applies[t & 0xFFFF];
    const int cl = q.channel_level[(t >> 16) & 0xFF];
    const uint32_t invalid = static_cast<uint32_t>(d | cl) >> 31;
    const uint32_t lvl = (static_cast<uint32_t>(d * 2 + cl) & (kSpare - 1)) | (invalid << 4);
    const uint32_t dec = (t >> 24) & 7;
    latest[lvl] = pos;
    latest_d[lvl] = static_cast<uint8_t>(dec);
    const uint32_t valid = invalid ^ 1;
    const uint32_t granted = valid & (dec == 1);
    const uint32_t negative = valid & (dec != 1);
    neg[negative ^ 1] = pos;
    neg_d[negative ^ 1] = dec;
    objection |= valid & (dec == 4);
    const uint64_t ek = t >> kTagExpiryShift;
    uint32_t expired = ek < q.at_key;
    if (ek == q.at_key) [[unlikely]] expired = records[i].expiry <= q.at;
    const uint32_t basis = (t >> 27) & 7;
    const uint32_t sep = granted & (d < q.grant_floor);
    const uint32_t exp = granted & (sep ^ 1) & expired;
    const uint32_t bad = granted & (sep ^ 1) & (expired ^ 1) & q.bad_basis[basis];
    const uint32_t good = granted ^ (sep | exp | bad);
    notes[3 - 3 * sep - 2 * exp - bad] = pos;
    grant[(lvl & (kSpare - 1)) | ((good ^ 1) << 4)] = pos;
    cgrant[(lvl & (kSpare - 1)) | (((good & (basis == 1)) ^ 1) << 4)] = pos;
  }
  // evaluate()'s finish: from the most specific level, a grant newer than
  // every negative record allows (an absent grant, 0, never is); a level
  // whose latest record is negative blocks the broader ones.
  const uint32_t* g = objection ? cgrant : grant;
  uint32_t grants = 0, blocks = 0;
  for (uint32_t l = 0; l < q.levels; ++l) {
    grants |= static_cast<uint32_t>(g[l] > neg[0]) << l;
    blocks |= static_cast<uint32_t>((latest[l] != 0) & (latest_d[l] != 1)) << l;
  }
  TagEval r{ConsentReason::no_consent, 0};
  if (notes[2]) r = {ConsentReason::legal_basis_invalid, notes[2]};
  if (notes[0]) r = {ConsentReason::separate_consent_required, notes[0]};
  if (notes[1]) r = {ConsentReason::expired, notes[1]};
  if (q.default_allow) r = {ConsentReason::default_allowed, 0};
  if (neg[0]) r = {static_cast<ConsentReason>(99 + neg_d[0]), neg[0]};  // 101..103: denied, withdrawn, objected
  if (grants | blocks) {
    const uint32_t top = 31 - static_cast<uint32_t>(__builtin_clz(grants | blocks));
    r = (grants >> top) & 1 ? TagEval{ConsentReason::granted, g[top]}
                            : TagEval{static_cast<ConsentReason>(99 + latest_d[top]), latest[top]};
  }
  return r;
}

/// The order of a subject's records: by time, then by sequence number.
inline bool record_before(const IndexRecord& a, const IndexRecord& b) noexcept {
  return a.time < b.time || (a.time == b.time && a.seq < b.seq);
}

/// What evaluate() needs to know about the question.
struct EvalQuery {
  const int8_t* applies = nullptr;  // per record purpose: its depth if it applies to the query purpose, else -1
  uint8_t channel = 0;
  uint8_t grant_floor = 0;          // grants below this depth do not apply (separate consent)
  bool separate = false;            // grants must rest on consent
  bool pipl = false;                // legitimate interest is no basis
  bool default_allow = false;
  Timestamp at = 0;
};

/// A person-level question resolved once for many persons.
struct PersonQuery {
  ConsentQuery q;
  Timestamp at = 0;
  EvalQuery e;
  bool typed_channel = false;          // the channel names identifier types
  std::vector<uint8_t> channel_type;   // per subject type: can receive the channel
  Eval no_records;                     // the answer when no record applies
};

/// Reused buffers of person-level checks.
struct PersonScratch {
  std::vector<uint32_t> group, ids, allowed;
  std::vector<std::span<const IndexRecord>> person_records, all;
};

struct Contact {
  uint16_t channel;
  Timestamp time;
};

}  // namespace cdpcore::consent_detail

namespace cdpcore {

struct Consent::Impl {
  using IndexRecord = consent_detail::IndexRecord;
  using Subject = consent_detail::Subject;
  using RecordRange = consent_detail::RecordRange;

  std::shared_ptr<Workspace> ws;
  ConsentOptions options;
  std::string hmac_key;

  // Taxonomy. Purpose 0 is the root "*", channel 0 is "*".
  std::vector<consent_detail::Purpose> purposes;
  std::vector<consent_detail::Channel> channels;
  std::unordered_map<std::string, uint16_t> purpose_ids;
  std::unordered_map<std::string, uint16_t> channel_ids;
  std::vector<int8_t> applies;  // [query * P + record]
  std::vector<uint8_t> grant_floor;
  std::vector<uint8_t> separate;

  // Subjects and the index.
  std::vector<std::string> type_names;
  std::unordered_map<std::string, uint16_t> type_ids;
  uint16_t person_type = 0;
  std::vector<Subject> subjects;  // index = subject id (SQLite rowid)
  // Every subject's records in one array, laid out in subject order when
  // loaded (bulk filters read it as a stream). A full range moves to the end
  // on its next record; the array is compacted when moved-from slots reach
  // a third of it.
  std::vector<IndexRecord> record_pool;
  // Per subject range (begin, capacity) of record_pool, 2 * capacity words
  // from 2 * begin: the records' tags (record_tag()), then their sequence
  // numbers. A check reads a subject's tags and the deciding record's
  // number from one or two cache lines (the records take three or four);
  // a bulk filter reads the tags only.
  std::vector<uint64_t> record_tags;
  Timestamp record_time_max = std::numeric_limits<Timestamp>::min();  // bound: not lowered on erasure
  bool tags_partial = false;          // a record's decision or basis did not fit its tag
  uint64_t record_pool_abandoned = 0;
  // (type, value) -> subject id; probing compares hash tags in the slot
  // array and reads a subject only when its tag matches: a collision or an
  // unknown value costs no extra cache miss.
  consent_detail::SubjectIndex subject_index;
  size_t live_subjects = 0;
  std::unordered_set<std::string> suppressed;  // keyed hashes (32 raw bytes)

  // Ledger head.
  uint64_t last_seq = 0;
  Sha256Digest last_hash{};

  // Preferences and contacts.
  std::unordered_map<uint32_t, consent_detail::Prefs> prefs;
  consent_detail::Prefs default_prefs;
  std::unordered_map<uint32_t, std::vector<consent_detail::Contact>> contacts;  // sorted by time

  // Identity.
  IdentityGraph* graph = nullptr;
  ProfileStore* profiles = nullptr;
  struct Listener;
  std::unique_ptr<Listener> listener;
  mutable std::mutex map_mu;
  mutable bool map_dirty = true;
  mutable uint64_t map_change = 0;
  mutable uint32_t map_capacity = 0;
  mutable uint64_t map_live = 0;
  // person_subjects[person_subject_begin[o] .. person_subject_begin[o + 1])
  // are the subjects of ordinal o, ascending.
  mutable std::vector<uint32_t> person_subject_begin;
  mutable std::vector<uint32_t> person_subjects;
  mutable std::vector<IdentifierId> subject_identifier;  // the graph's id of each subject (cache)
  std::span<const uint32_t> subjects_of_person(uint32_t person) const noexcept {
    if (person + size_t{1} >= person_subject_begin.size()) return {};
    return {person_subjects.data() + person_subject_begin[person],
            person_subject_begin[person + 1] - person_subject_begin[person]};
  }

  const uint64_t* tags_of(const RecordRange& r) const noexcept { return record_tags.data() + 2 * r.begin; }
  const uint64_t* seqs_of(const RecordRange& r) const noexcept { return tags_of(r) + r.capacity; }
  std::span<const IndexRecord> records_of(uint32_t sid) const noexcept {
    const RecordRange& r = subjects[sid].records;
    return {record_pool.data() + r.begin, r.size};
  }
  /// Inserts r in the subject's records, keeping (time, seq) order.
  void insert_record(uint32_t sid, const IndexRecord& r);
  /// Drops the subject's records.
  void clear_records(uint32_t sid) noexcept;
  /// Rewrites record_pool in subject order, without moved-from slots.
  void compact_records();

  // ---- loading (load.cpp, taxonomy.cpp) and the subject index (subject_index.cpp)
  void load();
  void load_taxonomy();
  void rebuild_taxonomy_tables();
  uint16_t intern_type(std::string_view name);
  uint32_t find_subject(uint16_t type, std::string_view value) const noexcept;
  /// find_subject with the value's hash_identifier() already computed.
  uint32_t find_subject(uint16_t type, std::string_view value, uint64_t hash) const noexcept;
  /// Adds subject `id` (live, hash set) to the index, growing it when full.
  void insert_slot(uint32_t id);
  /// Takes subject `id` out of the index.
  void remove_slot(uint32_t id);
  /// Whether subject `id` is (type, value) with value's hash h.
  bool subject_is(uint32_t id, uint16_t type, std::string_view value, uint64_t h) const noexcept {
    const Subject& s = subjects[id];
    return s.hash == h && s.type == type && s.value.size() == value.size() &&
           util::same_bytes(s.value.data(), value.data(), value.size());
  }
  /// find_subject() given subject_index.first_candidate(h): the candidate
  /// when it is the subject (the usual case), else the rest of the probe.
  uint32_t find_subject_from(uint32_t candidate, uint16_t type, std::string_view value, uint64_t h) const noexcept {
    if (candidate == consent_detail::kNone) return consent_detail::kNone;
    if (subject_is(candidate, type, value, h)) return candidate;
    return find_subject(type, value, h);
  }
  std::string keyed_hash(std::string_view type, std::string_view value) const;
  bool is_suppressed_value(std::string_view type, std::string_view value) const;
  std::string normalize(std::string_view type, std::string_view value) const;
  uint16_t purpose_id(std::string_view name) const;
  uint16_t channel_id(std::string_view name) const;
  consent_detail::EvalQuery make_eval(const ConsentQuery& q, Timestamp at) const;
  consent_detail::Eval evaluate(std::span<const IndexRecord> a, std::span<const IndexRecord> b,
                                const consent_detail::EvalQuery& q) const;
  consent_detail::TagQuery make_tag_query(const consent_detail::EvalQuery& e) const;
  /// evaluate(records_of(sid), {}, e) from the tags, for a TagQuery that is usable.
  consent_detail::TagEval evaluate_tags(uint32_t sid, const consent_detail::TagQuery& q) const noexcept {
    const RecordRange& r = subjects[sid].records;
    return consent_detail::evaluate_tags(tags_of(r), r.size, record_pool.data() + r.begin, q);
  }
  consent_detail::Eval evaluate_many(const std::vector<std::span<const IndexRecord>>& sources,
                                     const consent_detail::EvalQuery& q) const;
  /// The answer of a check of subject sid (kNone: not in the ledger), from
  /// the tags when `tq` is given and usable.
  ConsentCheck answer(const ConsentQuery& q, const consent_detail::EvalQuery& e,
                      const consent_detail::TagQuery* tq, std::string_view type, std::string_view value,
                      uint32_t sid, Timestamp at) const;
  const consent_detail::Prefs* prefs_of(uint32_t subject) const;
  ConsentReason contact_rules(std::span<const uint32_t> subjects, uint32_t own, const ConsentQuery& q,
                              Timestamp at) const;
  void ensure_mapping() const;
  consent_detail::PersonQuery prepare_person(const ConsentQuery& q, Timestamp at) const;
  void check_person_impl(uint32_t person, const consent_detail::PersonQuery& pq, bool with_identifiers,
                         consent_detail::PersonScratch& scratch, PersonConsentCheck& out) const;
  uint64_t append_records(std::span<const ConsentRecord> records, Timestamp now, const ImportOptions& options,
                          ImportReport* report);
  std::string canonical(uint64_t seq, std::string_view type, std::string_view value, std::string_view purpose,
                        std::string_view channel, int decision, Timestamp time, Timestamp expiry,
                        std::string_view source, int basis, std::string_view policy, const ConsentProof& proof,
                        Timestamp recorded_at) const;
  void save_head();
};

}  // namespace cdpcore
