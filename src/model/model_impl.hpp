// Internal: the implementation behind cdpcore::Model.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cdpcore/model.hpp"

namespace cdpcore {

/// A scorer. Implementations are immutable after construction; every method is
/// const and reentrant.
struct Model::Impl {
  ModelKind kind = ModelKind::linear;
  std::string objective;
  size_t num_features = 0;
  size_t num_outputs = 1;
  std::vector<std::string> feature_names;

  virtual ~Impl() = default;
  virtual size_t num_trees() const noexcept { return 0; }
  /// Scores rows [begin, end) of x into out (which points at row `begin`'s outputs).
  virtual void predict_rows(const MatrixView& x, size_t begin, size_t end, double* out, PredictType type) const = 0;
  virtual void predict_row(const double* x, double* out, PredictType type) const noexcept = 0;
  virtual void predict_row(const float* x, double* out, PredictType type) const noexcept = 0;
  /// Rows per work unit when splitting a batch across threads.
  virtual size_t grain() const noexcept { return 4096; }
};

namespace model_detail {
std::shared_ptr<const Model::Impl> make_linear(const LinearModelSpec& spec);
std::shared_ptr<const Model::Impl> parse_xgboost_json(std::string_view json);
std::shared_ptr<const Model::Impl> parse_lightgbm_text(std::string_view text);
}  // namespace model_detail

}  // namespace cdpcore
