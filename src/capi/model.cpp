#include "cdpcore/c/model.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "capi/capi_internal.hpp"
#include "cdpcore/model.hpp"

using namespace cdpcore;

struct cdp_model {
  Model model;
};

struct cdp_kmeans {
  KMeans km;
};

namespace {

template <class T>
T* alloc_array(size_t n) {
  void* p = std::malloc(std::max<size_t>(n, 1) * sizeof(T));
  if (!p) throw std::bad_alloc();
  return static_cast<T*>(p);
}

/// A malloc'ed array of `k` values copied from `v` when the caller asked for
/// it (`out` is not NULL), else NULL.
template <typename T, typename V>
T* copy_if_asked(const void* out, const V& v, size_t k) {
  if (!out) return nullptr;
  T* p = alloc_array<T>(k);
  std::copy(v.begin(), v.end(), p);
  return p;
}

MatrixView view(const void* data, int dtype, int layout, size_t rows, size_t cols) {
  if (dtype != CDP_DTYPE_FLOAT32 && dtype != CDP_DTYPE_FLOAT64) {
    throw InvalidArgument("dtype " + std::to_string(dtype) + " is not CDP_DTYPE_FLOAT32 or CDP_DTYPE_FLOAT64");
  }
  if (layout != CDP_LAYOUT_ROW_MAJOR && layout != CDP_LAYOUT_COLUMN_MAJOR) {
    throw InvalidArgument("layout " + std::to_string(layout) + " is not a CDP_LAYOUT_*");
  }
  if (rows > 0 && cols > 0 && !data) throw InvalidArgument("data must not be NULL");
  if (cols != 0 && rows > std::numeric_limits<size_t>::max() / cols) throw InvalidArgument("rows × cols overflows");
  MatrixView v;
  v.data = data;
  v.rows = rows;
  v.cols = cols;
  v.dtype = dtype == CDP_DTYPE_FLOAT32 ? DType::float32 : DType::float64;
  v.layout = layout == CDP_LAYOUT_ROW_MAJOR ? Layout::row_major : Layout::column_major;
  return v;
}

PredictType output_of(int output) {
  if (output == CDP_PREDICT_TRANSFORMED) return PredictType::transformed;
  if (output == CDP_PREDICT_MARGIN) return PredictType::margin;
  throw InvalidArgument("output " + std::to_string(output) + " is not CDP_PREDICT_TRANSFORMED or CDP_PREDICT_MARGIN");
}

template <class T>
std::span<const T> span_of(const T* p, size_t n, const char* what) {
  if (n > 0 && !p) throw InvalidArgument(std::string(what) + " must not be NULL");
  return std::span<const T>(p, n);
}

/// The body of cdp_model_predict_row and cdp_model_predict_row_f32.
template <typename T>
void predict_row(const cdp_model* model, const T* x, size_t n, double* out, size_t out_len, int output) {
  capi::arg_not_null(model, "model");
  if (out_len > 0) capi::arg_not_null(out, "out");
  model->model.predict_row(span_of(x, n, "x"), std::span<double>(out, out_len), output_of(output));
}

}  // namespace

extern "C" {

cdp_status cdp_model_from_xgboost_json(cdp_model** out, const char* json, size_t len) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  if (len > 0) capi::arg_not_null(json, "json");
  *out = new cdp_model{Model::from_xgboost_json(std::string_view(json ? json : "", len))};
  CDP_API_END()
}

cdp_status cdp_model_from_lightgbm_text(cdp_model** out, const char* text, size_t len) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  if (len > 0) capi::arg_not_null(text, "text");
  *out = new cdp_model{Model::from_lightgbm_text(std::string_view(text ? text : "", len))};
  CDP_API_END()
}

cdp_status cdp_model_load_file(cdp_model** out, const char* path, size_t path_len, int lightgbm) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  std::string p(capi::arg_string(path, path_len, "path"));
  *out = new cdp_model{lightgbm ? Model::load_lightgbm(p) : Model::load_xgboost_json(p)};
  CDP_API_END()
}

cdp_status cdp_model_new_linear(cdp_model** out, const double* coefficients, size_t num_outputs, size_t num_features,
                                const double* intercepts, int link, const double* mean, const double* scale) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  if (link < CDP_LINK_IDENTITY || link > CDP_LINK_SOFTMAX) throw InvalidArgument("link is not a CDP_LINK_*");
  if (num_features != 0 && num_outputs > std::numeric_limits<size_t>::max() / num_features) {
    throw InvalidArgument("num_outputs × num_features overflows");
  }
  LinearModelSpec s;
  auto c = span_of(coefficients, num_outputs * num_features, "coefficients");
  auto b = span_of(intercepts, num_outputs, "intercepts");
  s.coefficients.assign(c.begin(), c.end());
  s.intercepts.assign(b.begin(), b.end());
  s.link = static_cast<LinearLink>(link);
  if (mean || scale) {
    auto m = span_of(mean, num_features, "mean");
    auto sc = span_of(scale, num_features, "scale");
    s.mean.assign(m.begin(), m.end());
    s.scale.assign(sc.begin(), sc.end());
  }
  *out = new cdp_model{Model::linear(s)};
  CDP_API_END()
}

cdp_status cdp_model_fit_logistic(cdp_model** out, const double* x, size_t rows, size_t cols, const double* y,
                                  double l2) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  LogisticFitOptions o;
  o.l2 = l2;
  *out = new cdp_model{
      fit_logistic(view(x, CDP_DTYPE_FLOAT64, CDP_LAYOUT_ROW_MAJOR, rows, cols), span_of(y, rows, "y"), o)};
  CDP_API_END()
}

void cdp_model_free(cdp_model* model) { delete model; }

size_t cdp_model_num_features(const cdp_model* model) { return model ? model->model.num_features() : 0; }
size_t cdp_model_num_outputs(const cdp_model* model) { return model ? model->model.num_outputs() : 0; }
size_t cdp_model_num_trees(const cdp_model* model) { return model ? model->model.num_trees() : 0; }
int cdp_model_kind(const cdp_model* model) { return model ? static_cast<int>(model->model.kind()) : -1; }
const char* cdp_model_objective(const cdp_model* model) { return model ? model->model.objective().c_str() : ""; }

CDP_DEFINE_OPTIONS_INIT(cdp_predict_options, CDP_PREDICT_OPTIONS)

cdp_status cdp_model_predict(const cdp_model* model, const void* data, int dtype, int layout, size_t rows, size_t cols,
                             double* out, size_t out_len, const cdp_predict_options* opts) {
  CDP_API_BEGIN()
  capi::arg_not_null(model, "model");
  PredictOptions o;
  if (opts) {
    capi::check_struct_version(opts->version, CDP_PREDICT_OPTIONS_VERSION, "cdp_predict_options");
    o.output = output_of(opts->output);
    o.threads = opts->threads;
  }
  if (out_len > 0) capi::arg_not_null(out, "out");
  model->model.predict(view(data, dtype, layout, rows, cols), std::span<double>(out, out_len), o);
  CDP_API_END()
}

cdp_status cdp_model_predict_row(const cdp_model* model, const double* x, size_t n, double* out, size_t out_len,
                                 int output) {
  CDP_API_BEGIN()
  predict_row(model, x, n, out, out_len, output);
  CDP_API_END()
}

cdp_status cdp_model_predict_row_f32(const cdp_model* model, const float* x, size_t n, double* out, size_t out_len,
                                     int output) {
  CDP_API_BEGIN()
  predict_row(model, x, n, out, out_len, output);
  CDP_API_END()
}

cdp_status cdp_rfm(const uint32_t* person, const int64_t* time, const double* amount, size_t n, int64_t as_of, int bins,
                   size_t* out_count, uint32_t** out_persons, uint8_t** out_r, uint8_t** out_f, uint8_t** out_m,
                   char** out_groups) {
  for (void** p : {reinterpret_cast<void**>(out_persons), reinterpret_cast<void**>(out_r),
                   reinterpret_cast<void**>(out_f), reinterpret_cast<void**>(out_m),
                   reinterpret_cast<void**>(out_groups)})
    if (p) *p = nullptr;
  uint32_t* persons = nullptr;
  uint8_t *r = nullptr, *f = nullptr, *m = nullptr;
  char* groups = nullptr;
  CDP_API_BEGIN()
  capi::arg_not_null(out_count, "out_count");
  *out_count = 0;
  RfmOptions o;
  o.as_of = as_of;
  o.bins = bins;
  RfmTable t = rfm(span_of(person, n, "person"), span_of(time, n, "time"), span_of(amount, n, "amount"), o);
  const size_t k = t.size();
  try {
    persons = copy_if_asked<uint32_t>(out_persons, t.person, k);
    r = copy_if_asked<uint8_t>(out_r, t.r_score, k);
    f = copy_if_asked<uint8_t>(out_f, t.f_score, k);
    m = copy_if_asked<uint8_t>(out_m, t.m_score, k);
    if (out_groups) {
      std::string all;
      for (size_t i = 0; i < k; ++i) {
        if (t.group[i] >= 0) all += t.group_names[static_cast<size_t>(t.group[i])];
        all.push_back('\0');
      }
      groups = alloc_array<char>(all.size());
      std::memcpy(groups, all.data(), all.size());
    }
  } catch (...) {
    std::free(persons);
    std::free(r);
    std::free(f);
    std::free(m);
    std::free(groups);
    throw;
  }
  *out_count = k;
  if (out_persons) *out_persons = persons;
  if (out_r) *out_r = r;
  if (out_f) *out_f = f;
  if (out_m) *out_m = m;
  if (out_groups) *out_groups = groups;
  CDP_API_END()
}

cdp_status cdp_bgnbd_fit(const double* frequency, const double* recency, const double* T, size_t n,
                         double out_params[4], double* out_log_likelihood) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_params, "out_params");
  BgNbd m = BgNbd::fit(span_of(frequency, n, "frequency"), span_of(recency, n, "recency"), span_of(T, n, "T"));
  out_params[0] = m.r;
  out_params[1] = m.alpha;
  out_params[2] = m.a;
  out_params[3] = m.b;
  if (out_log_likelihood) *out_log_likelihood = m.log_likelihood;
  CDP_API_END()
}

cdp_status cdp_gamma_gamma_fit(const double* frequency, const double* monetary, size_t n, double out_params[3]) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_params, "out_params");
  GammaGamma g = GammaGamma::fit(span_of(frequency, n, "frequency"), span_of(monetary, n, "monetary"));
  out_params[0] = g.p;
  out_params[1] = g.q;
  out_params[2] = g.v;
  CDP_API_END()
}

cdp_status cdp_clv_predict(const double bgnbd[4], const double gamma_gamma[3], const double* frequency,
                           const double* recency, const double* T, const double* monetary, size_t n, double t,
                           int months, double units_per_month, double monthly_discount_rate, double* out_expected,
                           double* out_alive, double* out_clv) {
  CDP_API_BEGIN()
  capi::arg_not_null(bgnbd, "bgnbd");
  BgNbd m = BgNbd::with_params(bgnbd[0], bgnbd[1], bgnbd[2], bgnbd[3]);
  ClvSummary s;
  auto fx = span_of(frequency, n, "frequency");
  auto rx = span_of(recency, n, "recency");
  auto tx = span_of(T, n, "T");
  s.frequency.assign(fx.begin(), fx.end());
  s.recency.assign(rx.begin(), rx.end());
  s.T.assign(tx.begin(), tx.end());
  auto e = m.expected_purchases(t, s.frequency, s.recency, s.T);
  auto a = m.probability_alive(s.frequency, s.recency, s.T);
  std::vector<double> c;
  if (out_clv) {
    capi::arg_not_null(gamma_gamma, "gamma_gamma");
    auto mx = span_of(monetary, n, "monetary");
    s.monetary.assign(mx.begin(), mx.end());
    GammaGamma g = GammaGamma::with_params(gamma_gamma[0], gamma_gamma[1], gamma_gamma[2]);
    ClvOptions o;
    o.months = months;
    o.units_per_month = units_per_month;
    o.monthly_discount_rate = monthly_discount_rate;
    c = clv(m, g, s, o);
  }
  if (out_expected) std::copy(e.begin(), e.end(), out_expected);
  if (out_alive) std::copy(a.begin(), a.end(), out_alive);
  if (out_clv) std::copy(c.begin(), c.end(), out_clv);
  CDP_API_END()
}

cdp_status cdp_kmeans_fit(cdp_kmeans** out, const double* x, size_t rows, size_t cols, int k, uint64_t seed) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  KMeansOptions o;
  o.k = k;
  o.seed = seed;
  *out = new cdp_kmeans{KMeans::fit(view(x, CDP_DTYPE_FLOAT64, CDP_LAYOUT_ROW_MAJOR, rows, cols), o)};
  CDP_API_END()
}

void cdp_kmeans_free(cdp_kmeans* km) { delete km; }

cdp_status cdp_kmeans_assign(const cdp_kmeans* km, const double* x, size_t rows, size_t cols, int32_t* out_labels) {
  CDP_API_BEGIN()
  capi::arg_not_null(km, "km");
  if (rows > 0) capi::arg_not_null(out_labels, "out_labels");
  auto labels = km->km.assign(view(x, CDP_DTYPE_FLOAT64, CDP_LAYOUT_ROW_MAJOR, rows, cols));
  std::copy(labels.begin(), labels.end(), out_labels);
  CDP_API_END()
}

double cdp_kmeans_inertia(const cdp_kmeans* km) { return km ? km->km.inertia() : 0.0; }

cdp_status cdp_lookalike(const uint32_t* seed, size_t seed_count, const uint32_t* persons, const double* x, size_t rows,
                         size_t cols, size_t top_n, double min_score, double l2, uint32_t** out_persons,
                         size_t* out_count, double* out_scores) {
  if (out_persons) *out_persons = nullptr;
  CDP_API_BEGIN()
  capi::arg_not_null(out_persons, "out_persons");
  capi::arg_not_null(out_count, "out_count");
  *out_count = 0;
  Bitmap s = Bitmap::from_values(span_of(seed, seed_count, "seed"));
  LookalikeOptions o;
  o.top_n = top_n;
  o.min_score = min_score;
  o.l2 = l2;
  LookalikeResult r =
      lookalike(s, span_of(persons, rows, "persons"), view(x, CDP_DTYPE_FLOAT64, CDP_LAYOUT_ROW_MAJOR, rows, cols), o);
  std::vector<uint32_t> chosen = r.segment.to_vector();
  uint32_t* arr = alloc_array<uint32_t>(chosen.size());
  std::copy(chosen.begin(), chosen.end(), arr);
  if (out_scores) std::copy(r.scores.begin(), r.scores.end(), out_scores);
  *out_persons = arr;
  *out_count = chosen.size();
  CDP_API_END()
}

}  // extern "C"
