// Measures the demo reports against the generator's ground truth.
#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "demo.hpp"

namespace demo {

namespace {

uint64_t pairs(uint64_t n) { return n * (n - 1) / 2; }

/// Σ C(n, 2) over the runs of equal values of a sorted vector.
template <typename T>
uint64_t sum_pairs_of_runs(const std::vector<T>& sorted) {
  uint64_t total = 0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    total += pairs(j - i);
    i = j;
  }
  return total;
}

}  // namespace

PairwiseScore pairwise_score(std::span<const uint32_t> truth, std::span<const uint32_t> predicted) {
  if (truth.size() != predicted.size()) throw std::invalid_argument("pairwise_score: sizes differ");
  PairwiseScore s;
  s.items = truth.size();
  std::vector<uint32_t> t(truth.begin(), truth.end()), p;
  std::vector<uint64_t> joint;  // (true, predicted) cells of the contingency table
  for (size_t i = 0; i < truth.size(); ++i) {
    if (predicted[i] == cdpcore::kNoPerson) continue;  // unresolved: pairs with nobody
    p.push_back(predicted[i]);
    joint.push_back(uint64_t{truth[i]} << 32 | predicted[i]);
  }
  std::sort(t.begin(), t.end());
  std::sort(p.begin(), p.end());
  std::sort(joint.begin(), joint.end());
  s.true_pairs = sum_pairs_of_runs(t);
  s.predicted_pairs = sum_pairs_of_runs(p);
  s.correct_pairs = sum_pairs_of_runs(joint);
  return s;
}

IdentityCheck check_identity(const cdpcore::IdentityGraph& graph, const dg::SampleData& d) {
  const auto& L = d.links;
  const auto& R = d.records;
  IdentityCheck out;
  // The items are the distinct (identifier, true person) pairs: every valid
  // identifier once per true person who used it (a family tablet of three
  // persons is three items, which only a wrong merge puts together).
  // Counting raw occurrences instead would weight each identifier by how
  // often it was seen. Blocked identifiers belong to no person: their items
  // pair with nobody.
  std::vector<uint64_t> items;  // identifier id << 32 | true person
  std::vector<uint8_t> flags_of_id(graph.identifier_capacity(), 0);
  items.reserve(L.size());
  for (size_t k = 0; k < L.size(); ++k) {
    const auto id = graph.identifier_id(L.type[k], L.value[k]);  // normalised as when linking
    if (!id) {  // not a valid value of its type
      out.invalid_placeholder_occurrences += (L.flags[k] & dg::kPlaceholder) != 0;
      continue;
    }
    items.push_back(uint64_t{*id} << 32 | R.true_person[L.record[k]]);
    flags_of_id[*id] |= L.flags[k];
  }
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());

  const std::vector<cdpcore::PersonOrdinal> person_of_id = graph.partition();  // kNoPerson: blocked
  std::vector<uint32_t> truth(items.size()), resolved(items.size());
  std::vector<uint32_t> users_of_id(flags_of_id.size(), 0);
  for (size_t i = 0; i < items.size(); ++i) {
    truth[i] = static_cast<uint32_t>(items[i]);
    resolved[i] = person_of_id[items[i] >> 32];
    users_of_id[items[i] >> 32]++;
  }
  out.score = pairwise_score(truth, resolved);
  std::sort(truth.begin(), truth.end());
  out.true_persons = static_cast<uint64_t>(std::unique(truth.begin(), truth.end()) - truth.begin());

  for (size_t id = 0; id < flags_of_id.size(); ++id) {
    const bool blocked = person_of_id[id] == cdpcore::kNoPerson && users_of_id[id] > 0;
    out.blocked_single_person += blocked && users_of_id[id] == 1;
    for (auto [flag, hc] : {std::pair{dg::kPlaceholder, &out.placeholder}, std::pair{dg::kSharedDevice, &out.device}}) {
      if (!(flags_of_id[id] & flag)) continue;
      hc->values++;
      if (users_of_id[id] < 2) continue;
      hc->shared++;
      hc->blocked += blocked;
    }
  }
  return out;
}

OrderArrays order_arrays(const cdpcore::ProfileStore& store) {
  const cdpcore::EventLogView log = store.events("order");  // compacted: sorted by (person, time)
  const auto& props = log.def->properties;
  const auto amount_col = std::find_if(props.begin(), props.end(), [](const auto& p) { return p.name == "amount"; });
  const auto& amount = log.columns[static_cast<size_t>(amount_col - props.begin())];
  OrderArrays out;
  for (size_t person = 0; person + 1 < log.offsets.size(); ++person)
    for (uint64_t i = log.offsets[person]; i < log.offsets[person + 1]; ++i) {
      if (amount.valid && !amount.valid[i]) continue;
      out.person.push_back(static_cast<uint32_t>(person));
      out.time.push_back(log.time[i]);
      out.amount.push_back(amount.doubles[i]);
    }
  return out;
}

double roc_auc(std::span<const double> score, std::span<const uint8_t> label) {
  if (score.size() != label.size()) throw std::invalid_argument("roc_auc: sizes differ");
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  // Mann-Whitney U: the positives' rank sum, ties given their average rank.
  double positive_rank_sum = 0;
  uint64_t positives = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k)
      if (label[order[k]]) {
        positive_rank_sum += rank;
        ++positives;
      }
    i = j;
  }
  const uint64_t negatives = score.size() - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  const double p = static_cast<double>(positives), n = static_cast<double>(negatives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * n);
}

}  // namespace demo
