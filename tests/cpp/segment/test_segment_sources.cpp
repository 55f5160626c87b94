// Segments over a profile store (attribute, trait and event conditions handed
// to the rule engine) and an identity graph (lists, keys, export).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "cdpcore/error.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/segment.hpp"

using namespace cdpcore;

namespace {

constexpr uint32_t kN = 3000;
const Timestamp kDay = days(1);
const Timestamp kT0 = days(20000);  // 2024-10-04

// Attributes with nulls, orders over 120 days, and two boolean tags; plain
// copies for the oracle.
struct World {
  ProfileStore store;
  std::vector<std::optional<std::string>> city;
  std::vector<std::optional<int64_t>> age;
  std::vector<std::optional<double>> churn;
  std::vector<Timestamp> last_order;  // 0 = never
  std::vector<bool> vip, sms_ok;

  World() {
    std::mt19937 rng(11);
    store.define_attribute({"city", ValueType::string});
    store.define_attribute({"age", ValueType::int64});
    store.define_attribute({"churn_risk", ValueType::float64});
    store.define_event_type({"order", {{"amount", ValueType::float64}}});
    std::vector<PersonOrdinal> who(kN);
    std::vector<std::string_view> cities(kN);
    std::vector<uint8_t> city_ok(kN), age_ok(kN), churn_ok(kN);
    std::vector<int64_t> ages(kN);
    std::vector<double> churns(kN);
    const char* names[] = {"Shanghai", "Beijing", "Shenzhen"};
    city.resize(kN);
    age.resize(kN);
    churn.resize(kN);
    last_order.assign(kN, 0);
    vip.resize(kN);
    sms_ok.resize(kN);
    std::vector<PersonOrdinal> order_who;
    std::vector<Timestamp> order_time;
    std::vector<double> order_amount;
    for (uint32_t p = 0; p < kN; ++p) {
      who[p] = p;
      if (rng() % 5) {
        cities[p] = names[rng() % 3];
        city[p] = std::string(cities[p]);
        city_ok[p] = 1;
      }
      if (rng() % 4) {
        ages[p] = 18 + rng() % 50;
        age[p] = ages[p];
        age_ok[p] = 1;
      }
      if (rng() % 3) {
        churns[p] = (rng() % 1000) / 1000.0;
        churn[p] = churns[p];
        churn_ok[p] = 1;
      }
      vip[p] = rng() % 7 == 0;
      sms_ok[p] = rng() % 2 == 0;
      int orders = static_cast<int>(rng() % 4);
      for (int o = 0; o < orders; ++o) {
        Timestamp t = kT0 - static_cast<Timestamp>(rng() % 120) * kDay - static_cast<Timestamp>(rng() % 1000);
        order_who.push_back(p);
        order_time.push_back(t);
        order_amount.push_back(10.0 + rng() % 100);
        last_order[p] = std::max(last_order[p], t);
      }
    }
    ColumnInput c = ColumnInput::of_strings("city", cities);
    c.valid = city_ok;
    ColumnInput a = ColumnInput::of_int64s("age", ages);
    a.valid = age_ok;
    ColumnInput r = ColumnInput::of_doubles("churn_risk", churns);
    r.valid = churn_ok;
    std::vector<ColumnInput> cols = {c, a, r};
    store.upsert_attributes(RowKeys::of(who), cols);
    std::vector<ColumnInput> props = {ColumnInput::of_doubles("amount", order_amount)};
    store.append_events("order", RowKeys::of(order_who), order_time, props);
    store.compact();
  }

  void tags(SegmentEngine& seg) const {
    std::vector<uint32_t> v, s;
    for (uint32_t p = 0; p < kN; ++p) {
      if (vip[p]) v.push_back(p);
      if (sms_ok[p]) s.push_back(p);
    }
    seg.set_tag("vip", Bitmap::from_values(v));
    seg.set_tag("sms_ok", Bitmap::from_values(s));
  }
};

std::vector<uint32_t> where(const std::function<bool(uint32_t)>& f) {
  std::vector<uint32_t> out;
  for (uint32_t p = 0; p < kN; ++p)
    if (f(p)) out.push_back(p);
  return out;
}

}  // namespace

TEST_CASE("segment: attribute conditions mixed with tags equal the three-valued condition person by person") {
  World w;
  SegmentEngine seg;
  seg.attach_store(&w.store);
  w.tags(seg);
  auto is_sh = [&](uint32_t p) { return w.city[p] && *w.city[p] == "Shanghai"; };
  struct Case {
    const char* def;
    std::function<bool(uint32_t)> oracle;
  };
  const Case cases[] = {
      {"vip and city == \"Shanghai\" and churn_risk > 0.7",
       [&](uint32_t p) { return w.vip[p] && is_sh(p) && w.churn[p] && *w.churn[p] > 0.7; }},
      // NULL city: neither "Shanghai" nor not.
      {"not (city == \"Shanghai\")", [&](uint32_t p) { return w.city[p] && *w.city[p] != "Shanghai"; }},
      {"vip or age >= 30", [&](uint32_t p) { return w.vip[p] || (w.age[p] && *w.age[p] >= 30); }},
      // not (FALSE and NULL) is TRUE; not (TRUE and NULL) is NULL.
      {"not (vip and age >= 30)", [&](uint32_t p) { return !w.vip[p] || (w.age[p] && *w.age[p] < 30); }},
      {"not (vip or age >= 30)", [&](uint32_t p) { return !w.vip[p] && w.age[p] && *w.age[p] < 30; }},
      {"sms_ok and not vip and (age < 25 or churn_risk >= 0.5)",
       [&](uint32_t p) {
         return w.sms_ok[p] && !w.vip[p] && ((w.age[p] && *w.age[p] < 25) || (w.churn[p] && *w.churn[p] >= 0.5));
       }},
      {"count(order, last 30 days) >= 1 and sms_ok",
       [&](uint32_t p) { return w.sms_ok[p] && w.last_order[p] > kT0 - 30 * kDay; }},
  };
  int i = 0;
  for (const Case& c : cases) {
    std::string name = "m" + std::to_string(i++);
    seg.define(name, c.def);
    INFO(c.def);
    CHECK(seg.evaluate(name, kT0).to_vector() == where(c.oracle));
  }
  CHECK(seg.info("m0").columns == std::vector<std::string>{"churn_risk", "city"});
  CHECK(seg.info("m6").time_relative);
  CHECK_FALSE(seg.info("m0").time_relative);
}

TEST_CASE("segment: traits are numbers per person with nulls") {
  World w;
  SegmentEngine seg;
  seg.attach_store(&w.store);
  w.tags(seg);
  std::vector<double> score(kN, std::nan(""));
  for (uint32_t p = 0; p < kN; p += 3) score[p] = (p % 10) / 10.0;
  seg.set_trait("propensity", score);
  seg.define("likely", "propensity > 0.5 and sms_ok");
  CHECK(seg.evaluate("likely", kT0).to_vector() ==
        where([&](uint32_t p) { return !std::isnan(score[p]) && score[p] > 0.5 && w.sms_ok[p]; }));
  CHECK(seg.info("likely").columns == std::vector<std::string>{"propensity"});
}

TEST_CASE("segment: a later as_of catches people who leave or enter a time-relative segment without an event") {
  World w;
  SegmentEngine seg;
  seg.attach_store(&w.store);
  seg.define("dormant", "count(order, last 60 days) == 0");
  Bitmap before = seg.evaluate("dormant", kT0);
  CHECK(before.to_vector() == where([&](uint32_t p) { return w.last_order[p] <= kT0 - 60 * kDay; }));
  const Timestamp later = kT0 + 30 * kDay;
  auto changes = seg.refresh(later);
  REQUIRE(changes.size() == 1);
  auto expect_in = where([&](uint32_t p) {
    return w.last_order[p] > kT0 - 60 * kDay && w.last_order[p] <= later - 60 * kDay;
  });
  CHECK(!expect_in.empty());
  CHECK(changes[0].entered.to_vector() == expect_in);
  CHECK(changes[0].exited.empty());  // nobody ordered since
}

TEST_CASE("segment: after one person's attribute changes only the segments that read it are re-evaluated") {
  World w;
  SegmentEngine seg;
  seg.attach_store(&w.store);
  w.tags(seg);
  seg.define("sh", "city == \"Shanghai\"");
  seg.define("sh_vip", "sh and vip");
  seg.define("young", "age < 25");
  seg.refresh(kT0);
  uint32_t p = 0;
  while (p < kN && !(w.vip[p] && w.city[p] && *w.city[p] == "Beijing")) ++p;
  REQUIRE(p < kN);
  std::vector<PersonOrdinal> who = {p};
  std::vector<std::string_view> sh = {"Shanghai"};
  std::vector<ColumnInput> cols = {ColumnInput::of_strings("city", sh)};
  w.store.upsert_attributes(RowKeys::of(who), cols);
  std::vector<std::string> changed = {"city"};
  auto events = seg.update_person(p, changed, kT0);
  REQUIRE(events.size() == 2);
  CHECK(events[0].segment == "sh");
  CHECK(events[1].segment == "sh_vip");
  CHECK(events[1].entered);
  auto in = seg.segments_of(p);
  bool young = w.age[p] && *w.age[p] < 25;
  CHECK(in == (young ? std::vector<std::string>{"sh", "sh_vip", "young"} : std::vector<std::string>{"sh", "sh_vip"}));
}

TEST_CASE("segment: unknown attributes and type errors in store conditions name the position") {
  World w;
  SegmentEngine seg;
  seg.attach_store(&w.store);
  w.tags(seg);
  try {
    seg.define("x", "vip and\n   citty == \"Shanghai\"");
    FAIL("accepted an unknown attribute");
  } catch (const NotFound& e) {
    CHECK(std::string(e.what()).find("citty") != std::string::npos);
    CHECK(std::string(e.what()).find("line 2, column 4") != std::string::npos);
  }
  try {
    seg.define("y", "sms_ok and city > 5");
    FAIL("accepted a type error");
  } catch (const TypeError& e) {
    CHECK(std::string(e.what()).find("segment 'y'") != std::string::npos);
  }
  CHECK_THROWS_AS(seg.define("z", "count(nosuchevent, last 3 days) > 0"), NotFound);
  CHECK(seg.names().empty());
}

namespace {

Record rec(std::initializer_list<std::pair<const char*, const char*>> ids, Timestamp t) {
  Record r;
  for (auto& [ty, v] : ids) r.identifiers.emplace_back(std::string_view(ty), std::string_view(v));
  r.time = t;
  r.source = "test";
  return r;
}

}  // namespace

TEST_CASE("segment: uploaded lists resolve through the identity graph; export picks identifiers by priority") {
  IdentityGraph g;
  g.register_default_types();
  // p1: phone + email; p2: email only; p3: two phones (the later seen wins); p4: crm id only.
  g.link(rec({{"phone", "13800138001"}, {"email", "one@example.com"}}, 100));
  g.link(rec({{"email", "two@example.com"}}, 100));
  g.link(rec({{"phone", "13800138003"}, {"crm_id", "C3"}}, 100));
  g.link(rec({{"phone", "13800138033"}, {"crm_id", "C3"}}, 500));
  g.link(rec({{"crm_id", "C4"}}, 100));
  SegmentEngine seg;
  seg.attach_identity(&g);
  std::vector<std::string_view> upload = {"+86 138 0013 8001", "two@example.com", "13800138003", "13900000000",
                                          "not a phone", "13800138001"};
  std::vector<std::string_view> phones = {upload[0], upload[2], upload[3], upload[4], upload[5]};
  ListReport r = seg.define_list("uploaded", "phone", phones);
  CHECK(r.rows == 5);
  CHECK(r.matched == 3);  // 8001 twice, 8003
  CHECK(r.unmatched == 1);
  CHECK(r.invalid == 1);
  CHECK(r.persons == 2);
  CHECK(r.rejected_rows == std::vector<uint64_t>{2, 3});
  const PersonOrdinal p1 = *g.ordinal_of("phone", "13800138001"), p2 = *g.ordinal_of("email", "two@example.com"),
                      p3 = *g.ordinal_of("crm_id", "C3"), p4 = *g.ordinal_of("crm_id", "C4");
  CHECK(seg.members("uploaded").to_vector() == Bitmap::from_values(std::vector<uint32_t>{p1, p3}).to_vector());

  Bitmap everyone = g.persons();
  ExportOptions opts;
  opts.identifier_types = {"phone", "email"};
  std::map<PersonOrdinal, std::pair<std::string, std::string>> got;
  ExportReport er = seg.export_members(everyone, opts, [&](const ExportBatch& b) {
    REQUIRE(b.keys.size() == b.persons.size());
    for (size_t i = 0; i < b.persons.size(); ++i) {
      CHECK(g.key_of(b.persons[i]) == b.keys[i]);
      got[b.persons[i]] = {b.identifier_types[i], b.identifiers[i]};
    }
    return true;
  });
  CHECK(er.members == 4);
  CHECK(er.exported == 3);
  CHECK(er.unreachable == 1);  // p4 has neither
  CHECK(got.count(p4) == 0);
  CHECK(got[p1] == std::make_pair(std::string("phone"), std::string("+8613800138001")));
  CHECK(got[p2] == std::make_pair(std::string("email"), std::string("two@example.com")));
  CHECK(got[p3] == std::make_pair(std::string("phone"), std::string("+8613800138033")));  // seen last
  // Every exported identifier belongs to its person.
  for (const auto& [p, id] : got) CHECK(g.ordinal_of(id.first, id.second) == p);
  // An identifier-level filter: p1's phone is not allowed, so its e-mail goes.
  opts.allow_identifier = [](PersonOrdinal, std::string_view type, std::string_view value) {
    return !(type == "phone" && value == "+8613800138001");
  };
  got.clear();
  seg.export_members(everyone, opts, [&](const ExportBatch& b) {
    for (size_t i = 0; i < b.persons.size(); ++i) got[b.persons[i]] = {b.identifier_types[i], b.identifiers[i]};
    return true;
  });
  CHECK(got[p1] == std::make_pair(std::string("email"), std::string("one@example.com")));
  CHECK_THROWS_AS(seg.define_list("bad", "fax", phones), NotFound);
  // Holdout by person key: the same person keeps its group whatever ordinal set it is split with.
  auto a = seg.split(everyone, {.salt = "s", .proportions = {0.5, 0.5}});
  auto b = seg.split(Bitmap::from_values(std::vector<uint32_t>{p1}), {.salt = "s", .proportions = {0.5, 0.5}});
  CHECK(a[0].contains(p1) == b[0].contains(p1));
}
