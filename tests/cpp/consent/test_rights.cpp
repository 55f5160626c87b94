// Rights requests: export everything held about a subject; erasure that
// leaves no raw PII in the file, keeps a keyed-hash suppression entry, keeps
// the chain verifiable, and suppresses a later import of the same number.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cdpcore/identity.hpp"
#include "consent_fixture.hpp"

using namespace consent_test;

namespace {
struct TempFile {
  std::string path;
  explicit TempFile(std::string p) : path(std::move(p)) { clean(); }
  ~TempFile() { clean(); }
  void clean() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path + suffix).c_str());
  }
};

std::string file_bytes(const std::string& path) {
  std::string all;
  for (const char* suffix : {"", "-wal", "-journal"}) {
    std::ifstream f(path + suffix, std::ios::binary);
    if (f) all.append(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return all;
}

ConsentRecord rec(const std::string& type, const std::string& value, const std::string& purpose,
                  const std::string& channel, ConsentDecision d, Timestamp t) {
  ConsentRecord r;
  r.subject = {type, value};
  r.purpose = purpose;
  r.channel = channel;
  r.decision = d;
  r.time = t;
  r.source = "form";
  r.proof = {"sms reply", value, "TD from " + value};  // PII in the proof, too
  return r;
}
}  // namespace

TEST_CASE("consent rights: export gathers history, preferences and contacts") {
  Fixture f;
  f.c->append(rec("phone", "+8613800138000", "marketing.sms", "sms", G, T0), f.now);
  f.c->append(rec("phone", "+8613800138000", "marketing.sms", "sms", W, T0 + days(1)), f.now);
  ContactPreferences p;
  p.topics = {"new_arrivals"};
  f.c->set_preferences({"phone", "+8613800138000"}, p, T0);
  f.c->log_contact({"phone", "+8613800138000"}, "sms", T0 + hours(3));
  auto j = nlohmann::json::parse(f.c->export_subject({"phone", "+8613800138000"}));
  CHECK(j["subject"]["value"] == "+8613800138000");
  CHECK(j["suppressed"] == false);
  REQUIRE(j["subjects"].size() == 1);
  const auto& s = j["subjects"][0];
  REQUIRE(s["consent_history"].size() == 2);
  CHECK(s["consent_history"][0]["decision"] == "granted");
  CHECK(s["consent_history"][1]["decision"] == "withdrawn");
  CHECK(s["consent_history"][1]["time"] == "2024-01-02T00:00:00Z");
  CHECK(s["consent_history"][0]["proof"]["method"] == "sms reply");
  CHECK(s["preferences"]["topics"][0] == "new_arrivals");
  REQUIRE(s["contacts"].size() == 1);
  CHECK(s["contacts"][0]["channel"] == "sms");
}

TEST_CASE("consent rights: export of a person covers its identifiers") {
  auto ws = Workspace::open(":memory:");
  IdentityGraph graph(ws);
  graph.register_default_types();
  Consent c(ws);
  c.attach_identity(graph);
  Record r;
  r.identifiers = {{"phone", "13800138000"}, {"email", "li.lei@example.com"}};
  r.time = T0;
  r.source = "order";
  graph.link(r);
  c.append(rec("email", "li.lei@example.com", "marketing.email", "email", G, T0), T0 + days(1));
  c.append(rec("phone", "13800138000", "marketing.sms", "sms", D, T0), T0 + days(1));
  auto key = *graph.key_of(*graph.ordinal_of("phone", "13800138000"));
  auto j = nlohmann::json::parse(c.export_subject({"person", std::to_string(key)}));
  CHECK(j["person"]["identifiers"].size() == 2);
  size_t histories = 0;
  for (const auto& s : j["subjects"]) histories += s["consent_history"].size();
  CHECK(histories == 2);
  // From an identifier, the person is found as well.
  auto k = nlohmann::json::parse(c.export_subject({"phone", "+86 138 0013 8000"}));
  CHECK(k["person"]["key"] == key);
}

TEST_CASE("consent rights: erasure leaves no raw PII in the file and suppresses a re-import") {
  TempFile file("consent_erasure_test.cdp");
  const std::string phone = "+8613800138000";
  {
    auto ws = Workspace::open(file.path);
    Consent c(ws);
    for (int i = 0; i < 5; ++i) {
      c.append(rec("phone", phone, "marketing.sms", "sms", i % 2 ? W : G, T0 + days(i)), T0 + days(10));
      c.append(rec("phone", "+86139001390" + std::to_string(10 + i), "marketing", "*", G, T0 + days(i)), T0 + days(10));
    }
    ContactPreferences p;
    p.topics = {"sale"};
    c.set_preferences({"phone", phone}, p, T0);
    c.log_contact({"phone", phone}, "sms", T0 + days(2));
    CHECK(file_bytes(file.path).find("13800138000") != std::string::npos);  // it was there

    auto rep = c.erase({"phone", phone}, T0 + days(20));
    CHECK(rep.subjects == 1);
    CHECK(rep.records == 5);
    CHECK(rep.erasure_seq == 11);
    CHECK(c.is_suppressed({"phone", phone}));
    auto chk = c.check({"phone", phone}, "marketing.sms", "sms", T0 + days(21));
    CHECK(chk.reason == ConsentReason::suppressed);
    CHECK(c.history({"phone", phone}).empty());
    CHECK_FALSE(c.preferences({"phone", phone}));
    auto v = c.verify_chain();
    CHECK(v.ok);
    CHECK(v.records == 11);
    // Other subjects are untouched.
    CheckOptions o;
    o.contact_rules = false;
    CHECK(c.check({"phone", "+8613900139010"}, "marketing.sms", "sms", T0 + days(21), o).allowed);
    // Erased records keep only their place in the chain.
    auto gone = c.get(1);
    REQUIRE(gone);
    CHECK(gone->erased_by == 11);
    CHECK(gone->record.subject.value.empty());
  }
  const std::string bytes = file_bytes(file.path);
  CHECK(bytes.find("13800138000") == std::string::npos);
  CHECK(bytes.find("TD from +8613800138000") == std::string::npos);
  CHECK(bytes.find("13900139010") != std::string::npos);  // the others are still there
  {
    // A later import of the same number (raw, as a CRM sends it) is skipped.
    auto ws = Workspace::open(file.path);
    Consent c(ws);
    CHECK(c.is_suppressed({"phone", phone}));
    std::vector<ConsentRecord> batch = {rec("phone", phone, "marketing", "*", G, T0 + days(30)),
                                        rec("phone", "+8613700137000", "marketing", "*", G, T0 + days(30))};
    auto rep = c.import(batch, T0 + days(30));
    CHECK(rep.appended == 1);
    CHECK(rep.suppressed == 1);
    CHECK(c.check({"phone", phone}, "marketing", "sms", T0 + days(31)).reason == ConsentReason::suppressed);
    ImportOptions strict;
    strict.skip_suppressed = false;
    CHECK_THROWS_AS(c.import(batch, T0 + days(30), strict), Conflict);
    CHECK_THROWS_AS(c.set_preferences({"phone", phone}, {}, T0), StateError);
    CHECK(c.verify_chain().ok);
  }
  CHECK(file_bytes(file.path).find("13800138000") == std::string::npos);
}

TEST_CASE("consent rights: erasing a person erases every identifier, here and in the identity graph") {
  TempFile file("consent_erasure_person_test.cdp");
  {
    auto ws = Workspace::open(file.path);
    IdentityGraph graph(ws);
    graph.register_default_types();
    Consent c(ws);
    c.attach_identity(graph);
    Record r;
    r.identifiers = {{"phone", "13800138000"}, {"email", "li.lei@example.com"}, {"crm_id", "M000777"}};
    r.time = T0;
    r.source = "crm_import";
    graph.link(r);
    Record other;
    other.identifiers = {{"phone", "13900139000"}};
    other.time = T0;
    other.source = "order";
    graph.link(other);
    c.append(rec("phone", "13800138000", "marketing.sms", "sms", G, T0), T0 + days(1));
    c.append(rec("email", "li.lei@example.com", "marketing", "*", G, T0), T0 + days(1));
    c.append(rec("phone", "13900139000", "marketing", "*", G, T0), T0 + days(1));
    auto p = *graph.ordinal_of("crm_id", "M000777");
    auto key = *graph.key_of(p);
    c.append(rec("person", std::to_string(key), "profiling", "*", O, T0), T0 + days(1));

    auto rep = c.erase({"person", std::to_string(key)}, T0 + days(2));
    CHECK(rep.subjects >= 4);
    CHECK(rep.records == 3);  // phone, e-mail and person-key records
    CHECK_FALSE(graph.ordinal_of("crm_id", "M000777"));
    CHECK(c.is_suppressed({"email", "li.lei@example.com"}));
    CHECK(c.is_suppressed({"phone", "13800138000"}));
    CHECK(c.verify_chain().ok);
    // A later import is suppressed by both.
    CHECK(c.append(rec("phone", "13800138000", "marketing", "*", G, T0 + days(3)), T0 + days(3)) == 0);
    graph.link(r);
    CHECK_FALSE(graph.ordinal_of("phone", "13800138000"));
  }
  const std::string bytes = file_bytes(file.path);
  CHECK(bytes.find("13800138000") == std::string::npos);
  CHECK(bytes.find("li.lei@example.com") == std::string::npos);
  CHECK(bytes.find("13900139000") != std::string::npos);
}
