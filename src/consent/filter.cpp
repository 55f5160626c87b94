// Filtering a segment of persons by consent (Consent::filter).
//
// The general path asks check_person_impl about each person. The bulk path
// gives the same answers in three passes that read memory in order instead
// of chasing each person's subjects and records across the heap:
//   1. mark the subjects of the segment's persons (from the person → subjects
//      map, read in ordinal order);
//   2. evaluate the marked subjects' records in subject order (the arrays lie
//      in that order after a load) from their 8-byte tags, without branches
//      on the data (consent_detail::evaluate_tags), keeping each answer's
//      reason with the subject's flags;
//   3. decide each person from its subjects' packed answers.
// It covers the common case: a segment of at least a sixteenth as many
// persons as the ledger has subjects, the strict or any_identifier rule, no
// workspace-wide frequency caps, a regime where missing consent denies, and
// no contactable identifiers asked for. Persons with person-level records or
// preferences of their own still go through the general path.
#include <algorithm>
#include <memory>

#include "cdpcore/consent.hpp"
#include "cdpcore/identity.hpp"
#include "consent/consent_impl.hpp"
#include "util/parallel.hpp"

namespace cdpcore {

using namespace consent_detail;

namespace {

// A subject's answer in 16 bits: the reason (low byte) and flags; 0 marks a
// subject not in the segment. The deciding record is found again only for
// the rare tie that needs its sequence number.
constexpr uint16_t kMarked = 0xFF;                       // in the segment, not yet evaluated
constexpr uint16_t kPackedPerson = uint16_t{1} << 8;     // a person key's records
constexpr uint16_t kPackedChannel = uint16_t{1} << 9;    // of a type that receives the channel
constexpr uint16_t kPackedPrefs = uint16_t{1} << 10;     // has its own preferences

// Runs fn(chunk, begin, end) over [0, n) in chunks of `chunk` items on
// `threads` threads (util::parallel_for: threads take chunks as they free up).
template <typename F>
void parallel_chunks(size_t n, size_t chunk, unsigned threads, F&& fn) {
  util::parallel_for((n + chunk - 1) / chunk, threads,
                     [&](size_t c, unsigned) { fn(c, c * chunk, std::min(n, (c + 1) * chunk)); });
}

// The result of one chunk of members, concatenated in order.
struct Part {
  std::vector<uint64_t> reasons = std::vector<uint64_t>(256, 0);
  std::vector<uint32_t> allowed;
  std::vector<uint32_t> contact_person;
  std::vector<ConsentSubject> contact_identifier;
};

}  // namespace

ConsentFilterResult Consent::filter(const Bitmap& persons, std::string_view purpose, std::string_view channel,
                                    Timestamp at, const FilterOptions& options) const {
  const Impl& m = *impl_;
  ConsentQuery q = prepare(purpose, channel, options);
  m.ensure_mapping();
  ConsentFilterResult out;
  out.input = persons.cardinality();
  const PersonQuery pq = m.prepare_person(q, at);
  const std::vector<uint32_t> members = persons.to_vector();

  constexpr size_t kChunk = 32768;  // below this, a thread costs more than it saves
  const unsigned threads = static_cast<unsigned>(
      std::min<size_t>(util::resolve_threads(options.threads), members.size() / kChunk + 1));
  std::vector<Part> parts((members.size() + kChunk - 1) / kChunk);

  // The bulk passes scan every subject once: worth it for a segment that is
  // not a small part of the ledger.
  const bool bulk = members.size() * 16 >= m.subjects.size() && !options.with_identifiers &&
                    !pq.no_records.allowed() && m.options.person_rule != PersonRule::pooled &&
                    (!q.contact_rules || m.default_prefs.caps.empty());
  // Without contact rules of their own, identifiers answer the workspace's
  // rules, the same for all of them (quiet hours depend on the time only).
  const ConsentReason shared_rule =
      bulk && q.contact_rules ? m.contact_rules({}, kNone, q, at) : ConsentReason::granted;
  const size_t n_subjects = m.subjects.size();
  std::unique_ptr<uint16_t[]> answer;
  if (bulk) {
    answer.reset(new uint16_t[n_subjects]());
    // 1. Mark (persons own disjoint subjects: no two threads write one entry).
    parallel_chunks(members.size(), kChunk, threads, [&](size_t, size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        for (uint32_t sid : m.subjects_of_person(members[i])) answer[sid] = kMarked;
      }
    });
    // 2. Evaluate in subject order, from the record tags when no record lies
    // after `at` (else from the records).
    const TagQuery tq = m.make_tag_query(pq.e);
    parallel_chunks(n_subjects, kChunk, threads, [&](size_t, size_t b, size_t e) {
      // Per block, the marked subjects are listed first (without a branch
      // per subject), so the loop can prefetch subjects and tags ahead.
      constexpr size_t kBlock = 4096;
      std::vector<uint32_t> list(kBlock);
      for (size_t base = b; base < e; base += kBlock) {
        const size_t end = std::min(e, base + kBlock);
        size_t n = 0;
        for (size_t sid = base; sid < end; ++sid) {
          list[n] = static_cast<uint32_t>(sid);
          n += answer[sid] != 0;
        }
        for (size_t k = 0; k < n; ++k) {
          if (k + 32 < n) __builtin_prefetch(&m.subjects[list[k + 32]]);
          if (k + 16 < n) __builtin_prefetch(m.tags_of(m.subjects[list[k + 16]].records));
          const uint32_t sid = list[k];
          const Subject& s = m.subjects[sid];
          const uint16_t flags = (s.has_prefs ? kPackedPrefs : 0) | (pq.channel_type[s.type] ? kPackedChannel : 0);
          if (s.type == m.person_type) {
            answer[sid] = kPackedPerson | flags;
            continue;
          }
          const ConsentReason r =
              tq.usable ? m.evaluate_tags(sid, tq).reason : m.evaluate(m.records_of(sid), {}, pq.e).reason;
          answer[sid] = static_cast<uint16_t>(static_cast<uint8_t>(r) | flags);
        }
      }
    });
  }
  // The sequence number of a subject's deciding record.
  auto seq_of = [&](uint32_t sid) { return m.evaluate(m.records_of(sid), {}, pq.e).seq; };

  // 3. Decide each person.
  const bool strict = m.options.person_rule == PersonRule::strict;
  parallel_chunks(members.size(), kChunk, threads, [&](size_t c, size_t b, size_t e) {
    Part& part = parts[c];
    part.allowed.reserve((e - b) / 4 + 16);
    PersonScratch sc;
    PersonConsentCheck pc;
    auto general = [&](uint32_t person) {
      m.check_person_impl(person, pq, options.with_identifiers, sc, pc);
      if (pc.allowed) {
        part.allowed.push_back(person);
        for (auto& s : pc.contactable) {
          part.contact_person.push_back(person);
          part.contact_identifier.push_back(std::move(s));
        }
      } else {
        ++part.reasons[static_cast<uint16_t>(pc.reason) & 0xFF];
      }
    };
    for (size_t i = b; i < e; ++i) {
      const uint32_t person = members[i];
      const std::span<const uint32_t> subs = m.subjects_of_person(person);
      if (!bulk) {
        if (subs.empty() && !pq.no_records.allowed() && !options.with_identifiers) {
          // No subject, default deny: no_consent (or unknown_person).
          const bool known = person < m.graph->ordinal_capacity() && m.graph->key_of(person);
          ++part.reasons[static_cast<uint16_t>(known ? ConsentReason::no_consent : ConsentReason::unknown_person)];
          continue;
        }
        general(person);
        continue;
      }
      if (i + 8 < e) {
        for (uint32_t sid : m.subjects_of_person(members[i + 8])) __builtin_prefetch(&answer[sid]);
      }
      // check_person_impl's strict and any_identifier rules, on packed answers.
      bool needs_general = false;
      for (uint32_t sid : subs) needs_general |= (answer[sid] & (kPackedPerson | kPackedPrefs)) != 0;
      if (needs_general) {
        general(person);
        continue;
      }
      // BestDeny on reasons; a tie of ranks above no_consent (two such
      // identifiers: rare) looks up which record is newer.
      ConsentReason best = ConsentReason::no_consent;
      uint32_t best_sid = kNone;
      bool denied = false, allowed = false;
      for (uint32_t sid : subs) {
        const auto r = static_cast<ConsentReason>(answer[sid] & 0xFF);
        const bool is_channel = (answer[sid] & kPackedChannel) != 0;
        if (!consent_reason_allows(r)) {
          if (strict && Eval{r, 0}.explicit_deny()) {
            ++part.reasons[static_cast<uint16_t>(r) & 0xFF];
            denied = true;
            break;
          }
          if (!is_channel) continue;
          const int a = BestDeny::rank(r), c = BestDeny::rank(best);
          if (a > c || (a == c && a > 0 && seq_of(sid) > seq_of(best_sid))) {
            best = r;
            best_sid = sid;
          }
          continue;
        }
        if (is_channel) allowed = true;
      }
      if (denied) continue;
      // (pq.no_records, no_consent with no record, changes nothing here.)
      if (!allowed) {
        // The map gives subjects only to the graph's live persons: a person
        // with subjects is known.
        const bool known = !subs.empty() || m.graph->key_of(person).has_value();
        ++part.reasons[static_cast<uint16_t>(known ? best : ConsentReason::unknown_person) & 0xFF];
        continue;
      }
      if (shared_rule != ConsentReason::granted) {
        ++part.reasons[static_cast<uint16_t>(shared_rule) & 0xFF];
        continue;
      }
      part.allowed.push_back(person);
    }
  });

  std::vector<uint64_t> reasons(256, 0);
  std::vector<uint32_t> allowed;
  for (Part& part : parts) {
    for (size_t r = 0; r < 256; ++r) reasons[r] += part.reasons[r];
    allowed.insert(allowed.end(), part.allowed.begin(), part.allowed.end());
    out.contact_person.insert(out.contact_person.end(), part.contact_person.begin(), part.contact_person.end());
    for (auto& c : part.contact_identifier) out.contact_identifier.push_back(std::move(c));
  }
  out.allowed = Bitmap::from_values(allowed);
  for (uint16_t r = 0; r < 256; ++r) {
    if (reasons[r]) out.dropped.push_back({static_cast<ConsentReason>(r), reasons[r]});
  }
  return out;
}

}  // namespace cdpcore
