// Contact preferences: preferred channels, topics, quiet hours in the
// subject's time zone, frequency caps over the contact log.
#include <doctest/doctest.h>

#include "consent_fixture.hpp"

using namespace consent_test;

static const std::string P = "+8613800138000";

namespace {
ConsentCheck send_check(const Fixture& f, Timestamp at, const std::string& channel = "sms",
                        const std::string& topic = "") {
  CheckOptions o;
  o.contact_rules = true;
  o.topic = topic;
  return f.c->check({"phone", P}, "marketing", channel, at, o);
}
}  // namespace

TEST_CASE("consent preferences: quiet hours in the subject's time zone, across DST") {
  Fixture f;
  f.add(P, "marketing", "*", G, T0);
  ContactPreferences p;
  p.time_zone = "Europe/Berlin";
  p.quiet_hours = QuietHours{22 * 60, 8 * 60};  // 22:00–08:00 local
  f.c->set_preferences({"phone", P}, p, T0);
  // Winter (UTC+1): 21:30 UTC is 22:30 local → quiet; 07:30 UTC is 08:30 local → fine.
  const Timestamp winter = parse_iso8601("2024-01-15T00:00:00Z");
  CHECK(send_check(f, winter + hours(21) + 30 * kMicrosPerMinute).reason == ConsentReason::quiet_hours);
  CHECK(send_check(f, winter + hours(7) + 30 * kMicrosPerMinute).allowed);
  CHECK(send_check(f, winter + hours(6) + 30 * kMicrosPerMinute).reason == ConsentReason::quiet_hours);
  // Summer (UTC+2): 06:30 UTC is 08:30 local → fine; 20:30 UTC is 22:30 → quiet.
  const Timestamp summer = parse_iso8601("2024-07-15T00:00:00Z");
  CHECK(send_check(f, summer + hours(6) + 30 * kMicrosPerMinute).allowed);
  CHECK(send_check(f, summer + hours(20) + 30 * kMicrosPerMinute).reason == ConsentReason::quiet_hours);
  // Consent-only checks ignore the contact rules.
  CheckOptions o;
  o.contact_rules = false;
  CHECK(f.c->check({"phone", P}, "marketing", "sms", summer + hours(20) + 30 * kMicrosPerMinute, o).allowed);
  // The rule never turns a consent denial into something else.
  CHECK(f.c->check({"phone", "+8613900000000"}, "marketing", "sms", summer + hours(20)).reason ==
        ConsentReason::no_consent);
}

TEST_CASE("consent preferences: workspace default quiet hours use the workspace time zone") {
  Fixture f;
  f.ws->set_time_zone("Asia/Shanghai");
  f.add(P, "marketing", "*", G, T0);
  ContactPreferences d;
  d.quiet_hours = QuietHours{21 * 60, 9 * 60};
  f.c->set_default_preferences(d);
  const Timestamp day = parse_iso8601("2024-03-01T00:00:00Z");
  CHECK(send_check(f, day + hours(14)).reason == ConsentReason::quiet_hours);  // 22:00 in Shanghai
  CHECK(send_check(f, day + hours(2)).allowed);                               // 10:00 in Shanghai
  CHECK(f.c->default_preferences().quiet_hours->start_minute == 21 * 60);
}

TEST_CASE("consent preferences: frequency caps count the contact log in a rolling window") {
  Fixture f;
  f.add(P, "marketing", "*", G, T0);
  ContactPreferences p;
  p.caps.push_back({"sms", 2, days(7)});
  f.c->set_preferences({"phone", P}, p, T0);
  const Timestamp t = T0 + days(10);
  CHECK(send_check(f, t).allowed);
  f.c->log_contact({"phone", P}, "sms", t);
  CHECK(send_check(f, t + hours(1)).allowed);
  f.c->log_contact({"phone", P}, "sms", t + hours(1));
  CHECK(send_check(f, t + hours(2)).reason == ConsentReason::frequency_cap);
  // Another channel is not capped by the sms cap.
  CHECK(send_check(f, t + hours(2), "email").allowed);
  // The window rolls: 7 days after the first contact one slot frees up.
  CHECK(send_check(f, t + days(7) - 1).reason == ConsentReason::frequency_cap);
  CHECK(send_check(f, t + days(7)).allowed);
  CHECK(f.c->contacts({"phone", P}, "sms", t, t + days(1)) == 2);
  CHECK(f.c->contacts({"phone", P}, "*", t, t + hours(1)) == 1);
  // Asking about a time before the contacts: they did not count then.
  CHECK(send_check(f, t - 1).allowed);
}

TEST_CASE("consent preferences: preferred channels and topics") {
  Fixture f;
  f.add(P, "marketing", "*", G, T0);
  ContactPreferences p;
  p.preferred_channels = {"wechat", "email"};
  p.topics = {"new_arrivals", "member_events"};
  f.c->set_preferences({"phone", P}, p, T0);
  CHECK(send_check(f, T0 + 1, "sms").reason == ConsentReason::channel_not_preferred);
  CHECK(send_check(f, T0 + 1, "email").allowed);
  CHECK(send_check(f, T0 + 1, "email", "clearance").reason == ConsentReason::topic_not_subscribed);
  CHECK(send_check(f, T0 + 1, "email", "new_arrivals").allowed);
  auto back = f.c->preferences({"phone", P});
  REQUIRE(back);
  CHECK(back->preferred_channels == p.preferred_channels);
  CHECK(back->topics == p.topics);
}

TEST_CASE("consent preferences: bad preferences are rejected and change nothing") {
  Fixture f;
  ContactPreferences p;
  p.preferred_channels = {"carrier_pigeon"};
  CHECK_THROWS_AS(f.c->set_preferences({"phone", P}, p, T0), InvalidArgument);
  p = {};
  p.time_zone = "Mars/Olympus_Mons";
  CHECK_THROWS_AS(f.c->set_preferences({"phone", P}, p, T0), NotFound);
  p = {};
  p.quiet_hours = QuietHours{1440, 10};
  CHECK_THROWS_AS(f.c->set_preferences({"phone", P}, p, T0), InvalidArgument);
  p = {};
  p.caps.push_back({"sms", 1, 0});
  CHECK_THROWS_AS(f.c->set_preferences({"phone", P}, p, T0), InvalidArgument);
  CHECK_FALSE(f.c->preferences({"phone", P}));
  CHECK_THROWS_AS(f.c->log_contact({"phone", P}, "*", T0), InvalidArgument);
}

TEST_CASE("consent preferences: they survive reopening the workspace") {
  std::string path = "consent_prefs_test.cdp";
  std::remove(path.c_str());
  {
    auto ws = Workspace::open(path);
    Consent c(ws);
    ContactPreferences p;
    p.time_zone = "Asia/Shanghai";
    p.quiet_hours = QuietHours{22 * 60, 7 * 60};
    p.caps.push_back({"*", 3, days(30)});
    c.set_preferences({"phone", P}, p, T0);
    c.log_contact({"phone", P}, "sms", T0 + 5);
  }
  {
    auto ws = Workspace::open(path);
    Consent c(ws);
    auto p = c.preferences({"phone", P});
    REQUIRE(p);
    CHECK(p->time_zone == "Asia/Shanghai");
    CHECK(p->quiet_hours->end_minute == 7 * 60);
    CHECK(p->caps.size() == 1);
    CHECK(c.contacts({"phone", P}, "sms", T0, T0 + days(1)) == 1);
  }
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  std::remove((path + "-shm").c_str());
}
