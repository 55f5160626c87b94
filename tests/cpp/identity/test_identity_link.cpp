#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "cdpcore/identity.hpp"
#include "cdpcore/workspace.hpp"

using namespace cdpcore;

namespace {

Record rec(std::initializer_list<std::pair<const char*, const char*>> ids, Timestamp t, const char* source = "test") {
  Record r;
  for (auto& [ty, v] : ids) r.identifiers.emplace_back(std::string_view(ty), std::string_view(v));
  r.time = t;
  r.source = source;
  return r;
}

struct Recorder : IdentityListener {
  std::vector<ChangeEvent> events;
  int rolled_back = 0;
  void on_merged(const ChangeEvent& e) override { events.push_back(e); }
  void on_split(const ChangeEvent& e) override { events.push_back(e); }
  void on_erased(const ChangeEvent& e) override { events.push_back(e); }
  void on_rolled_back() override { ++rolled_back; }
};

}  // namespace

TEST_CASE("identity: records sharing an identifier become one person; the oldest key survives") {
  IdentityGraph g;
  g.register_default_types();
  Recorder rec_l;
  g.add_listener(&rec_l);
  g.link(rec({{"phone", "13800138000"}, {"crm_id", "M1"}}, 100));
  g.link(rec({{"email", "A@x.com"}, {"cookie", "c1"}}, 200));
  auto p1 = g.ordinal_of("phone", "+86 138 0013 8000");
  auto p2 = g.ordinal_of("email", " a@X.com ");
  REQUIRE(p1);
  REQUIRE(p2);
  CHECK(*p1 != *p2);
  const PersonKey k1 = *g.key_of(*p1), k2 = *g.key_of(*p2);
  CHECK(k1 < k2);
  auto res = g.link(rec({{"cookie", "C1"}, {"phone", "138-0013-8000"}}, 300));
  CHECK(res.merges == 1);
  CHECK(g.ordinal_of("email", "a@x.com") == g.ordinal_of("crm_id", "M1"));
  const PersonOrdinal p = *g.ordinal_of("crm_id", "M1");
  CHECK(g.key_of(p) == k1);                 // the oldest survives
  CHECK(g.resolve_key(k2) == k1);           // the merged-away key resolves to it
  CHECK(g.ordinal_of_key(k2) == p);
  CHECK(g.identifiers_of(p).size() == 4);
  CHECK(g.identifiers_of(p, g.type_id("phone")).at(0).value == "+8613800138000");
  REQUIRE(rec_l.events.size() == 1);
  CHECK(rec_l.events[0].kind == ChangeKind::merged);
  CHECK(rec_l.events[0].key == k1);
  CHECK(rec_l.events[0].absorbed_key == k2);
  CHECK(rec_l.events[0].source == "test");
  auto log = g.changes_since(0);
  REQUIRE(log.size() == 1);
  CHECK(log[0].seq == 1);
  CHECK(g.persons().cardinality() == 1);
  CHECK(g.stats().identifiers == 4);
}

TEST_CASE("identity: a limit refuses the merge, records a conflict and links the rest") {
  IdentityGraph g;
  g.register_default_types();
  g.link(rec({{"crm_id", "M1"}, {"phone", "13800138000"}}, 100));
  g.link(rec({{"crm_id", "M2"}, {"email", "b@x.com"}}, 110));
  // The order links M2's person with M1's phone: two CRM ids would be one person.
  auto r = g.link(rec({{"crm_id", "M2"}, {"phone", "13800138000"}, {"cookie", "k9"}}, 120, "order"));
  CHECK(r.merges == 0);
  CHECK(r.conflicts == 1);
  CHECK(g.ordinal_of("crm_id", "M1") != g.ordinal_of("crm_id", "M2"));
  CHECK(g.ordinal_of("cookie", "k9") == g.ordinal_of("crm_id", "M2"));  // the rest still links
  auto cs = g.conflicts();
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].reason == ConflictReason::type_limit);
  CHECK(cs[0].limited_type == g.type_id("crm_id"));
  CHECK(*g.identifier(cs[0].identifier) ->value.data() == '+');
  CHECK(cs[0].source == "order");
}

TEST_CASE("identity: a windowed limit counts only identifiers seen within the window") {
  IdentityGraph g;
  IdentifierTypeOptions dev;
  dev.normalizer = Normalizer::lower;
  dev.limit = 2;
  dev.limit_window = days(7);
  const TypeId d = g.register_type("device", dev);
  IdentifierTypeOptions ph;
  ph.normalizer = Normalizer::phone;
  ph.priority = 10;
  const TypeId p = g.register_type("phone", ph);
  const Timestamp day = days(1);
  g.link({{{p, "13800138000"}, {d, "d1"}}, 0, "app"});
  g.link({{{p, "13800138000"}, {d, "d2"}}, day, "app"});
  // A third device within the week: refused.
  auto r = g.link({{{p, "13800138000"}, {d, "d3"}}, 2 * day, "app"});
  CHECK(r.conflicts == 1);
  CHECK(g.ordinal_of(d, "d3") != g.ordinal_of(p, "13800138000"));
  CHECK(g.conflicts().at(0).reason == ConflictReason::window_limit);
  // Weeks later the old devices are outside the window: a new one links.
  auto r2 = g.link({{{p, "13800138000"}, {d, "d4"}}, 30 * day, "app"});
  CHECK(r2.conflicts == 0);
  CHECK(g.ordinal_of(d, "d4") == g.ordinal_of(p, "13800138000"));
}

TEST_CASE("identity: the hard cap stops a runaway person") {
  IdentityOptions o;
  o.max_identifiers = 5;
  IdentityGraph g(o);
  IdentifierTypeOptions t;
  const TypeId c = g.register_type("cookie", t);
  for (int i = 0; i < 10; ++i) {
    std::string a = "hub", b = "c" + std::to_string(i);
    g.link({{{c, a}, {c, b}}, i, "web"});
  }
  CHECK(g.identifier_count(*g.ordinal_of(c, "hub")) == 5);
  CHECK(g.conflict_count() == 6);  // c4 … c9
  CHECK(g.conflicts().at(0).reason == ConflictReason::person_cap);
}

TEST_CASE("identity: a blocklisted value never links and blocking a linked one splits its person") {
  IdentityGraph g;
  g.register_default_types();
  const TypeId phone = g.type_id("phone");
  g.link(rec({{"crm_id", "A"}, {"phone", "13800000000"}}, 1));
  g.link(rec({{"email", "b@x.com"}, {"phone", "13800000000"}}, 2));
  CHECK(g.ordinal_of("crm_id", "A") == g.ordinal_of("email", "b@x.com"));
  Recorder l;
  g.add_listener(&l);
  auto rep = g.block(phone, "13800000000");
  // The phone leaves; A and b@x.com fall apart: a split into two persons.
  REQUIRE(rep.splits.size() == 1);
  CHECK(rep.splits[0].parts.size() == 2);
  REQUIRE(l.events.size() == 1);
  CHECK(l.events[0].kind == ChangeKind::split);
  CHECK(l.events[0].cause == ChangeCause::block);
  CHECK(l.events[0].parts[0].key == l.events[0].key);  // the first part keeps the key
  CHECK(g.ordinal_of("crm_id", "A") != g.ordinal_of("email", "b@x.com"));
  CHECK(!g.ordinal_of(phone, "13800000000"));
  REQUIRE(g.blocked().size() == 1);
  CHECK(g.blocked()[0].reason == BlockReason::blocklist);
  auto r = g.link(rec({{"crm_id", "C"}, {"phone", "138 0000 0000"}}, 3));
  CHECK(r.blocked == 1);
  CHECK(!g.ordinal_of(phone, "13800000000"));
  CHECK(g.persons().cardinality() == 3);
}

TEST_CASE("identity: the in-memory change log keeps the latest memory_log_limit changes, read from any cursor") {
  IdentityOptions o;
  o.memory_log_limit = 4;
  IdentityGraph g(o);
  g.register_default_types();
  for (int i = 0; i < 8; ++i) {
    const std::string cookie = "c" + std::to_string(i), email = "e" + std::to_string(i) + "@x.com";
    g.link(rec({{"cookie", cookie.c_str()}}, 100 + i));
    g.link(rec({{"email", email.c_str()}}, 200 + i));
    CHECK(g.link(rec({{"cookie", cookie.c_str()}, {"email", email.c_str()}}, 300 + i)).merges == 1);
  }
  CHECK(g.last_change() == 8);
  CHECK_THROWS_AS(g.changes_since(0), StateError);
  auto seqs = [&](uint64_t cursor, size_t limit) {
    std::vector<uint64_t> out;
    for (const ChangeEvent& e : g.changes_since(cursor, limit)) out.push_back(e.seq);
    return out;
  };
  CHECK(seqs(4, 100) == std::vector<uint64_t>{5, 6, 7, 8});
  CHECK(seqs(6, 100) == std::vector<uint64_t>{7, 8});
  CHECK(seqs(6, 1) == std::vector<uint64_t>{7});
  CHECK(seqs(8, 100).empty());
  CHECK(g.changes_since(6)[0].kind == ChangeKind::merged);
}
