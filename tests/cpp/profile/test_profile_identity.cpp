// The profile store behind the identity graph: identifier-keyed writes,
// merges (policies, events move), splits (events go back with their
// identifier), erasure, and a rolled-back identity batch.
#include <doctest/doctest.h>

#include <filesystem>

#include "cdpcore/error.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/workspace.hpp"

using namespace cdpcore;

namespace {

void define(ProfileStore& s) {
  s.define_attribute({"member_level", ValueType::string, MergePolicy::latest});
  s.define_attribute({"points", ValueType::int64, MergePolicy::sum});
  s.define_attribute({"first_seen", ValueType::timestamp, MergePolicy::min});
  s.define_event_type({"order", {{"amount", ValueType::float64}}});
}

WriteReport upsert(ProfileStore& s, const char* type, std::string_view value, const char* level, int64_t points) {
  std::vector<std::string_view> ids = {value};
  std::vector<std::string_view> lv = {level};
  std::vector<int64_t> pts = {points};
  std::vector<ColumnInput> cols = {ColumnInput::of_strings("member_level", lv), ColumnInput::of_int64s("points", pts)};
  return s.upsert_attributes(RowKeys::of_identifiers(type, ids), cols);
}

class Failing : public IdentityListener {
 public:
  bool fail = false;
  void on_merged(const ChangeEvent&) override {
    if (fail) throw InvalidArgument("listener refuses");
  }
};

void run_scenario(const std::shared_ptr<Workspace>& ws) {
  IdentityGraph g = ws ? IdentityGraph(ws) : IdentityGraph();
  g.register_default_types();
  ProfileStore s = ws ? ProfileStore(ws) : ProfileStore();
  define(s);
  s.attach_identity(g);
  // identifier-keyed writes create persons
  PersonOrdinal phone_p = s.append_event("order", "phone", "138 0013 8000", Event{100, {10.0}});
  PersonOrdinal email_p = s.append_event("order", "email", " A@x.com", Event{200, {20.0}});
  CHECK(phone_p != email_p);
  CHECK(g.ordinal_of("phone", "+8613800138000") == phone_p);
  CHECK(s.append_event("order", "phone", "+86 138-0013-8000", Event{300, {30.0}}) == phone_p);  // normalised
  upsert(s, "phone", "13800138000", "silver", 10);
  upsert(s, "email", "a@x.com", "gold", 5);
  CHECK(std::get<int64_t>(s.value(phone_p, "points")) == 10);
  // a bad identifier is a row error naming it
  CHECK_THROWS_AS(upsert(s, "phone", "not a phone", "x", 1), InvalidArgument);
  CHECK_THROWS_AS(upsert(s, "fax", "123", "x", 1), InvalidArgument);
  // the graph links phone and email: the persons merge
  BatchOptions bo;
  bo.return_record_ids = true;
  Record rec;
  rec.identifiers = {{"phone", "13800138000"}, {"email", "a@x.com"}};
  rec.time = 400;
  rec.source = "login";
  auto res = g.link_batch(std::span<const Record>(&rec, 1), bo);
  CHECK(res.merges == 1);
  PersonOrdinal survivor = *g.ordinal_of("phone", "13800138000");
  PersonOrdinal absorbed = survivor == phone_p ? email_p : phone_p;
  CHECK(std::get<int64_t>(s.value(survivor, "points")) == 15);                // sum
  CHECK(std::get<std::string>(s.value(survivor, "member_level")) == "gold");  // latest written
  CHECK(std::holds_alternative<std::monostate>(s.value(absorbed, "points")));
  auto ev = s.person_events(survivor, "order");
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].time == 100);
  CHECK(ev[1].time == 200);
  CHECK(ev[2].time == 300);
  CHECK(s.person_events(absorbed, "order").empty());
  // removing the linking record splits them again: each event goes back to
  // the part owning the identifier it arrived with
  REQUIRE(res.record_ids.size() == 1);
  g.remove_record(res.record_ids[0]);
  PersonOrdinal p_phone = *g.ordinal_of("phone", "13800138000");
  PersonOrdinal p_email = *g.ordinal_of("email", "a@x.com");
  CHECK(p_phone != p_email);
  auto ep = s.person_events(p_phone, "order");
  auto ee = s.person_events(p_email, "order");
  REQUIRE(ep.size() == 2);
  REQUIRE(ee.size() == 1);
  CHECK(ee[0].time == 200);
  // a listener that fails rolls the identity batch back; the store follows
  Failing failing;
  g.add_listener(&failing);
  failing.fail = true;
  CHECK_THROWS(g.link_batch(std::span<const Record>(&rec, 1), bo));
  g.remove_listener(&failing);
  CHECK(s.person_events(p_phone, "order").size() == 2);
  CHECK(s.person_events(p_email, "order").size() == 1);
  // erasure removes everything of the person
  g.erase_person(p_email);
  CHECK(s.person_events(p_email, "order").empty());
  CHECK(std::holds_alternative<std::monostate>(s.value(p_email, "member_level")));
  CHECK(s.event_count("order") == 2);
}

}  // namespace

TEST_CASE("profile+identity: in memory, writes by identifier follow merges and splits") { run_scenario(nullptr); }

TEST_CASE("profile+identity: bound to a workspace, the same, and the file agrees after reopening") {
  auto path = (std::filesystem::temp_directory_path() / "cdpcore_profile_identity.cdp").string();
  std::filesystem::remove(path);
  {
    auto ws = Workspace::open(path);
    run_scenario(ws);
  }
  {
    auto ws = Workspace::open(path);
    IdentityGraph g(ws);
    ProfileStore s(ws);
    s.attach_identity(g);
    PersonOrdinal p_phone = *g.ordinal_of("phone", "13800138000");
    CHECK(s.person_events(p_phone, "order").size() == 2);
    CHECK(s.event_count("order") == 2);
    CHECK(!g.ordinal_of("email", "a@x.com").has_value());
  }
  std::filesystem::remove(path);
}
