// RFM: recency, frequency and monetary scores from order events.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "cdpcore/error.hpp"
#include "cdpcore/model.hpp"

namespace cdpcore {

namespace {

/// pandas' qcut(values.rank(method="first"), bins, labels=False): ranks break
/// ties by position; rank r of n lands in bin ceil(bins (r-1) / (n-1)) - 1
/// (the edges are 1 + (n-1) k / bins, bins closed on the right, the lowest
/// edge included). Returns 0-based bins.
std::vector<int> quantile_bins(const std::vector<double>& values, int bins) {
  const size_t n = values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<int> out(n, 0);
  if (n < 2) return out;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t r = i + 1;  // rank
    if (r == 1) continue;
    // ceil(bins (r-1) / (n-1)) in integers.
    const uint64_t num = static_cast<uint64_t>(bins) * (r - 1);
    const uint64_t k = (num + (n - 1) - 1) / (n - 1);
    out[order[i]] = static_cast<int>(k) - 1;
  }
  return out;
}

}  // namespace

std::vector<RfmGroupRule> default_rfm_groups() {
  // R and F score ranges of the common segment map; M is not used.
  return {
      {"hibernating", 1, 2, 1, 2, 1, 5},   {"at_risk", 1, 2, 3, 4, 1, 5},
      {"cant_lose", 1, 2, 5, 5, 1, 5},     {"about_to_sleep", 3, 3, 1, 2, 1, 5},
      {"need_attention", 3, 3, 3, 3, 1, 5}, {"loyal_customers", 3, 4, 4, 5, 1, 5},
      {"promising", 4, 4, 1, 1, 1, 5},     {"new_customers", 5, 5, 1, 1, 1, 5},
      {"potential_loyalists", 4, 5, 2, 3, 1, 5}, {"champions", 5, 5, 4, 5, 1, 5},
  };
}

RfmTable rfm(std::span<const uint32_t> person, std::span<const Timestamp> time, std::span<const double> amount,
             const RfmOptions& options) {
  if (person.size() != time.size() || person.size() != amount.size()) {
    throw InvalidArgument("rfm: person, time and amount differ in length (" + std::to_string(person.size()) + ", " +
                          std::to_string(time.size()) + ", " + std::to_string(amount.size()) + ")");
  }
  if (options.bins < 1 || options.bins > 100) throw InvalidArgument("rfm: bins must be in 1..100");
  for (size_t i = 0; i < amount.size(); ++i) {
    if (!std::isfinite(amount[i])) throw InvalidArgument("rfm: amount of event " + std::to_string(i) + " is not finite");
  }
  std::vector<size_t> idx;
  idx.reserve(person.size());
  for (size_t i = 0; i < person.size(); ++i)
    if (time[i] <= options.as_of) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return person[a] < person[b]; });

  RfmTable t;
  for (size_t i = 0; i < idx.size();) {
    const uint32_t p = person[idx[i]];
    Timestamp last = time[idx[i]];
    double sum = 0;
    uint32_t count = 0;
    size_t j = i;
    for (; j < idx.size() && person[idx[j]] == p; ++j) {
      last = std::max(last, time[idx[j]]);
      sum += amount[idx[j]];
      ++count;
    }
    t.person.push_back(p);
    t.recency_days.push_back(static_cast<double>(options.as_of - last) / static_cast<double>(kMicrosPerDay));
    t.frequency.push_back(count);
    t.monetary.push_back(options.monetary_mean ? sum / count : sum);
    i = j;
  }
  const size_t n = t.person.size();
  std::vector<double> freq(t.frequency.begin(), t.frequency.end());
  auto rb = quantile_bins(t.recency_days, options.bins);
  auto fb = quantile_bins(freq, options.bins);
  auto mb = quantile_bins(t.monetary, options.bins);
  const auto groups = options.groups.empty() ? default_rfm_groups() : options.groups;
  for (const auto& g : groups) t.group_names.push_back(g.name);
  t.r_score.resize(n);
  t.f_score.resize(n);
  t.m_score.resize(n);
  t.code.resize(n);
  t.group.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int r = options.bins - rb[i];  // most recent → highest score
    const int f = fb[i] + 1, m = mb[i] + 1;
    t.r_score[i] = static_cast<uint8_t>(r);
    t.f_score[i] = static_cast<uint8_t>(f);
    t.m_score[i] = static_cast<uint8_t>(m);
    t.code[i] = r * 100 + f * 10 + m;
    t.group[i] = -1;
    for (size_t g = 0; g < groups.size(); ++g) {
      const auto& rule = groups[g];
      if (r >= rule.r_min && r <= rule.r_max && f >= rule.f_min && f <= rule.f_max && m >= rule.m_min &&
          m <= rule.m_max) {
        t.group[i] = static_cast<int32_t>(g);
        break;
      }
    }
  }
  return t;
}

}  // namespace cdpcore
