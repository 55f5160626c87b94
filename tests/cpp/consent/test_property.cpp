// Property tests: random record sequences, checked against the stated
// properties and against a direct (slow) transcription of the rules.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <vector>

#include "consent_fixture.hpp"

using namespace consent_test;

namespace {

struct R {
  uint64_t seq;
  int purpose;  // 0 "*", 1 marketing, 2 marketing.sms, 3 marketing.email
  int channel;  // 0 "*", 1 sms, 2 email
  ConsentDecision d;
  Timestamp t, expiry;
  LegalBasis basis;
};
const char* kPurposes[] = {"*", "marketing", "marketing.sms", "marketing.email"};
const char* kChannels[] = {"*", "sms", "email"};
int depth(int p) { return p == 0 ? 0 : p == 1 ? 1 : 2; }
bool purpose_applies(int record, int query) {
  if (record == query || record == 0) return true;
  return record == 1 && (query == 2 || query == 3);
}
bool newer(const R& a, const R& b) { return a.t > b.t || (a.t == b.t && a.seq > b.seq); }
bool negative(const R& r) { return r.d != ConsentDecision::granted; }

// The rules of README.md, "Consent and preferences", written as plainly as possible: a grant
// allows when it is applicable, in force, newer than every applicable
// negative record, and no more specific scope's latest record is negative.
std::optional<uint64_t> reference(const std::vector<R>& all, int qp, int qc, Timestamp at, Jurisdiction j) {
  std::vector<R> app;
  for (const R& r : all) {
    if (r.t <= at && purpose_applies(r.purpose, qp) && (r.channel == 0 || r.channel == qc)) app.push_back(r);
  }
  auto level = [](const R& r) { return depth(r.purpose) * 2 + (r.channel ? 1 : 0); };
  bool objection = std::any_of(app.begin(), app.end(), [](const R& r) { return r.d == ConsentDecision::objected; });
  const R* best = nullptr;
  for (const R& g : app) {
    if (negative(g) || g.expiry <= at) continue;
    if (j == Jurisdiction::pipl && g.basis == LegalBasis::legitimate_interest) continue;
    if (objection && g.basis != LegalBasis::consent) continue;
    bool ok = true;
    for (const R& n : app) {
      if (negative(n) && !newer(g, n)) ok = false;
    }
    for (int l = level(g) + 1; l < 8 && ok; ++l) {
      const R* latest = nullptr;
      for (const R& r : app) {
        if (level(r) == l && (!latest || newer(r, *latest))) latest = &r;
      }
      if (latest && negative(*latest)) ok = false;
    }
    if (!ok) continue;
    if (!best || level(g) > level(*best) || (level(g) == level(*best) && newer(g, *best))) best = &g;
  }
  if (best) return best->seq;
  return std::nullopt;
}

}  // namespace

TEST_CASE("consent property: random sequences agree with the rules and never allow after a withdrawal") {
  std::mt19937_64 rng(7);
  int allowed_checks = 0, denied_checks = 0;
  for (int round = 0; round < 150; ++round) {
    Fixture f;
    std::vector<R> recs;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      R r{};
      r.purpose = static_cast<int>(rng() % 4);
      r.channel = static_cast<int>(rng() % 3);
      r.d = static_cast<ConsentDecision>(1 + rng() % 4);
      if (rng() % 2) r.d = ConsentDecision::granted;
      r.t = T0 + static_cast<Timestamp>(rng() % 20) * hours(1);  // ties happen
      r.expiry = rng() % 4 == 0 ? r.t + static_cast<Timestamp>(1 + rng() % 10) * hours(1) : kNoExpiry;
      r.basis = rng() % 5 == 0 ? LegalBasis::legitimate_interest : LegalBasis::consent;
      // Skip records that would contradict an earlier one (same key, other decision).
      bool clash = false;
      for (const R& o : recs) {
        clash |= o.purpose == r.purpose && o.channel == r.channel && o.t == r.t && o.d != r.d;
      }
      if (clash) continue;
      r.seq = f.add("+8613800000000", kPurposes[r.purpose], kChannels[r.channel], r.d, r.t, r.expiry, r.basis);
      recs.push_back(r);
    }
    for (int q = 0; q < 40; ++q) {
      const int qp = 1 + static_cast<int>(rng() % 3);
      const int qc = 1 + static_cast<int>(rng() % 2);
      const Timestamp at = T0 + static_cast<Timestamp>(rng() % 24) * hours(1) - hours(1);
      const Jurisdiction j = rng() % 2 ? Jurisdiction::gdpr : Jurisdiction::pipl;
      auto got = f.check("+8613800000000", kPurposes[qp], kChannels[qc], at, j);
      auto want = reference(recs, qp, qc, at, j);
      INFO("round " << round << " query " << kPurposes[qp] << "/" << kChannels[qc] << " at +" << (at - T0) / hours(1)
                    << "h");
      CHECK(got.allowed == want.has_value());
      if (got.allowed && want) CHECK(got.record == *want);
      if (got.allowed) {
        ++allowed_checks;
        // The property: every applicable withdrawal, denial or objection up
        // to `at` is older than the grant that allowed.
        const R* g = nullptr;
        for (const R& r : recs) {
          if (r.seq == got.record) g = &r;
        }
        REQUIRE(g);
        CHECK(g->d == ConsentDecision::granted);
        CHECK(g->t <= at);
        CHECK(g->expiry > at);
        for (const R& r : recs) {
          if (negative(r) && r.t <= at && purpose_applies(r.purpose, qp) && (r.channel == 0 || r.channel == qc)) {
            CHECK(newer(*g, r));
          }
        }
      } else {
        ++denied_checks;
        CHECK(got.reason != ConsentReason::granted);
      }
    }
  }
  CHECK(allowed_checks > 200);
  CHECK(denied_checks > 200);
}

TEST_CASE("consent property: check_many answers exactly as check, one value at a time, inside and after the ledger") {
  std::mt19937_64 rng(11);
  Fixture f;
  std::vector<std::string> phones;
  for (int i = 0; i < 3000; ++i) phones.push_back("+86138" + std::to_string(10000000 + i));
  for (int i = 0; i < 9000; ++i) {
    const std::string& p = phones[rng() % phones.size()];
    auto d = rng() % 3 == 0 ? static_cast<ConsentDecision>(1 + rng() % 4) : ConsentDecision::granted;
    f.add(p, kPurposes[rng() % 4], kChannels[rng() % 3], d, T0 + static_cast<Timestamp>(i) * hours(1),
          rng() % 5 == 0 ? T0 + static_cast<Timestamp>(i + 1 + rng() % 400) * hours(1) : kNoExpiry);
  }
  f.c->erase({"phone", phones[7]}, f.now);  // suppressed: its answer comes from the suppression list
  std::vector<std::string> values;
  for (int i = 0; i < 5000; ++i) {
    values.push_back(rng() % 8 == 0 ? "+86139" + std::to_string(10000000 + rng() % 1000) : phones[rng() % phones.size()]);
  }
  values.push_back(phones[7]);
  std::vector<std::string_view> views(values.begin(), values.end());
  // Times inside the ledger (check_many evaluates the records) and at or
  // after its newest record (it evaluates the record tags); the index as
  // grown by appends (ranges with spare room, moved) and as loaded.
  const Timestamp newest = T0 + Timestamp{8999} * hours(1);
  for (int round = 0; round < 2; ++round) {
    if (round == 1) f.c->reload();
    for (int qp = 0; qp < 4; ++qp) {
      for (int qc = 0; qc < 3; ++qc) {
        for (const Timestamp at : {T0 + static_cast<Timestamp>(rng() % 9000) * hours(1), newest, f.now}) {
          ConsentQuery q = f.c->prepare(kPurposes[qp], kChannels[qc]);
          std::vector<ConsentCheck> many(views.size());
          f.c->check_many(q, "phone", views, at, many.data());
          int allowed = 0;
          for (size_t i = 0; i < views.size(); ++i) {
            ConsentCheck one = f.c->check(q, "phone", views[i], at);
            INFO("round " << round << " " << kPurposes[qp] << "/" << kChannels[qc] << " at " << at << " value "
                          << values[i]);
            REQUIRE(many[i].allowed == one.allowed);
            REQUIRE(many[i].reason == one.reason);
            REQUIRE(many[i].record == one.record);
            allowed += one.allowed;
          }
          CHECK(many.back().reason == ConsentReason::suppressed);
          if (qp > 0 && qc > 0) CHECK(allowed > 0);
        }
      }
    }
  }
  // An unknown type: every value is an unknown subject.
  std::vector<ConsentCheck> unknown(views.size());
  f.c->check_many(f.c->prepare("marketing", "sms"), "line_id", views, f.now, unknown.data());
  for (const ConsentCheck& c : unknown) CHECK(c.reason == ConsentReason::no_consent);
}

TEST_CASE("consent property: records inserted out of order, moved and compacted answer as after a reload") {
  std::mt19937_64 rng(5);
  Fixture f;
  std::vector<std::string> phones;
  for (int i = 0; i < 200; ++i) phones.push_back("+86137" + std::to_string(10000000 + i));
  // Times out of order, so inserts land in the middle of ranges; enough
  // records that ranges move many times and the pool is compacted.
  for (int i = 0; i < 12000; ++i) {
    const std::string& p = phones[rng() % phones.size()];
    auto d = rng() % 3 == 0 ? static_cast<ConsentDecision>(1 + rng() % 4) : ConsentDecision::granted;
    f.add(p, kPurposes[rng() % 4], kChannels[rng() % 3], d, T0 + static_cast<Timestamp>(rng() % 100000) * 60'000'000);
  }
  auto answers = [&] {
    std::vector<ConsentCheck> out;
    for (int qp = 0; qp < 4; ++qp) {
      for (int qc = 0; qc < 3; ++qc) {
        for (int k = 0; k < 40; ++k) {
          const Timestamp at = T0 + static_cast<Timestamp>(k) * 2500 * 60'000'000;
          for (int i = 0; i < 200; i += 7) out.push_back(f.check(phones[i], kPurposes[qp], kChannels[qc], at));
        }
        // After the newest record check_many reads the record tags and
        // sequence numbers, which moves and compaction carry along.
        const std::vector<std::string_view> views(phones.begin(), phones.end());
        std::vector<ConsentCheck> many(views.size());
        const ConsentQuery q = f.c->prepare(kPurposes[qp], kChannels[qc]);
        f.c->check_many(q, "phone", views, f.now, many.data());
        for (size_t i = 0; i < views.size(); ++i) {
          const ConsentCheck one = f.c->check(q, "phone", views[i], f.now);
          CHECK(many[i].allowed == one.allowed);
          CHECK(many[i].reason == one.reason);
          CHECK(many[i].record == one.record);
          out.push_back(many[i]);
        }
      }
    }
    return out;
  };
  const auto before = answers();
  f.c->reload();
  const auto after = answers();
  REQUIRE(before.size() == after.size());
  int allowed = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    CHECK(before[i].allowed == after[i].allowed);
    CHECK(before[i].reason == after[i].reason);
    CHECK(before[i].record == after[i].record);
    allowed += before[i].allowed;
  }
  CHECK(allowed > 100);
}
