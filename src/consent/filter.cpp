// Filtering a segment of persons by consent (Consent::filter).
//
// The general path asks check_person_impl about each person. The bulk path
// gives the same answers in three passes that read memory in order instead
// of chasing each person's subjects and records across the heap:
//   1. mark the subjects of the segment's persons (from the person → subjects
//      map, read in ordinal order);
//   2. evaluate the marked subjects' records in subject order (the arrays lie
//      in that order after a load), packing each answer with the subject's
//      flags;
//   3. decide each person from its subjects' packed answers.
// It covers the common case: a segment of at least a sixteenth as many
// persons as the ledger has subjects, the strict or any_identifier rule, no
// workspace-wide frequency caps, a regime where missing consent denies, and
// no contactable identifiers asked for. Persons with person-level records or
// preferences of their own still go through the general path.
#include <algorithm>
#include <exception>
#include <memory>
#include <thread>

#include "cdpcore/consent.hpp"
#include "cdpcore/identity.hpp"
#include "consent/consent_impl.hpp"

namespace cdpcore {

using namespace consent_detail;

namespace {

// A subject's answer and flags in 64 bits: seq (48 bits), reason, flags.
constexpr uint64_t kSeqBits = 48;
constexpr uint64_t kPackedPerson = uint64_t{1} << 56;   // a person key's records
constexpr uint64_t kPackedChannel = uint64_t{1} << 57;  // of a type that receives the channel
constexpr uint64_t kPackedPrefs = uint64_t{1} << 58;    // has its own preferences

uint64_t pack(const Eval& e, uint64_t flags) {
  return (e.seq & ((uint64_t{1} << kSeqBits) - 1)) | (static_cast<uint64_t>(static_cast<uint8_t>(e.reason)) << kSeqBits) |
         flags;
}
Eval unpack(uint64_t p) {
  return {static_cast<ConsentReason>((p >> kSeqBits) & 0xFF), p & ((uint64_t{1} << kSeqBits) - 1)};
}

// Runs fn(index, begin, end) over `threads` contiguous ranges of [0, n),
// the first on the calling thread; rethrows the first worker exception.
template <typename F>
void parallel_ranges(size_t n, unsigned threads, F&& fn) {
  std::vector<std::exception_ptr> errors(threads);
  auto guarded = [&](unsigned t, size_t b, size_t e) {
    try {
      fn(t, b, e);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  std::vector<std::thread> workers;
  for (unsigned t = 1; t < threads; ++t) workers.emplace_back(guarded, t, n * t / threads, n * (t + 1) / threads);
  guarded(0, 0, n / threads);
  for (auto& w : workers) w.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// The result of one range of members, concatenated in order.
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

  constexpr size_t kPerThread = 32768;  // below this, a thread costs more than it saves
  unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, members.size() / kPerThread + 1));
  std::vector<Part> parts(threads);

  // The bulk passes scan every subject once: worth it for a segment that is
  // not a small part of the ledger.
  const bool bulk = members.size() * 16 >= m.subjects.size() && !options.with_identifiers &&
                    !pq.no_records.allowed() &&
                    m.options.person_rule != PersonRule::pooled && m.last_seq < (uint64_t{1} << kSeqBits) &&
                    (!q.contact_rules || m.default_prefs.caps.empty());
  // Without contact rules of their own, identifiers answer the workspace's
  // rules, the same for all of them (quiet hours depend on the time only).
  const ConsentReason shared_rule =
      bulk && q.contact_rules ? m.contact_rules({}, kNone, q, at) : ConsentReason::granted;
  const size_t n_subjects = m.subjects.size();
  std::unique_ptr<uint8_t[]> marked;
  std::unique_ptr<uint64_t[]> answer;
  if (bulk) {
    marked.reset(new uint8_t[n_subjects]());
    answer.reset(new uint64_t[n_subjects]);
    // 1. Mark (persons own disjoint subjects: no two threads write one byte).
    parallel_ranges(members.size(), threads, [&](unsigned, size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        for (uint32_t sid : m.subjects_of_person(members[i])) marked[sid] = 1;
      }
    });
    // 2. Evaluate in subject order.
    parallel_ranges(n_subjects, threads, [&](unsigned, size_t b, size_t e) {
      for (size_t sid = b; sid < e; ++sid) {
        if (!marked[sid]) continue;
        const Subject& s = m.subjects[sid];
        uint64_t flags = (s.has_prefs ? kPackedPrefs : 0) | (pq.channel_type[s.type] ? kPackedChannel : 0);
        if (s.type == m.person_type) {
          answer[sid] = kPackedPerson | flags;
          continue;
        }
        answer[sid] = pack(m.evaluate(m.records_of(static_cast<uint32_t>(sid)), {}, pq.e), flags);
      }
    });
  }

  // 3. Decide each person.
  const bool strict = m.options.person_rule == PersonRule::strict;
  parallel_ranges(members.size(), threads, [&](unsigned t, size_t b, size_t e) {
    Part& part = parts[t];
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
      BestDeny deny;
      bool denied = false, allowed = false;
      for (uint32_t sid : subs) {
        const Eval r = unpack(answer[sid]);
        const bool is_channel = (answer[sid] & kPackedChannel) != 0;
        if (!r.allowed()) {
          if (strict && r.explicit_deny()) {
            ++part.reasons[static_cast<uint16_t>(r.reason) & 0xFF];
            denied = true;
            break;
          }
          if (is_channel) deny.note(r);
          continue;
        }
        if (is_channel) allowed = true;
      }
      if (denied) continue;
      deny.note(pq.no_records);
      if (!allowed) {
        const bool known = m.graph->key_of(person).has_value();
        ++part.reasons[static_cast<uint16_t>(known ? deny.best.reason : ConsentReason::unknown_person) & 0xFF];
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
