#include <doctest/doctest.h>

#include <random>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <unistd.h>

#include "cdpcore/identity.hpp"
#include "cdpcore/workspace.hpp"
#include "identity/value_codec.hpp"
#include "util/sqlite.hpp"
#include "identity_test_util.hpp"
#include "workspace/database.hpp"

using namespace cdpcore;
using identity_test::snapshot;
namespace fs = std::filesystem;

namespace {

struct TempFile {
  fs::path path;
  explicit TempFile(const char* name) {
    path = fs::temp_directory_path() / (std::string("cdp_identity_") + name + "_" + std::to_string(::getpid()) + ".cdp");
    cleanup();
  }
  ~TempFile() { cleanup(); }
  void cleanup() {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix);
  }
  std::string str() const { return path.string(); }
};

std::string file_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void load_sample(IdentityGraph& g) {
  std::vector<Record> rs;
  auto add = [&](std::initializer_list<std::pair<const char*, const char*>> ids, Timestamp t, const char* src) {
    Record r;
    for (auto& [ty, v] : ids) r.identifiers.emplace_back(std::string_view(ty), std::string_view(v));
    r.time = t;
    r.source = src;
    rs.push_back(r);
  };
  add({{"phone", "13800138001"}, {"crm_id", "M1"}}, 10, "crm");
  add({{"email", "a@x.com"}, {"phone", "13800138001"}}, 20, "order");
  add({{"cookie", "k1"}, {"email", "a@x.com"}}, 30, "web");
  add({{"crm_id", "M2"}, {"phone", "13800138002"}}, 40, "crm");
  add({{"crm_id", "M2"}, {"phone", "13800138001"}}, 50, "order");  // conflict: two CRM ids
  add({{"device_id", "D1"}, {"phone", "13800138002"}}, 60, "app");
  add({{"unionid", "u1"}, {"openid_mp", "o1"}}, 70, "mp");
  g.link_batch(rs);
}

}  // namespace

TEST_CASE("identity: a bound graph reopens to the same graph") {
  TempFile f("reopen");
  std::map<std::string, PersonKey> before;
  uint64_t changes = 0, conflicts = 0;
  {
    auto ws = Workspace::open(f.str());
    IdentityGraph g(ws);
    g.register_default_types();
    load_sample(g);
    before = snapshot(g);
    changes = g.last_change();
    conflicts = g.conflict_count();
    CHECK(conflicts == 1);
    CHECK(ws->schema_version("identity") == 1);
  }
  auto ws = Workspace::open(f.str());
  IdentityGraph g(ws);
  CHECK(g.types().size() == 8);
  CHECK(snapshot(g) == before);
  CHECK(g.last_change() == changes);
  CHECK(g.conflict_count() == conflicts);
  CHECK(g.conflicts().size() == 1);
  CHECK(g.changes_since(0).size() == changes);
  // It keeps working after the reload: keys continue, merges resolve.
  g.link({{{"cookie", "k1"}, {"unionid", "u1"}}, 80, "web"});
  auto p = g.ordinal_of("openid_mp", "o1");
  REQUIRE(p);
  CHECK(p == g.ordinal_of("crm_id", "M1"));
  const PersonKey k = *g.key_of(*p);
  auto last = g.changes_since(changes);
  REQUIRE(last.size() == 1);
  CHECK(last[0].key == k);
  CHECK(g.resolve_key(last[0].absorbed_key) == k);
}

TEST_CASE("identity: an invalid record rejects the whole batch unless best effort is asked") {
  auto ws = Workspace::open(":memory:");
  IdentityGraph g(ws);
  g.register_default_types();
  RecordBatch b;
  b.begin_record(1, "crm");
  b.add("phone", "13800138000");
  b.add("crm_id", "M1");
  b.begin_record(2, "crm");
  b.add("phone", "not a phone");
  b.begin_record(3, "crm");
  b.add("nosuchtype", "x");
  b.begin_record(4, "crm");
  b.add("email", std::string_view("bad\xff@x.com", 10));
  b.begin_record(5, "crm");
  b.add("email", "   ");
  try {
    g.link_batch(b);
    FAIL("expected the batch to be rejected");
  } catch (const ParseError& e) {
    const std::string m = e.what();
    CHECK(m.find("record 1, identifier 0 (phone)") != std::string::npos);
    CHECK(m.find("record 2, identifier 0 (nosuchtype): unknown identifier type") != std::string::npos);
    CHECK(m.find("record 3") != std::string::npos);
  }
  CHECK(g.stats().identifiers == 0);  // nothing applied
  CHECK(g.stats().records == 0);
  CHECK(database_of(*ws).query_int64("SELECT count(*) FROM identity_identifiers") == 0);
  CHECK(g.check_batch(b).size() == 4);

  BatchOptions o;
  o.mode = BatchMode::best_effort;
  o.return_record_ids = true;
  auto r = g.link_batch(b, o);
  CHECK(r.records == 1);
  CHECK(r.rejected == 4);
  REQUIRE(r.errors.size() == 4);
  CHECK(r.errors[0].record == 1);
  CHECK(r.errors[0].code == ErrorCode::parse);
  CHECK(r.errors[1].code == ErrorCode::not_found);
  CHECK(r.errors[2].code == ErrorCode::utf8);
  CHECK(r.errors[3].code == ErrorCode::invalid_argument);
  CHECK(r.record_ids[0] != kNoRecord);
  CHECK(r.record_ids[1] == kNoRecord);
  CHECK(g.ordinal_of("crm_id", "M1"));
}

TEST_CASE("identity: a listener that throws aborts the batch and nothing is half applied") {
  TempFile f("rollback");
  auto ws = Workspace::open(f.str());
  IdentityGraph g(ws);
  g.register_default_types();
  g.link({{{"phone", "13800138001"}, {"crm_id", "M1"}}, 1, "crm"});
  g.link({{{"email", "a@x.com"}}, 2, "web"});
  const auto before = snapshot(g);
  const auto stats = g.stats();
  struct Thrower : IdentityListener {
    int rolled = 0;
    void on_merged(const ChangeEvent&) override { throw Conflict("the listener refuses"); }
    void on_rolled_back() override { ++rolled; }
  } l;
  g.add_listener(&l);
  RecordBatch b;
  b.begin_record(3, "order");
  b.add("email", "a@x.com");
  b.add("phone", "13800138001");
  b.begin_record(4, "order");
  b.add("cookie", "new-cookie");
  CHECK_THROWS_AS(g.link_batch(b), Conflict);
  CHECK(l.rolled == 1);
  CHECK(snapshot(g) == before);
  CHECK(g.stats().identifiers == stats.identifiers);
  CHECK(g.stats().persons == stats.persons);
  CHECK(!g.identifier_id(g.type_id("cookie"), "new-cookie"));
  CHECK(g.last_change() == 0);
  g.remove_listener(&l);
  // The same batch goes through afterwards, and the file agrees with memory.
  auto r = g.link_batch(b);
  CHECK(r.merges == 1);
  const auto after = snapshot(g);
  IdentityGraph reopened(ws);
  CHECK(snapshot(reopened) == after);
}

TEST_CASE("identity: erasure removes every raw value from memory and from the file") {
  TempFile f("erase");
  const std::string phone = "+8613912345678", email = "erase.me@example.com", crm = "MEMBER-ERASE-1";
  {
    auto ws = Workspace::open(f.str());
    IdentityGraph g(ws);
    g.register_default_types();
    g.link({{{"phone", "139 1234 5678"}, {"email", email}}, 1, "crm"});
    g.link({{{"crm_id", crm}, {"phone", "13912345678"}}, 2, "crm"});
    g.link({{{"crm_id", "OTHER-1"}, {"email", "keep@example.com"}}, 3, "crm"});
    const auto p = *g.ordinal_of("email", email);
    RemoveOptions dry;
    dry.dry_run = true;
    auto preview = g.erase_person(p, dry);
    CHECK(preview.dry_run);
    CHECK(preview.removed_identifiers.size() == 3);
    CHECK(preview.records_removed == 2);
    CHECK(g.ordinal_of("email", email) == p);  // a dry run changes nothing
    for (const auto& i : preview.removed_identifiers) CHECK(i.value.find("12345678") == std::string::npos);

    RemoveOptions o;
    o.suppress = true;
    o.note = "erasure request 7";
    o.time = 100;
    auto rep = g.erase_person(p, o);
    CHECK(rep.erased_persons.size() == 1);
    CHECK(!g.ordinal_of("email", email));
    CHECK(!g.ordinal_of("phone", phone));
    CHECK(g.is_suppressed(g.type_id("email"), email));
    CHECK(g.ordinal_of("email", "keep@example.com"));
    auto log = g.changes_since(0);
    REQUIRE(!log.empty());
    CHECK(log.back().kind == ChangeKind::erased);
    CHECK(log.back().source == "erasure request 7");
    // A suppressed value seen again is dropped.
    auto r = g.link({{{"email", email}, {"cookie", "c-after"}}, 200, "web"});
    CHECK(r.suppressed == 1);
    CHECK(!g.ordinal_of("email", email));
  }
  for (const char* suffix : {"", "-wal"}) {
    const std::string bytes = file_bytes(f.str() + suffix);
    CHECK_MESSAGE(bytes.find(email) == std::string::npos, suffix);
    CHECK_MESSAGE(bytes.find(phone) == std::string::npos, suffix);
    CHECK_MESSAGE(bytes.find(crm) == std::string::npos, suffix);
  }
  CHECK(file_bytes(f.str()).find("keep@example.com") != std::string::npos);  // the check can see values
  auto ws = Workspace::open(f.str());
  IdentityGraph g(ws);
  CHECK(!g.ordinal_of("email", email));
  CHECK(g.is_suppressed(g.type_id("email"), email));
}

TEST_CASE("identity: removing a record or an identifier splits the person; dry runs predict it") {
  auto ws = Workspace::open(":memory:");
  IdentityGraph g(ws);
  IdentifierTypeOptions o;
  const TypeId t = g.register_type("id", o);
  BatchOptions bo;
  bo.return_record_ids = true;
  // a - b - c - d as a chain of records, plus e - c.
  std::vector<Record> rs = {{{{t, "a"}, {t, "b"}}, 1, "s"},
                            {{{t, "b"}, {t, "c"}}, 2, "s"},
                            {{{t, "c"}, {t, "d"}}, 3, "s"},
                            {{{t, "e"}, {t, "c"}}, 4, "s"}};
  auto res = g.link_batch(rs, bo);
  const PersonKey key = *g.key_of(*g.ordinal_of(t, "a"));
  CHECK(g.persons().cardinality() == 1);
  RemoveOptions dry;
  dry.dry_run = true;
  auto pre = g.remove_record(res.record_ids[1], dry);
  REQUIRE(pre.splits.size() == 1);
  CHECK(pre.splits[0].parts.size() == 2);
  CHECK(pre.splits[0].parts[0].identifiers.size() == 3);  // c, d, e: the largest part keeps the key
  auto rep = g.remove_record(res.record_ids[1]);
  REQUIRE(rep.splits.size() == 1);
  CHECK(rep.splits[0].parts[0].identifiers == pre.splits[0].parts[0].identifiers);
  CHECK(rep.splits[0].parts[1].identifiers == pre.splits[0].parts[1].identifiers);
  CHECK(g.ordinal_of(t, "a") == g.ordinal_of(t, "b"));
  CHECK(g.ordinal_of(t, "a") != g.ordinal_of(t, "c"));
  CHECK(*g.key_of(*g.ordinal_of(t, "c")) == key);
  auto rep2 = g.remove_identifier(t, "c");
  CHECK(rep2.splits.size() == 1);  // d and e fall apart
  CHECK(g.persons().cardinality() == 3);
  CHECK(!g.ordinal_of(t, "c"));
  auto log = g.changes_since(0);
  REQUIRE(log.size() == 2);
  CHECK(log[0].cause == ChangeCause::remove_record);
  CHECK(log[1].cause == ChangeCause::remove_identifier);
  IdentityGraph reopened(ws);
  CHECK(snapshot(reopened) == snapshot(g));
}

TEST_CASE("identity: explain gives the chain of records and DOT shows the cluster") {
  IdentityGraph g;
  g.register_default_types();
  g.link({{{"phone", "13800138001"}, {"crm_id", "M1"}}, days(1), "crm"});
  g.link({{{"crm_id", "M1"}, {"email", "a@x.com"}}, days(2), "order"});
  g.link({{{"email", "a@x.com"}, {"cookie", "ck"}}, days(3), "web"});
  g.link({{{"crm_id", "M2"}, {"cookie", "ck"}}, days(4), "web"});  // refused: two CRM ids
  auto ex = g.explain(g.type_id("phone"), "13800138001", g.type_id("cookie"), "ck");
  CHECK(ex.same_person);
  REQUIRE(ex.steps.size() == 3);
  CHECK(ex.steps[0].source == "crm");
  CHECK(ex.steps[1].source == "order");
  CHECK(ex.steps[2].source == "web");
  CHECK(ex.steps[0].from.value == "+8613800138001");
  CHECK(ex.steps[2].to.value == "ck");
  CHECK(!g.explain(g.type_id("crm_id"), "M1", g.type_id("crm_id"), "M2").same_person);
  const std::string dot = g.to_dot(*g.ordinal_of("crm_id", "M1"));
  CHECK(dot.rfind("graph person_", 0) == 0);
  CHECK(dot.find("13800138001") == std::string::npos);  // masked by default
  CHECK(dot.find("refused") != std::string::npos);
  DotOptions d;
  d.mask_values = false;
  CHECK(g.to_dot(*g.ordinal_of("crm_id", "M1"), d).find("+8613800138001") != std::string::npos);
  auto recs = g.records_of(*g.identifier_id(g.type_id("cookie"), "ck"));
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].source == "web");
  CHECK(recs[0].linked.size() == 2);
}

TEST_CASE("identity: TTL, auto-block and expiry") {
  IdentityOptions opts;
  opts.auto_block_threshold = 0;
  IdentityGraph g(opts);
  IdentifierTypeOptions crm;
  crm.limit = 1;
  crm.priority = 100;
  const TypeId c = g.register_type("crm", crm);
  IdentifierTypeOptions dev;
  dev.normalizer = Normalizer::lower;
  dev.auto_block_threshold = 2;  // blocked when seen with a third anchored person
  dev.priority = 10;
  const TypeId d = g.register_type("device", dev);
  IdentifierTypeOptions ck;
  ck.ttl = days(30);
  const TypeId k = g.register_type("cookie", ck);

  // A shared device seen with three members: the first two merge through it
  // (no limit stops that), the third blocks it and the merge is undone.
  g.link({{{c, "A"}, {d, "tablet"}}, days(1), "app"});
  g.link({{{c, "B"}}, days(1), "crm"});
  g.link({{{c, "C"}}, days(1), "crm"});
  auto r1 = g.link({{{d, "TABLET"}, {c, "B"}}, days(2), "app"});
  CHECK(r1.conflicts == 1);  // crm limit 1 keeps A and B apart
  auto r2 = g.link({{{d, "tablet"}, {c, "C"}}, days(3), "app"});
  CHECK(r2.newly_blocked == 1);
  CHECK(!g.ordinal_of(d, "tablet"));
  REQUIRE(g.blocked().size() == 1);
  CHECK(g.blocked()[0].reason == BlockReason::threshold);
  CHECK(g.blocked()[0].persons_seen == 3);
  CHECK(g.persons().cardinality() == 3);

  // Cookie TTL: a cookie unseen for 30 days stops linking its old person.
  g.link({{{k, "ck1"}, {c, "A"}}, days(10), "web"});
  CHECK(g.ordinal_of(k, "ck1") == g.ordinal_of(c, "A"));
  auto r3 = g.link({{{k, "ck1"}, {c, "B"}}, days(100), "web"});
  CHECK(r3.expired == 1);
  CHECK(g.ordinal_of(k, "ck1") == g.ordinal_of(c, "B"));
  CHECK(g.ordinal_of(k, "ck1") != g.ordinal_of(c, "A"));
  // expire(): the same in bulk.
  g.link({{{k, "ck2"}, {c, "C"}}, days(100), "web"});
  RemoveOptions dry;
  dry.dry_run = true;
  CHECK(g.expire(days(200), dry).splits.size() == 2);
  auto rep = g.expire(days(200));
  CHECK(rep.splits.size() == 2);
  CHECK(g.ordinal_of(k, "ck2") != g.ordinal_of(c, "C"));
  CHECK(g.changes_since(0).back().cause == ChangeCause::expire);
}

TEST_CASE("identity: auto-block counts distinct persons, not repeated sightings") {
  IdentityOptions opts;
  opts.auto_block_threshold = 0;
  IdentityGraph g(opts);
  IdentifierTypeOptions crm;
  crm.limit = 1;
  crm.priority = 100;
  const TypeId c = g.register_type("crm", crm);
  IdentifierTypeOptions phone;
  phone.auto_block_threshold = 2;  // blocked when seen with a third person
  const TypeId p = g.register_type("phone", phone);

  // Member B orders five times with member A's phone (a couple sharing it):
  // two persons, however often they are seen together.
  g.link({{{c, "A"}, {p, "P"}}, days(1), "crm"});
  g.link({{{c, "B"}}, days(1), "crm"});
  for (int i = 0; i < 5; ++i) {
    auto r = g.link({{{c, "B"}, {p, "P"}}, days(2 + i), "shop"});
    CHECK(r.conflicts == 1);
    CHECK(r.newly_blocked == 0);
  }
  CHECK(g.ordinal_of(p, "P") == g.ordinal_of(c, "A"));
  CHECK(g.blocked().empty());

  // A third member with the same phone: three distinct persons, blocked.
  g.link({{{c, "C"}}, days(8), "crm"});
  auto r = g.link({{{c, "C"}, {p, "P"}}, days(9), "shop"});
  CHECK(r.newly_blocked == 1);
  REQUIRE(g.blocked().size() == 1);
  CHECK(g.blocked()[0].persons_seen == 3);

  // A batch that fails leaves the counts as they were.
  IdentityGraph h(opts);
  const TypeId hc = h.register_type("crm", crm);
  const TypeId hp = h.register_type("phone", phone);
  h.link({{{hc, "A"}, {hp, "P"}}, days(1), "crm"});
  h.link({{{hc, "B"}}, days(1), "crm"});
  // B meets P in a batch that is cancelled after it was applied in part.
  std::vector<std::string> fillers;
  for (int i = 0; i < 20000; ++i) fillers.push_back("F" + std::to_string(i));
  std::vector<Record> batch = {{{{hc, "B"}, {hp, "P"}}, days(2), "shop"}};
  for (const auto& f : fillers) batch.push_back({{{hc, f}}, days(2), "crm"});
  BatchOptions cancel;
  cancel.progress = [](uint64_t done, uint64_t) { return done == 0; };
  CHECK_THROWS_AS(h.link_batch(batch, cancel), Cancelled);
  CHECK(!h.ordinal_of(hc, "F0"));
  h.link({{{hc, "B"}, {hp, "P"}}, days(3), "shop"});
  h.link({{{hc, "C"}}, days(3), "crm"});
  CHECK(h.link({{{hc, "C"}, {hp, "P"}}, days(4), "shop"}).newly_blocked == 1);
}

TEST_CASE("identity: the value codec packs exactly the lowercase hex and UUID shapes (character by character)") {
  using namespace cdpcore::idg;
  // A reference that looks at one character at a time, on random values
  // over an alphabet of the digits, the letters and their neighbours
  // ('/', ':', '`', 'g', upper case, '-', a byte above 0x7f), at lengths
  // around the packer's 16-character steps.
  auto is_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  auto reference = [&](const std::string& v) {
    if (v.size() == 36) {
      for (size_t i = 0; i < 36; ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? v[i] != '-' : !is_hex(v[i])) return Packing::none;
      }
      return Packing::uuid;
    }
    if (v.size() < 16 || v.size() % 2) return Packing::none;
    for (char c : v)
      if (!is_hex(c)) return Packing::none;
    return Packing::hex;
  };
  const std::string digits = "0123456789abcdef";
  const std::string odd = "/:`gAF-\x80\xff";
  std::mt19937_64 rng(7);
  size_t packed = 0;
  for (int round = 0; round < 20000; ++round) {
    const size_t lengths[] = {14, 15, 16, 17, 18, 30, 32, 34, 36, 40, 48, 64, 66, 100};
    const size_t n = lengths[rng() % std::size(lengths)];
    std::string v(n, '0');
    for (char& c : v) c = digits[rng() % 16];
    if (n == 36 && rng() % 2) v[8] = v[13] = v[18] = v[23] = '-';
    if (rng() % 2) v[rng() % n] = odd[rng() % odd.size()];  // at most one stray character
    const Packing want = reference(v);
    std::string out(n / 2 + 16, '\0');
    const Packing got = pack(v, out.data());
    INFO("value " << v);
    REQUIRE(got == want);
    if (got == Packing::none) continue;
    ++packed;
    out.resize(packed_size(got, n));
    CHECK(unpack_value(out.data(), got, n) == v);
    CHECK(packed_equals(out.data(), got, v));
  }
  CHECK(packed > 5000);
}

TEST_CASE("identity: hex and UUID values are packed in memory and read back exactly") {
  using namespace cdpcore::idg;
  // The codec on its own: round trips, equality, and the shapes it leaves alone.
  const std::string cookie = "0123456789abcdef0123456789abcdef";
  const std::string uuid = "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b";
  const std::string sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  auto packing_of = [](const std::string& v) {
    std::string scratch(v.size() / 2 + 16, '\0');
    return pack(v, scratch.data());
  };
  for (const std::string& v : {cookie, uuid, sha}) {
    std::string packed(v.size() / 2 + 16, '\0');
    const Packing p = pack(v, packed.data());
    CHECK(p != Packing::none);
    packed.resize(packed_size(p, v.size()));
    CHECK(packed.size() == (p == Packing::uuid ? 16u : v.size() / 2));
    CHECK(unpack_value(packed.data(), p, v.size()) == v);
    CHECK(packed_equals(packed.data(), p, v));
    for (size_t i = 0; i < v.size(); ++i) {
      std::string w = v;
      w[i] = w[i] == '0' ? '1' : (w[i] == '-' ? 'a' : '0');
      CHECK_FALSE(packed_equals(packed.data(), p, w));
    }
  }
  CHECK(packing_of("0123456789ABCDEF0123") == Packing::none);               // upper case
  CHECK(packing_of("0123456789abcdef012") == Packing::none);                // odd length
  CHECK(packing_of("0123456789abcde") == Packing::none);                    // short
  CHECK(packing_of("3F2B8C1E-9A4D-4E6F-8B7A-1C2D3E4F5A6B") == Packing::none);
  CHECK(packing_of("3f2b8c1e-9a4d-4e6f-8b7a_1c2d3e4f5a6b") == Packing::none);

  // In a graph bound to a file: lookups, values, reopening, erasure.
  TempFile file("packed");
  const std::string upper_uuid = "3F2B8C1E-9A4D-4E6F-8B7A-1C2D3E4F5A6B";
  PersonKey key = 0;
  {
    auto ws = Workspace::open(file.str());
    IdentityGraph g(ws);
    IdentifierTypeOptions none;
    none.normalizer = Normalizer::none;
    g.register_type("cookie", none);
    g.register_type("device", none);
    g.register_type("email", none);
    Record r;
    r.identifiers = {{"cookie", cookie}, {"device", uuid}, {"email", "a@x.com"}};
    r.time = 1;
    r.source = "web";
    g.link(r);
    Record other;
    other.identifiers = {{"device", upper_uuid}};  // another value: not normalised here
    other.time = 2;
    other.source = "web";
    g.link(other);
    const auto p = g.ordinal_of("cookie", cookie);
    REQUIRE(p);
    CHECK(g.ordinal_of("device", uuid) == p);
    REQUIRE(g.ordinal_of("device", upper_uuid));
    CHECK(g.ordinal_of("device", upper_uuid) != p);
    CHECK_FALSE(g.ordinal_of("cookie", "0123456789abcdef0123456789abcdee"));
    std::vector<std::string> values;
    for (const auto& info : g.identifiers_of(*p)) values.push_back(info.value);
    std::sort(values.begin(), values.end());
    CHECK(values == std::vector<std::string>{cookie, uuid, "a@x.com"});
    key = *g.key_of(*p);
  }
  {
    auto ws = Workspace::open(file.str());
    IdentityGraph g(ws);
    const auto p = g.ordinal_of("device", uuid);
    REQUIRE(p);
    CHECK(g.key_of(*p) == key);
    CHECK(g.ordinal_of("cookie", cookie) == p);
    Record again;
    again.identifiers = {{"cookie", cookie}, {"email", "b@x.com"}};
    again.time = 3;
    again.source = "app";
    CHECK(g.link(again).new_persons == 0);  // the packed cookie is found again
    CHECK(g.ordinal_of("email", "b@x.com") == p);
    g.erase_person(*p);
    CHECK_FALSE(g.ordinal_of("device", uuid));
    CHECK_FALSE(g.ordinal_of("cookie", cookie));
    CHECK(g.ordinal_of("device", upper_uuid));
  }
  CHECK(file_bytes(file.str()).find(cookie) == std::string::npos);
}
