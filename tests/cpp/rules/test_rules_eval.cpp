// The tag engine: the example tags on hand-made histories, three-valued null
// semantics, windows, type errors, and batch = single person = incremental.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "cdpcore/error.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/rules.hpp"
#include "cdpcore/workspace.hpp"

using namespace cdpcore;

namespace {

const Timestamp kAsOf = parse_iso8601("2024-06-15T12:00:00Z");
Timestamp ago(double d) { return kAsOf - static_cast<Timestamp>(d * kMicrosPerDay); }

const char* const kTenTags = R"(
tag vip = sum(order.amount, last 365 days) >= 5000
          or member_level in ["gold", "platinum"]
tag lapsed = count(order) >= 1 and count(page_view, last 60 days) = 0
tag price_band = case
    when avg(order.amount, last 180 days) >= 500 then "high"
    when avg(order.amount, last 180 days) >= 150 then "mid"
    else "low"
  end
tag top_category = most_frequent(order.category, last 90 days)
tag repeat_buyer_30d = count(order, last 30 days) >= 2
tag cart_abandoner = count(add_to_cart, last 3 days) >= 1
                     and count(order, since last add_to_cart) = 0
tag new_member = signup_at in last 30 days
tag age_band = case
    when age(birthday) < 25 then "18-24"
    when age(birthday) < 35 then "25-34"
    when age(birthday) < 50 then "35-49"
    when age(birthday) >= 50 then "50+"
  end
tag sms_responsive = count(sms_click, last 90 days) / count(sms_sent, last 90 days) >= 0.1
tag multi_store = count_distinct(order.store) >= 3
)";

void define(ProfileStore& s) {
  s.define_attribute({"member_level", ValueType::string});
  s.define_attribute({"signup_at", ValueType::timestamp});
  s.define_attribute({"birthday", ValueType::timestamp});
  s.define_attribute({"city", ValueType::string});
  s.define_attribute({"interests", ValueType::string_set, MergePolicy::union_});
  s.define_event_type({"order",
                       {{"amount", ValueType::float64}, {"sku", ValueType::string}, {"category", ValueType::string},
                        {"store", ValueType::string}}});
  for (const char* e : {"page_view", "add_to_cart", "sms_sent", "sms_click", "coupon_redeem", "signup"})
    s.define_event_type({e, {}});
}

void order(ProfileStore& s, PersonOrdinal p, double days_ago, double amount, const char* cat, const char* store) {
  s.append_event("order", p, Event{ago(days_ago), {amount, std::string("sku"), std::string(cat), std::string(store)}});
}
void ev(ProfileStore& s, const char* type, PersonOrdinal p, double days_ago) {
  s.append_event(type, p, Event{ago(days_ago), {}});
}
void attr(ProfileStore& s, PersonOrdinal p, const char* name, const char* level) {
  std::vector<PersonOrdinal> who = {p};
  std::vector<std::string_view> v = {level};
  ColumnInput c = ColumnInput::of_strings(name, v);
  s.upsert_attributes(RowKeys::of(who), std::span<const ColumnInput>(&c, 1));
}
void tattr(ProfileStore& s, PersonOrdinal p, const char* name, Timestamp t) {
  std::vector<PersonOrdinal> who = {p};
  std::vector<int64_t> v = {t};
  ColumnInput c = ColumnInput::of_timestamps(name, v);
  s.upsert_attributes(RowKeys::of(who), std::span<const ColumnInput>(&c, 1));
}

/// Person 0: big spender, gold; 1: lapsed shopper; 2: cart abandoner;
/// 3: new member, no events; 4: sms responder; 5: three stores, repeat buyer.
void populate(ProfileStore& s) {
  define(s);
  order(s, 0, 10, 3000, "shoes", "A");
  order(s, 0, 200, 2500, "bags", "A");
  order(s, 0, 400, 9000, "bags", "B");  // outside 365 days
  ev(s, "page_view", 0, 1);
  attr(s, 0, "member_level", "silver");
  order(s, 1, 100, 100, "toys", "C");
  ev(s, "page_view", 1, 61);
  order(s, 2, 20, 200, "toys", "A");
  ev(s, "add_to_cart", 2, 2);
  ev(s, "add_to_cart", 2, 5);
  ev(s, "page_view", 2, 1);
  tattr(s, 3, "signup_at", ago(10));
  tattr(s, 3, "birthday", parse_iso8601("2000-06-16"));  // turns 24 tomorrow: 23 today
  for (int i = 0; i < 10; ++i) ev(s, "sms_sent", 4, 5 + i);
  ev(s, "sms_click", 4, 3);
  ev(s, "sms_sent", 4, 100);
  order(s, 5, 1, 50, "food", "A");
  order(s, 5, 2, 50, "food", "B");
  order(s, 5, 3, 60, "toys", "C");
  ev(s, "add_to_cart", 5, 2.5);
  tattr(s, 5, "birthday", parse_iso8601("1974-06-15"));  // 50 today
  attr(s, 6, "member_level", "platinum");
}

}  // namespace

TEST_CASE("tags: the ten example tags on hand-made histories") {
  ProfileStore s;
  populate(s);
  auto rs = RuleSet::compile(s, kTenTags);
  CHECK(rs.size() == 10);
  CHECK(rs.kind(rs.index_of("price_band")) == TagKind::value);
  auto r = rs.evaluate_all(s, kAsOf);
  CHECK(r.person_count == 7);
  CHECK(r["vip"].members.to_vector() == std::vector<uint32_t>{0, 6});  // 5500 in 365 days; platinum
  CHECK(r["lapsed"].members.to_vector() == std::vector<uint32_t>{1, 5});  // 5 never viewed a page
  const auto& pb = r["price_band"];
  auto label = [&](const TagColumn& t, PersonOrdinal p) { return t.codes[p] < 0 ? std::string("-") : t.labels[t.codes[p]]; };
  CHECK(label(pb, 0) == "high");  // avg(3000, 2500)
  CHECK(label(pb, 1) == "low");   // 100
  CHECK(label(pb, 2) == "mid");   // 200
  CHECK(label(pb, 3) == "low");   // no orders: otherwise low
  CHECK(pb.members.cardinality() == 7);
  const auto& top = r["top_category"];
  CHECK(label(top, 0) == "shoes");
  CHECK(label(top, 1) == "-");     // the order is 100 days old
  CHECK(label(top, 5) == "food");
  CHECK(r["repeat_buyer_30d"].members.to_vector() == std::vector<uint32_t>{5});
  // 2: add_to_cart 2 days ago, last order 20 days ago; 5: ordered after its add_to_cart
  CHECK(r["cart_abandoner"].members.to_vector() == std::vector<uint32_t>{2});
  CHECK(r["new_member"].members.to_vector() == std::vector<uint32_t>{3});
  const auto& age = r["age_band"];
  CHECK(label(age, 3) == "18-24");
  CHECK(label(age, 5) == "50+");
  CHECK(label(age, 0) == "-");  // no birthday: no label
  CHECK(r["sms_responsive"].members.to_vector() == std::vector<uint32_t>{4});  // 1 / 10
  CHECK(r["multi_store"].members.to_vector() == std::vector<uint32_t>{5});
  // label bitmaps agree with the codes
  for (size_t l = 0; l < pb.labels.size(); ++l)
    pb.label_members[l].for_each([&](uint32_t p) {
      CHECK(pb.codes[p] == static_cast<int32_t>(l));
      return true;
    });
}

TEST_CASE("tags: batch, single person and incremental evaluation agree") {
  ProfileStore s;
  define(s);
  std::mt19937_64 rng(7);
  const char* cats[] = {"a", "b", "c", "d"};
  const char* stores[] = {"s1", "s2", "s3", "s4", "s5"};
  const size_t persons = 3000;
  {
    std::vector<PersonOrdinal> who;
    std::vector<Timestamp> t;
    std::vector<double> amount;
    std::vector<std::string_view> cat, store, sku;
    for (int i = 0; i < 20000; ++i) {
      who.push_back(static_cast<PersonOrdinal>(rng() % persons));
      t.push_back(ago(static_cast<double>(rng() % 40000) / 100.0));
      amount.push_back(static_cast<double>(rng() % 100000) / 100.0);
      cat.push_back(cats[rng() % 4]);
      store.push_back(stores[rng() % 5]);
      sku.push_back("x");
    }
    std::vector<ColumnInput> props = {ColumnInput::of_doubles("amount", amount), ColumnInput::of_strings("category", cat),
                                      ColumnInput::of_strings("store", store), ColumnInput::of_strings("sku", sku)};
    s.append_events("order", RowKeys::of(who), t, props);
    for (const char* e : {"page_view", "add_to_cart", "sms_sent", "sms_click"}) {
      std::vector<PersonOrdinal> w;
      std::vector<Timestamp> tt;
      for (int i = 0; i < 8000; ++i) {
        w.push_back(static_cast<PersonOrdinal>(rng() % persons));
        tt.push_back(ago(static_cast<double>(rng() % 20000) / 100.0));
      }
      s.append_events(e, RowKeys::of(w), tt, {});
    }
    std::vector<PersonOrdinal> w;
    std::vector<std::string_view> lv;
    std::vector<int64_t> su, bd;
    const char* levels[] = {"none", "silver", "gold", "platinum"};
    for (size_t p = 0; p < persons; p += 2) {
      w.push_back(static_cast<PersonOrdinal>(p));
      lv.push_back(levels[rng() % 4]);
      su.push_back(ago(static_cast<double>(rng() % 1000)));
      bd.push_back(parse_iso8601("1950-01-01") + static_cast<int64_t>(rng() % 20000) * kMicrosPerDay);
    }
    std::vector<ColumnInput> cols = {ColumnInput::of_strings("member_level", lv), ColumnInput::of_timestamps("signup_at", su),
                                     ColumnInput::of_timestamps("birthday", bd)};
    s.upsert_attributes(RowKeys::of(w), cols);
  }
  auto rs = RuleSet::compile(s, kTenTags);
  EvalOptions two;
  two.threads = 2;
  auto all = rs.evaluate_all(s, kAsOf, two);
  EvalOptions one;
  one.threads = 1;
  auto single_thread = rs.evaluate_all(s, kAsOf, one);
  for (size_t r = 0; r < rs.size(); ++r) {
    CHECK(all.tags[r].members == single_thread.tags[r].members);
    CHECK(all.tags[r].labels == single_thread.tags[r].labels);
  }
  for (PersonOrdinal p = 0; p < persons; p += 7) {
    auto tags = rs.evaluate_person(s, p, kAsOf);
    for (size_t r = 0; r < rs.size(); ++r) {
      const auto& col = all.tags[r];
      CAPTURE(col.name);
      CAPTURE(p);
      CHECK(tags[r].member == col.members.contains(p));
      if (col.kind == TagKind::value && tags[r].member) CHECK(tags[r].label == col.labels[col.codes[p]]);
    }
  }
  // New events arrive (not yet compacted): incremental update of the touched
  // persons equals a full evaluation.
  std::vector<PersonOrdinal> who;
  std::vector<Timestamp> t;
  std::vector<double> amount;
  std::vector<std::string_view> cat, store, sku;
  for (int i = 0; i < 300; ++i) {
    who.push_back(static_cast<PersonOrdinal>(rng() % (persons + 50)));
    t.push_back(ago(static_cast<double>(rng() % 1000) / 100.0));
    amount.push_back(900);
    cat.push_back("e");
    store.push_back("s9");
    sku.push_back("y");
  }
  std::vector<ColumnInput> props = {ColumnInput::of_doubles("amount", amount), ColumnInput::of_strings("category", cat),
                                    ColumnInput::of_strings("store", store), ColumnInput::of_strings("sku", sku)};
  auto rep = s.append_events("order", RowKeys::of(who), t, props);
  auto rep2 = s.append_events("add_to_cart", RowKeys::of(std::span<const PersonOrdinal>(who.data(), 40)),
                              std::span<const Timestamp>(t.data(), 40), {});
  Bitmap touched = rep.touched | rep2.touched;
  // single-person reads see the pending rows
  for (uint32_t p : touched.to_vector()) {
    auto tags = rs.evaluate_person(s, p, kAsOf);
    (void)tags;
  }
  auto inc = all;
  rs.update(inc, s, touched, kAsOf);
  auto full = rs.evaluate_all(s, kAsOf, two);
  CHECK(inc.person_count == full.person_count);
  for (size_t r = 0; r < rs.size(); ++r) {
    CAPTURE(full.tags[r].name);
    CHECK(inc.tags[r].members == full.tags[r].members);
    if (full.tags[r].kind == TagKind::value) {
      for (size_t p = 0; p < full.person_count; ++p) {
        int32_t a = inc.tags[r].codes[p], b = full.tags[r].codes[p];
        CHECK((a < 0) == (b < 0));
        if (a >= 0 && b >= 0) CHECK(inc.tags[r].labels[a] == full.tags[r].labels[b]);
      }
    }
  }
  for (uint32_t p : touched.to_vector()) {
    auto tags = rs.evaluate_person(s, p, kAsOf);
    for (size_t r = 0; r < rs.size(); ++r) CHECK(tags[r].member == full.tags[r].members.contains(p));
  }
}

TEST_CASE("tags: three-valued null semantics; a tag is false on null") {
  ProfileStore s;
  define(s);
  s.define_attribute({"score", ValueType::float64});
  s.define_attribute({"n", ValueType::int64});
  std::vector<PersonOrdinal> who = {0, 1};
  std::vector<double> score = {1.0, std::nan("")};  // person 1: null
  std::vector<int64_t> n = {0, 5};
  std::vector<ColumnInput> cols = {ColumnInput::of_doubles("score", score), ColumnInput::of_int64s("n", n)};
  s.upsert_attributes(RowKeys::of(who), cols);
  auto eval = [&](const char* expr, PersonOrdinal p) {
    return CompiledExpression::compile(s, expr).evaluate_value(s, p, kAsOf);
  };
  auto is_null = [&](const char* expr, PersonOrdinal p) { return std::holds_alternative<std::monostate>(eval(expr, p)); };
  auto is_true = [&](const char* expr, PersonOrdinal p) {
    auto v = eval(expr, p);
    return std::holds_alternative<bool>(v) && std::get<bool>(v);
  };
  CHECK(is_null("score > 0", 1));
  CHECK(is_null("not (score > 0)", 1));
  CHECK(is_true("score > 0 or true", 1));     // NULL or TRUE = TRUE
  CHECK(!is_true("score > 0 and false", 1));  // NULL and FALSE = FALSE
  CHECK(!is_null("score > 0 and false", 1));
  CHECK(is_null("score > 0 and true", 1));
  CHECK(is_true("score is null", 1));
  CHECK(is_true("score is not null", 0));
  CHECK(is_null("score in [1.0, 2.0]", 1));
  CHECK(is_null("2 in [1, null]", 0));
  CHECK(is_true("1 in [1, null]", 0));
  CHECK(is_null("10 / n", 0));  // division by zero is null
  CHECK(std::get<double>(eval("10 / n", 1)) == 2.0);
  CHECK(is_null("n % 0", 1));
  CHECK(is_null("9223372036854775807 + n", 1));  // overflow is null
  CHECK(is_null("-9223372036854775808 - n", 1));
  CHECK(is_null("1e308 * 1e308 > 0", 0));
  CHECK(is_null("count(sms_click) / count(sms_sent)", 0));  // 0 / 0
  CHECK(std::get<double>(eval("coalesce(score, n)", 1)) == 5.0);  // int64 and double unify to double
  CHECK(std::get<double>(eval("coalesce(score, n)", 0)) == 1.0);
  CHECK(is_true("coalesce(score, 7) = 7", 1));
  CHECK(is_true("score between 0 and 2", 0));
  CHECK(is_null("score between 0 and 2", 1));
  CHECK(is_true("not (5 between 6 and score)", 1));  // FALSE and NULL = FALSE
  // empty histories: count 0, sum 0, avg/min/max/first/last/most_frequent null
  CHECK(std::get<int64_t>(eval("count(order)", 0)) == 0);
  CHECK(std::get<double>(eval("sum(order.amount)", 0)) == 0.0);
  for (const char* agg : {"avg(order.amount)", "min(order.amount)", "max(order.amount)", "first(order.amount)",
                          "last(order.time)", "most_frequent(order.category)"})
    CHECK(is_null(agg, 0));
  // a boolean tag that is null is not carried, and referenced it is FALSE
  auto rs = RuleSet::compile(s, "tag positive = score > 0\ntag not_positive = not positive");
  auto r = rs.evaluate_all(s, kAsOf);
  CHECK(r["positive"].members.to_vector() == std::vector<uint32_t>{0});
  CHECK(r["not_positive"].members.to_vector() == std::vector<uint32_t>{1});
  // huge values and NaN in events never crash
  s.append_event("order", 0, Event{ago(1), {1e308, std::string("a"), std::string("a"), std::string("a")}});
  s.append_event("order", 0, Event{ago(2), {1e308, std::string("a"), std::string("a"), std::string("a")}});
  s.append_event("order", 0, Event{ago(3), {std::nan(""), std::monostate{}, std::monostate{}, std::monostate{}}});
  CHECK(is_null("sum(order.amount)", 0));  // infinite
  CHECK(std::get<int64_t>(eval("count(order.amount)", 0)) == 2);
  CHECK(std::get<int64_t>(eval("count(order)", 0)) == 3);
  CHECK(std::get<double>(eval("max(order.amount)", 0)) == 1e308);
}

TEST_CASE("tags: windows relative to as_of and calendar windows in a zone") {
  auto ws = Workspace::open(":memory:", WorkspaceOptions{false, true, 5000, "Asia/Shanghai"});
  ProfileStore s(ws);
  define(s);
  // as_of: 2024-06-15T12:00Z = 20:00 in Shanghai
  s.append_event("page_view", 0, Event{parse_iso8601("2024-06-14T16:30:00Z"), {}});  // 00:30 on the 15th, Shanghai
  s.append_event("page_view", 0, Event{parse_iso8601("2024-06-14T15:30:00Z"), {}});  // 23:30 on the 14th
  s.append_event("page_view", 0, Event{parse_iso8601("2024-05-31T17:00:00Z"), {}});  // 01:00 on June 1st
  s.append_event("page_view", 0, Event{parse_iso8601("2024-05-31T15:00:00Z"), {}});  // May 31st
  s.append_event("page_view", 0, Event{parse_iso8601("2024-06-15T12:00:00Z"), {}});  // exactly as_of
  s.append_event("page_view", 0, Event{parse_iso8601("2024-06-15T12:00:01Z"), {}});  // future: ignored
  auto count = [&](const char* expr) {
    return std::get<int64_t>(CompiledExpression::compile(s, expr).evaluate_value(s, 0, kAsOf));
  };
  CHECK(count("count(page_view)") == 5);
  CHECK(count("count(page_view, this day)") == 2);
  CHECK(count("count(page_view, this day in \"UTC\")") == 1);
  CHECK(count("count(page_view, previous day)") == 1);
  CHECK(count("count(page_view, this month)") == 4);
  CHECK(count("count(page_view, previous month)") == 1);
  CHECK(count("count(page_view, this year)") == 5);
  CHECK(count("count(page_view, this week)") == 3);  // Monday June 10th onwards
  CHECK(count("count(page_view, last 1 day)") == 3);  // (as_of - 24h, as_of]
  CHECK(count("count(page_view, last 20 hours)") == 2);
  CHECK(count("count(page_view, last 0 days)") == 0);
  CHECK(count("count(page_view, since timestamp(\"2024-06-14T16:30:00Z\"))") == 2);
  CHECK(count("count(page_view where time < as_of)") == 4);
  CHECK(count("year(as_of) * 100 + month(as_of)") == 202406);
  CHECK(count("hour(as_of)") == 20);
  CHECK(count("weekday(as_of)") == 6);  // Saturday
  CHECK(count("days_since(timestamp(\"2024-06-10T12:00:00Z\"))") == 5);
  CHECK(count("days_between(timestamp(\"2024-06-10\"), timestamp(\"2024-06-01\"))") == -9);
  auto t = [&](const char* expr) {
    auto v = CompiledExpression::compile(s, expr).evaluate_value(s, 0, kAsOf);
    return std::holds_alternative<bool>(v) && std::get<bool>(v);
  };
  CHECK(t("as_of in this day"));
  CHECK(t("timestamp(\"2024-06-01T00:00:00+08:00\") in this month"));
  CHECK(!t("timestamp(\"2024-05-31T23:59:59+08:00\") in this month"));
  CHECK(t("timestamp(\"2024-05-31T23:59:59+08:00\") in previous month"));
  CHECK(t("as_of - days(3) in last 3 days") == false);  // the window is open at its start
  CHECK(t("as_of - days(3) + 1 in last 3 days"));
  CHECK(t("as_of > \"2024-01-01\""));
  CHECK_THROWS_AS(CompiledExpression::compile(s, "count(page_view, this month in \"Mars/Base\")"), NotFound);
}

TEST_CASE("tags: string, set, numeric and date functions") {
  ProfileStore s;
  define(s);
  std::vector<PersonOrdinal> who = {0};
  std::vector<std::string_view> city = {"  Shanghai "};
  std::vector<std::string_view> interests = {"tea", "golf"};
  std::vector<uint32_t> off = {0, 2};
  ColumnInput set = ColumnInput::of_strings("interests", interests);
  set.type = ValueType::string_set;
  set.set_offsets = off;
  std::vector<ColumnInput> cols = {ColumnInput::of_strings("city", city), set};
  s.upsert_attributes(RowKeys::of(who), cols);
  tattr(s, 0, "birthday", parse_iso8601("1990-02-28"));
  auto v = [&](const char* expr) { return CompiledExpression::compile(s, expr).evaluate_value(s, 0, kAsOf); };
  CHECK(std::get<std::string>(v("lower(trim(city))")) == "shanghai");
  CHECK(std::get<std::string>(v("upper(city)")) == "  SHANGHAI ");
  CHECK(std::get<int64_t>(v("length(trim(city))")) == 8);
  CHECK(std::get<int64_t>(v("length(\"会员\")")) == 2);
  CHECK(std::get<bool>(v("contains(city, \"hang\")")));
  CHECK(std::get<bool>(v("starts_with(trim(city), \"Sh\") and ends_with(city, \"i \")")));
  CHECK(std::get<std::string>(v("concat(\"a\", 1, \"-\", 2.5, null, true)")) == "a1-2.5true");
  CHECK(std::get<bool>(v("\"golf\" in interests and not (\"chess\" in interests)")));
  CHECK(std::get<bool>(v("contains(interests, \"tea\")")));
  CHECK(std::get<int64_t>(v("size(interests)")) == 2);
  CHECK(std::get<double>(v("round(2.345, 2)")) == doctest::Approx(2.35));
  CHECK(std::get<double>(v("floor(-1.5) + ceil(1.2)")) == 0.0);
  CHECK(std::get<int64_t>(v("abs(-3)")) == 3);
  CHECK(std::get<double>(v("greatest(1, 2.5, null)")) == 2.5);
  CHECK(std::get<int64_t>(v("least(3, 1, 2)")) == 1);
  CHECK(std::get<int64_t>(v("age(birthday)")) == 34);
  CHECK(std::get<int64_t>(v("7 % 3 + 7 * 0")) == 1);
  CHECK(std::get<double>(v("7 / 2")) == 3.5);
  CHECK(std::get<int64_t>(v("days(1.5)")) == 36 * kMicrosPerHour);
  CHECK(std::holds_alternative<std::monostate>(v("timestamp(\"not a time\")")));
}

TEST_CASE("tags: compile errors name types, names and positions") {
  ProfileStore s;
  define(s);
  auto message = [&](const std::string& text) -> std::string {
    try {
      RuleSet::compile(s, text);
    } catch (const Error& e) {
      return std::string(error_code_name(e.code())) + ": " + e.what();
    }
    return "no error";
  };
  std::string m = message("tag a = member_level > 5");
  CHECK(m.find("CDP_ETYPE") != std::string::npos);
  CHECK(m.find("string") != std::string::npos);
  CHECK(m.find("int64") != std::string::npos);
  CHECK(m.find("line 1, column 22") != std::string::npos);
  m = message("tag a = nope = 1");
  CHECK(m.find("CDP_ENOTFOUND") != std::string::npos);
  CHECK(m.find("'nope'") != std::string::npos);
  m = message("tag a = sum(order.price) > 1");
  CHECK(m.find("no property 'price'") != std::string::npos);
  m = message("tag a = count(purchase) > 1");
  CHECK(m.find("unknown event type 'purchase'") != std::string::npos);
  m = message("tag a = order.amount > 1");
  CHECK(m.find("inside an aggregation") != std::string::npos);
  m = message("tag a = sum(order.category) > 1");
  CHECK(m.find("needs a number") != std::string::npos);
  m = message("tag a = count(order where member_level = \"x\") > 1");
  CHECK(m.find("no property 'member_level'") != std::string::npos);
  m = message("tag a = sum(order.amount)");
  CHECK(m.find("declare it as a trait") != std::string::npos);
  m = message("tag a = b\ntag b = a");
  CHECK(m.find("cycle") != std::string::npos);
  m = message("tag a = true\ntag a = false");
  CHECK(m.find("defined twice") != std::string::npos);
  m = message("tag a = case when true then 1 else \"x\" end");
  CHECK(m.find("different types") != std::string::npos);
  m = message("tag a = lower(5) = \"x\"");
  CHECK(m.find("lower() needs a string") != std::string::npos);
  m = message("tag a = frobnicate(1)");
  CHECK(m.find("unknown function 'frobnicate'") != std::string::npos);
  m = message("tag a = signup_at in [1, 2]");
  CHECK(m.find("cannot compare") != std::string::npos);
  m = message("tag a = signup_at > \"yesterday\"");
  CHECK(m.find("not one") != std::string::npos);
  // estimated cost bounded at compile time
  CompileOptions cheap;
  cheap.limits.max_cost = 60;
  CHECK_THROWS_AS(RuleSet::compile(s, "tag a = count(order) > 1 and count(page_view) > 1 and count(sms_sent) > 2", cheap),
                  LimitError);
  CHECK_NOTHROW(RuleSet::compile(s, "tag a = count(order) > 1", cheap));
}

TEST_CASE("tags: tags refer to tags; traits are stored as attributes; externals") {
  ProfileStore s;
  populate(s);
  auto rs = RuleSet::compile(s, std::string(kTenTags) + R"(
trait spend_365d = sum(order.amount, last 365 days)
tag big_and_busy = vip and not lapsed and spend_365d > 1000
tag band_high = price_band = "high"
tag seg = in_segment and true
)", [] {
    CompileOptions o;
    o.resolver = [](std::string_view name) -> std::optional<ExternalName> {
      if (name != "in_segment") return std::nullopt;
      ExternalName e;
      e.type = ValueType::boolean;
      e.fetch = [](std::span<const PersonOrdinal> ps, std::span<double> v, std::span<uint8_t> valid) {
        for (size_t i = 0; i < ps.size(); ++i) {
          v[i] = ps[i] % 2 == 0 ? 1 : 0;
          valid[i] = 1;
        }
      };
      return e;
    };
    return o;
  }());
  auto r = rs.evaluate_all(s, kAsOf);
  CHECK(r["spend_365d"].values[0] == 5500);
  CHECK(r["spend_365d"].values[3] == 0);
  CHECK(r["big_and_busy"].members.to_vector() == std::vector<uint32_t>{0});
  CHECK(r["band_high"].members.to_vector() == std::vector<uint32_t>{0});
  CHECK(r["seg"].members.to_vector() == std::vector<uint32_t>{0, 2, 4, 6});
  rs.store_traits(r, s);
  CHECK(std::get<double>(s.value(0, "spend_365d")) == 5500);
  auto churn = RuleSet::compile(s, "tag big = spend_365d > 1000");
  CHECK(churn.evaluate_all(s, kAsOf)["big"].members.to_vector() == std::vector<uint32_t>{0});
  // compiled for another store
  ProfileStore other;
  populate(other);
  CHECK_THROWS_AS(rs.evaluate_all(other, kAsOf), StateError);
}

TEST_CASE("tags: rule sets are stored in the workspace with versions") {
  auto ws = Workspace::open(":memory:");
  ProfileStore s(ws);
  define(s);
  auto v1 = RuleSet::compile(s, "tag a = count(order) > 0");
  CHECK(v1.save(*ws, "retail") == 1);
  auto v2 = RuleSet::compile(s, "tag a = count(order) > 1\ntag b = true");
  CHECK(v2.save(*ws, "retail") == 2);
  CHECK(RuleSet::versions(*ws, "retail") == std::vector<int64_t>{1, 2});
  CHECK(RuleSet::load(s, *ws, "retail").size() == 2);
  CHECK(RuleSet::load(s, *ws, "retail", 1).rules() == v1.rules());
  CHECK_THROWS_AS(RuleSet::load(s, *ws, "retail", 3), NotFound);
  CHECK_THROWS_AS(RuleSet::load(s, *ws, "other"), NotFound);
  CHECK(RuleSet::versions(*ws, "other").empty());
  // JSON form compiles to the same rules
  auto j = RuleSet::compile_json(s, v2.to_json());
  CHECK(j.rules() == v2.rules());
}

TEST_CASE("tags: a segment-style caller walks the tree and evaluates parts") {
  ProfileStore s;
  populate(s);
  auto tree = rules::parse_expression("vip_seg and count(order, last 30 days) >= 1");
  REQUIRE(tree.kind == rules::NodeKind::binary);
  // the caller answers vip_seg from its own bitmap and hands the rest back
  auto part = CompiledExpression::compile(s, tree.children[1]);
  CHECK(part.type() == ValueType::boolean);
  Bitmap b = part.evaluate_all(s, kAsOf);
  CHECK(b.to_vector() == std::vector<uint32_t>{0, 2, 5});
  CHECK(part.evaluate_one(s, 2, kAsOf));
  CHECK(!part.evaluate_one(s, 1, kAsOf));
  CHECK(part.evaluate_persons(s, Bitmap::from_values(std::vector<uint32_t>{1, 2, 3}), kAsOf).to_vector() ==
        std::vector<uint32_t>{2});
  auto num = CompiledExpression::compile(s, "sum(order.amount, last 365 days)");
  auto col = num.evaluate_numeric(s, kAsOf);
  CHECK(col.values[0] == 5500);
  CHECK(col.valid[0] == 1);
}
