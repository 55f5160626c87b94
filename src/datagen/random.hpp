// Internal: the generator's own pseudo-random numbers. std:: distributions
// differ between standard libraries, so every draw is computed here from
// xoshiro256** (Blackman & Vigna) seeded through splitmix64.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

namespace cdpcore::datagen::detail {

constexpr uint64_t splitmix64(uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// A well-mixed 64-bit key from several integers (order matters).
constexpr uint64_t mix(uint64_t a, uint64_t b) noexcept { return splitmix64(a ^ splitmix64(b + 0x632BE59BD9B4E019ULL)); }
constexpr uint64_t mix(uint64_t a, uint64_t b, uint64_t c) noexcept { return mix(mix(a, b), c); }
constexpr uint64_t mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d) noexcept { return mix(mix(a, b, c), d); }

class Rng {
 public:
  explicit Rng(uint64_t seed) noexcept {
    uint64_t x = seed;
    for (auto& w : s_) {
      x += 0x9E3779B97F4A7C15ULL;
      w = splitmix64(x);
    }
  }

  uint64_t next() noexcept {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1), 53 bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in (0, 1]: safe for log().
  double uniform_pos() noexcept { return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; }
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n) (Lemire's multiply-shift, with rejection).
  uint64_t below(uint64_t n) noexcept {
    if (n <= 1) return 0;
    if (n <= 0xFFFFFFFFULL) {
      uint64_t x = next() >> 32;
      uint64_t m = x * n;
      uint32_t l = static_cast<uint32_t>(m);
      if (l < n) {
        const uint32_t t = static_cast<uint32_t>(-static_cast<uint32_t>(n) % static_cast<uint32_t>(n));
        while (l < t) {
          x = next() >> 32;
          m = x * n;
          l = static_cast<uint32_t>(m);
        }
      }
      return m >> 32;
    }
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }
  /// Uniform integer in [lo, hi] inclusive.
  int64_t between(int64_t lo, int64_t hi) noexcept {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool chance(double p) noexcept { return uniform() < p; }
  /// Standard normal (Box–Muller, one of the pair).
  double normal() noexcept {
    const double u1 = uniform_pos(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double lognormal(double mu, double sigma) noexcept { return std::exp(mu + sigma * normal()); }
  double exponential(double mean) noexcept { return -mean * std::log(uniform_pos()); }
  /// Pareto with minimum xm and shape alpha.
  double pareto(double xm, double alpha) noexcept { return xm * std::pow(uniform_pos(), -1.0 / alpha); }
  /// floor(x) or floor(x)+1 with the fractional part as probability: an
  /// integer with mean x.
  int64_t round_random(double x) noexcept {
    const double f = std::floor(x);
    return static_cast<int64_t>(f) + (chance(x - f) ? 1 : 0);
  }
  /// Index drawn with the given (not necessarily normalised) weights.
  size_t weighted(std::span<const double> w) noexcept {
    double total = 0;
    for (double x : w) total += x;
    double r = uniform() * total;
    for (size_t i = 0; i < w.size(); ++i) {
      if (r < w[i]) return i;
      r -= w[i];
    }
    return w.size() - 1;
  }

 private:
  static constexpr uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

/// Draws from a fixed discrete distribution in O(log n) (cumulative table).
class Discrete {
 public:
  Discrete() = default;
  explicit Discrete(std::span<const double> weights) {
    cum_.reserve(weights.size());
    double t = 0;
    for (double w : weights) cum_.push_back(t += w);
  }
  size_t operator()(Rng& rng) const noexcept {
    const double r = rng.uniform() * cum_.back();
    size_t lo = 0, hi = cum_.size() - 1;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (r < cum_[mid]) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
  size_t size() const noexcept { return cum_.size(); }

 private:
  std::vector<double> cum_;
};

}  // namespace cdpcore::datagen::detail
