// The tag engine read from several threads at once: each evaluation first
// prepares the store (applies pending merges; a batch evaluation also sorts
// pending event rows into the logs, under the store's exclusive lock) and then
// reads under its shared lock. Batch and single-person evaluations racing on
// the same store, between rounds of writes and merges, must give the results
// of an identical store evaluated alone.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <latch>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cdpcore/identity.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/rules.hpp"

using namespace cdpcore;

namespace {

const Timestamp kAsOf = parse_iso8601("2024-06-15T12:00:00Z");

const char* const kRules = R"(
tag big = sum(order.amount, last 365 days) >= 300
tag recent = count(order, last 30 days) >= 2
tag top = most_frequent(order.category)
tag gold = level = "gold" and count(order) >= 1
trait spend = sum(order.amount)
)";

constexpr int kPersons = 600;

std::string email(int i) { return "u" + std::to_string(i) + "@x.com"; }

/// The same writes on any store: identifier-keyed single events (they stay
/// pending in the logs), attributes, and merges of persons — through the
/// identity graph when one is attached, by ordinal otherwise.
struct Writer {
  ProfileStore& store;
  IdentityGraph* graph;
  std::mt19937_64 rng{11};
  std::vector<PersonOrdinal> absorbed;  // persons merged away so far
  std::vector<PersonOrdinal> owner;     // without a graph: the person of customer i

  /// The person customer i is now.
  PersonOrdinal person(int i) {
    if (graph) return *graph->ordinal_of("email", email(i));
    if (owner.empty())
      for (int k = 0; k < kPersons; ++k) owner.push_back(static_cast<PersonOrdinal>(k));
    return owner[static_cast<size_t>(i)];
  }
  void order(int i, double days_ago, double amount, const char* cat) {
    Event e{kAsOf - static_cast<Timestamp>(days_ago * kMicrosPerDay), {amount, std::string(cat)}};
    if (graph) store.append_event("order", "email", email(i), e);
    else store.append_event("order", person(i), e);
  }
  void events(int count) {
    const char* cats[] = {"a", "b", "c"};
    for (int k = 0; k < count; ++k)
      order(static_cast<int>(rng() % kPersons), static_cast<double>(rng() % 50000) / 100.0,
            static_cast<double>(rng() % 200), cats[rng() % 3]);  // whole amounts: sums exact in any order
  }
  void levels() {
    std::vector<PersonOrdinal> who;
    std::vector<std::string_view> lv;
    for (int i = 0; i < kPersons; i += 3) {
      who.push_back(person(i));
      lv.push_back(rng() % 2 ? "gold" : "silver");
    }
    ColumnInput c = ColumnInput::of_strings("level", lv);
    store.upsert_attributes(RowKeys::of(who), std::span<const ColumnInput>(&c, 1));
  }
  /// Merges person j into person i for `count` pairs not merged before.
  void merges(int round, int count) {
    for (int k = 0; k < count; ++k) {
      int i = round * 40 + 2 * k, j = i + 1;
      PersonOrdinal pi = person(i), pj = person(j);
      if (graph) {
        const std::string a = email(i), b = email(j);
        Record r;
        r.identifiers = {{"email", a}, {"email", b}};
        r.time = kAsOf;
        r.source = "test";
        graph->link_batch(std::span<const Record>(&r, 1));
        absorbed.push_back(person(i) == pi ? pj : pi);
      } else {
        store.merge_persons(pi, pj);
        absorbed.push_back(pj);
        for (auto& o : owner)
          if (o == pj) o = pi;
      }
    }
  }
};

void define(ProfileStore& s) {
  s.define_attribute({"level", ValueType::string});
  s.define_event_type({"order", {{"amount", ValueType::float64}, {"category", ValueType::string}}});
}

/// A store (and graph) with the first writes.
struct World {
  IdentityGraph graph;
  ProfileStore store;
  Writer writer;
  explicit World(bool with_graph) : writer{store, with_graph ? &graph : nullptr} {
    define(store);
    if (with_graph) {
      graph.register_default_types();
      store.attach_identity(graph);
    }
    for (int i = 0; i < kPersons; ++i) writer.order(i, 1 + i % 90, 10 + i % 7, "a");  // creates the persons
    writer.levels();
  }
  /// Even rounds leave event rows pending (the merges are applied first, by
  /// a read): the race is on sorting them in. Odd rounds leave merges
  /// pending too: the race is on applying them.
  void round(int r) {
    writer.merges(r, 12);
    if (r % 2 == 0) (void)store.event_count("order");
    writer.events(3000);
  }
};

bool same_person(const PersonTag& a, const PersonTag& b) {
  if (a.kind != b.kind || a.member != b.member || a.label != b.label) return false;
  return std::isnan(a.value) ? std::isnan(b.value) : a.value == b.value;
}

bool same_results(const TagResults& a, const TagResults& b) {
  if (a.person_count != b.person_count || a.tags.size() != b.tags.size()) return false;
  for (size_t r = 0; r < a.tags.size(); ++r) {
    const TagColumn& x = a.tags[r];
    const TagColumn& y = b.tags[r];
    if (!(x.members == y.members) || x.labels != y.labels || x.codes != y.codes || x.valid != y.valid) return false;
    for (size_t p = 0; p < x.values.size(); ++p)
      if (x.valid[p] && x.values[p] != y.values[p]) return false;
  }
  return true;
}

void run(bool with_graph) {
  World racing(with_graph), alone(with_graph);
  RuleSet rs = RuleSet::compile(racing.store, kRules);
  RuleSet rs_alone = RuleSet::compile(alone.store, kRules);
  for (int round = 0; round < 6; ++round) {
    // Writes and merges between rounds (the store has one writer, and no
    // reader runs during a write); they leave rows and merges pending.
    racing.round(round);
    alone.round(round);
    const size_t count = racing.store.person_count();
    REQUIRE(count == alone.store.person_count());
    std::vector<std::vector<PersonTag>> expected(count);
    for (size_t p = 0; p < count; ++p)
      expected[p] = rs_alone.evaluate_person(alone.store, static_cast<PersonOrdinal>(p), kAsOf);
    const TagResults expected_all = rs_alone.evaluate_all(alone.store, kAsOf);

    // Two single-person sweeps start together; two batch evaluations (which
    // sort the pending rows in) start once the sweeps are under way.
    constexpr int kThreads = 4;
    std::latch start(kThreads);
    std::atomic<size_t> swept{0};
    std::vector<TagResults> all(2);
    std::vector<size_t> mismatches(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        if (t % 2 == 0) {
          while (swept.load() < count / 4) std::this_thread::yield();
          EvalOptions o;
          o.threads = 1 + static_cast<unsigned>(t / 2);
          all[static_cast<size_t>(t / 2)] = rs.evaluate_all(racing.store, kAsOf, o);
          return;
        }
        for (size_t k = 0; k < count; ++k) {
          size_t p = t == 1 ? k : count - 1 - k;
          auto got = rs.evaluate_person(racing.store, static_cast<PersonOrdinal>(p), kAsOf);
          swept.fetch_add(1);
          for (size_t r = 0; r < got.size(); ++r)
            if (!same_person(got[r], expected[p][r])) ++mismatches[static_cast<size_t>(t)];
        }
      });
    }
    for (auto& th : threads) th.join();
    CAPTURE(round);
    for (size_t m : mismatches) CHECK(m == 0);
    CHECK(same_results(all[0], expected_all));
    CHECK(same_results(all[1], expected_all));
    // The merges are visible: a person merged away is in no tag.
    REQUIRE(racing.writer.absorbed.size() == static_cast<size_t>(12 * (round + 1)));
    for (PersonOrdinal gone : racing.writer.absorbed)
      for (const auto& tc : all[0].tags) CHECK_FALSE(tc.members.contains(gone));
  }
}

}  // namespace

TEST_CASE("tags: evaluations racing from several threads agree with a store evaluated alone (merges by ordinal)") {
  run(false);
}

TEST_CASE("tags: evaluations racing from several threads agree with a store evaluated alone (merges in the identity graph)") {
  run(true);
}
