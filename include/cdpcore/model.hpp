// cdpcore — models: scoring and the standard CDP analytics.
//
//   auto churn = cdpcore::Model::load_xgboost_json("churn.json");   // or LightGBM text
//   std::vector<double> p = churn.predict(cdpcore::MatrixView::of(x.data(), rows, cols));
//   double one = churn.predict_one(row);                              // reentrant, no allocation
//
// What is here:
//  - Model: tree ensembles from XGBoost JSON (gbtree) and LightGBM text
//    models, scored with each library's own arithmetic (XGBoost: float32,
//    strict `<`, categories listed in a node go right; LightGBM: double,
//    `<=`, decision_type bits, NaN→0 unless the missing type is NaN,
//    categorical bitsets), and linear / logistic / softmax models from
//    coefficients. Batch scoring over a feature matrix on every core; a
//    single-row path that allocates nothing.
//  - fit_logistic(): L2-regularised logistic regression (Newton's method).
//  - rfm(): recency / frequency / monetary quintile scores and named groups.
//  - BgNbd, GammaGamma, clv(): customer lifetime value by maximum likelihood.
//  - KMeans: k-means++ clustering on standardised features.
//  - lookalike(): expand a seed segment by a logistic model over everyone.
//
// Thread safety: a Model, KMeans, BgNbd and GammaGamma are immutable after
// they are built or loaded; one instance may be used from any number of
// threads at once (copies share the same immutable data). The free functions
// are pure: call them from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/time.hpp"
#include "cdpcore/impl_access.hpp"

namespace cdpcore {

// ---- feature matrices -------------------------------------------------------

enum class DType : uint8_t { float32 = 0, float64 = 1 };
enum class Layout : uint8_t { row_major = 0, column_major = 1 };

/// A borrowed, read-only rows × cols matrix of float32 or float64 values
/// (NaN = missing). The caller keeps the memory alive during the call.
/// A value type.
struct MatrixView {
  const void* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
  DType dtype = DType::float64;
  Layout layout = Layout::row_major;

  static MatrixView of(const double* p, size_t rows, size_t cols, Layout layout = Layout::row_major) {
    return {p, rows, cols, DType::float64, layout};
  }
  static MatrixView of(const float* p, size_t rows, size_t cols, Layout layout = Layout::row_major) {
    return {p, rows, cols, DType::float32, layout};
  }
  /// Element (r, c) as double.
  double at(size_t r, size_t c) const noexcept {
    size_t i = layout == Layout::row_major ? r * cols + c : c * rows + r;
    return dtype == DType::float64 ? static_cast<const double*>(data)[i]
                                   : static_cast<double>(static_cast<const float*>(data)[i]);
  }
};

// ---- models -----------------------------------------------------------------

/// What a model outputs: the raw score (log-odds, log-rate, class margins) or
/// the prediction after the objective's transformation (probability, rate).
enum class PredictType : uint8_t { transformed = 0, margin = 1 };

struct PredictOptions {
  PredictType output = PredictType::transformed;
  /// Worker threads for batch scoring, the calling thread included; 0 =
  /// every hardware thread (std::thread::hardware_concurrency()).
  unsigned threads = 0;
};

/// Where a model came from.
enum class ModelKind : uint8_t { xgboost = 0, lightgbm = 1, linear = 2 };

/// The link of a linear model: identity (linear regression), logistic
/// (binary: one output, the probability of the positive class) or softmax
/// (multinomial: one output per class).
enum class LinearLink : uint8_t { identity = 0, logistic = 1, softmax = 2 };

/// A linear model y = link(W · standardise(x) + b). `coefficients` holds one
/// row of num_features values per output (row-major: outputs × features);
/// `intercepts` one value per output. When `mean`/`scale` are given (size
/// num_features), inputs are standardised as (x - mean) / scale first.
/// A missing (NaN) input makes the score NaN. A value type.
struct LinearModelSpec {
  std::vector<double> coefficients;
  std::vector<double> intercepts;
  LinearLink link = LinearLink::identity;
  std::vector<double> mean;
  std::vector<double> scale;
  std::vector<std::string> feature_names;
};

/// A loaded scoring model. Immutable: one Model may be used from any number of
/// threads at once, and copies are cheap (they share the loaded data).
///
/// Tree ensembles reproduce the original library's predictions: XGBoost's to
/// float32 rounding (its arithmetic is float32), LightGBM's exactly (double).
/// Inputs follow each format's missing-value rules: NaN is missing; XGBoost
/// compares ±Inf as ordinary values (XGBoost itself refuses Inf input);
/// LightGBM maps NaN to 0 unless the split's missing type is NaN, and values
/// with |x| <= 1e-35 to 0. Categorical features are given as their integer
/// codes (the codes the model was trained on).
class Model {
 public:
  /// Parses an XGBoost model saved as JSON (Booster.save_model("m.json")):
  /// gbtree booster; objectives binary:logistic, binary:logitraw,
  /// reg:logistic, reg:squarederror (and the other identity-link reg:*),
  /// count:poisson, reg:gamma, reg:tweedie, multi:softprob, multi:softmax.
  /// Throws ParseError (with the byte offset) for malformed JSON, ParseError
  /// naming the field for a wrong or missing field, Unsupported for another
  /// booster or objective.
  static Model from_xgboost_json(std::string_view json);
  /// Reads and parses a file (IoError when it cannot be read).
  static Model load_xgboost_json(const std::string& path);
  /// Parses a LightGBM text model (Booster.save_model("m.txt")): objectives
  /// binary (sigmoid:α), regression and its robust variants, multiclass,
  /// multiclassova, poisson, gamma, tweedie, cross_entropy. Throws
  /// ParseError with the byte offset and line of the bad field, Unsupported
  /// for linear trees or an unknown objective.
  static Model from_lightgbm_text(std::string_view text);
  static Model load_lightgbm(const std::string& path);
  /// A linear / logistic / softmax model. Throws InvalidArgument when the
  /// sizes do not agree or a value is not finite.
  static Model linear(const LinearModelSpec& spec);

  Model(const Model&) = default;
  Model& operator=(const Model&) = default;
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;
  ~Model();

  ModelKind kind() const noexcept;
  /// "binary:logistic", "binary sigmoid:1", "logistic", … as the model says.
  const std::string& objective() const noexcept;
  /// Number of input columns the model expects.
  size_t num_features() const noexcept;
  /// Values per row: 1, or the number of classes for multiclass models.
  size_t num_outputs() const noexcept;
  /// Feature names stored in the model (may be empty).
  const std::vector<std::string>& feature_names() const noexcept;
  /// Number of trees (0 for a linear model).
  size_t num_trees() const noexcept;

  /// Scores every row of `x` into `out` (x.rows × num_outputs(), row-major).
  /// Throws InvalidArgument when x.cols != num_features() (naming both) or
  /// `out` is too small. Uses options.threads worker threads.
  void predict(const MatrixView& x, std::span<double> out, const PredictOptions& options = {}) const;
  std::vector<double> predict(const MatrixView& x, const PredictOptions& options = {}) const;

  /// Scores one row (num_features() values) into `out` (num_outputs()
  /// values). Reentrant: no allocation, no lock, no parsing. Throws
  /// InvalidArgument only for wrong sizes.
  void predict_row(std::span<const double> x, std::span<double> out,
                   PredictType type = PredictType::transformed) const;
  void predict_row(std::span<const float> x, std::span<double> out,
                   PredictType type = PredictType::transformed) const;
  /// The single output of a one-output model for one row.
  double predict_one(std::span<const double> x, PredictType type = PredictType::transformed) const;

  /// The parameters of a linear model (throws StateError for a tree model).
  const LinearModelSpec& linear_spec() const;

  struct Impl;

 private:
  friend struct detail::ImplAccess;
  explicit Model(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// ---- logistic regression ------------------------------------------------------

struct LogisticFitOptions {
  /// L2 penalty λ on the coefficients (not the intercept): the fit minimises
  /// Σ logloss + λ/2 ‖w‖² (scikit-learn's C = 1/λ).
  double l2 = 1.0;
  /// Fit on standardised features and keep mean/scale in the model.
  bool standardize = true;
  int max_iterations = 100;
  /// Stop when the largest Newton step component falls below this.
  double tolerance = 1e-10;
  /// Per-row weights (empty = 1 each).
  std::span<const double> weights = {};
};

/// Fits a binary logistic regression by Newton's method (Eigen) on rows of `x`
/// with labels `y` (0 or 1). Rows containing NaN are refused
/// (InvalidArgument naming the row and column). Returns a logistic Model.
Model fit_logistic(const MatrixView& x, std::span<const double> y, const LogisticFitOptions& options = {});

// ---- RFM ----------------------------------------------------------------------

/// A named RFM group: persons whose R and F scores (and M score) fall in the
/// inclusive ranges. The first matching rule of a table names a person.
struct RfmGroupRule {
  std::string name;
  int r_min = 1, r_max = 5;
  int f_min = 1, f_max = 5;
  int m_min = 1, m_max = 5;
};

/// The usual segment map on R and F quintile scores (champions,
/// loyal_customers, potential_loyalists, new_customers, promising,
/// need_attention, about_to_sleep, at_risk, cant_lose, hibernating).
std::vector<RfmGroupRule> default_rfm_groups();

struct RfmOptions {
  /// Events at or before this time count; recency is measured from it.
  Timestamp as_of = 0;
  /// Number of score bins (5 = quintiles).
  int bins = 5;
  /// Monetary value: total spend (false) or average spend per order (true).
  bool monetary_mean = false;
  /// Group table; empty = default_rfm_groups().
  std::vector<RfmGroupRule> groups;
};

/// One row per person with at least one event at or before as_of, in
/// ascending person order. Scores are 1..bins; recency is inverted (the most
/// recent buyers score `bins`). Binning is pandas'
/// `qcut(x.rank(method="first"), bins, labels=False) + 1` over the persons in
/// this order. `code` is R*100 + F*10 + M (for 5 bins: 111..555). `group` is
/// an index into `group_names` (-1 when no rule matched). A value type.
struct RfmTable {
  std::vector<uint32_t> person;
  std::vector<double> recency_days;
  std::vector<uint32_t> frequency;
  std::vector<double> monetary;
  std::vector<uint8_t> r_score, f_score, m_score;
  std::vector<int32_t> code;
  std::vector<int32_t> group;
  std::vector<std::string> group_names;
  size_t size() const noexcept { return person.size(); }
};

/// RFM over order events given as parallel arrays (person ordinal, time,
/// amount). Throws InvalidArgument when the arrays differ in length, an amount
/// is not finite or bins < 1.
RfmTable rfm(std::span<const uint32_t> person, std::span<const Timestamp> time,
                     std::span<const double> amount, const RfmOptions& options);

// ---- CLV: BG/NBD + Gamma-Gamma -------------------------------------------------

/// Per-customer summary in one time unit (days, weeks): `frequency` = repeat
/// purchases, `recency` = age at the last purchase (t_x), `T` = age at the end
/// of observation, `monetary` = mean value of the repeat purchases.
struct ClvSummary {
  std::vector<double> frequency, recency, T, monetary;
  size_t size() const noexcept { return frequency.size(); }
};

/// Builds the summary from order events (person, time, amount) observed up to
/// the end of the period (day) holding `as_of`, in units of `unit`
/// microseconds (kMicrosPerDay for days). As in
/// lifetimes' summary_data_from_transaction_data: purchases on the same unit
/// (day) are one purchase with their amounts summed, the first purchase is
/// not counted, and monetary is the mean of the repeat purchases (0 when
/// there are none). Persons in ascending order, written to `persons`.
ClvSummary clv_summary(std::span<const uint32_t> person, std::span<const Timestamp> time,
                               std::span<const double> amount, Timestamp as_of, int64_t unit,
                               std::vector<uint32_t>* persons = nullptr);

struct FitOptions {
  int max_iterations = 20000;
  double tolerance = 1e-12;
};

/// The BG/NBD model (Fader, Hardie & Lee 2005). Immutable value type.
class BgNbd {
 public:
  double r = 1, alpha = 1, a = 1, b = 1;
  double log_likelihood = 0;  ///< of the data it was fitted to
  int iterations = 0;

  /// Maximum likelihood fit (Nelder–Mead on log-parameters). Throws
  /// InvalidArgument for negative values, recency > T, or frequency > 0 with
  /// recency 0.
  static BgNbd fit(std::span<const double> frequency, std::span<const double> recency, std::span<const double> T,
                   const FitOptions& options = {});
  static BgNbd with_params(double r, double alpha, double a, double b);

  /// Sum of the log-likelihood over customers.
  double total_log_likelihood(std::span<const double> frequency, std::span<const double> recency,
                              std::span<const double> T) const;
  /// E[purchases in (T, T+t]] for each customer.
  std::vector<double> expected_purchases(double t, std::span<const double> frequency, std::span<const double> recency,
                                         std::span<const double> T) const;
  double expected_purchases(double t, double frequency, double recency, double T) const;
  /// P(still alive at T).
  double probability_alive(double frequency, double recency, double T) const;
  std::vector<double> probability_alive(std::span<const double> frequency, std::span<const double> recency,
                                        std::span<const double> T) const;
  /// E[purchases in (0, t]] for a new customer.
  double expected_purchases_new(double t) const;
};

/// The Gamma-Gamma spend model (Fader, Hardie & Lee 2005). Fitted on
/// customers with frequency > 0. Immutable value type.
class GammaGamma {
 public:
  double p = 1, q = 1, v = 1;
  double log_likelihood = 0;
  int iterations = 0;

  /// Customers with frequency 0 are skipped; monetary must be > 0 for the rest.
  static GammaGamma fit(std::span<const double> frequency, std::span<const double> monetary,
                        const FitOptions& options = {});
  static GammaGamma with_params(double p, double q, double v);
  /// E[mean spend per purchase] given the customer's history.
  double expected_spend(double frequency, double monetary) const;
  std::vector<double> expected_spend(std::span<const double> frequency, std::span<const double> monetary) const;
};

struct ClvOptions {
  /// Horizon in months.
  int months = 12;
  /// Discount rate per month.
  double monthly_discount_rate = 0.01;
  /// Length of a month in the summary's time unit (30 for days, 4.345 for weeks).
  double units_per_month = 30;
};

/// Discounted CLV over the horizon, month by month, as lifetimes'
/// customer_lifetime_value: Σ_m spend · (E[N(m)] − E[N(m−1)]) / (1+d)^m.
std::vector<double> clv(const BgNbd& purchases, const GammaGamma& spend, const ClvSummary& summary,
                                const ClvOptions& options = {});

// ---- k-means ----------------------------------------------------------------------

struct KMeansOptions {
  int k = 8;
  uint64_t seed = 42;
  int max_iterations = 300;
  /// Stop when no assignment changes or the centres move less than this (squared, summed).
  double tolerance = 1e-10;
  /// Standardise features (mean 0, scale 1) before clustering.
  bool standardize = true;
  /// Independent k-means++ initialisations; the lowest inertia wins.
  int n_init = 3;
};

/// k-means clustering with k-means++ seeding, deterministic for a seed.
/// Immutable after fit; share freely across threads.
class KMeans {
 public:
  /// Rows with NaN are refused (InvalidArgument naming the row).
  static KMeans fit(const MatrixView& x, const KMeansOptions& options = {});

  int k() const noexcept { return k_; }
  size_t num_features() const noexcept { return mean_.size(); }
  /// Centres in standardised space (k × features, row-major).
  const std::vector<double>& centers() const noexcept { return centers_; }
  /// Centres in the input's units.
  std::vector<double> centers_original() const;
  const std::vector<double>& mean() const noexcept { return mean_; }
  const std::vector<double>& scale() const noexcept { return scale_; }
  /// Sum of squared distances of the training rows to their centres (standardised space).
  double inertia() const noexcept { return inertia_; }
  int iterations() const noexcept { return iterations_; }
  /// Cluster of each training row.
  const std::vector<int32_t>& labels() const noexcept { return labels_; }

  /// Nearest centre of each row of x (-1 for a row with NaN).
  std::vector<int32_t> assign(const MatrixView& x) const;
  int32_t assign_one(std::span<const double> x) const;

 private:
  int k_ = 0;
  std::vector<double> centers_, mean_, scale_;
  std::vector<int32_t> labels_;
  double inertia_ = 0;
  int iterations_ = 0;
};

// ---- lookalike -------------------------------------------------------------------

struct LookalikeOptions {
  /// Keep the `top_n` best-scored persons outside the seed (0 = use min_score).
  size_t top_n = 0;
  /// Keep persons with score >= min_score (when top_n == 0).
  double min_score = 0.5;
  /// L2 penalty of the logistic model (see LogisticFitOptions::l2).
  double l2 = 1.0;
};

struct LookalikeResult {
  Bitmap segment;                 ///< the expansion, seed excluded
  std::vector<double> scores;     ///< P(seed-like) of every row of the features
  Model model;                    ///< the fitted logistic model
};

/// Fits a logistic model separating the seed (positives) from the rest of the
/// population (rows of `features`; row i is person `persons[i]`) and scores
/// everyone. Throws InvalidArgument when sizes differ, the seed has no member
/// among the rows, or every row is in the seed.
LookalikeResult lookalike(const Bitmap& seed, std::span<const uint32_t> persons, const MatrixView& features,
                                  const LookalikeOptions& options = {});

// ---- features bound to profiles -------------------------------------------------

class ProfileStore;
class CompiledExpression;

/// Where one model input comes from: a profile attribute (traits and earlier
/// model scores are stored as attributes too) or a rule expression over the
/// profile and its events ("sum(order.amount, last 90 days)"). Missing
/// values (nulls) become NaN. A value type.
struct FeatureBinding {
  enum class Source : uint8_t { attribute = 0, expression = 1 };
  std::string name;  ///< the model input's name
  Source source = Source::attribute;
  std::string ref;   ///< attribute name, or the expression's text
};

/// The inputs of a model, in the model's column order. A value type.
struct FeatureSpec {
  std::vector<FeatureBinding> features;

  FeatureSpec& attribute(std::string name, std::string attribute_name = {});
  FeatureSpec& expression(std::string name, std::string rule_text);
  /// One attribute binding per feature name stored in the model (names must
  /// be present).
  static FeatureSpec from_model(const Model& model);
  size_t size() const noexcept { return features.size(); }
};

/// A FeatureSpec compiled against one ProfileStore (expressions type-checked,
/// attributes resolved). Immutable; evaluate it only against that store, with
/// no write to the store running at the same time (the store's rule).
class BoundFeatures {
 public:
  /// Throws NotFound naming an unknown attribute, TypeError for a
  /// non-numeric attribute or expression (naming the feature), ParseError
  /// for a bad expression.
  static BoundFeatures bind(const FeatureSpec& spec, const ProfileStore& store);
  ~BoundFeatures();
  BoundFeatures(BoundFeatures&&) noexcept;
  BoundFeatures& operator=(BoundFeatures&&) noexcept;

  size_t size() const noexcept;
  const FeatureSpec& spec() const noexcept;
  /// The feature matrix of `persons` (row-major, persons × features, NaN for
  /// missing) as of `as_of` (the time rule expressions are evaluated at).
  std::vector<double> matrix(const ProfileStore& store, std::span<const uint32_t> persons, Timestamp as_of) const;
  /// One person's feature vector into `out` (size() values).
  void row(const ProfileStore& store, uint32_t person, Timestamp as_of, std::span<double> out) const;

  struct Impl;

 private:
  explicit BoundFeatures(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Scores `persons` (every person of the store when empty) with `model` over
/// `features` and writes the scores (the model's first output) into the
/// store as the double attribute `trait`, so rules and segments can use it
/// ("churn_risk > 0.7"). One write batch: on failure nothing is written.
/// Returns the scores in the order of the persons scored.
std::vector<double> score_to_trait(const Model& model, const BoundFeatures& features, ProfileStore& store,
                                           std::string_view trait, Timestamp as_of,
                                           std::span<const uint32_t> persons = {},
                                           const PredictOptions& options = {});

}  // namespace cdpcore
