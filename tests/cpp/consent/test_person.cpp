// Person-level checks through the identity graph: the person rule, merges and
// splits changing answers, bulk filtering of a segment.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "cdpcore/identity.hpp"
#include "consent_fixture.hpp"

using namespace consent_test;

namespace {

struct PersonFixture {
  std::shared_ptr<Workspace> ws = Workspace::open(":memory:");
  IdentityGraph graph{ws};
  std::unique_ptr<Consent> c;
  Timestamp now = T0 + days(1000);
  CheckOptions consent_only;

  explicit PersonFixture(PersonRule rule = PersonRule::strict) {
    graph.register_default_types();
    ConsentOptions o;
    o.person_rule = rule;
    c = std::make_unique<Consent>(ws, o);
    c->attach_identity(graph);
    consent_only.contact_rules = false;
  }

  PersonOrdinal link(std::vector<std::pair<std::string, std::string>> ids, Timestamp t = T0) {
    Record r;
    for (auto& [type, value] : ids) r.identifiers.push_back({type, value});
    r.time = t;
    r.source = "order";
    graph.link(r);
    return *graph.ordinal_of(ids[0].first, ids[0].second);
  }

  uint64_t add(const std::string& type, const std::string& value, const std::string& purpose,
               const std::string& channel, ConsentDecision d, Timestamp t) {
    ConsentRecord r;
    r.subject = {type, value};
    r.purpose = purpose;
    r.channel = channel;
    r.decision = d;
    r.time = t;
    r.source = "app";
    return c->append(r, now);
  }

  PersonConsentCheck person(PersonOrdinal p, const std::string& purpose = "marketing.sms",
                            const std::string& channel = "sms", Timestamp at = T0 + days(10)) const {
    return c->check_person(p, purpose, channel, at, consent_only);
  }
};

std::vector<std::string> values(const PersonConsentCheck& r) {
  std::vector<std::string> v;
  for (const auto& s : r.contactable) v.push_back(s.value);
  std::sort(v.begin(), v.end());
  return v;
}

/// Filters `segment` and checks each of its persons with check_person: the
/// same allowed set and the same drop counts per reason. Returns the persons
/// allowed; adds each denied person's reason to `seen` when given.
uint64_t filter_answers_as_check_person(PersonFixture& f, const Bitmap& segment, const char* purpose,
                                        const char* channel, Timestamp at, const FilterOptions& o,
                                        std::map<ConsentReason, uint64_t>* seen = nullptr) {
  auto r = f.c->filter(segment, purpose, channel, at, o);
  std::map<ConsentReason, uint64_t> want;
  uint64_t allowed = 0;
  for (uint32_t p : segment.to_vector()) {
    auto one = f.c->check_person(p, purpose, channel, at, o);
    REQUIRE(r.allowed.contains(p) == one.allowed);
    if (one.allowed) {
      ++allowed;
    } else {
      ++want[one.reason];
      if (seen) ++(*seen)[one.reason];
    }
  }
  CHECK(r.allowed.cardinality() == allowed);
  std::map<ConsentReason, uint64_t> got(r.dropped.begin(), r.dropped.end());
  CHECK(got == want);
  return allowed;
}

}  // namespace

TEST_CASE("consent person: consent on an identifier belongs to that identifier") {
  PersonFixture f;
  auto p = f.link({{"phone", "13800138000"}, {"phone", "13900139000"}, {"email", "Li.Lei@Example.com"}});
  // An SMS opt-in for one number, given with formatting noise.
  f.add("phone", "138 0013 8000", "marketing.sms", "sms", G, T0 + days(1));
  auto r = f.person(p);
  CHECK(r.allowed);
  CHECK(values(r) == std::vector<std::string>{"+8613800138000"});  // not the other number
  // The identifier-level check sees the normalised value too.
  CHECK(f.c->check({"phone", "+86 138-0013-8000"}, "marketing.sms", "sms", T0 + days(10), f.consent_only).allowed);
  CHECK_FALSE(f.c->check({"phone", "13900139000"}, "marketing.sms", "sms", T0 + days(10), f.consent_only).allowed);
  // Nothing for e-mail.
  auto e = f.person(p, "marketing.email", "email");
  CHECK_FALSE(e.allowed);
  CHECK(e.reason == ConsentReason::no_consent);
}

TEST_CASE("consent person: strict (default) - any linked identifier's denial for the channel denies") {
  PersonFixture f;
  auto p = f.link({{"phone", "13800138000"}, {"email", "li.lei@example.com"}});
  f.add("phone", "13800138000", "marketing.sms", "sms", G, T0 + days(2));
  uint64_t w = f.add("email", "li.lei@example.com", "marketing", "*", W, T0 + days(1));
  auto r = f.person(p);
  CHECK_FALSE(r.allowed);
  CHECK(r.reason == ConsentReason::withdrawn);
  CHECK(r.record == w);
  // A denial for another channel does not matter.
  PersonFixture g;
  auto q = g.link({{"phone", "13800138000"}, {"email", "li.lei@example.com"}});
  g.add("phone", "13800138000", "marketing.sms", "sms", G, T0 + days(2));
  g.add("email", "li.lei@example.com", "marketing", "email", W, T0 + days(1));
  CHECK(g.person(q).allowed);
}

TEST_CASE("consent person: the any_identifier and pooled rules") {
  for (PersonRule rule : {PersonRule::any_identifier, PersonRule::pooled}) {
    PersonFixture f(rule);
    auto p = f.link({{"phone", "13800138000"}, {"email", "li.lei@example.com"}});
    uint64_t g = f.add("phone", "13800138000", "marketing.sms", "sms", G, T0 + days(2));
    f.add("email", "li.lei@example.com", "marketing", "*", W, T0 + days(1));
    auto r = f.person(p);
    CHECK(r.allowed);  // the grant is newer than the withdrawal, and on the phone
    CHECK(r.record == g);
    CHECK(values(r) == std::vector<std::string>{"+8613800138000"});
    // With the withdrawal newer, pooled denies; any_identifier still allows
    // the phone that has its own grant.
    f.add("email", "li.lei@example.com", "marketing", "*", W, T0 + days(3));
    auto later = f.person(p, "marketing.sms", "sms", T0 + days(4));
    CHECK(later.allowed == (rule == PersonRule::any_identifier));
  }
}

TEST_CASE("consent person: person-level records apply to every identifier of the person") {
  PersonFixture f;
  auto p = f.link({{"phone", "13800138000"}, {"phone", "13900139000"}});
  auto key = *f.graph.key_of(p);
  f.add("person", std::to_string(key), "marketing", "*", G, T0 + days(1));
  auto r = f.person(p);
  CHECK(r.allowed);
  CHECK(values(r) == std::vector<std::string>{"+8613800138000", "+8613900139000"});
  // One number opts out: strict denies the person.
  f.add("phone", "13900139000", "marketing.sms", "sms", W, T0 + days(2));
  CHECK(f.person(p).reason == ConsentReason::withdrawn);
  CHECK(f.person(p, "marketing.sms", "sms", T0 + days(1) + hours(1)).allowed);
}

TEST_CASE("consent person: a merge changes the answer") {
  PersonFixture f;
  auto a = f.link({{"phone", "13800138000"}, {"crm_id", "M001"}});
  auto b = f.link({{"phone", "13900139000"}, {"email", "x@example.com"}});
  REQUIRE(a != b);
  f.add("phone", "13800138000", "marketing.sms", "sms", G, T0 + days(1));
  f.add("email", "x@example.com", "marketing", "*", W, T0 + days(2));
  CHECK(f.person(a).allowed);
  CHECK_FALSE(f.person(b).allowed);
  // An order links the CRM member to the e-mail: the two persons merge, and
  // the e-mail's withdrawal now denies the merged person (strict).
  f.link({{"crm_id", "M001"}, {"email", "x@example.com"}}, T0 + days(3));
  auto merged = *f.graph.ordinal_of("crm_id", "M001");
  CHECK(*f.graph.ordinal_of("email", "x@example.com") == merged);
  auto r = f.person(merged);
  CHECK_FALSE(r.allowed);
  CHECK(r.reason == ConsentReason::withdrawn);
  // The absorbed ordinal is no person any more.
  PersonOrdinal absorbed = merged == a ? b : a;
  CHECK(f.person(absorbed).reason == ConsentReason::unknown_person);
}

TEST_CASE("consent person: person-key records follow merges") {
  PersonFixture f;
  auto a = f.link({{"phone", "13800138000"}});
  auto b = f.link({{"phone", "13900139000"}});
  auto key_b = *f.graph.key_of(b);
  f.add("person", std::to_string(key_b), "marketing", "*", G, T0 + days(1));
  CHECK_FALSE(f.person(a).allowed);
  CHECK(f.person(b).allowed);
  f.link({{"phone", "13800138000"}, {"phone", "13900139000"}}, T0 + days(2));
  auto merged = *f.graph.ordinal_of("phone", "13800138000");
  auto r = f.person(merged);
  CHECK(r.allowed);
  CHECK(values(r) == std::vector<std::string>{"+8613800138000", "+8613900139000"});
}

TEST_CASE("consent person: a split changes the answer") {
  PersonFixture f;
  f.link({{"phone", "13800138000"}, {"crm_id", "M001"}}, T0);
  f.link({{"email", "x@example.com"}, {"cookie", "0123456789abcdef0123456789abcdef"}}, T0);
  Record bridge;
  bridge.identifiers = {{"crm_id", "M001"}, {"email", "x@example.com"}};
  bridge.time = T0 + days(1);
  bridge.source = "crm";
  BatchOptions bo;
  bo.return_record_ids = true;
  auto res = f.graph.link_batch(std::span<const Record>(&bridge, 1), bo);
  REQUIRE(res.record_ids.size() == 1);
  f.add("phone", "13800138000", "marketing.sms", "sms", G, T0 + days(2));
  f.add("email", "x@example.com", "marketing", "*", W, T0 + days(1));
  auto p = *f.graph.ordinal_of("phone", "13800138000");
  CHECK_FALSE(f.person(p).allowed);  // strict: the e-mail's withdrawal
  // The bridging record was wrong: removing it splits the e-mail off.
  f.graph.remove_record(res.record_ids[0]);
  auto p2 = *f.graph.ordinal_of("phone", "13800138000");
  auto e2 = *f.graph.ordinal_of("email", "x@example.com");
  CHECK(p2 != e2);
  CHECK(f.person(p2).allowed);
  CHECK_FALSE(f.person(e2).allowed);
  // Linked again: denied again; the e-mail removed from the graph: allowed.
  f.link({{"crm_id", "M001"}, {"email", "x@example.com"}}, T0 + days(3));
  CHECK_FALSE(f.person(*f.graph.ordinal_of("phone", "13800138000")).allowed);
  f.graph.remove_identifier(f.graph.type_id("email"), "x@example.com");
  CHECK(f.person(*f.graph.ordinal_of("phone", "13800138000")).allowed);
}

TEST_CASE("consent person: filtering a segment, with per-reason counts and identifiers") {
  PersonFixture f;
  std::vector<PersonOrdinal> ps;
  for (int i = 0; i < 40; ++i) {
    std::string phone = "1380013" + std::to_string(8000 + i);
    ps.push_back(f.link({{"phone", phone}, {"crm_id", "M" + std::to_string(100 + i)}}));
    switch (i % 4) {
      case 0: f.add("phone", phone, "marketing.sms", "sms", G, T0); break;            // allowed
      case 1: f.add("phone", phone, "marketing", "*", W, T0); break;                  // withdrawn
      case 2: {
        ConsentRecord r;
        r.subject = {"phone", phone};
        r.purpose = "marketing";
        r.channel = "sms";
        r.time = T0;
        r.expiry = T0 + days(1);
        f.c->append(r, f.now);  // expired by the check
        break;
      }
      default: break;  // no record
    }
  }
  Bitmap segment = Bitmap::from_values(ps);
  FilterOptions o;
  o.contact_rules = false;
  o.with_identifiers = true;
  auto res = f.c->filter(segment, "marketing.sms", "sms", T0 + days(10), o);
  CHECK(res.input == 40);
  CHECK(res.allowed.cardinality() == 10);
  CHECK(res.dropped_for(ConsentReason::withdrawn) == 10);
  CHECK(res.dropped_for(ConsentReason::expired) == 10);
  CHECK(res.dropped_for(ConsentReason::no_consent) == 10);
  uint64_t total = res.allowed.cardinality();
  for (auto& [reason, n] : res.dropped) total += n;
  CHECK(total == 40);
  REQUIRE(res.contact_person.size() == 10);
  for (size_t i = 0; i < res.contact_person.size(); ++i) {
    CHECK(res.allowed.contains(res.contact_person[i]));
    CHECK(res.contact_identifier[i].type == "phone");
    CHECK(*f.graph.ordinal_of("phone", res.contact_identifier[i].value) == res.contact_person[i]);
  }
  // Each allowed person agrees with check_person.
  for (auto p : ps) CHECK(f.person(p).allowed == res.allowed.contains(p));
  // Without identifiers the same persons are kept.
  o.with_identifiers = false;
  auto res2 = f.c->filter(segment, "marketing.sms", "sms", T0 + days(10), o);
  CHECK(res2.allowed == res.allowed);
  CHECK(res2.dropped == res.dropped);
  // Ordinals that are not persons are counted as such.
  auto res3 = f.c->filter(Bitmap::from_values(std::vector<uint32_t>{999999}), "marketing.sms", "sms", T0, o);
  CHECK(res3.dropped_for(ConsentReason::unknown_person) == 1);
}

TEST_CASE("consent person: without an identity graph person-level calls are a state error") {
  Fixture f;
  CHECK_THROWS_AS(f.c->check_person(0, "marketing", "sms", T0), StateError);
  CHECK_THROWS_AS(f.c->filter(Bitmap::from_range(0, 10), "marketing", "sms", T0), StateError);
}

TEST_CASE("consent person: a large segment filtered on several threads equals one thread") {
  PersonFixture f;
  const int n = 80'000;  // above the per-thread minimum, so two or more threads run
  std::vector<std::string> phones(n), crm(n);
  std::vector<Record> recs(n);
  std::vector<ConsentRecord> ledger;
  for (int i = 0; i < n; ++i) {
    phones[i] = std::to_string(13900000000LL + i);
    crm[i] = "M" + std::to_string(i);
    recs[i].identifiers = {{"phone", phones[i]}, {"crm_id", crm[i]}};
    recs[i].time = T0;
    recs[i].source = "crm";
    if (i % 5 == 4) continue;  // no record: no_consent
    ConsentRecord r;
    r.subject = {"phone", phones[i]};
    r.purpose = i % 5 == 1 ? "marketing" : "marketing.sms";
    r.channel = i % 5 == 1 ? "*" : "sms";
    r.decision = i % 5 == 1 ? W : i % 5 == 2 ? D : G;
    r.time = T0 + days(i % 7);
    r.source = "form";
    ledger.push_back(std::move(r));
  }
  f.graph.link_batch(recs);
  f.c->import(ledger, f.now);
  const Bitmap segment = f.graph.persons();
  REQUIRE(segment.cardinality() == static_cast<uint64_t>(n));
  FilterOptions one;
  one.threads = 1;
  one.contact_rules = false;
  FilterOptions many = one;
  many.threads = 3;
  auto a = f.c->filter(segment, "marketing.sms", "sms", T0 + days(10), one);
  auto b = f.c->filter(segment, "marketing.sms", "sms", T0 + days(10), many);
  CHECK(a.allowed.cardinality() == static_cast<uint64_t>(2 * n / 5));
  CHECK(a.dropped_for(ConsentReason::withdrawn) == static_cast<uint64_t>(n / 5));
  CHECK(a.dropped_for(ConsentReason::denied) == static_cast<uint64_t>(n / 5));
  CHECK(a.dropped_for(ConsentReason::no_consent) == static_cast<uint64_t>(n / 5));
  CHECK(b.allowed == a.allowed);
  CHECK(b.dropped == a.dropped);
  one.with_identifiers = many.with_identifiers = true;
  auto c1 = f.c->filter(segment, "marketing.sms", "sms", T0 + days(10), one);
  auto c3 = f.c->filter(segment, "marketing.sms", "sms", T0 + days(10), many);
  CHECK(c3.contact_person == c1.contact_person);
  REQUIRE(c3.contact_identifier.size() == c1.contact_identifier.size());
  bool same = true;
  for (size_t i = 0; i < c1.contact_identifier.size(); ++i)
    same = same && c1.contact_identifier[i].value == c3.contact_identifier[i].value;
  CHECK(same);
}

TEST_CASE("consent person: check_many normalises through the attached graph like check") {
  PersonFixture f;
  f.add("phone", "+8613800138000", "marketing.sms", "sms", G, T0);
  f.add("phone", "+8613800138001", "marketing", "*", W, T0);
  const std::vector<std::string> raw = {"138 0013 8000", "+86 138-0013-8001", "13800138002", "+8613800138000"};
  std::vector<std::string_view> views(raw.begin(), raw.end());
  ConsentQuery q = f.c->prepare("marketing.sms", "sms", f.consent_only);
  std::vector<ConsentCheck> many(views.size());
  f.c->check_many(q, "phone", views, T0 + days(1), many.data());
  for (size_t i = 0; i < views.size(); ++i) {
    ConsentCheck one = f.c->check(q, "phone", views[i], T0 + days(1));
    CHECK(many[i].allowed == one.allowed);
    CHECK(many[i].reason == one.reason);
    CHECK(many[i].record == one.record);
  }
  CHECK(many[0].allowed);
  CHECK(many[1].reason == ConsentReason::withdrawn);
  CHECK(many[2].reason == ConsentReason::no_consent);
  CHECK(many[3].allowed);
}

// The bulk filter (segments large against the ledger) must answer every
// person exactly as check_person does: same allowed set, same reason counts.
TEST_CASE("consent person: a bulk filter answers each person as check_person does") {
  const char* purposes[] = {"*", "marketing", "marketing.sms", "marketing.email"};
  const char* channels[] = {"*", "sms", "email"};
  int bulk_allowed = 0, checked = 0;
  for (PersonRule rule : {PersonRule::strict, PersonRule::any_identifier}) {
    for (int variant = 0; variant < 4; ++variant) {
      INFO("rule " << static_cast<int>(rule) << " variant " << variant);
      std::mt19937_64 rng(100 + variant);
      PersonFixture f(rule);
      const int n = 300;
      // Each person: a phone, every other one an e-mail, every fifth a second phone.
      std::vector<std::vector<std::string>> person_values(n);
      std::vector<std::string> values;
      for (int i = 0; i < n; ++i) {
        person_values[i].push_back("+86138" + std::to_string(20000000 + i));
        if (i % 2 == 0) person_values[i].push_back("p" + std::to_string(i) + "@example.com");
        if (i % 5 == 0) person_values[i].push_back("+86139" + std::to_string(20000000 + i));
        for (const auto& v : person_values[i]) values.push_back(v);
      }
      std::vector<Record> recs(n);
      for (int i = 0; i < n; ++i) {
        for (const auto& v : person_values[i]) recs[i].identifiers.push_back({v[0] == '+' ? "phone" : "email", v});
        recs[i].time = T0;
        recs[i].source = "crm";
      }
      f.graph.link_batch(recs);
      for (int k = 0; k < 1200; ++k) {
        const std::string& v = values[rng() % values.size()];
        const std::string type = v[0] == '+' ? "phone" : "email";
        ConsentRecord r;
        r.subject = {type, v};
        r.purpose = purposes[rng() % 4];
        r.channel = channels[rng() % 3];
        r.decision = rng() % 3 == 0 ? static_cast<ConsentDecision>(1 + rng() % 4) : G;
        r.time = T0 + hours(1) + static_cast<Timestamp>(k) * hours(1);
        if (rng() % 6 == 0) r.expiry = r.time + static_cast<Timestamp>(1 + rng() % 2000) * hours(1);
        r.legal_basis = rng() % 8 == 0 ? LegalBasis::legitimate_interest : LegalBasis::consent;
        r.source = "form";
        f.c->append(r, f.now);
      }
      if (variant == 1) {  // workspace quiet hours around the query time (UTC 12:00)
        ContactPreferences d;
        d.quiet_hours = QuietHours{11 * 60, 13 * 60};
        f.c->set_default_preferences(d);
      }
      if (variant == 2) {  // person-level records and identifiers' own preferences
        for (int k = 0; k < 40; ++k) {
          auto key = f.graph.key_of(static_cast<PersonOrdinal>(rng() % n));
          if (!key) continue;
          f.add("person", std::to_string(*key), purposes[rng() % 4], channels[rng() % 3],
                rng() % 2 ? G : W, T0 + hours(2000 + k));
        }
        for (int k = 0; k < 30; ++k) {
          ContactPreferences p;
          p.preferred_channels = {rng() % 2 ? "email" : "sms"};
          f.c->set_preferences({"phone", person_values[rng() % n][0]}, p, T0);
        }
      }
      Bitmap segment = f.graph.persons();
      segment.add(f.graph.ordinal_capacity() + 3);  // an ordinal with no person
      FilterOptions o;
      o.contact_rules = variant != 3;
      const Timestamp at = T0 + hours(1400) + hours(12 - (1400 % 24));
      for (const char* purpose : {"marketing.sms", "marketing"}) {
        for (const char* channel : {"sms", "email", "*"}) {
          INFO(purpose << "/" << channel);
          bulk_allowed += static_cast<int>(filter_answers_as_check_person(f, segment, purpose, channel, at, o));
          checked += static_cast<int>(segment.cardinality());
        }
      }
    }
  }
  CHECK(bulk_allowed > 500);
  CHECK(checked > 10000);
}

// The bulk filter evaluates subjects from their record tags (8 bytes per
// record, expiry kept coarse) when no record lies after the query time, and
// from the records otherwise. Both must answer as check_person on ledgers
// that reach every rule: deep purposes, separate consent, objections with
// and without a consent basis, legal bases, expiries at, just before and
// just after the query time (the coarse expiry's tie), records appended out
// of time order (ranges moved and compacted), and two phones per person
// (ties between denials, decided by the newer record).
TEST_CASE("consent person: the bulk filter's tag evaluation answers as check_person on every rule") {
  const char* purposes[] = {"*", "marketing", "marketing.sms", "marketing.sms.promo", "marketing.sms.promo.flash",
                            "marketing.email", "third_party_sharing", "analytics"};
  const char* channels[] = {"*", "sms", "email"};
  const LegalBasis bases[] = {LegalBasis::consent, LegalBasis::consent, LegalBasis::contract,
                              LegalBasis::legitimate_interest, LegalBasis::legal_obligation};
  const Timestamp sec = kMicrosPerSecond;
  const Timestamp at_after = T0 + hours(3000) + 7 * sec;  // after every record: tags
  const Timestamp at_mid = T0 + hours(1500) + 3 * sec;    // inside the ledger: records
  std::map<ConsentReason, uint64_t> seen;
  uint64_t compared = 0, allowed_total = 0;
  for (PersonRule rule : {PersonRule::strict, PersonRule::any_identifier}) {
    for (int variant = 0; variant < 3; ++variant) {
      INFO("rule " << static_cast<int>(rule) << " variant " << variant);
      std::mt19937_64 rng(7000 + variant);
      PersonFixture f(rule);
      f.c->define_purpose({"marketing.sms.promo", "promotions", false, true, 0});
      f.c->define_purpose({"marketing.sms.promo.flash", "flash sales", variant == 2, true, 0});
      const int n = 150;
      std::vector<std::pair<std::string, std::string>> all;  // (type, value); persons own consecutive runs
      std::vector<size_t> first(n + 1);
      for (int i = 0; i < n; ++i) {
        first[i] = all.size();
        all.push_back({"phone", "+86137" + std::to_string(30000000 + i)});
        if (i % 2 == 0) all.push_back({"email", "t" + std::to_string(i) + "@example.com"});
        if (i % 3 == 0) all.push_back({"phone", "+86136" + std::to_string(30000000 + i)});
      }
      first[n] = all.size();
      std::vector<Record> recs(n);
      for (int i = 0; i < n; ++i) {
        for (size_t k = first[i]; k < first[i + 1]; ++k) recs[i].identifiers.push_back({all[k].first, all[k].second});
        recs[i].time = T0;
        recs[i].source = "crm";
      }
      f.graph.link_batch(recs);
      const Timestamp expiry_near[] = {at_after,           at_after - 1, at_after + 1, at_after - 5 * sec,
                                       at_after + 5 * sec, at_mid,       at_mid - 1,   at_mid + 1};
      const int n_records = 8000;
      std::vector<int> order(n_records);
      for (int k = 0; k < n_records; ++k) order[k] = k;
      std::shuffle(order.begin(), order.end(), rng);
      for (int k = 0; k < n_records; ++k) {
        const auto& [type, value] = all[rng() % all.size()];
        ConsentRecord r;
        r.subject = {type, value};
        r.purpose = purposes[rng() % 8];
        r.channel = channels[rng() % 3];
        r.decision = rng() % 5 < 3 ? G : static_cast<ConsentDecision>(2 + rng() % 3);
        // Distinct times in random order: appends land inside subjects'
        // ranges, which move and get compacted.
        r.time = T0 + hours(1) + static_cast<Timestamp>(order[k]) * 21 * kMicrosPerMinute;
        const unsigned e = static_cast<unsigned>(rng() % 10);
        if (e < 3) {
          r.expiry = expiry_near[rng() % 8];
          if (r.expiry <= r.time) r.expiry = expiry_near[rng() % 5];  // around at_after: after every time
        } else if (e < 5) {
          r.expiry = r.time + static_cast<Timestamp>(1 + rng() % 3000) * hours(1);
        }
        r.legal_basis = bases[rng() % 5];
        r.source = "form";
        f.c->append(r, f.now);
      }
      if (variant == 1) f.c->reload();  // records laid out afresh in subject order
      Bitmap segment = f.graph.persons();
      for (Jurisdiction j : {Jurisdiction::pipl, Jurisdiction::gdpr}) {
        for (Timestamp at : {at_after, at_mid}) {
          for (auto [purpose, channel] : {std::pair{"marketing.sms", "sms"}, std::pair{"marketing", "email"},
                                          std::pair{"marketing.sms.promo.flash", "sms"},
                                          std::pair{"third_party_sharing", "*"}}) {
            INFO(std::string(purpose) << "/" << std::string(channel) << " at " << at << " jurisdiction "
                                      << static_cast<int>(j));
            FilterOptions o;
            o.contact_rules = false;
            o.jurisdiction = j;
            o.threads = 1 + static_cast<unsigned>(rng() % 2);
            allowed_total += filter_answers_as_check_person(f, segment, purpose, channel, at, o, &seen);
            compared += segment.cardinality();
          }
        }
      }
    }
  }
  CHECK(compared == 2 * 3 * 2 * 2 * 4 * 150);
  CHECK(allowed_total > 1000);
  for (ConsentReason reason : {ConsentReason::no_consent, ConsentReason::denied, ConsentReason::withdrawn,
                               ConsentReason::objected, ConsentReason::expired,
                               ConsentReason::separate_consent_required, ConsentReason::legal_basis_invalid}) {
    INFO(consent_reason_name(reason));
    CHECK(seen[reason] > 0);
  }
}
