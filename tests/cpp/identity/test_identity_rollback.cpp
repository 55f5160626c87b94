// A failed batch leaves the graph exactly as it was, however much of the
// batch had been applied and however often it changed the same entries.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "cdpcore/error.hpp"
#include "cdpcore/identity.hpp"
#include "identity_test_util.hpp"

using namespace cdpcore;
using identity_test::snapshot;

namespace {

constexpr Timestamp kStep = 61'000'000;  // between records: over a minute, so last-seen times differ

/// Records over small pools of values, so that most of them meet identifiers
/// (and persons) that exist already: merges, attachments, limits, blocks.
RecordBatch random_records(uint64_t& s, size_t n, Timestamp t0) {
  auto next = [&s](uint64_t m) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return (s >> 33) % m;
  };
  RecordBatch out;
  for (size_t i = 0; i < n; ++i) {
    out.begin_record(t0 + static_cast<Timestamp>(i) * kStep, next(2) ? "crm" : "web");
    const size_t k = 1 + next(3);
    for (size_t j = 0; j < k; ++j) {
      switch (next(4)) {
        case 0: out.add("phone", "138" + std::to_string(10000000 + next(3000))); break;
        case 1: out.add("email", "u" + std::to_string(next(3000)) + "@x.com"); break;
        case 2: out.add("cookie", "c" + std::to_string(next(6000))); break;
        default: out.add("crm_id", "M" + std::to_string(next(2500))); break;
      }
    }
  }
  return out;
}

/// Per identifier: last-seen time and the (time, source) of each record holding it, newest first.
std::map<std::string, std::string> history(const IdentityGraph& g) {
  std::map<std::string, std::string> m;
  for (uint32_t id = 0; id < g.identifier_capacity(); ++id) {
    auto info = g.identifier(id);
    if (!info) continue;
    std::string h = std::to_string(info->last_seen) + "/" + std::to_string(info->records) + ":";
    for (const auto& r : g.records_of(id, 1000)) h += " " + std::to_string(r.time) + "@" + r.source;
    m[info->type_name + ":" + info->value] = h;
  }
  return m;
}

/// Per person key: its size and members as its member list enumerates them.
std::map<PersonKey, std::string> members(const IdentityGraph& g) {
  std::map<PersonKey, std::string> m;
  for (uint32_t ord = 0; ord < g.ordinal_capacity(); ++ord) {
    const auto key = g.key_of(ord);
    if (!key) continue;
    std::vector<std::string> v;
    for (const auto& info : g.identifiers_of(ord)) v.push_back(info.type_name + ":" + info.value);
    std::sort(v.begin(), v.end());
    std::string s = std::to_string(v.size()) + "/" + std::to_string(g.identifier_count(ord)) + ":";
    for (const auto& x : v) s += " " + x;
    m[*key] = s;
  }
  return m;
}

void check_same(const IdentityGraph& g, const IdentityGraph& twin) {
  CHECK(snapshot(g) == snapshot(twin));
  CHECK(history(g) == history(twin));
  CHECK(members(g) == members(twin));
  const IdentityStats a = g.stats(), b = twin.stats();
  CHECK(a.identifiers == b.identifiers);
  CHECK(a.persons == b.persons);
  CHECK(a.records == b.records);
  CHECK(g.last_change() == twin.last_change());
  CHECK(g.conflict_count() == twin.conflict_count());
  CHECK(g.blocked().size() == twin.blocked().size());
}

}  // namespace

TEST_CASE("identity: batches cancelled half way leave the graph as a twin that never saw them") {
  IdentityGraph g, twin;
  g.register_default_types();
  twin.register_default_types();
  uint64_t seed = 12345;
  Timestamp t = 1'000'000;
  BatchOptions cancel_after_first_chunk;
  cancel_after_first_chunk.progress = [](uint64_t done, uint64_t) { return done == 0; };
  size_t cancelled = 0;
  for (int round = 0; round < 4; ++round) {
    const auto kept = random_records(seed, 4000, t);
    t += 4000 * kStep;
    g.link_batch(kept);
    twin.link_batch(kept);
    check_same(g, twin);
    // More records than one chunk (16,384): the first chunk is applied, then cancelled.
    const auto dropped = random_records(seed, 20'000, t);
    t += 20'000 * kStep;
    try {
      g.link_batch(dropped, cancel_after_first_chunk);
    } catch (const Cancelled&) {
      ++cancelled;
    }
    check_same(g, twin);
  }
  CHECK(cancelled == 4);
  // Both go on identically afterwards.
  const auto last = random_records(seed, 5000, t);
  const BatchResult a = g.link_batch(last), b = twin.link_batch(last);
  CHECK(a.merges == b.merges);
  CHECK(a.conflicts == b.conflicts);
  check_same(g, twin);
}
