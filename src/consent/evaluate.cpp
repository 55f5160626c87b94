// Evaluation of a subject's records for one question: the query tables, the
// record-by-record evaluation and the tag query of the branch-free one.
#include <algorithm>
#include <iterator>

#include "cdpcore/consent.hpp"
#include "cdpcore/error.hpp"
#include "consent/consent_impl.hpp"

namespace cdpcore {

using namespace consent_detail;

namespace {

bool less_key(Timestamp t1, uint64_t s1, Timestamp t2, uint64_t s2) { return t1 < t2 || (t1 == t2 && s1 < s2); }

ConsentReason reason_of(uint8_t decision) {
  switch (static_cast<ConsentDecision>(decision)) {
    case ConsentDecision::denied: return ConsentReason::denied;
    case ConsentDecision::withdrawn: return ConsentReason::withdrawn;
    case ConsentDecision::objected: return ConsentReason::objected;
    default: return ConsentReason::granted;
  }
}

}  // namespace

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

}  // namespace cdpcore
