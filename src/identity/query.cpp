// Explanations, record listings and the Graphviz export.
#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "cdpcore/hash.hpp"
#include "identity/graph_impl.hpp"

namespace cdpcore {

using namespace idg;

namespace {

uint32_t rec_end(const GraphState& g, uint32_t r) {
  return r + 1 < g.rec_begin.size() ? g.rec_begin[r + 1] : static_cast<uint32_t>(g.occ.size());
}

bool live_linked(uint32_t v) { return !(v & kOccRemoved) && (v & kOccLinked); }

std::string dot_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o.push_back('\\');
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o.push_back(c);
  }
  return o;
}

std::string date_of(Timestamp t) {
  const CivilTime c = to_civil_utc(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", c.date.year, c.date.month, c.date.day);
  return buf;
}

}  // namespace

Explanation IdentityGraph::explain(IdentifierId a, IdentifierId b) const {
  const GraphState& g = *impl_;
  Explanation ex;
  if (a >= g.id_count() || b >= g.id_count() || g.is_deleted(a) || g.is_deleted(b)) return ex;
  const uint32_t oa = g.ordinal_of_id(a), ob = g.ordinal_of_id(b);
  if (oa == kNone || oa != ob) return ex;
  ex.same_person = true;
  if (a == b) return ex;
  // Breadth-first over identifiers, through the records that link them.
  std::unordered_map<uint32_t, std::pair<uint32_t, uint32_t>> prev;  // id -> (previous id, record)
  std::unordered_set<uint32_t> seen_recs;
  std::deque<uint32_t> q;
  prev[a] = {kNone, kNone};
  q.push_back(a);
  bool found = false;
  while (!q.empty() && !found) {
    const uint32_t x = q.front();
    q.pop_front();
    std::vector<uint32_t> recs;
    for (uint32_t o = g.ids[x].occ_head; o != kNone; o = g.occ_next[o])
      if (live_linked(g.occ[o])) recs.push_back(g.record_of_occ(o));
    std::sort(recs.begin(), recs.end());  // oldest records first: a stable answer
    for (uint32_t r : recs) {
      if (!seen_recs.insert(r).second) continue;
      for (uint32_t o = g.rec_begin[r]; o < rec_end(g, r); ++o) {
        const uint32_t v = g.occ[o];
        if (!live_linked(v)) continue;
        const uint32_t y = v & kIdMask;
        if (prev.count(y)) continue;
        prev[y] = {x, r};
        if (y == b) {
          found = true;
          break;
        }
        q.push_back(y);
      }
      if (found) break;
    }
  }
  if (!found) return ex;  // not reachable (cannot happen while the invariant holds)
  std::vector<ExplainStep> steps;
  for (uint32_t y = b; y != a;) {
    const auto [x, r] = prev[y];
    ExplainStep s;
    s.record = r;
    s.time = g.rec_time[r];
    s.source = g.sources[g.rec_src[r] & ~kRecRemoved];
    s.from = info_of(g, x);
    s.to = info_of(g, y);
    steps.push_back(std::move(s));
    y = x;
  }
  std::reverse(steps.begin(), steps.end());
  ex.steps = std::move(steps);
  return ex;
}

Explanation IdentityGraph::explain(TypeId type_a, std::string_view raw_a, TypeId type_b, std::string_view raw_b) const {
  auto a = identifier_id(type_a, raw_a);
  auto b = identifier_id(type_b, raw_b);
  if (!a || !b) return {};
  return explain(*a, *b);
}

std::optional<IdentityGraph::RecordInfo> IdentityGraph::record(RecordId id) const {
  const GraphState& g = *impl_;
  if (id >= g.record_count() || (g.rec_src[id] & kRecRemoved)) return std::nullopt;
  const uint32_t r = static_cast<uint32_t>(id);
  RecordInfo ri;
  ri.id = id;
  ri.time = g.rec_time[r];
  ri.source = g.sources[g.rec_src[r] & ~kRecRemoved];
  for (uint32_t o = g.rec_begin[r]; o < rec_end(g, r); ++o) {
    const uint32_t v = g.occ[o];
    if (v & kOccRemoved) continue;
    ri.identifiers.push_back(v & kIdMask);
    ri.linked.push_back((v & kOccLinked) != 0);
  }
  return ri;
}

std::vector<IdentityGraph::RecordInfo> IdentityGraph::records_of(IdentifierId id, size_t limit) const {
  const GraphState& g = *impl_;
  std::vector<RecordInfo> out;
  if (id >= g.id_count() || g.is_deleted(id)) return out;
  std::vector<uint32_t> recs;
  for (uint32_t o = g.ids[id].occ_head; o != kNone; o = g.occ_next[o])
    if (!(g.occ[o] & kOccRemoved)) recs.push_back(g.record_of_occ(o));
  std::sort(recs.begin(), recs.end(), [&](uint32_t x, uint32_t y) {
    if (g.rec_time[x] != g.rec_time[y]) return g.rec_time[x] > g.rec_time[y];
    return x > y;
  });
  for (uint32_t r : recs) {
    if (out.size() >= limit) break;
    if (auto ri = record(r)) out.push_back(std::move(*ri));
  }
  return out;
}

std::string IdentityGraph::to_dot(PersonOrdinal ordinal, const DotOptions& options) const {
  const GraphState& g = *impl_;
  if (ordinal >= g.capacity() || g.persons[ordinal].root == kNone) {
    throw NotFound("person ordinal " + std::to_string(ordinal) + " is not in use");
  }
  std::vector<uint32_t> members;
  g.for_members(ordinal, [&](uint32_t id) { members.push_back(id); });
  std::sort(members.begin(), members.end());
  std::unordered_set<uint32_t> in(members.begin(), members.end());
  auto label = [&](uint32_t id) {
    const uint32_t t = g.type_of(id);
    std::string v = options.mask_values ? mask_value(g.types[t]->name, g.value_of(id), g.binary_type(t))
                                        : g.display_value(id);
    return dot_escape(g.types[t]->name + "\n" + v);
  };
  const PersonKey key = g.persons[ordinal].key;
  std::string s = "graph person_" + std::to_string(key) + " {\n";
  s += "  label=\"person " + std::to_string(key) + " (ordinal " + std::to_string(ordinal) + ", " +
       std::to_string(members.size()) + " identifiers)\";\n";
  s += "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontsize=9];\n";
  for (uint32_t id : members) s += "  i" + std::to_string(id) + " [label=\"" + label(id) + "\"];\n";
  std::vector<uint32_t> recs;
  for (uint32_t id : members)
    for (uint32_t o = g.ids[id].occ_head; o != kNone; o = g.occ_next[o])
      if (!(g.occ[o] & kOccRemoved)) recs.push_back(g.record_of_occ(o));
  std::sort(recs.begin(), recs.end());
  recs.erase(std::unique(recs.begin(), recs.end()), recs.end());
  std::unordered_set<uint32_t> outsiders;
  for (uint32_t r : recs) {
    std::vector<uint32_t> linked, refused_in, outside;
    for (uint32_t o = g.rec_begin[r]; o < rec_end(g, r); ++o) {
      const uint32_t v = g.occ[o];
      if (v & kOccRemoved) continue;
      const uint32_t id = v & kIdMask;
      if (in.count(id)) ((v & kOccLinked) ? linked : refused_in).push_back(id);
      else outside.push_back(id);
    }
    const std::string rl = dot_escape(g.sources[g.rec_src[r] & ~kRecRemoved] + "\n" + date_of(g.rec_time[r]));
    if (linked.size() == 2) {
      s += "  i" + std::to_string(linked[0]) + " -- i" + std::to_string(linked[1]) + " [label=\"" + rl + "\"];\n";
    } else if (linked.size() > 2) {
      s += "  r" + std::to_string(r) + " [shape=point, xlabel=\"" + rl + "\"];\n";
      for (uint32_t id : linked) s += "  r" + std::to_string(r) + " -- i" + std::to_string(id) + ";\n";
    }
    if (!options.show_conflicts) continue;
    // Refused links: between this person and identifiers of others seen in the same record.
    auto outsider = [&](uint32_t id) {
      if (!outsiders.insert(id).second) return;
      const uint32_t other = g.ordinal_of_id(id);
      const std::string who = other == kNone ? "blocked" : "person " + std::to_string(g.persons[other].key);
      s += "  x" + std::to_string(id) + " [style=dashed, color=gray, label=\"" + label(id) + "\\n(" + who + ")\"];\n";
    };
    const std::vector<uint32_t> mine = linked.empty() ? refused_in : linked;
    if (mine.empty()) continue;
    for (uint32_t id : outside) {
      outsider(id);
      s += "  i" + std::to_string(mine[0]) + " -- x" + std::to_string(id) + " [style=dashed, color=red, label=\"refused\\n" +
           rl + "\"];\n";
    }
  }
  s += "}\n";
  return s;
}

}  // namespace cdpcore
