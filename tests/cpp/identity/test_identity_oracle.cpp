// Randomised checks against a plain union-find of the same links (the
// networkx oracle runs in the Python tests), order independence, and splits
// after removals against the components of the remaining links.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "cdpcore/identity.hpp"
#include "cdpcore/workspace.hpp"

using namespace cdpcore;

namespace {

struct Dsu {
  std::vector<uint32_t> p;
  explicit Dsu(size_t n) : p(n) { std::iota(p.begin(), p.end(), 0u); }
  uint32_t find(uint32_t x) {
    while (p[x] != x) x = p[x] = p[p[x]];
    return x;
  }
  void unite(uint32_t a, uint32_t b) { p[find(a)] = find(b); }
};

struct Case {
  std::vector<std::vector<uint32_t>> records;  // node numbers
  uint32_t nodes = 0;
};

Case random_case(uint64_t seed) {
  std::mt19937_64 r(seed);
  Case c;
  c.nodes = 20 + static_cast<uint32_t>(r() % 400);
  const size_t n_rec = 10 + r() % 500;
  for (size_t i = 0; i < n_rec; ++i) {
    std::vector<uint32_t> rec;
    const size_t k = 1 + r() % 4;
    for (size_t j = 0; j < k; ++j) rec.push_back(static_cast<uint32_t>(r() % c.nodes));
    c.records.push_back(rec);
  }
  return c;
}

std::string node_name(uint32_t n) { return "n" + std::to_string(n); }

// Set partition of the nodes that appear, as sorted groups.
std::set<std::vector<uint32_t>> groups_of(const std::map<uint32_t, uint32_t>& label) {
  std::map<uint32_t, std::vector<uint32_t>> by;
  for (auto [n, l] : label) by[l].push_back(n);
  std::set<std::vector<uint32_t>> out;
  for (auto& [l, v] : by) out.insert(v);
  return out;
}

std::set<std::vector<uint32_t>> graph_groups(const IdentityGraph& g, TypeId t, const std::set<uint32_t>& nodes) {
  std::map<uint32_t, uint32_t> label;
  for (uint32_t n : nodes) {
    auto o = g.ordinal_of(t, node_name(n));
    REQUIRE(o);
    label[n] = *o;
  }
  return groups_of(label);
}

std::set<std::vector<uint32_t>> oracle_groups(const Case& c, const std::vector<bool>& keep) {
  Dsu d(c.nodes);
  std::set<uint32_t> nodes;
  for (size_t i = 0; i < c.records.size(); ++i) {
    if (!keep[i]) continue;
    for (uint32_t n : c.records[i]) {
      nodes.insert(n);
      d.unite(n, c.records[i][0]);
    }
  }
  std::map<uint32_t, uint32_t> label;
  for (uint32_t n : nodes) label[n] = d.find(n);
  return groups_of(label);
}

RecordBatch batch_of(const Case& c, TypeId t, const std::vector<size_t>& order) {
  RecordBatch b;
  for (size_t i : order) {
    b.begin_record(static_cast<Timestamp>(i % 7), "s");  // many equal times
    for (uint32_t n : c.records[i]) b.add(t, node_name(n));
  }
  return b;
}

}  // namespace

TEST_CASE("identity: without limits, persons are the connected components of the links (many seeds)") {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    const Case c = random_case(seed);
    IdentityGraph g;
    const TypeId t = g.register_type("id", {});
    std::vector<size_t> order(c.records.size());
    std::iota(order.begin(), order.end(), 0);
    // Linked in a few batches of random sizes.
    std::mt19937_64 r(seed * 77);
    size_t at = 0;
    while (at < order.size()) {
      const size_t n = std::min(order.size() - at, 1 + static_cast<size_t>(r() % 200));
      g.link_batch(batch_of(c, t, std::vector<size_t>(order.begin() + at, order.begin() + at + n)));
      at += n;
    }
    std::set<uint32_t> nodes;
    for (auto& rec : c.records) nodes.insert(rec.begin(), rec.end());
    const auto expect = oracle_groups(c, std::vector<bool>(c.records.size(), true));
    CHECK_MESSAGE(graph_groups(g, t, nodes) == expect, "seed " << seed);
    CHECK(g.stats().persons == expect.size());
    CHECK(g.persons().cardinality() == expect.size());
  }
}

TEST_CASE("identity: the same records in another order give the same partition and keys") {
  for (uint64_t seed = 100; seed < 120; ++seed) {
    const Case c = random_case(seed);
    IdentityOptions lim;
    IdentifierTypeOptions o;
    o.limit = 3;  // merge protection on: results depend on order unless the batch is ordered
    std::vector<size_t> order(c.records.size());
    std::iota(order.begin(), order.end(), 0);
    IdentityGraph a(lim), b(lim);
    const TypeId ta = a.register_type("id", o), tb = b.register_type("id", o);
    a.link_batch(batch_of(c, ta, order));
    std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
    b.link_batch(batch_of(c, tb, order));
    std::set<uint32_t> nodes;
    for (auto& rec : c.records) nodes.insert(rec.begin(), rec.end());
    CHECK(graph_groups(a, ta, nodes) == graph_groups(b, tb, nodes));
    for (uint32_t n : nodes) {
      const PersonKey ka = *a.key_of(*a.ordinal_of(ta, node_name(n)));
      const PersonKey kb = *b.key_of(*b.ordinal_of(tb, node_name(n)));
      CHECK(ka == kb);
    }
    CHECK(a.conflict_count() == b.conflict_count());
  }
}

TEST_CASE("identity: after removals, persons are the components of the remaining links") {
  for (uint64_t seed = 200; seed < 230; ++seed) {
    const Case c = random_case(seed);
    auto ws = Workspace::open(":memory:");
    IdentityGraph g(ws);
    const TypeId t = g.register_type("id", {});
    std::vector<size_t> order(c.records.size());
    std::iota(order.begin(), order.end(), 0);
    BatchOptions bo;
    bo.return_record_ids = true;
    // One record per batch keeps the record ids in input order.
    std::vector<RecordId> ids;
    for (size_t i : order) ids.push_back(g.link_batch(batch_of(c, t, {i}), bo).record_ids[0]);
    std::mt19937_64 r(seed);
    std::vector<bool> keep(c.records.size(), true);
    for (int k = 0; k < 12; ++k) {
      const size_t i = r() % c.records.size();
      if (!keep[i]) continue;
      RemoveOptions dry;
      dry.dry_run = true;
      auto pre = g.remove_record(ids[i], dry);
      auto rep = g.remove_record(ids[i]);
      CHECK(pre.splits.size() == rep.splits.size());
      keep[i] = false;
    }
    // Remove a few nodes altogether: drop them from the oracle's records.
    Case rest = c;
    for (int k = 0; k < 3; ++k) {
      const uint32_t n = static_cast<uint32_t>(r() % c.nodes);
      g.remove_identifier(t, node_name(n));
      for (auto& rec : rest.records) rec.erase(std::remove(rec.begin(), rec.end(), n), rec.end());
    }
    for (size_t i = 0; i < rest.records.size(); ++i)
      if (rest.records[i].empty()) keep[i] = false;
    std::set<uint32_t> nodes;
    for (size_t i = 0; i < rest.records.size(); ++i)
      if (keep[i]) nodes.insert(rest.records[i].begin(), rest.records[i].end());
    CHECK_MESSAGE(graph_groups(g, t, nodes) == oracle_groups(rest, keep), "seed " << seed);
    CHECK(g.stats().identifiers == nodes.size());
    IdentityGraph reopened(ws);
    CHECK(graph_groups(reopened, t, nodes) == graph_groups(g, t, nodes));
  }
}
