// L2-regularised logistic regression by Newton's method (IRLS) with Eigen.
#include <Eigen/Dense>
#include <cmath>

#include "cdpcore/error.hpp"
#include "cdpcore/model.hpp"

namespace cdpcore {

Model fit_logistic(const MatrixView& x, std::span<const double> y, const LogisticFitOptions& options) {
  const size_t n = x.rows, p = x.cols;
  if (y.size() != n) {
    throw InvalidArgument("fit_logistic: " + std::to_string(n) + " rows but " + std::to_string(y.size()) + " labels");
  }
  if (!options.weights.empty() && options.weights.size() != n) {
    throw InvalidArgument("fit_logistic: " + std::to_string(n) + " rows but " + std::to_string(options.weights.size()) +
                          " weights");
  }
  if (n == 0) throw InvalidArgument("fit_logistic: no rows");
  if (n > 0 && p > 0 && x.data == nullptr) throw InvalidArgument("fit_logistic: the matrix data is NULL");
  if (!(options.l2 >= 0) || !std::isfinite(options.l2)) throw InvalidArgument("fit_logistic: l2 must be >= 0");
  bool pos = false, neg = false;
  for (size_t i = 0; i < n; ++i) {
    if (y[i] == 1.0) {
      pos = true;
    } else if (y[i] == 0.0) {
      neg = true;
    } else {
      throw InvalidArgument("fit_logistic: label " + std::to_string(i) + " is not 0 or 1");
    }
  }
  if (!pos || !neg) throw InvalidArgument("fit_logistic: the labels need both classes");

  // Design matrix with a leading column of ones (the intercept, unpenalised).
  Eigen::MatrixXd a(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(p + 1));
  std::vector<double> mean(p, 0.0), scale(p, 1.0);
  for (size_t i = 0; i < n; ++i) {
    a(static_cast<Eigen::Index>(i), 0) = 1.0;
    for (size_t j = 0; j < p; ++j) {
      double v = x.at(i, j);
      if (!std::isfinite(v)) {
        throw InvalidArgument("fit_logistic: row " + std::to_string(i) + " column " + std::to_string(j) +
                              " is not a finite number");
      }
      a(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j + 1)) = v;
    }
  }
  if (options.standardize) {
    for (size_t j = 0; j < p; ++j) {
      auto col = a.col(static_cast<Eigen::Index>(j + 1));
      double m = col.mean();
      double var = (col.array() - m).square().mean();
      double s = var > 0 ? std::sqrt(var) : 1.0;
      mean[j] = m;
      scale[j] = s;
      col = (col.array() - m) / s;
    }
  }
  Eigen::VectorXd w = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(p + 1));
  Eigen::VectorXd yy(static_cast<Eigen::Index>(n)), sw(static_cast<Eigen::Index>(n));
  for (size_t i = 0; i < n; ++i) {
    yy(static_cast<Eigen::Index>(i)) = y[i];
    sw(static_cast<Eigen::Index>(i)) = options.weights.empty() ? 1.0 : options.weights[i];
  }
  Eigen::VectorXd penalty = Eigen::VectorXd::Constant(static_cast<Eigen::Index>(p + 1), options.l2);
  penalty(0) = 0.0;
  for (int it = 0; it < options.max_iterations; ++it) {
    Eigen::VectorXd z = a * w;
    Eigen::VectorXd mu = (1.0 + (-z.array()).exp()).inverse().matrix();
    Eigen::VectorXd h = (mu.array() * (1.0 - mu.array()) * sw.array()).max(1e-12).matrix();
    Eigen::VectorXd grad = a.transpose() * ((mu - yy).cwiseProduct(sw)) + penalty.cwiseProduct(w);
    Eigen::MatrixXd hess = a.transpose() * h.asDiagonal() * a;
    hess.diagonal() += penalty;
    Eigen::VectorXd delta = hess.ldlt().solve(grad);
    if (!delta.allFinite()) {
      // Separable data without a penalty: fall back to a tiny ridge.
      hess.diagonal().array() += 1e-8;
      delta = hess.ldlt().solve(grad);
      if (!delta.allFinite()) throw Error(ErrorCode::error, "fit_logistic: the Newton step did not converge");
    }
    w -= delta;
    if (delta.cwiseAbs().maxCoeff() < options.tolerance) break;
  }
  LinearModelSpec spec;
  spec.link = LinearLink::logistic;
  spec.intercepts = {w(0)};
  spec.coefficients.resize(p);
  for (size_t j = 0; j < p; ++j) spec.coefficients[j] = w(static_cast<Eigen::Index>(j + 1));
  if (options.standardize) {
    spec.mean = std::move(mean);
    spec.scale = std::move(scale);
  }
  return Model::linear(spec);
}

}  // namespace cdpcore
