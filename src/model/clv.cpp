// Customer lifetime value: BG/NBD (Fader, Hardie & Lee 2005, "Counting Your
// Customers the Easy Way") and the Gamma-Gamma spend model (Fader, Hardie &
// Lee 2005, "RFM and CLV"), fitted by maximum likelihood.
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <tuple>

#include "cdpcore/error.hpp"
#include "cdpcore/model.hpp"

namespace cdpcore {

namespace {

/// Nelder–Mead minimiser with restarts from the best point (a collapsed
/// simplex restarts fresh, which guards against false convergence).
template <size_t N>
std::array<double, N> nelder_mead(const std::function<double(const std::array<double, N>&)>& f,
                                  std::array<double, N> x0, const FitOptions& opt, int* iterations) {
  using Point = std::array<double, N>;
  int evals = 0;
  auto fx = [&](const Point& p) {
    ++evals;
    double v = f(p);
    return std::isfinite(v) ? v : std::numeric_limits<double>::infinity();
  };
  Point best = x0;
  double best_f = fx(best);
  for (int restart = 0; restart < 6 && evals < opt.max_iterations; ++restart) {
    std::array<Point, N + 1> s;
    std::array<double, N + 1> v;
    s[0] = best;
    v[0] = best_f;
    for (size_t i = 0; i < N; ++i) {
      s[i + 1] = best;
      s[i + 1][i] += restart == 0 ? 0.5 : 0.1;
      v[i + 1] = fx(s[i + 1]);
    }
    while (evals < opt.max_iterations) {
      std::array<size_t, N + 1> ord;
      std::iota(ord.begin(), ord.end(), size_t{0});
      std::sort(ord.begin(), ord.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
      auto s2 = s;
      auto v2 = v;
      for (size_t i = 0; i <= N; ++i) {
        s[i] = s2[ord[i]];
        v[i] = v2[ord[i]];
      }
      double size = 0;
      for (size_t i = 1; i <= N; ++i)
        for (size_t j = 0; j < N; ++j) size = std::max(size, std::fabs(s[i][j] - s[0][j]));
      if (std::fabs(v[N] - v[0]) <= opt.tolerance * (std::fabs(v[0]) + 1e-300) && size < 1e-9) break;
      Point c{};
      for (size_t i = 0; i < N; ++i)
        for (size_t j = 0; j < N; ++j) c[j] += s[i][j] / N;
      auto along = [&](double t) {
        Point p;
        for (size_t j = 0; j < N; ++j) p[j] = c[j] + t * (s[N][j] - c[j]);
        return p;
      };
      Point xr = along(-1.0);
      double fr = fx(xr);
      if (fr < v[0]) {
        Point xe = along(-2.0);
        double fe = fx(xe);
        if (fe < fr) {
          s[N] = xe;
          v[N] = fe;
        } else {
          s[N] = xr;
          v[N] = fr;
        }
      } else if (fr < v[N - 1]) {
        s[N] = xr;
        v[N] = fr;
      } else {
        Point xc = fr < v[N] ? along(-0.5) : along(0.5);
        double fc = fx(xc);
        if (fc < std::min(fr, v[N])) {
          s[N] = xc;
          v[N] = fc;
        } else {
          for (size_t i = 1; i <= N; ++i) {
            for (size_t j = 0; j < N; ++j) s[i][j] = s[0][j] + 0.5 * (s[i][j] - s[0][j]);
            v[i] = fx(s[i]);
          }
        }
      }
    }
    size_t b = static_cast<size_t>(std::min_element(v.begin(), v.end()) - v.begin());
    const bool improved = v[b] < best_f - opt.tolerance * std::fabs(best_f);
    best = s[b];
    best_f = v[b];
    if (restart > 0 && !improved) break;
  }
  *iterations = evals;
  return best;
}

/// ln 2F1(a, b; c; z) for 0 <= z < 1 by the series after Euler's
/// transformation 2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z), whose
/// parameters stay small in the BG/NBD formulas.
double log_hyp2f1(double a, double b, double c, double z) {
  if (z == 0) return 0.0;
  const double a2 = c - a, b2 = c - b;
  double term = 1.0, sum = 1.0;
  for (int n = 0; n < 2'000'000; ++n) {
    term *= (a2 + n) * (b2 + n) / ((c + n) * (n + 1.0)) * z;
    sum += term;
    if (std::fabs(term) <= 1e-17 * std::fabs(sum)) break;
  }
  return (c - a - b) * std::log1p(-z) + std::log(sum);
}

void check_rfT(std::span<const double> x, std::span<const double> tx, std::span<const double> T) {
  if (x.size() != tx.size() || x.size() != T.size()) {
    throw InvalidArgument("BG/NBD: frequency, recency and T differ in length");
  }
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(x[i] >= 0) || !(tx[i] >= 0) || !(T[i] >= 0) || !std::isfinite(x[i] + tx[i] + T[i])) {
      throw InvalidArgument("BG/NBD: customer " + std::to_string(i) + " has a negative or non-finite value");
    }
    if (tx[i] > T[i]) throw InvalidArgument("BG/NBD: customer " + std::to_string(i) + " has recency > T");
    if (x[i] > 0 && tx[i] == 0) {
      throw InvalidArgument("BG/NBD: customer " + std::to_string(i) + " has repeat purchases but recency 0");
    }
  }
}

double bgnbd_ll(double r, double alpha, double a, double b, double x, double tx, double T) {
  const double a1 = std::lgamma(r + x) - std::lgamma(r) + r * std::log(alpha);
  const double a2 = std::lgamma(a + b) + std::lgamma(b + x) - std::lgamma(b) - std::lgamma(a + b + x);
  const double a3 = -(r + x) * std::log(alpha + T);
  if (x > 0) {
    const double a4 = std::log(a) - std::log(b + x - 1) - (r + x) * std::log(alpha + tx);
    const double m = std::max(a3, a4);
    return a1 + a2 + m + std::log(std::exp(a3 - m) + std::exp(a4 - m));
  }
  return a1 + a2 + a3;
}

}  // namespace

BgNbd BgNbd::with_params(double r, double alpha, double a, double b) {
  for (double v : {r, alpha, a, b})
    if (!(v > 0) || !std::isfinite(v)) throw InvalidArgument("BG/NBD: parameters must be positive and finite");
  BgNbd m;
  m.r = r;
  m.alpha = alpha;
  m.a = a;
  m.b = b;
  return m;
}

double BgNbd::total_log_likelihood(std::span<const double> x, std::span<const double> tx,
                                   std::span<const double> T) const {
  check_rfT(x, tx, T);
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += bgnbd_ll(r, alpha, a, b, x[i], tx[i], T[i]);
  return s;
}

BgNbd BgNbd::fit(std::span<const double> x, std::span<const double> tx, std::span<const double> T,
                 const FitOptions& options) {
  check_rfT(x, tx, T);
  if (x.empty()) throw InvalidArgument("BG/NBD: no customers");
  // Identical (x, t_x, T) rows are evaluated once, weighted by their count.
  std::map<std::tuple<double, double, double>, double> groups;
  for (size_t i = 0; i < x.size(); ++i) groups[{x[i], tx[i], T[i]}] += 1.0;
  std::vector<std::array<double, 4>> rows;
  rows.reserve(groups.size());
  for (const auto& [k, w] : groups) rows.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), w});
  const double n = static_cast<double>(x.size());
  auto nll = [&](const std::array<double, 4>& lp) {
    const double r = std::exp(lp[0]), alpha = std::exp(lp[1]), a = std::exp(lp[2]), b = std::exp(lp[3]);
    double s = 0;
    for (const auto& row : rows) s += row[3] * bgnbd_ll(r, alpha, a, b, row[0], row[1], row[2]);
    return -s / n;
  };
  BgNbd m;
  auto lp = nelder_mead<4>(nll, {0.0, 0.0, 0.0, 0.0}, options, &m.iterations);
  m.r = std::exp(lp[0]);
  m.alpha = std::exp(lp[1]);
  m.a = std::exp(lp[2]);
  m.b = std::exp(lp[3]);
  m.log_likelihood = -nll(lp) * n;
  return m;
}

double BgNbd::expected_purchases(double t, double x, double tx, double T) const {
  if (t <= 0) return 0.0;
  const double ha = r + x, hb = b + x, hc = a + b + x - 1, z = t / (alpha + T + t);
  const double first = (a + b + x - 1) / (a - 1);
  const double second = 1 - std::exp(log_hyp2f1(ha, hb, hc, z) + (r + x) * std::log((alpha + T) / (alpha + t + T)));
  const double denom = 1 + (x > 0 ? (a / (b + x - 1)) * std::pow((alpha + T) / (alpha + tx), r + x) : 0.0);
  return first * second / denom;
}

std::vector<double> BgNbd::expected_purchases(double t, std::span<const double> x, std::span<const double> tx,
                                              std::span<const double> T) const {
  check_rfT(x, tx, T);
  std::vector<double> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = expected_purchases(t, x[i], tx[i], T[i]);
  return out;
}

double BgNbd::probability_alive(double x, double tx, double T) const {
  if (x == 0) return 1.0;
  const double log_div = (r + x) * std::log((alpha + T) / (alpha + tx)) + std::log(a / (b + std::max(x, 1.0) - 1));
  return 1.0 / (1.0 + std::exp(log_div));
}

std::vector<double> BgNbd::probability_alive(std::span<const double> x, std::span<const double> tx,
                                             std::span<const double> T) const {
  check_rfT(x, tx, T);
  std::vector<double> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = probability_alive(x[i], tx[i], T[i]);
  return out;
}

double BgNbd::expected_purchases_new(double t) const {
  if (t <= 0) return 0.0;
  const double lh = log_hyp2f1(r, b, a + b - 1, t / (alpha + t));
  return (a + b - 1) / (a - 1) * (1 - std::exp(lh + r * std::log(alpha / (alpha + t))));
}

// ---- Gamma-Gamma ------------------------------------------------------------

GammaGamma GammaGamma::with_params(double p, double q, double v) {
  for (double x : {p, q, v})
    if (!(x > 0) || !std::isfinite(x)) throw InvalidArgument("Gamma-Gamma: parameters must be positive and finite");
  GammaGamma m;
  m.p = p;
  m.q = q;
  m.v = v;
  return m;
}

GammaGamma GammaGamma::fit(std::span<const double> frequency, std::span<const double> monetary,
                           const FitOptions& options) {
  if (frequency.size() != monetary.size()) throw InvalidArgument("Gamma-Gamma: frequency and monetary differ in length");
  std::vector<std::pair<double, double>> rows;
  for (size_t i = 0; i < frequency.size(); ++i) {
    if (!(frequency[i] >= 0) || !std::isfinite(frequency[i])) {
      throw InvalidArgument("Gamma-Gamma: frequency of customer " + std::to_string(i) + " is negative or not finite");
    }
    if (frequency[i] == 0) continue;
    if (!(monetary[i] > 0) || !std::isfinite(monetary[i])) {
      throw InvalidArgument("Gamma-Gamma: monetary value of customer " + std::to_string(i) + " must be > 0");
    }
    rows.emplace_back(frequency[i], monetary[i]);
  }
  if (rows.empty()) throw InvalidArgument("Gamma-Gamma: no customer with repeat purchases");
  const double n = static_cast<double>(rows.size());
  auto nll = [&](const std::array<double, 3>& lp) {
    const double p = std::exp(lp[0]), q = std::exp(lp[1]), v = std::exp(lp[2]);
    double s = 0;
    for (const auto& [x, m] : rows) {
      s += std::lgamma(p * x + q) - std::lgamma(p * x) - std::lgamma(q) + q * std::log(v) + (p * x - 1) * std::log(m) +
           (p * x) * std::log(x) - (p * x + q) * std::log(x * m + v);
    }
    return -s / n;
  };
  GammaGamma g;
  auto lp = nelder_mead<3>(nll, {0.0, 0.0, 0.0}, options, &g.iterations);
  g.p = std::exp(lp[0]);
  g.q = std::exp(lp[1]);
  g.v = std::exp(lp[2]);
  g.log_likelihood = -nll(lp) * n;
  return g;
}

double GammaGamma::expected_spend(double frequency, double monetary) const {
  const double w = p * frequency / (p * frequency + q - 1);
  const double population = v * p / (q - 1);
  return (1 - w) * population + w * monetary;
}

std::vector<double> GammaGamma::expected_spend(std::span<const double> frequency, std::span<const double> monetary) const {
  if (frequency.size() != monetary.size()) throw InvalidArgument("Gamma-Gamma: frequency and monetary differ in length");
  std::vector<double> out(frequency.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = expected_spend(frequency[i], monetary[i]);
  return out;
}

// ---- CLV --------------------------------------------------------------------

std::vector<double> clv(const BgNbd& purchases, const GammaGamma& spend, const ClvSummary& s, const ClvOptions& o) {
  const size_t n = s.size();
  if (s.recency.size() != n || s.T.size() != n || s.monetary.size() != n) {
    throw InvalidArgument("clv: the summary's columns differ in length");
  }
  if (o.months < 0 || !(o.units_per_month > 0) || !(o.monthly_discount_rate > -1)) {
    throw InvalidArgument("clv: months must be >= 0, units_per_month > 0 and the discount rate > -1");
  }
  check_rfT(s.frequency, s.recency, s.T);
  std::vector<double> out(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    const double m = spend.expected_spend(s.frequency[i], s.monetary[i]);
    double prev = 0.0;
    for (int k = 1; k <= o.months; ++k) {
      const double t = k * o.units_per_month;
      const double cum = purchases.expected_purchases(t, s.frequency[i], s.recency[i], s.T[i]);
      out[i] += m * (cum - prev) / std::pow(1 + o.monthly_discount_rate, t / o.units_per_month);
      prev = cum;
    }
  }
  return out;
}

ClvSummary clv_summary(std::span<const uint32_t> person, std::span<const Timestamp> time,
                       std::span<const double> amount, Timestamp as_of, int64_t unit, std::vector<uint32_t>* persons) {
  if (person.size() != time.size() || person.size() != amount.size()) {
    throw InvalidArgument("clv_summary: person, time and amount differ in length");
  }
  if (unit <= 0) throw InvalidArgument("clv_summary: unit must be > 0 microseconds");
  auto period = [unit](Timestamp t) { return t >= 0 ? t / unit : -((-t + unit - 1) / unit); };
  std::vector<size_t> idx;
  for (size_t i = 0; i < person.size(); ++i) {
    if (!std::isfinite(amount[i])) throw InvalidArgument("clv_summary: amount of event " + std::to_string(i) + " is not finite");
    // Whole periods, as lifetimes compares them: the period of as_of counts.
    if (period(time[i]) <= period(as_of)) idx.push_back(i);
  }
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return person[a] != person[b] ? person[a] < person[b] : time[a] < time[b];
  });
  ClvSummary s;
  if (persons) persons->clear();
  const int64_t end = period(as_of);
  for (size_t i = 0; i < idx.size();) {
    const uint32_t p = person[idx[i]];
    std::vector<std::pair<int64_t, double>> periods;  // (period, summed amount)
    size_t j = i;
    for (; j < idx.size() && person[idx[j]] == p; ++j) {
      int64_t d = period(time[idx[j]]);
      if (!periods.empty() && periods.back().first == d) {
        periods.back().second += amount[idx[j]];
      } else {
        periods.emplace_back(d, amount[idx[j]]);
      }
    }
    const double freq = static_cast<double>(periods.size() - 1);
    double repeat_sum = 0;
    for (size_t k = 1; k < periods.size(); ++k) repeat_sum += periods[k].second;
    s.frequency.push_back(freq);
    s.recency.push_back(static_cast<double>(periods.back().first - periods.front().first));
    s.T.push_back(static_cast<double>(end - periods.front().first));
    s.monetary.push_back(freq > 0 ? repeat_sum / freq : 0.0);
    if (persons) persons->push_back(p);
    i = j;
  }
  return s;
}

}  // namespace cdpcore
