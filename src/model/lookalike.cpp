// Lookalike expansion: a logistic model of "is in the seed" over the
// population, everyone scored, the best non-seed persons returned.
#include <algorithm>
#include <numeric>

#include "cdpcore/error.hpp"
#include "cdpcore/model.hpp"

namespace cdpcore {

LookalikeResult lookalike(const Bitmap& seed, std::span<const uint32_t> persons, const MatrixView& features,
                          const LookalikeOptions& options) {
  if (persons.size() != features.rows) {
    throw InvalidArgument("lookalike: " + std::to_string(persons.size()) + " persons but " +
                          std::to_string(features.rows) + " feature rows");
  }
  std::vector<double> y(persons.size());
  size_t positives = 0;
  for (size_t i = 0; i < persons.size(); ++i) {
    y[i] = seed.contains(persons[i]) ? 1.0 : 0.0;
    positives += y[i] != 0;
  }
  if (positives == 0) throw InvalidArgument("lookalike: no member of the seed has a row in the features");
  if (positives == persons.size()) throw InvalidArgument("lookalike: every row is in the seed; nothing to expand to");
  LogisticFitOptions fo;
  fo.l2 = options.l2;
  Model model = fit_logistic(features, y, fo);
  std::vector<double> scores = model.predict(features);
  std::vector<uint32_t> chosen;
  if (options.top_n > 0) {
    std::vector<size_t> cand;
    for (size_t i = 0; i < persons.size(); ++i)
      if (y[i] == 0) cand.push_back(i);
    // Highest score first; ties by the lower ordinal, so results are stable.
    auto better = [&](size_t a, size_t b) {
      return scores[a] != scores[b] ? scores[a] > scores[b] : persons[a] < persons[b];
    };
    const size_t keep = std::min(options.top_n, cand.size());
    std::partial_sort(cand.begin(), cand.begin() + static_cast<ptrdiff_t>(keep), cand.end(), better);
    for (size_t i = 0; i < keep; ++i) chosen.push_back(persons[cand[i]]);
  } else {
    for (size_t i = 0; i < persons.size(); ++i)
      if (y[i] == 0 && scores[i] >= options.min_score) chosen.push_back(persons[i]);
  }
  Bitmap segment = Bitmap::from_values(chosen);
  segment.optimize();
  return LookalikeResult{std::move(segment), std::move(scores), std::move(model)};
}

}  // namespace cdpcore
