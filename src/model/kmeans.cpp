// k-means with k-means++ seeding (Arthur & Vassilvitskii 2007) and Lloyd's
// iterations, on standardised features. Deterministic for a seed: the
// generator is SplitMix64 and draws are mapped to doubles by hand (std::
// distributions differ between standard libraries).
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "cdpcore/error.hpp"
#include "cdpcore/model.hpp"

namespace cdpcore {

namespace {

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

double sq_dist(const double* a, const double* b, size_t d) {
  double s = 0;
  for (size_t j = 0; j < d; ++j) {
    double t = a[j] - b[j];
    s += t * t;
  }
  return s;
}

/// The centre nearest to `p` (the first of equals) and its squared distance.
std::pair<int32_t, double> nearest(const double* p, const std::vector<double>& centers, int k, size_t d) {
  int32_t best = 0;
  double bd = std::numeric_limits<double>::infinity();
  for (int c = 0; c < k; ++c) {
    double dd = sq_dist(p, &centers[static_cast<size_t>(c) * d], d);
    if (dd < bd) {
      bd = dd;
      best = c;
    }
  }
  return {best, bd};
}

struct Run {
  std::vector<double> centers;
  std::vector<int32_t> labels;
  double inertia = 0;
  int iterations = 0;
};

Run run_once(const std::vector<double>& x, size_t n, size_t d, int k, SplitMix64& rng, const KMeansOptions& o) {
  Run run;
  run.centers.assign(static_cast<size_t>(k) * d, 0.0);
  // k-means++ seeding with 2 + log k candidates per step (greedy variant).
  std::vector<double> closest(n);
  size_t first = static_cast<size_t>(rng.uniform() * static_cast<double>(n));
  first = std::min(first, n - 1);
  std::copy_n(&x[first * d], d, run.centers.begin());
  double pot = 0;
  for (size_t i = 0; i < n; ++i) pot += (closest[i] = sq_dist(&x[i * d], run.centers.data(), d));
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  std::vector<double> cand_dist(n), best_dist(n);
  for (int c = 1; c < k; ++c) {
    double best_pot = std::numeric_limits<double>::infinity();
    size_t best_idx = 0;
    for (int t = 0; t < trials; ++t) {
      size_t pick = n - 1;
      if (pot > 0) {
        double target = rng.uniform() * pot, acc = 0;
        for (size_t i = 0; i < n; ++i) {
          acc += closest[i];
          if (acc > target) {
            pick = i;
            break;
          }
        }
      } else {
        pick = std::min(static_cast<size_t>(rng.uniform() * static_cast<double>(n)), n - 1);
      }
      double p = 0;
      for (size_t i = 0; i < n; ++i) {
        cand_dist[i] = std::min(closest[i], sq_dist(&x[i * d], &x[pick * d], d));
        p += cand_dist[i];
      }
      if (p < best_pot) {
        best_pot = p;
        best_idx = pick;
        best_dist.swap(cand_dist);
      }
    }
    std::copy_n(&x[best_idx * d], d, run.centers.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(c) * d));
    closest.swap(best_dist);
    best_dist.resize(n);
    pot = best_pot;
  }
  // Lloyd's iterations.
  run.labels.assign(n, -1);
  std::vector<double> sums(static_cast<size_t>(k) * d);
  std::vector<size_t> counts(static_cast<size_t>(k));
  for (int it = 0; it < o.max_iterations; ++it) {
    run.iterations = it + 1;
    bool changed = false;
    run.inertia = 0;
    for (size_t i = 0; i < n; ++i) {
      const auto [best, bd] = nearest(&x[i * d], run.centers, k, d);
      if (run.labels[i] != best) {
        run.labels[i] = best;
        changed = true;
      }
      run.inertia += bd;
    }
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (size_t i = 0; i < n; ++i) {
      size_t c = static_cast<size_t>(run.labels[i]);
      ++counts[c];
      for (size_t j = 0; j < d; ++j) sums[c * d + j] += x[i * d + j];
    }
    double shift = 0;
    for (size_t c = 0; c < static_cast<size_t>(k); ++c) {
      if (counts[c] == 0) {
        // An empty cluster takes the point farthest from its centre.
        size_t far = 0;
        double fd = -1;
        for (size_t i = 0; i < n; ++i) {
          double dd = sq_dist(&x[i * d], &run.centers[static_cast<size_t>(run.labels[i]) * d], d);
          if (dd > fd) {
            fd = dd;
            far = i;
          }
        }
        for (size_t j = 0; j < d; ++j) {
          shift += (x[far * d + j] - run.centers[c * d + j]) * (x[far * d + j] - run.centers[c * d + j]);
          run.centers[c * d + j] = x[far * d + j];
        }
        changed = true;
        continue;
      }
      for (size_t j = 0; j < d; ++j) {
        double nc = sums[c * d + j] / static_cast<double>(counts[c]);
        shift += (nc - run.centers[c * d + j]) * (nc - run.centers[c * d + j]);
        run.centers[c * d + j] = nc;
      }
    }
    if (!changed || shift <= o.tolerance) {
      // Final assignment and inertia against the final centres.
      run.inertia = 0;
      for (size_t i = 0; i < n; ++i) {
        const auto [best, bd] = nearest(&x[i * d], run.centers, k, d);
        run.labels[i] = best;
        run.inertia += bd;
      }
      break;
    }
  }
  return run;
}

}  // namespace

KMeans KMeans::fit(const MatrixView& x, const KMeansOptions& o) {
  const size_t n = x.rows, d = x.cols;
  if (o.k < 1) throw InvalidArgument("KMeans: k must be >= 1");
  if (n < static_cast<size_t>(o.k)) {
    throw InvalidArgument("KMeans: " + std::to_string(n) + " rows is fewer than k = " + std::to_string(o.k));
  }
  if (d == 0) throw InvalidArgument("KMeans: no features");
  if (x.data == nullptr) throw InvalidArgument("KMeans: the matrix data is NULL");
  if (o.max_iterations < 1 || o.n_init < 1) throw InvalidArgument("KMeans: max_iterations and n_init must be >= 1");
  std::vector<double> data(n * d);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < d; ++j) {
      double v = x.at(i, j);
      if (!std::isfinite(v)) {
        throw InvalidArgument("KMeans: row " + std::to_string(i) + " column " + std::to_string(j) +
                              " is not a finite number");
      }
      data[i * d + j] = v;
    }
  }
  KMeans m;
  m.k_ = o.k;
  m.mean_.assign(d, 0.0);
  m.scale_.assign(d, 1.0);
  if (o.standardize) {
    for (size_t j = 0; j < d; ++j) {
      double s = 0;
      for (size_t i = 0; i < n; ++i) s += data[i * d + j];
      double mean = s / static_cast<double>(n), v = 0;
      for (size_t i = 0; i < n; ++i) v += (data[i * d + j] - mean) * (data[i * d + j] - mean);
      double sd = std::sqrt(v / static_cast<double>(n));
      m.mean_[j] = mean;
      m.scale_[j] = sd > 0 ? sd : 1.0;
      for (size_t i = 0; i < n; ++i) data[i * d + j] = (data[i * d + j] - mean) / m.scale_[j];
    }
  }
  SplitMix64 rng{o.seed};
  Run best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int r = 0; r < o.n_init; ++r) {
    Run run = run_once(data, n, d, o.k, rng, o);
    if (run.inertia < best.inertia) best = std::move(run);
  }
  m.centers_ = std::move(best.centers);
  m.labels_ = std::move(best.labels);
  m.inertia_ = best.inertia;
  m.iterations_ = best.iterations;
  return m;
}

std::vector<double> KMeans::centers_original() const {
  const size_t d = mean_.size();
  std::vector<double> out(centers_.size());
  for (size_t c = 0; c < static_cast<size_t>(k_); ++c)
    for (size_t j = 0; j < d; ++j) out[c * d + j] = centers_[c * d + j] * scale_[j] + mean_[j];
  return out;
}

int32_t KMeans::assign_one(std::span<const double> x) const {
  const size_t d = mean_.size();
  if (x.size() != d) {
    throw InvalidArgument("KMeans: expected " + std::to_string(d) + " features, got " + std::to_string(x.size()));
  }
  int32_t best = -1;
  double bd = std::numeric_limits<double>::infinity();
  for (int c = 0; c < k_; ++c) {
    double s = 0;
    for (size_t j = 0; j < d; ++j) {
      double t = (x[j] - mean_[j]) / scale_[j] - centers_[static_cast<size_t>(c) * d + j];
      s += t * t;
    }
    if (s < bd) {
      bd = s;
      best = c;
    }
  }
  return std::isfinite(bd) ? best : -1;
}

std::vector<int32_t> KMeans::assign(const MatrixView& x) const {
  const size_t d = mean_.size();
  if (x.cols != d) {
    throw InvalidArgument("KMeans: the model has " + std::to_string(d) + " features, the matrix has " +
                          std::to_string(x.cols) + " columns");
  }
  std::vector<int32_t> out(x.rows);
  std::vector<double> row(d);
  for (size_t i = 0; i < x.rows; ++i) {
    for (size_t j = 0; j < d; ++j) row[j] = x.at(i, j);
    out[i] = assign_one(row);
  }
  return out;
}

}  // namespace cdpcore
