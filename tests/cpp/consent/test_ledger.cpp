// The ledger: append-only storage, atomic imports, bad input, the hash chain
// (with rows edited behind the library's back), reload from the file.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <cstdio>
#include <string>
#include <vector>

#include "consent_fixture.hpp"

using namespace consent_test;

namespace {
struct TempFile {
  std::string path;
  explicit TempFile(std::string p) : path(std::move(p)) { clean(); }
  ~TempFile() { clean(); }
  void clean() {
    std::remove(path.c_str());
    std::remove((path + "-wal").c_str());
    std::remove((path + "-shm").c_str());
  }
};

// Runs SQL on the file through a separate SQLite connection: the library is
// not involved, as when someone edits the file directly.
void tamper(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) FAIL(err);
  sqlite3_close(db);
}

ConsentRecord rec(const std::string& phone, const std::string& purpose, const std::string& channel, ConsentDecision d,
                  Timestamp t) {
  ConsentRecord r;
  r.subject = {"phone", phone};
  r.purpose = purpose;
  r.channel = channel;
  r.decision = d;
  r.time = t;
  r.source = "import";
  r.policy_version = "v3";
  r.proof = {"web form", "https://shop.example/signup", "submission-42"};
  return r;
}
}  // namespace

TEST_CASE("consent ledger: records are stored with all their fields and never edited") {
  Fixture f;
  ConsentRecord r = rec("+8613800138000", "marketing.sms", "sms", G, T0);
  r.expiry = T0 + days(365);
  r.legal_basis = LegalBasis::consent;
  r.source = "store";
  uint64_t s = f.c->append(r, f.now);
  CHECK(s == 1);
  auto got = f.c->get(s);
  REQUIRE(got);
  CHECK(got->seq == 1);
  CHECK(got->record.subject.value == "+8613800138000");
  CHECK(got->record.purpose == "marketing.sms");
  CHECK(got->record.channel == "sms");
  CHECK(got->record.decision == G);
  CHECK(got->record.time == T0);
  CHECK(got->record.expiry == T0 + days(365));
  CHECK(got->record.source == "store");
  CHECK(got->record.policy_version == "v3");
  CHECK(got->record.proof.reference == "submission-42");
  CHECK(got->recorded_at == f.now);
  CHECK(got->hash.size() == 64);
  // A correction is a new record; the old one stays.
  f.c->append(rec("+8613800138000", "marketing.sms", "sms", W, T0 + days(1)), f.now);
  auto h = f.c->history({"phone", "+8613800138000"});
  REQUIRE(h.size() == 2);
  CHECK(h[0].record.decision == G);
  CHECK(h[1].record.decision == W);
  CHECK(f.c->size() == 2);
  CHECK_FALSE(f.c->get(99));
}

TEST_CASE("consent ledger: a failed import applies nothing, and says which record and why") {
  Fixture f;
  f.c->append(rec("+8613800000001", "marketing", "*", G, T0), f.now);
  const auto before = f.c->verify_chain();
  std::vector<ConsentRecord> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(rec("+86138000001" + std::to_string(10 + i), "marketing", "sms", G, T0));

  auto expect_error = [&](std::vector<ConsentRecord> b, const char* needle) {
    try {
      f.c->import(b, f.now);
      FAIL("import succeeded");
    } catch (const Error& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
    CHECK(f.c->size() == 1);
    for (int i = 0; i < 10; ++i) {
      CHECK(f.check("+86138000001" + std::to_string(10 + i), "marketing", "sms", T0 + 1).reason ==
            ConsentReason::no_consent);
    }
  };
  auto b = batch;
  b[7].purpose = "marketing.fax";
  expect_error(b, "record 7: unknown purpose \"marketing.fax\"");
  b = batch;
  b[3].channel = "telex";
  expect_error(b, "record 3: unknown channel");
  b = batch;
  b[5].time = f.now + hours(1);
  expect_error(b, "record 5: time");
  b = batch;
  b[2].expiry = b[2].time - 1;
  expect_error(b, "record 2: expiry");
  b = batch;
  b[9].subject.value = std::string("\xff\xfe", 2);
  expect_error(b, "record 9: subject value: invalid UTF-8 at byte 0");
  b = batch;
  b[4].source = "";
  expect_error(b, "record 4: source is empty");
  b = batch;
  b[6].decision = static_cast<ConsentDecision>(9);
  expect_error(b, "record 6: decision");
  // Contradictions: within the batch, and with the ledger.
  b = batch;
  b[8] = b[1];
  b[8].decision = D;
  expect_error(b, "record 8: contradicts record 1");
  b = batch;
  b[0] = rec("+8613800000001", "marketing", "*", W, T0);
  expect_error(b, "record 0: contradicts ledger record 1");
  // Nothing changed in the chain either.
  auto after = f.c->verify_chain();
  CHECK(after.ok);
  CHECK(after.records == before.records);
  // Within the tolerance is fine; an exact duplicate is not a contradiction.
  batch[0].time = f.now + kMicrosPerMinute;
  batch.push_back(batch[1]);
  auto rep = f.c->import(batch, f.now);
  CHECK(rep.appended == 11);
  CHECK(rep.first_seq == 2);
  CHECK(rep.last_seq == 12);
  CHECK(f.c->verify_chain().ok);
}

TEST_CASE("consent ledger: an import cancelled by its progress callback applies nothing") {
  Fixture f;
  std::vector<ConsentRecord> batch;
  for (int i = 0; i < 20000; ++i) batch.push_back(rec("+861380" + std::to_string(1000000 + i), "marketing", "sms", G, T0));
  ImportOptions o;
  uint64_t calls = 0;
  o.progress = [&](uint64_t done, uint64_t total) {
    ++calls;
    return done < total / 2 + 1;  // cancel half way through the writes
  };
  CHECK_THROWS_AS(f.c->import(batch, f.now, o), Cancelled);
  CHECK(calls > 2);
  CHECK(f.c->size() == 0);
  CHECK(f.check("+8613801000000", "marketing", "sms", T0 + 1).reason == ConsentReason::no_consent);
  o.progress = nullptr;
  CHECK(f.c->import(batch, f.now, o).appended == 20000);
  CHECK(f.check("+8613801000000", "marketing", "sms", T0 + 1).allowed);
}

TEST_CASE("consent ledger: the hash chain verifies and names an edited row") {
  TempFile file("consent_chain_test.cdp");
  {
    auto ws = Workspace::open(file.path);
    Consent c(ws);
    for (int i = 0; i < 20; ++i) {
      c.append(rec("+86138000000" + std::to_string(10 + i), "marketing.sms", "sms", i % 3 ? G : W, T0 + i), T0 + days(1));
    }
    auto v = c.verify_chain();
    CHECK(v.ok);
    CHECK(v.records == 20);
  }
  // Someone flips record 7 from withdrawn... to granted in the file.
  tamper(file.path, "UPDATE consent_ledger SET decision = 1 WHERE seq = 7");
  {
    auto ws = Workspace::open(file.path);
    Consent c(ws);
    auto v = c.verify_chain();
    CHECK_FALSE(v.ok);
    CHECK(v.first_bad == 7);
    CHECK(v.problem.find("record 7") != std::string::npos);
  }
  tamper(file.path, "UPDATE consent_ledger SET decision = 3 WHERE seq = 7");
  {
    auto ws = Workspace::open(file.path);
    CHECK(Consent(ws).verify_chain().ok);
  }
  // The subject a record points to is changed.
  tamper(file.path, "UPDATE consent_subjects SET value = '+8613999999999' WHERE id = (SELECT subject_id FROM consent_ledger WHERE seq = 12)");
  {
    auto ws = Workspace::open(file.path);
    auto v = Consent(ws).verify_chain();
    CHECK_FALSE(v.ok);
    CHECK(v.first_bad == 12);
  }
}

TEST_CASE("consent ledger: deleted rows and a cut tail are detected") {
  TempFile file("consent_chain_delete_test.cdp");
  {
    auto ws = Workspace::open(file.path);
    Consent c(ws);
    for (int i = 0; i < 10; ++i) c.append(rec("+8613800000001", "marketing", "sms", i % 2 ? G : D, T0 + i), T0 + days(1));
  }
  tamper(file.path, "DELETE FROM consent_ledger WHERE seq = 4");
  {
    auto ws = Workspace::open(file.path);
    auto v = Consent(ws).verify_chain();
    CHECK_FALSE(v.ok);
    CHECK(v.first_bad == 4);
    CHECK(v.problem.find("missing") != std::string::npos);
  }
  TempFile file2("consent_chain_tail_test.cdp");
  {
    auto ws = Workspace::open(file2.path);
    Consent c(ws);
    for (int i = 0; i < 10; ++i) c.append(rec("+8613800000001", "marketing", "sms", i % 2 ? G : D, T0 + i), T0 + days(1));
  }
  tamper(file2.path, "DELETE FROM consent_ledger WHERE seq >= 9");
  {
    auto ws = Workspace::open(file2.path);
    auto v = Consent(ws).verify_chain();
    CHECK_FALSE(v.ok);
    CHECK(v.problem.find("chain head") != std::string::npos);
  }
}

TEST_CASE("consent ledger: the index rebuilt from the file answers as before") {
  TempFile file("consent_reload_test.cdp");
  std::vector<ConsentCheck> before;
  const std::vector<std::string> phones = {"+8613800000001", "+8613800000002", "+8613800000003"};
  {
    auto ws = Workspace::open(file.path);
    Consent c(ws);
    c.append(rec(phones[0], "marketing", "*", G, T0), T0 + days(1));
    c.append(rec(phones[0], "marketing.sms", "sms", W, T0 + 5), T0 + days(1));
    c.append(rec(phones[1], "marketing.sms", "sms", G, T0 + 7), T0 + days(1));
    auto r = rec(phones[2], "marketing", "*", G, T0);
    r.expiry = T0 + hours(1);
    c.append(r, T0 + days(1));
    CheckOptions o;
    o.contact_rules = false;
    for (const auto& p : phones) {
      for (const char* ch : {"sms", "email"}) before.push_back(c.check({"phone", p}, "marketing.sms", ch, T0 + 10, o));
    }
  }
  auto ws = Workspace::open(file.path);
  Consent c(ws);
  CheckOptions o;
  o.contact_rules = false;
  size_t i = 0;
  for (const auto& p : phones) {
    for (const char* ch : {"sms", "email"}) {
      auto r = c.check({"phone", p}, "marketing.sms", ch, T0 + 10, o);
      CHECK(r.allowed == before[i].allowed);
      CHECK(r.reason == before[i].reason);
      CHECK(r.record == before[i].record);
      ++i;
    }
  }
  CHECK(c.size() == 4);
  CHECK(c.verify_chain().ok);
  // Appends continue the chain after reopening.
  c.append(rec(phones[1], "marketing", "*", O, T0 + 20), T0 + days(1));
  CHECK(c.verify_chain().ok);
}

TEST_CASE("consent ledger: an application-supplied HMAC key must match") {
  TempFile file("consent_key_test.cdp");
  ConsentOptions o;
  o.hmac_key = "a secret kept outside the file";
  {
    auto ws = Workspace::open(file.path);
    Consent c(ws, o);
  }
  auto ws = Workspace::open(file.path);
  ConsentOptions wrong;
  wrong.hmac_key = "another secret";
  CHECK_THROWS_AS(Consent(ws, wrong), InvalidArgument);
  CHECK_THROWS_AS(Consent{ws}, InvalidArgument);
  CHECK_NOTHROW(Consent(ws, o));
}
