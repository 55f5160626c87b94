// Checks of identifiers and person keys: one at a time and in blocks.
#include <algorithm>
#include <string>

#include "cdpcore/consent.hpp"
#include "cdpcore/error.hpp"
#include "consent/consent_impl.hpp"

namespace cdpcore {

using namespace consent_detail;

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
  if (tit == m.type_ids.end()) {
    for (size_t i = 0; i < values.size(); ++i) out[i] = check(q, type, values[i], at);
    return;
  }
  const bool normalize = m.graph || type == kPersonType;
  const EvalQuery e = m.make_eval(q, at);
  const TagQuery tq = m.make_tag_query(e);
  const uint16_t t = tit->second;
  // Each check is three dependent cache misses on a large ledger: slot,
  // subject, then the subject's tags and sequence numbers (its records for a
  // time inside the ledger). A block of checks goes through them stage by
  // stage, prefetching the next stage's lines for every check of the block,
  // so the misses overlap instead of adding up. (Pipelining the stages across
  // blocks was measured slower: too many lines in flight.)
  constexpr size_t kBlock = 16;
  uint64_t h[kBlock];
  uint32_t candidate[kBlock];
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
      m.subject_index.prefetch(h[i]);
    }
    for (size_t i = 0; i < k; ++i) {
      candidate[i] = m.subject_index.first_candidate(h[i]);
      if (candidate[i] != kNone) __builtin_prefetch(&m.subjects[candidate[i]]);
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

}  // namespace cdpcore
