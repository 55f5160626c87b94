#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "cdpcore/error.hpp"
#include "cdpcore/model.hpp"
#include "model/model_impl.hpp"
#include "model/tree_ensemble.hpp"
#include "util/parallel.hpp"

namespace cdpcore {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("cannot open model file \"" + path + "\"");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw IoError("cannot read model file \"" + path + "\"");
  return s;
}

struct LinearImpl final : Model::Impl {
  LinearModelSpec spec;
  bool standardize = false;

  template <class In>
  void score(const In* x, double* out, PredictType type) const noexcept {
    const size_t nf = num_features;
    const size_t k = spec.intercepts.size();
    for (size_t o = 0; o < k; ++o) {
      const double* w = spec.coefficients.data() + o * nf;
      double z = 0;
      if (standardize) {
        for (size_t j = 0; j < nf; ++j) z += w[j] * ((static_cast<double>(x[j]) - spec.mean[j]) / spec.scale[j]);
      } else {
        for (size_t j = 0; j < nf; ++j) z += w[j] * static_cast<double>(x[j]);
      }
      out[o] = z + spec.intercepts[o];
    }
    if (type == PredictType::margin) return;
    if (spec.link == LinearLink::logistic) {
      out[0] = 1.0 / (1.0 + std::exp(-out[0]));
    } else if (spec.link == LinearLink::softmax) {
      double m = out[0];
      for (size_t o = 1; o < k; ++o) m = std::max(m, out[o]);
      double sum = 0;
      for (size_t o = 0; o < k; ++o) sum += (out[o] = std::exp(out[o] - m));
      for (size_t o = 0; o < k; ++o) out[o] /= sum;
    }
  }

  void predict_rows(const MatrixView& x, size_t begin, size_t end, double* out, PredictType type) const override {
    std::vector<double> row(num_features);
    for (size_t r = begin; r < end; ++r) {
      for (size_t c = 0; c < num_features; ++c) row[c] = x.at(r, c);
      score(row.data(), out + (r - begin) * num_outputs, type);
    }
  }
  void predict_row(const double* x, double* out, PredictType type) const noexcept override { score(x, out, type); }
  void predict_row(const float* x, double* out, PredictType type) const noexcept override { score(x, out, type); }
  size_t grain() const noexcept override { return 16384; }
};

void check_type(const Model::Impl& impl, PredictType type) {
  if (type == PredictType::margin && impl.kind == ModelKind::xgboost) {
    auto& e = static_cast<const model_detail::TreeEnsemble<float>&>(impl);
    if (e.transform == model_detail::Transform::argmax) {
      throw Unsupported("margins of a multi:softmax model: its output is a class index (save it as multi:softprob)");
    }
  }
}

/// predict_row for rows of doubles or floats, after checking the sizes.
template <typename T>
void predict_row_checked(const Model::Impl& impl, std::span<const T> x, std::span<double> out, PredictType type) {
  if (x.size() != impl.num_features) {
    throw InvalidArgument("predict_row: the model expects " + std::to_string(impl.num_features) + " features, got " +
                          std::to_string(x.size()));
  }
  if (out.size() < impl.num_outputs) {
    throw InvalidArgument("predict_row: the output needs " + std::to_string(impl.num_outputs) + " values");
  }
  if (type == PredictType::margin) check_type(impl, type);
  impl.predict_row(x.data(), out.data(), type);
}

}  // namespace

namespace model_detail {

std::shared_ptr<const Model::Impl> make_linear(const LinearModelSpec& spec) {
  const size_t k = spec.intercepts.size();
  if (k == 0) throw InvalidArgument("linear model: at least one intercept is needed");
  if (spec.link == LinearLink::logistic && k != 1) {
    throw InvalidArgument("linear model: a logistic link has one output, got " + std::to_string(k) + " intercepts");
  }
  if (spec.link == LinearLink::softmax && k < 2) throw InvalidArgument("linear model: softmax needs at least 2 outputs");
  if (spec.coefficients.size() % k != 0) {
    throw InvalidArgument("linear model: " + std::to_string(spec.coefficients.size()) +
                          " coefficients do not divide into " + std::to_string(k) + " outputs");
  }
  const size_t nf = spec.coefficients.size() / k;
  auto impl = std::make_shared<LinearImpl>();
  impl->kind = ModelKind::linear;
  impl->objective = spec.link == LinearLink::identity ? "linear" : spec.link == LinearLink::logistic ? "logistic" : "softmax";
  impl->num_features = nf;
  impl->num_outputs = k;
  for (size_t i = 0; i < spec.coefficients.size(); ++i) {
    if (!std::isfinite(spec.coefficients[i])) {
      throw InvalidArgument("linear model: coefficient " + std::to_string(i % nf) + " of output " +
                            std::to_string(i / nf) + " is not finite");
    }
  }
  for (size_t i = 0; i < k; ++i)
    if (!std::isfinite(spec.intercepts[i])) throw InvalidArgument("linear model: intercept " + std::to_string(i) + " is not finite");
  if (!spec.mean.empty() || !spec.scale.empty()) {
    if (spec.mean.size() != nf || spec.scale.size() != nf) {
      throw InvalidArgument("linear model: mean and scale need " + std::to_string(nf) + " values each, got " +
                            std::to_string(spec.mean.size()) + " and " + std::to_string(spec.scale.size()));
    }
    for (size_t j = 0; j < nf; ++j) {
      if (!std::isfinite(spec.mean[j]) || !std::isfinite(spec.scale[j]) || spec.scale[j] == 0) {
        throw InvalidArgument("linear model: feature " + std::to_string(j) + " has a non-finite mean or a zero scale");
      }
    }
    impl->standardize = true;
  }
  if (!spec.feature_names.empty() && spec.feature_names.size() != nf) {
    throw InvalidArgument("linear model: " + std::to_string(spec.feature_names.size()) + " feature names for " +
                          std::to_string(nf) + " features");
  }
  impl->spec = spec;
  impl->feature_names = spec.feature_names;
  return impl;
}

}  // namespace model_detail

Model::Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

Model Model::from_xgboost_json(std::string_view json) { return Model(model_detail::parse_xgboost_json(json)); }
Model Model::load_xgboost_json(const std::string& path) { return from_xgboost_json(read_file(path)); }
Model Model::from_lightgbm_text(std::string_view text) { return Model(model_detail::parse_lightgbm_text(text)); }
Model Model::load_lightgbm(const std::string& path) { return from_lightgbm_text(read_file(path)); }
Model Model::linear(const LinearModelSpec& spec) { return Model(model_detail::make_linear(spec)); }

ModelKind Model::kind() const noexcept { return impl_->kind; }
const std::string& Model::objective() const noexcept { return impl_->objective; }
size_t Model::num_features() const noexcept { return impl_->num_features; }
size_t Model::num_outputs() const noexcept { return impl_->num_outputs; }
const std::vector<std::string>& Model::feature_names() const noexcept { return impl_->feature_names; }
size_t Model::num_trees() const noexcept { return impl_->num_trees(); }

const LinearModelSpec& Model::linear_spec() const {
  if (impl_->kind != ModelKind::linear) throw StateError("linear_spec(): not a linear model");
  return static_cast<const LinearImpl&>(*impl_).spec;
}

void Model::predict(const MatrixView& x, std::span<double> out, const PredictOptions& options) const {
  const Impl& impl = *impl_;
  if (x.cols != impl.num_features) {
    throw InvalidArgument("predict: the model expects " + std::to_string(impl.num_features) +
                          " features, the matrix has " + std::to_string(x.cols) + " columns");
  }
  if (x.rows > 0 && x.cols > 0 && x.data == nullptr) throw InvalidArgument("predict: the matrix data is NULL");
  const size_t k = impl.num_outputs;
  if (out.size() < x.rows * k) {
    throw InvalidArgument("predict: the output has room for " + std::to_string(out.size()) + " values, " +
                          std::to_string(x.rows * k) + " are needed");
  }
  check_type(impl, options.output);
  if (x.rows == 0) return;
  // One contiguous range of at least grain() rows per thread.
  const size_t grain = impl.grain();
  const size_t chunks = std::min<size_t>(util::resolve_threads(options.threads), (x.rows + grain - 1) / grain);
  util::parallel_for(chunks, static_cast<unsigned>(chunks), [&](size_t c, unsigned) {
    const size_t b = x.rows * c / chunks, e = x.rows * (c + 1) / chunks;
    impl.predict_rows(x, b, e, out.data() + b * k, options.output);
  });
}

std::vector<double> Model::predict(const MatrixView& x, const PredictOptions& options) const {
  std::vector<double> out(x.rows * impl_->num_outputs);
  predict(x, out, options);
  return out;
}

void Model::predict_row(std::span<const double> x, std::span<double> out, PredictType type) const {
  predict_row_checked(*impl_, x, out, type);
}

void Model::predict_row(std::span<const float> x, std::span<double> out, PredictType type) const {
  predict_row_checked(*impl_, x, out, type);
}

double Model::predict_one(std::span<const double> x, PredictType type) const {
  if (impl_->num_outputs != 1) {
    throw InvalidArgument("predict_one: the model has " + std::to_string(impl_->num_outputs) + " outputs");
  }
  double out = 0;
  predict_row(x, std::span<double>(&out, 1), type);
  return out;
}

}  // namespace cdpcore
