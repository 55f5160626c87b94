#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "cdpcore/error.hpp"
#include "cdpcore/segment.hpp"
#include "cdpcore/workspace.hpp"

using namespace cdpcore;

namespace {

constexpr uint32_t kPersons = 20000;

// Random tags over kPersons persons with a fixed seed; `vec` keeps a plain
// copy for the oracle.
struct Tags {
  std::map<std::string, std::vector<bool>> vec;
  std::map<std::string, std::vector<std::string>> labels;  // value tag: label per person ("" = none)
};

Tags make_tags(SegmentEngine& seg, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  Tags t;
  const std::pair<const char*, double> tags[] = {{"vip", 0.1},       {"repeat_buyer", 0.3}, {"lapsed", 0.2},
                                                 {"sms_ok", 0.6},    {"shanghai", 0.25},     {"rare", 0.002},
                                                 {"everyone", 1.0}};
  for (auto [name, density] : tags) {
    std::vector<bool> v(kPersons);
    std::vector<uint32_t> members;
    std::bernoulli_distribution d(density);
    for (uint32_t p = 0; p < kPersons; ++p)
      if ((v[p] = d(rng))) members.push_back(p);
    seg.set_tag(name, Bitmap::from_values(members));
    t.vec[name] = v;
  }
  std::vector<std::string> band(kPersons);
  std::vector<std::vector<uint32_t>> by(3);
  const char* names[] = {"high", "mid", "low"};
  for (uint32_t p = 0; p < kPersons; ++p) {
    uint32_t r = rng() % 4;  // 3 = no label
    if (r < 3) {
      band[p] = names[r];
      by[r].push_back(p);
    }
  }
  seg.set_value_tag("price_band", {"high", "mid", "low"},
                    {Bitmap::from_values(by[0]), Bitmap::from_values(by[1]), Bitmap::from_values(by[2])});
  t.labels["price_band"] = band;
  seg.set_universe(Bitmap::from_range(0, kPersons));
  return t;
}

std::vector<uint32_t> where(const std::function<bool(uint32_t)>& f) {
  std::vector<uint32_t> out;
  for (uint32_t p = 0; p < kPersons; ++p)
    if (f(p)) out.push_back(p);
  return out;
}

std::string temp_path(const char* name) {
  std::string p = std::string("test_segment_") + name;
  std::remove(p.c_str());
  std::remove((p + "-wal").c_str());
  std::remove((p + "-shm").c_str());
  return p;
}

}  // namespace

TEST_CASE("segment: definitions over tags equal the condition evaluated person by person") {
  SegmentEngine seg;
  Tags t = make_tags(seg);
  auto& v = t.vec;
  auto& band = t.labels["price_band"];
  struct Case {
    const char* def;
    std::function<bool(uint32_t)> oracle;
  };
  const Case cases[] = {
      {"vip or repeat_buyer", [&](uint32_t p) { return v["vip"][p] || v["repeat_buyer"][p]; }},
      {"(vip or repeat_buyer) and shanghai and not lapsed",
       [&](uint32_t p) { return (v["vip"][p] || v["repeat_buyer"][p]) && v["shanghai"][p] && !v["lapsed"][p]; }},
      {"not vip", [&](uint32_t p) { return !v["vip"][p]; }},
      {"not (vip and sms_ok) or rare", [&](uint32_t p) { return !(v["vip"][p] && v["sms_ok"][p]) || v["rare"][p]; }},
      {"price_band == \"high\" and sms_ok", [&](uint32_t p) { return band[p] == "high" && v["sms_ok"][p]; }},
      // Three-valued: persons without a label are neither == nor != "high".
      {"price_band != \"high\"", [&](uint32_t p) { return !band[p].empty() && band[p] != "high"; }},
      {"not (price_band == \"high\")", [&](uint32_t p) { return !band[p].empty() && band[p] != "high"; }},
      {"price_band in [\"high\", \"mid\"] or vip",
       [&](uint32_t p) { return band[p] == "high" || band[p] == "mid" || v["vip"][p]; }},
      {"price_band not in [\"low\"] and not lapsed",
       [&](uint32_t p) { return !band[p].empty() && band[p] != "low" && !v["lapsed"][p]; }},
      {"price_band is null", [&](uint32_t p) { return band[p].empty(); }},
      {"not (price_band == \"low\" or lapsed)",
       [&](uint32_t p) { return !band[p].empty() && band[p] != "low" && !v["lapsed"][p]; }},
      {"everyone and not everyone", [&](uint32_t) { return false; }},
      {"true and vip", [&](uint32_t p) { return bool(v["vip"][p]); }},
  };
  int i = 0;
  for (const Case& c : cases) {
    std::string name = "s" + std::to_string(i++);
    seg.define(name, c.def);
    const Bitmap& got = seg.evaluate(name, 0);
    INFO(c.def);
    CHECK(got.to_vector() == where(c.oracle));
    CHECK(seg.count(name) == got.cardinality());
  }
}

TEST_CASE("segment: segments over segments, and counts with a hypothetical extra condition") {
  SegmentEngine seg;
  Tags t = make_tags(seg);
  auto& v = t.vec;
  seg.define("buyers", "vip or repeat_buyer");
  seg.define("reachable_buyers", "buyers and sms_ok");
  auto oracle = where([&](uint32_t p) { return (v["vip"][p] || v["repeat_buyer"][p]) && v["sms_ok"][p]; });
  // Evaluating the outer one evaluates the inner one first.
  CHECK(seg.evaluate("reachable_buyers", 5).to_vector() == oracle);
  CHECK(seg.info("buyers").evaluated);
  CHECK(seg.info("buyers").as_of == 5);
  CHECK(seg.info("reachable_buyers").segments == std::vector<std::string>{"buyers"});
  CHECK(seg.count_with("buyers", "sms_ok", 5) == oracle.size());
  CHECK(seg.preview("buyers and sms_ok", 5).to_vector() == oracle);
}

TEST_CASE("segment: unknown names, type errors and cycles are reported with their position") {
  SegmentEngine seg;
  make_tags(seg);
  try {
    seg.define("a", "vip and\n  nosuchtag");
    FAIL("accepted an unknown name");
  } catch (const NotFound& e) {
    std::string m = e.what();
    CHECK(m.find("nosuchtag") != std::string::npos);
    CHECK(m.find("line 2, column 3") != std::string::npos);
  }
  try {
    seg.define("b", "vip and price_band");
    FAIL("accepted a value tag as a condition");
  } catch (const TypeError& e) {
    CHECK(std::string(e.what()).find("column 9") != std::string::npos);
    CHECK(std::string(e.what()).find("price_band") != std::string::npos);
  }
  CHECK_THROWS_AS(seg.define("c", "price_band == 3"), TypeError);
  CHECK_THROWS_AS(seg.define("d", "price_band in [\"high\", 2]"), TypeError);
  CHECK_THROWS_AS(seg.define("e", "vip and (repeat_buyer"), ParseError);
  CHECK_FALSE(seg.contains("a"));
  // Cycles: x -> y -> x, named in the message.
  seg.define("x", "vip");
  seg.define("y", "x or lapsed");
  try {
    seg.define("x", "y and sms_ok", {.replace = true});
    FAIL("accepted a cycle");
  } catch (const InvalidArgument& e) {
    std::string m = e.what();
    CHECK(m.find("x -> y -> x") != std::string::npos);
    CHECK(m.find("column 1") != std::string::npos);
  }
  CHECK(seg.info("x").definition == "vip");  // the failed redefinition left it as it was
  try {
    seg.define("selfish", "vip or selfish");
    FAIL("accepted a self reference");
  } catch (const InvalidArgument& e) {
    CHECK(std::string(e.what()).find("selfish -> selfish") != std::string::npos);
  }
  CHECK_THROWS_AS(seg.define("x", "vip"), Conflict);
  CHECK_THROWS_AS(seg.define("9lives", "vip"), InvalidArgument);
  CHECK_THROWS_AS(seg.remove("x"), Conflict);  // y uses it
}

TEST_CASE("segment: a segment over a deleted tag fails to evaluate instead of returning nobody") {
  SegmentEngine seg;
  make_tags(seg);
  seg.define("vips", "vip and sms_ok");
  CHECK(seg.evaluate("vips", 0).cardinality() > 0);
  CHECK(seg.remove_tag("vip"));
  try {
    seg.evaluate("vips", 0);
    FAIL("evaluated over a deleted tag");
  } catch (const NotFound& e) {
    std::string m = e.what();
    CHECK(m.find("tag 'vip' was deleted") != std::string::npos);
    CHECK(m.find("line 1, column 1") != std::string::npos);
  }
  // The last members stay readable.
  CHECK(seg.count("vips") > 0);
}

TEST_CASE("segment: overlap matrix and breakdown equal counts over the plain vectors") {
  SegmentEngine seg;
  Tags t = make_tags(seg);
  std::vector<std::string> names = {"vip", "repeat_buyer", "lapsed", "shanghai"};
  for (const auto& n : names) {
    seg.define("s_" + n, n);
    seg.evaluate("s_" + n, 0);
  }
  std::vector<std::string> seg_names;
  for (const auto& n : names) seg_names.push_back("s_" + n);
  OverlapMatrix m = seg.overlap(seg_names);
  for (size_t i = 0; i < names.size(); ++i)
    for (size_t j = 0; j < names.size(); ++j) {
      uint64_t n = 0;
      for (uint32_t p = 0; p < kPersons; ++p) n += t.vec[names[i]][p] && t.vec[names[j]][p];
      CHECK(m.at(i, j) == n);
    }
  Breakdown b = seg.breakdown("s_vip", "price_band");
  std::map<std::string, uint64_t> expect;
  for (uint32_t p = 0; p < kPersons; ++p)
    if (t.vec["vip"][p]) ++expect[t.labels["price_band"][p]];
  for (size_t i = 0; i < b.labels.size(); ++i) CHECK(b.counts[i] == expect[b.labels[i]]);
  CHECK(b.unlabelled == expect[""]);
}

TEST_CASE("segment: samples are deterministic, of the requested size and drawn from the members") {
  Bitmap members = Bitmap::from_range(0, 50000);
  Bitmap a = SegmentEngine::sample(members, 1000, 7), b = SegmentEngine::sample(members, 1000, 7);
  CHECK(a.cardinality() == 1000);
  CHECK(a == b);
  CHECK(a.is_subset_of(members));
  CHECK_FALSE(a == SegmentEngine::sample(members, 1000, 8));
  CHECK(SegmentEngine::sample(members, 60000, 7) == members);
  CHECK(SegmentEngine::sample(members, 0, 7).empty());
  // A person sampled from a smaller set stays sampled in a bigger one unless
  // displaced: bottom-k of the superset keeps the smallest hashes.
  Bitmap grown = Bitmap::from_range(0, 60000);
  Bitmap g = SegmentEngine::sample(grown, 1000, 7);
  CHECK(Bitmap::and_cardinality(g, a) > 800);
}

TEST_CASE("segment: holdout groups have the requested proportions and are stable as the segment grows") {
  SegmentEngine seg;
  Bitmap small = Bitmap::from_range(0, 40000);
  auto groups = seg.split(small, {.salt = "spring", .proportions = {0.2, 0.8}});
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].cardinality() + groups[1].cardinality() == 40000);
  CHECK_FALSE(Bitmap::intersects(groups[0], groups[1]));
  // Binomial: sd = sqrt(n p (1-p)) = 80; allow 5 sd.
  double n0 = static_cast<double>(groups[0].cardinality());
  CHECK(std::fabs(n0 - 8000) < 5 * 80);
  Bitmap big = Bitmap::from_range(0, 80000);
  auto again = seg.split(big, {.salt = "spring", .proportions = {0.2, 0.8}});
  CHECK(groups[0].is_subset_of(again[0]));
  CHECK(groups[1].is_subset_of(again[1]));
  auto other = seg.split(small, {.salt = "autumn", .proportions = {0.2, 0.8}});
  // Another salt: independent assignment, overlap near 0.2 * 0.2 * n.
  double both = static_cast<double>(Bitmap::and_cardinality(groups[0], other[0]));
  CHECK(std::fabs(both - 1600) < 5 * std::sqrt(40000 * 0.04 * 0.96));
  CHECK_THROWS_AS(seg.split(small, {.salt = "x", .proportions = {0.5, 0.6}}), InvalidArgument);
  CHECK_THROWS_AS(seg.split(small, {.salt = "x", .proportions = {1.0, 0.0}}), InvalidArgument);
}

TEST_CASE("segment: snapshot diffs equal set differences, and refresh reports who entered and exited") {
  SegmentEngine seg;
  Tags t = make_tags(seg);
  seg.define("buyers", "vip or repeat_buyer");
  Bitmap before = seg.evaluate("buyers", 100);
  int64_t s1 = seg.snapshot("buyers", 100, "monday");
  // Tags change: some persons leave vip, some join repeat_buyer.
  Bitmap vip = seg.tag("vip"), rb = seg.tag("repeat_buyer");
  std::mt19937 rng(3);
  for (int i = 0; i < 500; ++i) {
    vip.remove(rng() % kPersons);
    rb.add(rng() % kPersons);
  }
  seg.set_tag("vip", vip);
  seg.set_tag("repeat_buyer", rb);
  auto changes = seg.refresh(200);
  REQUIRE(changes.size() == 1);
  Bitmap after = seg.members("buyers");
  CHECK(after == (vip | rb));
  CHECK(changes[0].entered == after - before);
  CHECK(changes[0].exited == before - after);
  int64_t s2 = seg.snapshot("buyers", 200, "tuesday");
  SnapshotDiff d = seg.diff(s1, s2);
  CHECK(d.entered == after - before);
  CHECK(d.exited == before - after);
  auto snaps = seg.snapshots("buyers");
  REQUIRE(snaps.size() == 2);
  CHECK(snaps[0].label == "monday");
  CHECK(snaps[1].size == after.cardinality());
  // The change log holds the same events.
  auto log = seg.changes_since(0);
  CHECK(log.size() == d.entered.cardinality() + d.exited.cardinality());
  for (const auto& e : log) CHECK((e.entered ? d.entered : d.exited).contains(e.person));
  CHECK(seg.drop_snapshot(s1));
  CHECK_THROWS_AS(seg.snapshot_members(s1), NotFound);
}

TEST_CASE("segment: one person's event re-evaluates the segments that depend on what changed") {
  SegmentEngine seg;
  make_tags(seg);
  seg.define("vips", "vip and sms_ok");
  seg.define("vip_sh", "vips and shanghai");
  seg.define("lapsers", "lapsed");
  seg.evaluate("vip_sh", 0);
  seg.evaluate("lapsers", 0);
  // A person who is sms_ok and in Shanghai but not vip becomes vip.
  const Bitmap cand = (seg.tag("sms_ok") & seg.tag("shanghai")) - seg.tag("vip");
  uint32_t p = 0;
  REQUIRE(cand.select(0, &p));
  seg.set_person_tag(p, "vip", true);
  std::vector<std::string> changed = {"vip"};
  auto events = seg.update_person(p, changed, 10);
  REQUIRE(events.size() == 2);
  CHECK(events[0].segment == "vips");
  CHECK(events[0].entered);
  CHECK(events[1].segment == "vip_sh");
  CHECK(events[1].entered);
  CHECK(seg.members("vip_sh").contains(p));
  auto in = seg.segments_of(p);
  CHECK(std::find(in.begin(), in.end(), "vip_sh") != in.end());
  // Nothing reads "rare": no event.
  std::vector<std::string> other = {"rare"};
  CHECK(seg.update_person(p, other, 11).empty());
  seg.set_person_tag(p, "vip", false);
  events = seg.update_person(p, changed, 12);
  REQUIRE(events.size() == 2);
  CHECK_FALSE(events[0].entered);
  CHECK_FALSE(seg.members("vips").contains(p));
  auto log = seg.changes_since(0);
  CHECK(log.size() == 4);
}

TEST_CASE("segment: segments_of answers from the reverse index like probing every segment") {
  SegmentEngine seg;
  make_tags(seg);
  const char* defs[] = {"vip", "lapsed and not vip", "rare or shanghai", "price_band == \"mid\"", "sms_ok"};
  int i = 0;
  for (const char* d : defs) {
    seg.define("r" + std::to_string(i++), d);
  }
  seg.refresh(0);
  seg.define_fixed("high_ordinals", Bitmap::from_range(70000, 70100));
  auto check_all = [&] {
    for (uint32_t p : {0u, 1u, 17u, 4095u, 12345u, 19999u, 70050u, 99999u}) {
      std::vector<std::string> expect;
      for (const auto& n : seg.names())
        if (seg.members(n).contains(p)) expect.push_back(n);
      CHECK(seg.segments_of(p) == expect);
    }
  };
  check_all();
  // Every way members change keeps the index right.
  seg.define("r1", "sms_ok and not vip", {.replace = true});
  seg.evaluate("r1", 0);
  check_all();
  CHECK(seg.remove("r3"));
  check_all();
  seg.set_person_tag(17, "vip", !seg.tag("vip").contains(17));
  std::vector<std::string> changed = {"vip"};
  seg.update_person(17, changed, 1);
  check_all();
  seg.define_fixed("high_ordinals", Bitmap::from_values(std::vector<uint32_t>{1, 99999}), {.replace = true});
  check_all();
  // More segments than one 64-bit word of the index holds.
  for (int k = 0; k < 70; ++k) seg.define_fixed("many" + std::to_string(k), Bitmap::from_values(std::vector<uint32_t>{uint32_t(k)}));
  check_all();
  auto in69 = seg.segments_of(69);
  CHECK(std::find(in69.begin(), in69.end(), "many69") != in69.end());
  CHECK(std::find(in69.begin(), in69.end(), "many68") == in69.end());
}

TEST_CASE("segment: definitions, members, snapshots and the change log survive reopening") {
  std::string path = temp_path("reopen.cdp");
  Bitmap members_before;
  int64_t snap = 0;
  uint32_t p = 0;
  {
    SegmentEngine seg(Workspace::open(path));
    make_tags(seg);
    seg.define("vips", "vip and sms_ok", {.description = "reachable VIPs"});
    seg.define_fixed("list", Bitmap::from_values(std::vector<uint32_t>{3, 5, 8}));
    seg.evaluate("vips", 42);
    snap = seg.snapshot("vips", 42);
    // A per-person change after the members were stored: replayed from the log.
    REQUIRE((seg.tag("sms_ok") - seg.tag("vip")).select(0, &p));
    seg.set_person_tag(p, "vip", true);
    std::vector<std::string> changed = {"vip"};
    REQUIRE(seg.update_person(p, changed, 43).size() == 1);
    members_before = seg.members("vips");
  }
  SegmentEngine again(Workspace::open(path));
  CHECK(again.names() == std::vector<std::string>{"list", "vips"});
  CHECK(again.members("vips") == members_before);
  CHECK(again.members("vips").contains(p));
  CHECK(again.members("list").to_vector() == std::vector<uint32_t>{3, 5, 8});
  SegmentInfo info = again.info("vips");
  CHECK(info.description == "reachable VIPs");
  CHECK(info.as_of == 42);
  CHECK(info.tags == std::vector<std::string>{"sms_ok", "vip"});
  CHECK(again.snapshot_members(snap).cardinality() + 1 == members_before.cardinality());
  CHECK(again.changes_since(0).size() == 1);
  CHECK(again.segments_of(p) == std::vector<std::string>{"vips"});
  // Without the tags the definition cannot be evaluated, and says why.
  CHECK_THROWS_AS(again.evaluate("vips", 50), NotFound);
  std::remove(path.c_str());
}

TEST_CASE("segment: a failed write leaves the workspace and memory as they were") {
  std::string path = temp_path("readonly.cdp");
  {
    SegmentEngine seg(Workspace::open(path));
    seg.define_fixed("list", Bitmap::from_values(std::vector<uint32_t>{1, 2}));
  }
  WorkspaceOptions ro;
  ro.read_only = true;
  SegmentEngine seg(Workspace::open(path, ro));
  CHECK_THROWS(seg.define_fixed("other", Bitmap::from_range(0, 10)));
  CHECK_FALSE(seg.contains("other"));
  CHECK_THROWS(seg.remove("list"));
  CHECK(seg.contains("list"));
  std::remove(path.c_str());
}

TEST_CASE("segment: export streams members in batches, filtered by an allowed bitmap") {
  SegmentEngine seg;
  Bitmap members = Bitmap::from_range(0, 25000);
  Bitmap allowed = Bitmap::from_range(10000, 30000);
  std::vector<uint32_t> seen;
  size_t batches = 0;
  ExportOptions opts;
  opts.allowed = &allowed;
  opts.batch_size = 4000;
  ExportReport r = seg.export_members(members, opts, [&](const ExportBatch& b) {
    CHECK(b.persons.size() <= 4000);
    CHECK(b.keys.empty());  // no identity graph
    seen.insert(seen.end(), b.persons.begin(), b.persons.end());
    ++batches;
    return true;
  });
  CHECK(r.members == 25000);
  CHECK(r.not_allowed == 10000);
  CHECK(r.exported == 15000);
  CHECK(batches == 4);
  CHECK(seen == (members & allowed).to_vector());
  opts.identifier_types = {"phone"};
  CHECK_THROWS_AS(seg.export_members(members, opts, [](const ExportBatch&) { return true; }), StateError);
  // CSV without identity: ordinals.
  std::string path = temp_path("export.csv");
  ExportOptions plain;
  seg.export_csv(Bitmap::from_values(std::vector<uint32_t>{4, 9}), path, plain);
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  CHECK(ss.str() == "person_ordinal\r\n4\r\n9\r\n");
  std::remove(path.c_str());
}
