// Each rule of the check semantics (README.md, "Consent and preferences") as its own test.
#include <doctest/doctest.h>

#include <cstdio>

#include "consent_fixture.hpp"

using namespace consent_test;

static const std::string P = "+8613800138000";

TEST_CASE("consent semantics: no record means no where consent is required (deny by default)") {
  Fixture f;
  auto r = f.check(P, "marketing.sms", "sms", T0);
  CHECK_FALSE(r.allowed);
  CHECK(r.reason == ConsentReason::no_consent);
  CHECK(r.record == 0);
  CHECK(f.check(P, "marketing", "*", T0, Jurisdiction::gdpr).reason == ConsentReason::no_consent);
}

TEST_CASE("consent semantics: a grant allows and names the deciding record") {
  Fixture f;
  uint64_t s = f.add(P, "marketing.sms", "sms", G, T0);
  auto r = f.check(P, "marketing.sms", "sms", T0 + days(1));
  CHECK(r.allowed);
  CHECK(r.reason == ConsentReason::granted);
  CHECK(r.record == s);
  // A grant for one channel says nothing about another.
  CHECK(f.check(P, "marketing.sms", "email", T0 + days(1)).reason == ConsentReason::no_consent);
  // Nor about a sibling purpose.
  CHECK(f.check(P, "marketing.email", "sms", T0 + days(1)).reason == ConsentReason::no_consent);
}

TEST_CASE("consent semantics: the latest applicable record wins at the same scope") {
  Fixture f;
  f.add(P, "marketing.sms", "sms", G, T0);
  uint64_t w = f.add(P, "marketing.sms", "sms", W, T0 + days(1));
  uint64_t g2 = f.add(P, "marketing.sms", "sms", G, T0 + days(2));
  CHECK(f.check(P, "marketing.sms", "sms", T0 + days(1)).record == w);
  CHECK_FALSE(f.check(P, "marketing.sms", "sms", T0 + days(1)).allowed);
  CHECK(f.check(P, "marketing.sms", "sms", T0 + days(3)).record == g2);
  CHECK(f.check(P, "marketing.sms", "sms", T0 + days(3)).allowed);
  // Records arriving out of order are placed by their time, not their seq.
  uint64_t late = f.add(P, "marketing.sms", "sms", D, T0 + days(2) + hours(1));
  auto r = f.check(P, "marketing.sms", "sms", T0 + days(3));
  CHECK_FALSE(r.allowed);
  CHECK(r.record == late);
  CHECK(r.reason == ConsentReason::denied);
}

TEST_CASE("consent semantics: a broader grant implies the narrower purpose and channel") {
  Fixture f;
  uint64_t g = f.add(P, "marketing", "*", G, T0);
  auto r = f.check(P, "marketing.sms", "sms", T0 + days(1));
  CHECK(r.allowed);
  CHECK(r.record == g);
  uint64_t all = f.add("+8613900000000", "*", "*", G, T0);
  CHECK(f.check("+8613900000000", "analytics", "email", T0 + days(1)).record == all);
}

TEST_CASE("consent semantics: a more specific purpose record beats a broader one, whatever their order") {
  Fixture f;
  // Specific denial, then a later broader grant: the specific denial stands.
  uint64_t d = f.add(P, "marketing.sms", "*", D, T0);
  f.add(P, "marketing", "*", G, T0 + days(1));
  auto r = f.check(P, "marketing.sms", "sms", T0 + days(2));
  CHECK_FALSE(r.allowed);
  CHECK(r.record == d);
  CHECK(r.reason == ConsentReason::denied);
  // The broader grant still covers the other children.
  CHECK(f.check(P, "marketing.email", "email", T0 + days(2)).allowed);

  // Broader withdrawal, then a later specific grant: the specific grant wins.
  Fixture h;
  h.add(P, "marketing", "*", W, T0);
  uint64_t g = h.add(P, "marketing.sms", "sms", G, T0 + days(1));
  auto s = h.check(P, "marketing.sms", "sms", T0 + days(2));
  CHECK(s.allowed);
  CHECK(s.record == g);
  CHECK_FALSE(h.check(P, "marketing.email", "email", T0 + days(2)).allowed);
}

TEST_CASE("consent semantics: a specific channel record beats an every-channel record") {
  Fixture f;
  uint64_t w = f.add(P, "marketing", "sms", W, T0);
  f.add(P, "marketing", "*", G, T0 + days(1));
  auto r = f.check(P, "marketing", "sms", T0 + days(2));
  CHECK_FALSE(r.allowed);
  CHECK(r.record == w);
  CHECK(f.check(P, "marketing", "email", T0 + days(2)).allowed);
}

TEST_CASE("consent semantics: a withdrawal beats any earlier grant, even a more specific one") {
  Fixture f;
  f.add(P, "marketing.sms", "sms", G, T0);
  uint64_t w = f.add(P, "marketing", "*", W, T0 + days(1));
  auto r = f.check(P, "marketing.sms", "sms", T0 + days(2));
  CHECK_FALSE(r.allowed);
  CHECK(r.reason == ConsentReason::withdrawn);
  CHECK(r.record == w);
  // "Everything" withdrawn ("*").
  Fixture h;
  h.add(P, "marketing.sms", "sms", G, T0);
  h.add(P, "*", "*", W, T0 + days(1));
  CHECK(h.check(P, "marketing.sms", "sms", T0 + days(2)).reason == ConsentReason::withdrawn);
  // Before the withdrawal, the grant stood.
  CHECK(f.check(P, "marketing.sms", "sms", T0 + hours(1)).allowed);
}

TEST_CASE("consent semantics: an objection to direct marketing beats earlier grants; only a newer consent lifts it") {
  Fixture f;
  f.add(P, "marketing", "*", G, T0, kNoExpiry, LegalBasis::legitimate_interest);
  uint64_t o = f.add(P, "marketing", "*", O, T0 + days(1));
  auto r = f.check(P, "marketing.email", "email", T0 + days(2), Jurisdiction::gdpr);
  CHECK_FALSE(r.allowed);
  CHECK(r.reason == ConsentReason::objected);
  CHECK(r.record == o);
  // A later record on legitimate interest does not override the objection.
  f.add(P, "marketing", "*", G, T0 + days(3), kNoExpiry, LegalBasis::legitimate_interest);
  r = f.check(P, "marketing.email", "email", T0 + days(4), Jurisdiction::gdpr);
  CHECK_FALSE(r.allowed);
  CHECK(r.reason == ConsentReason::objected);
  // A later consent does.
  uint64_t g = f.add(P, "marketing", "*", G, T0 + days(5), kNoExpiry, LegalBasis::consent);
  r = f.check(P, "marketing.email", "email", T0 + days(6), Jurisdiction::gdpr);
  CHECK(r.allowed);
  CHECK(r.record == g);
}

TEST_CASE("consent semantics: expired grants are not grants") {
  Fixture f;
  uint64_t g = f.add(P, "marketing.sms", "sms", G, T0, T0 + days(30));
  CHECK(f.check(P, "marketing.sms", "sms", T0 + days(29)).allowed);
  auto r = f.check(P, "marketing.sms", "sms", T0 + days(30));  // expiry is exclusive
  CHECK_FALSE(r.allowed);
  CHECK(r.reason == ConsentReason::expired);
  CHECK(r.record == g);
  // An expired narrow grant leaves a standing broader grant in force.
  f.add(P, "marketing", "*", G, T0 - days(10));
  CHECK(f.check(P, "marketing.sms", "sms", T0 + days(31)).allowed);
  // But never resurrects a grant that a withdrawal ended.
  Fixture h;
  h.add(P, "marketing", "*", G, T0);
  h.add(P, "marketing.sms", "sms", W, T0 + days(1));
  h.add(P, "marketing.sms", "sms", G, T0 + days(2), T0 + days(3));
  CHECK(h.check(P, "marketing.sms", "sms", T0 + days(2) + hours(1)).allowed);
  auto e = h.check(P, "marketing.sms", "sms", T0 + days(4));
  CHECK_FALSE(e.allowed);
  CHECK(e.reason == ConsentReason::withdrawn);
}

TEST_CASE("consent semantics: checks are time-aware (a past time answers as of then)") {
  Fixture f;
  f.add(P, "marketing.sms", "sms", G, T0 + days(10));
  f.add(P, "marketing.sms", "sms", W, T0 + days(20));
  CHECK(f.check(P, "marketing.sms", "sms", T0 + days(5)).reason == ConsentReason::no_consent);
  CHECK(f.check(P, "marketing.sms", "sms", T0 + days(10)).allowed);  // from its time on
  CHECK(f.check(P, "marketing.sms", "sms", T0 + days(15)).allowed);
  CHECK(f.check(P, "marketing.sms", "sms", T0 + days(20)).reason == ConsentReason::withdrawn);
}

TEST_CASE("consent semantics: purposes needing separate consent are never implied by a broader grant") {
  Fixture f;
  uint64_t all = f.add(P, "*", "*", G, T0);
  auto r = f.check(P, "third_party_sharing", "*", T0 + days(1));
  CHECK_FALSE(r.allowed);
  CHECK(r.reason == ConsentReason::separate_consent_required);
  CHECK(r.record == all);
  CHECK(f.check(P, "sensitive_data", "*", T0 + days(1)).reason == ConsentReason::separate_consent_required);
  CHECK(f.check(P, "cross_border_transfer", "*", T0 + days(1)).reason == ConsentReason::separate_consent_required);
  uint64_t own = f.add(P, "third_party_sharing", "*", G, T0 + days(2));
  CHECK(f.check(P, "third_party_sharing", "*", T0 + days(3)).record == own);

  // A workspace-defined child that needs separate consent: a grant on the
  // parent does not imply it, a withdrawal on the parent still applies.
  Fixture h;
  h.c->define_purpose({"marketing.partners", "Offers from partner brands", true, true, 0});
  h.add(P, "marketing", "*", G, T0);
  CHECK(h.check(P, "marketing.partners", "sms", T0 + days(1)).reason == ConsentReason::separate_consent_required);
  h.add(P, "marketing.partners", "*", G, T0 + days(1));
  CHECK(h.check(P, "marketing.partners", "sms", T0 + days(2)).allowed);
  h.add(P, "marketing", "*", W, T0 + days(3));
  CHECK(h.check(P, "marketing.partners", "sms", T0 + days(4)).reason == ConsentReason::withdrawn);
  // Separate consent rests on consent: a legitimate-interest record is no basis.
  Fixture k;
  k.add(P, "third_party_sharing", "*", G, T0, kNoExpiry, LegalBasis::legitimate_interest);
  CHECK(k.check(P, "third_party_sharing", "*", T0 + days(1), Jurisdiction::gdpr).reason ==
        ConsentReason::legal_basis_invalid);
}

TEST_CASE("consent semantics: legitimate interest is no legal basis under PIPL") {
  Fixture f;
  uint64_t g = f.add(P, "analytics", "*", G, T0, kNoExpiry, LegalBasis::legitimate_interest);
  auto pipl = f.check(P, "analytics", "*", T0 + days(1), Jurisdiction::pipl);
  CHECK_FALSE(pipl.allowed);
  CHECK(pipl.reason == ConsentReason::legal_basis_invalid);
  CHECK(pipl.record == g);
  auto gdpr = f.check(P, "analytics", "*", T0 + days(1), Jurisdiction::gdpr);
  CHECK(gdpr.allowed);
  CHECK(gdpr.record == g);
}

TEST_CASE("consent semantics: CCPA is opt-out, except sensitive data and TCPA channels") {
  Fixture f;
  auto r = f.check(P, "marketing.email", "email", T0, Jurisdiction::ccpa);
  CHECK(r.allowed);
  CHECK(r.reason == ConsentReason::default_allowed);
  CHECK(f.check(P, "marketing.sms", "sms", T0, Jurisdiction::ccpa).reason == ConsentReason::no_consent);
  CHECK(f.check(P, "marketing", "phone_call", T0, Jurisdiction::ccpa).reason == ConsentReason::no_consent);
  CHECK(f.check(P, "sensitive_data", "*", T0, Jurisdiction::ccpa).reason == ConsentReason::no_consent);
  // An opt-out denies.
  f.add(P, "marketing", "*", W, T0 + days(1));
  CHECK(f.check(P, "marketing.email", "email", T0 + days(2), Jurisdiction::ccpa).reason == ConsentReason::withdrawn);
  // The workspace's default regime comes from the options.
  ConsentOptions o;
  o.jurisdiction = Jurisdiction::ccpa;
  Fixture h(o);
  CHECK(h.check(P, "marketing.email", "email", T0).reason == ConsentReason::default_allowed);
}

TEST_CASE("consent semantics: a GPC signal is an opt-out of sale and sharing") {
  ConsentOptions o;
  o.jurisdiction = Jurisdiction::ccpa;
  Fixture f(o);
  CHECK(f.check(P, "third_party_sharing", "*", T0).allowed);
  CHECK(f.check(P, "marketing", "ads", T0).allowed);
  uint64_t last = f.c->record_gpc({"phone", P}, T0 + days(1), f.now);
  CHECK(last == 2);
  auto r = f.check(P, "third_party_sharing", "*", T0 + days(2));
  CHECK_FALSE(r.allowed);
  CHECK(r.reason == ConsentReason::withdrawn);
  CHECK(f.check(P, "marketing", "ads", T0 + days(2)).reason == ConsentReason::withdrawn);
  CHECK(f.check(P, "marketing.email", "email", T0 + days(2)).allowed);
  auto rec = f.c->get(last);
  REQUIRE(rec);
  CHECK(rec->record.source == "gpc");
  CHECK(rec->record.proof.method == "Sec-GPC: 1");
}

TEST_CASE("consent semantics: unknown purposes and channels are errors, unknown subjects are answers") {
  Fixture f;
  CHECK_THROWS_AS(f.check(P, "marketing.fax", "sms", T0), InvalidArgument);
  CHECK_THROWS_AS(f.check(P, "marketing", "pigeon", T0), InvalidArgument);
  try {
    f.check(P, "marketing", "pigeon", T0);
  } catch (const InvalidArgument& e) {
    CHECK(std::string(e.what()).find("pigeon") != std::string::npos);
    CHECK(std::string(e.what()).find("sms") != std::string::npos);  // lists the known ones
  }
  CHECK(f.check("nobody", "marketing", "sms", T0).reason == ConsentReason::no_consent);
}

TEST_CASE("consent taxonomy: workspaces extend purposes and channels; they persist") {
  auto dir = std::string("consent_taxonomy_test.cdp");
  std::remove(dir.c_str());
  {
    auto ws = Workspace::open(dir);
    Consent c(ws);
    c.define_purpose({"marketing.wechat", "WeChat template messages", false, true, 0});
    c.define_channel({"line", {"line_id"}, 0});
    CHECK_THROWS_AS(c.define_purpose({"nosuch.child", "", false, false, 0}), InvalidArgument);
    CHECK_THROWS_AS(c.define_purpose({"Bad Name", "", false, false, 0}), InvalidArgument);
    CHECK_THROWS_AS(c.define_purpose({"a.b.c.d.e.f.g.h", "", false, false, 0}), InvalidArgument);
    CHECK_THROWS_AS(c.define_channel({"", {}, 0}), InvalidArgument);
    ConsentRecord r;
    r.subject = {"line_id", "U123"};
    r.purpose = "marketing.wechat";
    r.channel = "line";
    r.time = T0;
    c.append(r, T0);
  }
  {
    auto ws = Workspace::open(dir);
    Consent c(ws);
    bool found = false;
    for (const auto& p : c.purposes()) found |= p.name == "marketing.wechat" && p.direct_marketing;
    CHECK(found);
    CheckOptions o;
    o.contact_rules = false;
    CHECK(c.check({"line_id", "U123"}, "marketing.wechat", "line", T0 + 1, o).allowed);
    CHECK(c.check({"line_id", "U123"}, "marketing", "line", T0 + 1, o).reason == ConsentReason::no_consent);
  }
  std::remove(dir.c_str());
  std::remove((dir + "-wal").c_str());
  std::remove((dir + "-shm").c_str());
}

TEST_CASE("consent: reason names") {
  CHECK(std::string(consent_reason_name(ConsentReason::withdrawn)) == "withdrawn");
  CHECK(std::string(consent_reason_name(static_cast<ConsentReason>(999))) == "unknown");
  CHECK(parse_consent_decision("objected") == ConsentDecision::objected);
  CHECK(parse_legal_basis("legitimate_interest") == LegalBasis::legitimate_interest);
  CHECK(parse_jurisdiction("ccpa") == Jurisdiction::ccpa);
  CHECK_THROWS_AS(parse_jurisdiction("hipaa"), InvalidArgument);
  CHECK(consent_reason_allows(ConsentReason::default_allowed));
  CHECK_FALSE(consent_reason_allows(ConsentReason::quiet_hours));
}
