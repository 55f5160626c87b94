// The profile store and the identity graph: identifier-keyed writes are
// resolved through the graph, and the graph's merges, splits and erasures
// are followed (attributes combine by policy, events move with the
// identifier they arrived with).
#include "profile/identity_link.hpp"

#include <algorithm>

#include "cdpcore/error.hpp"
#include "cdpcore/identity.hpp"
#include "profile/store_impl.hpp"

namespace cdpcore {

using namespace profile_detail;

namespace profile_detail::identity_link {

size_t graph_person_count(const IdentityGraph& graph) noexcept { return graph.ordinal_capacity(); }

std::optional<PersonOrdinal> resolve(IdentityGraph& graph, std::string_view type, std::string_view value, bool create,
                                     std::string* canonical) {
  TypeId tid = graph.type_id(type);
  if (tid == kNoType) throw NotFound("unknown identifier type \"" + std::string(type) + "\"");
  std::string norm = graph.normalize(tid, value);  // throws naming what is wrong
  if (canonical) *canonical = norm;
  auto p = graph.ordinal_of(tid, value);
  if (p || !create) return p;
  Record rec;
  rec.identifiers.emplace_back(tid, value);
  rec.source = "profile";
  graph.link(rec);
  return graph.ordinal_of(tid, value);
}

void create(IdentityGraph& graph, std::span<const std::pair<std::string_view, std::string_view>> identifiers,
            Timestamp time, std::vector<PersonOrdinal>& ordinals, std::vector<std::string>& errors) {
  ordinals.assign(identifiers.size(), kNoPerson);
  errors.assign(identifiers.size(), std::string());
  if (identifiers.empty()) return;
  std::vector<Record> records(identifiers.size());
  for (size_t i = 0; i < identifiers.size(); ++i) {
    records[i].identifiers.emplace_back(identifiers[i].first, identifiers[i].second);
    records[i].time = time;
    records[i].source = "profile";
  }
  BatchOptions o;
  o.mode = BatchMode::best_effort;
  auto result = graph.link_batch(records, o);
  for (const auto& e : result.errors)
    if (e.record < errors.size()) errors[e.record] = e.message;
  for (size_t i = 0; i < identifiers.size(); ++i) {
    if (!errors[i].empty()) continue;
    auto p = graph.ordinal_of(identifiers[i].first, identifiers[i].second);
    if (p) ordinals[i] = *p;
    else errors[i] = "the identity graph did not link it (blocked or suppressed)";
  }
}

}  // namespace profile_detail::identity_link

namespace {

/// Applies the graph's changes to the store it belongs to.
class StoreListener final : public IdentityListener {
 public:
  explicit StoreListener(ProfileStore::Impl& im) : im_(im) {}
  void on_merged(const ChangeEvent& e) override {
    im_.begin_journal();
    im_.merge(e.ordinal, e.absorbed);
  }
  void on_split(const ChangeEvent& e) override {
    im_.begin_journal();
    if (e.parts.empty()) return;
    PersonOrdinal from = e.parts[0].ordinal != kNoPerson ? e.parts[0].ordinal : e.ordinal;
    for (size_t k = 1; k < e.parts.size(); ++k) {
      const auto& part = e.parts[k];
      if (part.ordinal == kNoPerson) continue;
      std::vector<uint32_t> sources;
      for (const auto& [type, value] : part.values) {
        uint32_t id = im_.source_id(type, value, false);
        if (id) sources.push_back(id);
      }
      std::sort(sources.begin(), sources.end());
      if (!sources.empty()) im_.split(from, part.ordinal, sources);
    }
  }
  void on_erased(const ChangeEvent& e) override {
    im_.begin_journal();
    im_.erase(e.ordinal);
  }
  void on_rolled_back() override { im_.undo_journal(); }

 private:
  ProfileStore::Impl& im_;
};

}  // namespace

void ProfileStore::attach_identity(IdentityGraph& graph) {
  auto& im = *impl_;
  if (im.graph == &graph) return;
  if (im.graph) detach_identity();
  im.listener = std::make_unique<StoreListener>(im);
  graph.add_listener(im.listener.get());
  im.graph = &graph;
  im.touch();
}

void ProfileStore::detach_identity() noexcept {
  auto& im = *impl_;
  if (im.graph && im.listener) im.graph->remove_listener(im.listener.get());
  im.graph = nullptr;
  im.listener.reset();
}

}  // namespace cdpcore
