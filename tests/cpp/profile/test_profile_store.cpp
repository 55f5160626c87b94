// The profile store: schema, batches, reads, persistence, bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cdpcore/error.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/workspace.hpp"

using namespace cdpcore;

namespace {

void define_retail(ProfileStore& s) {
  s.define_attribute({"member_level", ValueType::string, MergePolicy::latest});
  s.define_attribute({"signup_at", ValueType::timestamp, MergePolicy::first});
  s.define_attribute({"points", ValueType::int64, MergePolicy::sum});
  s.define_attribute({"score", ValueType::float64, MergePolicy::max});
  s.define_attribute({"interests", ValueType::string_set, MergePolicy::union_});
  s.define_attribute({"vip_flag", ValueType::boolean, MergePolicy::latest});
  s.define_event_type({"order", {{"amount", ValueType::float64}, {"category", ValueType::string}}});
  s.define_event_type({"page_view", {}});
}

std::string temp_path(const char* name) {
  auto p = std::filesystem::temp_directory_path() / (std::string("cdpcore_profile_") + name);
  std::filesystem::remove(p);
  std::filesystem::remove(p.string() + "-wal");
  std::filesystem::remove(p.string() + "-shm");
  return p.string();
}

}  // namespace

TEST_CASE("profile: value type and merge policy names round-trip") {
  for (auto t : {ValueType::boolean, ValueType::int64, ValueType::float64, ValueType::string, ValueType::timestamp,
                 ValueType::string_set})
    CHECK(parse_value_type(value_type_name(t)) == t);
  for (auto p : {MergePolicy::latest, MergePolicy::first, MergePolicy::min, MergePolicy::max, MergePolicy::sum,
                 MergePolicy::union_})
    CHECK(parse_merge_policy(merge_policy_name(p)) == p);
  CHECK_THROWS_AS(parse_value_type("decimal"), InvalidArgument);
  CHECK_THROWS_AS(parse_merge_policy("avg"), InvalidArgument);
}

TEST_CASE("profile: schema definitions are checked") {
  ProfileStore s;
  define_retail(s);
  CHECK(s.schema().attributes.size() == 6);
  CHECK(s.schema().event_type("order")->properties.size() == 2);
  // identical definition: no-op; another type: conflict
  s.define_attribute({"points", ValueType::int64, MergePolicy::sum});
  CHECK_THROWS_AS(s.define_attribute({"points", ValueType::float64}), Conflict);
  CHECK_THROWS_AS(s.define_attribute({"order", ValueType::int64}), Conflict);
  CHECK_THROWS_AS(s.define_attribute({"2fast", ValueType::int64}), InvalidArgument);
  CHECK_THROWS_AS(s.define_attribute({"has space", ValueType::int64}), InvalidArgument);
  CHECK_THROWS_AS(s.define_attribute({"and", ValueType::int64}), InvalidArgument);
  CHECK_THROWS_AS(s.define_attribute({"level", ValueType::string, MergePolicy::sum}), InvalidArgument);
  CHECK_THROWS_AS(s.define_attribute({"tags", ValueType::string, MergePolicy::union_}), InvalidArgument);
  CHECK_THROWS_AS(s.define_event_type({"x", {{"time", ValueType::int64}}}), InvalidArgument);
  CHECK_THROWS_AS(s.define_event_type({"x", {{"s", ValueType::string_set}}}), InvalidArgument);
  CHECK_THROWS_AS(s.define_event_type({"order", {{"amount", ValueType::int64}}}), Conflict);
  // a UTF-8 name is allowed
  s.define_attribute({"会员等级", ValueType::string});
  // new properties may be added to an event type
  s.define_event_type({"order", {{"store", ValueType::string}}});
  CHECK(s.schema().event_type("order")->properties.size() == 3);
}

TEST_CASE("profile: attribute upserts, reads and nulls") {
  ProfileStore s;
  define_retail(s);
  std::vector<PersonOrdinal> who = {0, 3, 5, 3};
  std::vector<std::string_view> level = {"gold", "silver", "platinum", "gold"};
  std::vector<int64_t> points = {10, 20, 30, 40};
  std::vector<double> score = {1.5, std::nan(""), 3.0, 4.0};
  std::vector<std::string_view> interests = {"a", "b", "b", "c"};
  std::vector<uint32_t> offsets = {0, 2, 2, 3, 4};
  ColumnInput set = ColumnInput::of_strings("interests", interests);
  set.type = ValueType::string_set;
  set.set_offsets = offsets;
  std::vector<ColumnInput> cols = {ColumnInput::of_strings("member_level", level),
                                   ColumnInput::of_int64s("points", points), ColumnInput::of_doubles("score", score),
                                   set};
  auto rep = s.upsert_attributes(RowKeys::of(who), cols);
  CHECK(rep.rows_applied == 4);
  CHECK(rep.touched.cardinality() == 3);
  CHECK(s.person_count() == 6);
  CHECK(std::get<std::string>(s.value(3, "member_level")) == "gold");  // the last row wins
  CHECK(std::get<int64_t>(s.value(3, "points")) == 40);
  CHECK(std::get<double>(s.value(3, "score")) == 4.0);
  CHECK(std::holds_alternative<std::monostate>(s.value(1, "member_level")));
  CHECK(std::holds_alternative<std::monostate>(s.value(100, "member_level")));
  auto set0 = std::get<std::vector<std::string>>(s.value(0, "interests"));
  CHECK(set0 == std::vector<std::string>{"a", "b"});
  // NaN is null: with nulls_clear the value goes away, without it stays
  std::vector<PersonOrdinal> one = {0};
  std::vector<double> nan = {std::nan("")};
  ColumnInput c = ColumnInput::of_doubles("score", nan);
  s.upsert_attributes(RowKeys::of(one), std::span<const ColumnInput>(&c, 1));
  CHECK(std::get<double>(s.value(0, "score")) == 1.5);
  WriteOptions clear;
  clear.nulls_clear = true;
  s.upsert_attributes(RowKeys::of(one), std::span<const ColumnInput>(&c, 1), clear);
  CHECK(std::holds_alternative<std::monostate>(s.value(0, "score")));
  auto col = s.attribute("points");
  CHECK(col.size >= 6);
  CHECK(col.as_double(5) == 30);
  CHECK(std::isnan(col.as_double(1)));
  auto d = s.read_doubles("points", std::vector<PersonOrdinal>{0, 1, 5});
  CHECK(d[0] == 10);
  CHECK(std::isnan(d[1]));
  CHECK_THROWS_AS(s.read_doubles("member_level", one), TypeError);
  CHECK_THROWS_AS(s.attribute("nope"), NotFound);
}

TEST_CASE("profile: a malformed row rejects the whole batch unless best effort") {
  ProfileStore s;
  define_retail(s);
  std::vector<PersonOrdinal> who = {1, 2, 3};
  std::string bad = "ok\xff";
  std::vector<std::string_view> level = {"gold", bad, "silver"};
  ColumnInput c = ColumnInput::of_strings("member_level", level);
  try {
    s.upsert_attributes(RowKeys::of(who), std::span<const ColumnInput>(&c, 1));
    FAIL("expected an error");
  } catch (const InvalidArgument& e) {
    std::string m = e.what();
    CHECK(m.find("row 1") != std::string::npos);
    CHECK(m.find("member_level") != std::string::npos);
    CHECK(m.find("UTF-8") != std::string::npos);
  }
  CHECK(std::holds_alternative<std::monostate>(s.value(1, "member_level")));  // nothing applied
  WriteOptions be;
  be.best_effort = true;
  auto rep = s.upsert_attributes(RowKeys::of(who), std::span<const ColumnInput>(&c, 1), be);
  CHECK(rep.rows_applied == 2);
  REQUIRE(rep.rejected.size() == 1);
  CHECK(rep.rejected[0].index == 1);
  CHECK(std::get<std::string>(s.value(3, "member_level")) == "silver");
  // wrong types and sizes are errors of the whole column
  std::vector<int64_t> ints = {1, 2};
  ColumnInput wrong = ColumnInput::of_int64s("member_level", ints);
  CHECK_THROWS_AS(s.upsert_attributes(RowKeys::of(who), std::span<const ColumnInput>(&wrong, 1)), TypeError);
  ColumnInput short_col = ColumnInput::of_int64s("points", ints);
  CHECK_THROWS_AS(s.upsert_attributes(RowKeys::of(who), std::span<const ColumnInput>(&short_col, 1)), InvalidArgument);
  ColumnInput unknown = ColumnInput::of_int64s("nope", ints);
  CHECK_THROWS_AS(s.upsert_attributes(RowKeys::of(who), std::span<const ColumnInput>(&unknown, 1)), NotFound);
  // an ordinal far out of range is a row error
  std::vector<PersonOrdinal> far = {0xFFFFFFF0u};
  std::vector<int64_t> one = {1};
  ColumnInput p = ColumnInput::of_int64s("points", one);
  CHECK_THROWS_AS(s.upsert_attributes(RowKeys::of(far), std::span<const ColumnInput>(&p, 1)), InvalidArgument);
  // identifier keys need an identity graph
  std::vector<std::string_view> ids = {"a"};
  CHECK_THROWS_AS(s.upsert_attributes(RowKeys::of_identifiers("phone", ids), std::span<const ColumnInput>(&p, 1)),
                  StateError);
}

TEST_CASE("profile: events are kept sorted by person and time") {
  ProfileStore s;
  define_retail(s);
  std::vector<PersonOrdinal> who = {2, 0, 2, 1, 2};
  std::vector<Timestamp> t = {300, 100, 100, 50, 200};
  std::vector<double> amount = {3, 1, 1.5, 9, 2};
  std::vector<std::string_view> cat = {"c", "a", "a", "b", "b"};
  std::vector<ColumnInput> props = {ColumnInput::of_doubles("amount", amount), ColumnInput::of_strings("category", cat)};
  auto rep = s.append_events("order", RowKeys::of(who), t, props);
  CHECK(rep.rows_applied == 5);
  CHECK(s.event_count("order") == 5);
  // pending rows are visible per person, in time order
  auto ev = s.person_events(2, "order");
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].time == 100);
  CHECK(ev[1].time == 200);
  CHECK(ev[2].time == 300);
  CHECK(std::get<double>(ev[2].properties[0]) == 3);
  s.compact();
  auto log = s.events("order");
  CHECK(log.rows == 5);
  REQUIRE(log.offsets.size() >= 4);
  CHECK(log.offsets[0] == 0);
  CHECK(log.offsets[1] == 1);
  CHECK(log.offsets[2] == 2);
  CHECK(log.offsets[3] == 5);
  CHECK(log.time[2] == 100);
  CHECK(log.time[4] == 300);
  CHECK((*log.columns[1].dictionary)[log.columns[1].codes[4]] == "c");
  // a single event
  s.append_event("order", 1, Event{10, {4.0, std::string("z")}});
  auto e1 = s.person_events(1, "order");
  REQUIRE(e1.size() == 2);
  CHECK(e1[0].time == 10);
  CHECK(std::get<std::string>(e1[0].properties[1]) == "z");
  // a missing property is null
  s.append_event("order", 7, Event{5, {2.0}});
  auto e7 = s.person_events(7, "order");
  CHECK(std::holds_alternative<std::monostate>(e7[0].properties[1]));
  CHECK_THROWS_AS(s.append_events("nope", RowKeys::of(who), t, props), NotFound);
  std::vector<Timestamp> short_t = {1};
  CHECK_THROWS_AS(s.append_events("order", RowKeys::of(who), short_t, props), InvalidArgument);
  auto mem = s.memory_usage();
  CHECK(mem.events == 7);
  CHECK(mem.event_bytes > 0);
}

TEST_CASE("profile: dictionary-encoded string columns") {
  ProfileStore s;
  define_retail(s);
  std::vector<PersonOrdinal> who = {0, 1, 2};
  std::vector<Timestamp> t = {1, 2, 3};
  std::vector<int32_t> codes = {1, -1, 0};
  std::vector<std::string_view> dict = {"shoes", "bags"};
  std::vector<ColumnInput> props = {ColumnInput::of_codes("category", codes, dict)};
  s.append_events("order", RowKeys::of(who), t, props);
  CHECK(std::get<std::string>(s.person_events(0, "order")[0].properties[1]) == "bags");
  CHECK(std::holds_alternative<std::monostate>(s.person_events(1, "order")[0].properties[1]));
  std::vector<int32_t> bad = {5, 0, 0};
  std::vector<ColumnInput> bad_props = {ColumnInput::of_codes("category", bad, dict)};
  CHECK_THROWS_AS(s.append_events("order", RowKeys::of(who), t, bad_props), InvalidArgument);
}

TEST_CASE("profile: a bound store persists schema and data in the workspace") {
  std::string path = temp_path("persist.cdp");
  {
    auto ws = Workspace::open(path);
    ProfileStore s(ws);
    define_retail(s);
    std::vector<PersonOrdinal> who = {0, 4};
    std::vector<std::string_view> level = {"gold", "silver"};
    std::vector<std::string_view> interests = {"x", "y", "z"};
    std::vector<uint32_t> offsets = {0, 1, 3};
    ColumnInput set = ColumnInput::of_strings("interests", interests);
    set.type = ValueType::string_set;
    set.set_offsets = offsets;
    std::vector<ColumnInput> cols = {ColumnInput::of_strings("member_level", level), set};
    s.upsert_attributes(RowKeys::of(who), cols);
    std::vector<PersonOrdinal> ew = {4, 0, 4};
    std::vector<Timestamp> t = {20, 10, 5};
    std::vector<double> amount = {2.5, 1.0, std::nan("")};
    std::vector<ColumnInput> props = {ColumnInput::of_doubles("amount", amount)};
    s.append_events("order", RowKeys::of(ew), t, props);
    // a failing batch leaves no trace in the file
    std::vector<PersonOrdinal> w2 = {9};
    std::string bad = "\xc0";
    std::vector<std::string_view> lv = {bad};
    ColumnInput c = ColumnInput::of_strings("member_level", lv);
    CHECK_THROWS(s.upsert_attributes(RowKeys::of(w2), std::span<const ColumnInput>(&c, 1)));
  }
  {
    auto ws = Workspace::open(path);
    CHECK(ws->schema_version("profile") == 1);
    ProfileStore s(ws);
    CHECK(s.schema().attributes.size() == 6);
    CHECK(std::get<std::string>(s.value(4, "member_level")) == "silver");
    auto set = std::get<std::vector<std::string>>(s.value(4, "interests"));
    CHECK(set == std::vector<std::string>{"y", "z"});
    CHECK(s.person_count() == 5);
    auto ev = s.person_events(4, "order");
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].time == 5);
    CHECK(std::holds_alternative<std::monostate>(ev[0].properties[0]));
    CHECK(std::get<double>(ev[1].properties[0]) == 2.5);
  }
  std::filesystem::remove(path);
}

TEST_CASE("profile: merges combine attributes by policy and move events") {
  ProfileStore s;
  define_retail(s);
  auto up = [&](PersonOrdinal p, std::string_view level, int64_t pts, double score, std::string_view interest) {
    std::vector<PersonOrdinal> who = {p};
    std::vector<std::string_view> l = {level};
    std::vector<int64_t> pt = {pts};
    std::vector<double> sc = {score};
    std::vector<std::string_view> in = {interest};
    ColumnInput set = ColumnInput::of_strings("interests", in);
    set.type = ValueType::string_set;
    std::vector<uint32_t> off = {0, 1};
    set.set_offsets = off;
    std::vector<ColumnInput> cols = {ColumnInput::of_strings("member_level", l), ColumnInput::of_int64s("points", pt),
                                     ColumnInput::of_doubles("score", sc), set};
    s.upsert_attributes(RowKeys::of(who), cols);
  };
  up(1, "silver", 10, 0.5, "a");
  up(2, "gold", 5, 0.9, "b");  // written later: latest wins
  std::vector<Timestamp> st = {100};
  std::vector<PersonOrdinal> p1 = {1};
  std::vector<ColumnInput> su = {ColumnInput::of_timestamps("signup_at", st)};
  s.upsert_attributes(RowKeys::of(p1), su);
  std::vector<Timestamp> st2 = {50};
  std::vector<PersonOrdinal> p2 = {2};
  std::vector<ColumnInput> su2 = {ColumnInput::of_timestamps("signup_at", st2)};
  s.upsert_attributes(RowKeys::of(p2), su2);  // written later: `first` keeps person 1's
  s.append_event("order", 1, Event{10, {1.0}});
  s.append_event("order", 2, Event{5, {2.0}});
  s.merge_persons(1, 2);
  CHECK(std::get<std::string>(s.value(1, "member_level")) == "gold");
  CHECK(std::get<int64_t>(s.value(1, "points")) == 15);
  CHECK(std::get<double>(s.value(1, "score")) == 0.9);
  CHECK(std::get<int64_t>(s.value(1, "signup_at")) == 100);
  CHECK(std::get<std::vector<std::string>>(s.value(1, "interests")) == std::vector<std::string>{"a", "b"});
  CHECK(std::holds_alternative<std::monostate>(s.value(2, "member_level")));
  auto ev = s.person_events(1, "order");
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].time == 5);
  CHECK(s.person_events(2, "order").empty());
  s.erase_person(1);
  CHECK(s.person_events(1, "order").empty());
  CHECK(std::holds_alternative<std::monostate>(s.value(1, "points")));
}

TEST_CASE("profile: CSV and JSON Lines files") {
  ProfileStore s;
  define_retail(s);
  std::string csv = temp_path("attrs.csv");
  {
    std::ofstream f(csv);
    f << "person,member_level,points,interests\n"
         "0,gold,5,\"a|b\"\n"
         "1,\"silver, old\",7,[\"x\"]\n"
         "2,,,\n";
  }
  FileLoadOptions o;
  auto rep = s.load_csv(csv, o);
  CHECK(rep.rows_applied == 3);
  CHECK(std::get<std::string>(s.value(1, "member_level")) == "silver, old");
  CHECK(std::get<std::vector<std::string>>(s.value(0, "interests")) == std::vector<std::string>{"a", "b"});
  CHECK(std::holds_alternative<std::monostate>(s.value(2, "points")));
  {
    std::ofstream f(csv);
    f << "person,points\n0,5\n1,five\n2,6\n";
  }
  try {
    s.load_csv(csv, o);
    FAIL("expected an error");
  } catch (const InvalidArgument& e) {
    CHECK(std::string(e.what()).find("line 3") != std::string::npos);
  }
  CHECK(std::holds_alternative<std::monostate>(s.value(2, "points")));  // nothing applied
  o.write.best_effort = true;
  rep = s.load_csv(csv, o);
  CHECK(rep.rows_applied == 2);
  REQUIRE(rep.rejected.size() == 1);
  CHECK(rep.rejected[0].index == 1);
  std::string jl = temp_path("orders.jsonl");
  {
    std::ofstream f(jl);
    f << "{\"person\": 3, \"time\": \"2024-01-02T00:00:00Z\", \"amount\": 12.5, \"category\": \"shoes\"}\n"
         "\n"
         "{\"person\": 3, \"time\": 1000, \"amount\": null}\n";
  }
  FileLoadOptions eo;
  eo.event_type = "order";
  rep = s.load_jsonl(jl, eo);
  CHECK(rep.rows_applied == 2);
  auto ev = s.person_events(3, "order");
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].time == 1000);
  CHECK(ev[1].time == parse_iso8601("2024-01-02"));
  {
    std::ofstream f(jl);
    f << "{\"person\": 3, \"time\": 1, \"amount\": 1}\n{\"person\": 3, \"time\": 1, \"amount\": \n";
  }
  CHECK_THROWS_AS(s.load_jsonl(jl, eo), ParseError);
  CHECK_THROWS_AS(s.load_csv("/nonexistent/x.csv", o), IoError);
  std::filesystem::remove(csv);
  std::filesystem::remove(jl);
}
