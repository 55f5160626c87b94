/* cdpcore — C ABI: scoring models (XGBoost JSON, LightGBM text, linear /
 * logistic), logistic regression, RFM, CLV (BG/NBD + Gamma-Gamma), k-means
 * and lookalike expansion.
 *
 * Thread safety: a cdp_model and a cdp_kmeans are immutable once created; one
 * handle may be used from any number of threads at once (cdp_model_predict,
 * cdp_model_predict_row, cdp_kmeans_assign). Free it once no thread uses it. */
#ifndef CDPCORE_C_MODEL_H
#define CDPCORE_C_MODEL_H

#include "cdpcore/c/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A loaded scoring model. Immutable; share across threads. */
typedef struct cdp_model cdp_model;

/* Element types and layouts of feature matrices. */
#define CDP_DTYPE_FLOAT32 0
#define CDP_DTYPE_FLOAT64 1
#define CDP_LAYOUT_ROW_MAJOR 0
#define CDP_LAYOUT_COLUMN_MAJOR 1

/* What a model outputs: the transformed prediction (probability, rate) or the
 * raw margin (log-odds, log-rate). */
#define CDP_PREDICT_TRANSFORMED 0
#define CDP_PREDICT_MARGIN 1

/* Model kinds (cdp_model_kind). */
#define CDP_MODEL_XGBOOST 0
#define CDP_MODEL_LIGHTGBM 1
#define CDP_MODEL_LINEAR 2

/* Links of linear models. */
#define CDP_LINK_IDENTITY 0
#define CDP_LINK_LOGISTIC 1
#define CDP_LINK_SOFTMAX 2

/** Parses an XGBoost JSON model (`len` bytes, need not be NUL-terminated). On
 *  success writes a handle to `*out` (free with cdp_model_free). Malformed
 *  input fails with CDP_EPARSE (field and byte offset in cdp_last_error()),
 *  another booster or objective with CDP_EUNSUPPORTED. */
CDP_API cdp_status cdp_model_from_xgboost_json(cdp_model **out, const char *json, size_t len);

/** Parses a LightGBM text model (`len` bytes). Errors as above, with the line. */
CDP_API cdp_status cdp_model_from_lightgbm_text(cdp_model **out, const char *text, size_t len);

/** Reads a model file: `lightgbm` 0 for XGBoost JSON, 1 for LightGBM text.
 *  `path` is UTF-8 of `path_len` bytes. CDP_EIO when it cannot be read. */
CDP_API cdp_status cdp_model_load_file(cdp_model **out, const char *path, size_t path_len, int lightgbm);

/** A linear model: `coefficients` is num_outputs × num_features (row-major),
 *  `intercepts` num_outputs values, `link` a CDP_LINK_*. `mean` and `scale`
 *  (num_features values each) standardise the inputs first; both NULL for
 *  none. The arrays are copied. */
CDP_API cdp_status cdp_model_new_linear(cdp_model **out, const double *coefficients, size_t num_outputs,
                                        size_t num_features, const double *intercepts, int link,
                                        const double *mean, const double *scale);

/** Fits an L2-regularised logistic regression (penalty `l2` on standardised
 *  features) on a rows × cols float64 row-major matrix and labels 0/1. */
CDP_API cdp_status cdp_model_fit_logistic(cdp_model **out, const double *x, size_t rows, size_t cols,
                                          const double *y, double l2);

/** Frees a model. NULL is a no-op. */
CDP_API void cdp_model_free(cdp_model *model);

/** Input columns the model expects. */
CDP_API size_t cdp_model_num_features(const cdp_model *model);
/** Values per row: 1, or the number of classes. */
CDP_API size_t cdp_model_num_outputs(const cdp_model *model);
/** Number of trees (0 for a linear model). */
CDP_API size_t cdp_model_num_trees(const cdp_model *model);
/** CDP_MODEL_XGBOOST, CDP_MODEL_LIGHTGBM or CDP_MODEL_LINEAR. */
CDP_API int cdp_model_kind(const cdp_model *model);
/** The objective ("binary:logistic", "binary sigmoid:1", "logistic").
 *  Owned by the handle; valid until cdp_model_free. */
CDP_API const char *cdp_model_objective(const cdp_model *model);

#define CDP_PREDICT_OPTIONS_VERSION 1
/** Options for cdp_model_predict. Initialise with CDP_PREDICT_OPTIONS_INIT. */
typedef struct cdp_predict_options {
  unsigned version;  /**< CDP_PREDICT_OPTIONS_VERSION */
  int output;        /**< CDP_PREDICT_TRANSFORMED (default) or CDP_PREDICT_MARGIN */
  unsigned threads;  /**< worker threads, the caller included; 0 = every hardware thread */
} cdp_predict_options;
#define CDP_PREDICT_OPTIONS_INIT {CDP_PREDICT_OPTIONS_VERSION, CDP_PREDICT_TRANSFORMED, 0}

/** Fills `opts` with the defaults of `version`. */
CDP_API cdp_status cdp_predict_options_init(cdp_predict_options *opts, unsigned version);

/** Scores a rows × cols matrix (`dtype` CDP_DTYPE_*, `layout` CDP_LAYOUT_*;
 *  NaN = missing) into `out`, caller-owned, `out_len` >= rows ×
 *  num_outputs values, row-major. `opts` may be NULL. Fails with CDP_EINVAL
 *  when cols != cdp_model_num_features (both named in the message). */
CDP_API cdp_status cdp_model_predict(const cdp_model *model, const void *data, int dtype, int layout, size_t rows,
                                     size_t cols, double *out, size_t out_len, const cdp_predict_options *opts);

/** Scores one row of `n` float64 values into `out` (`out_len` >=
 *  num_outputs). Reentrant and allocation-free; `output` is a CDP_PREDICT_*. */
CDP_API cdp_status cdp_model_predict_row(const cdp_model *model, const double *x, size_t n, double *out,
                                         size_t out_len, int output);
/** The same for float32 input. */
CDP_API cdp_status cdp_model_predict_row_f32(const cdp_model *model, const float *x, size_t n, double *out,
                                             size_t out_len, int output);

/* ---- RFM ------------------------------------------------------------------ */

/** RFM over `n` order events (person ordinal, time in UTC microseconds,
 *  amount) at `as_of`, with `bins` score bins (5 = quintiles) and the default
 *  group table. Writes the number of persons to `*out_count` and, each
 *  allocated by the library and freed with cdp_free (any out pointer may be
 *  NULL to skip it): persons (ascending), r/f/m scores (1..bins, recency
 *  inverted), and group names as one NUL-separated string per person
 *  ("" when no group matched). */
CDP_API cdp_status cdp_rfm(const uint32_t *person, const int64_t *time, const double *amount, size_t n,
                           int64_t as_of, int bins, size_t *out_count, uint32_t **out_persons,
                           uint8_t **out_r, uint8_t **out_f, uint8_t **out_m, char **out_groups);

/* ---- CLV ------------------------------------------------------------------ */

/** Fits BG/NBD on `n` customers (frequency, recency, T in one time unit) and
 *  writes r, alpha, a, b and the log-likelihood. */
CDP_API cdp_status cdp_bgnbd_fit(const double *frequency, const double *recency, const double *T, size_t n,
                                 double out_params[4], double *out_log_likelihood);

/** Fits Gamma-Gamma on customers with frequency > 0; writes p, q, v. */
CDP_API cdp_status cdp_gamma_gamma_fit(const double *frequency, const double *monetary, size_t n,
                                       double out_params[3]);

/** Per customer: expected purchases in the next `t` units, P(alive) and the
 *  discounted CLV over `months` months (`units_per_month` time units each,
 *  `monthly_discount_rate`), from BG/NBD params {r, alpha, a, b} and
 *  Gamma-Gamma params {p, q, v}. Output arrays are caller-owned, `n` values
 *  each; any may be NULL. */
CDP_API cdp_status cdp_clv_predict(const double bgnbd[4], const double gamma_gamma[3], const double *frequency,
                                   const double *recency, const double *T, const double *monetary, size_t n,
                                   double t, int months, double units_per_month, double monthly_discount_rate,
                                   double *out_expected, double *out_alive, double *out_clv);

/* ---- k-means ---------------------------------------------------------------- */

/** A fitted k-means model. Immutable; share across threads. */
typedef struct cdp_kmeans cdp_kmeans;

/** k-means++ and Lloyd on standardised features of a rows × cols float64
 *  row-major matrix, deterministic for `seed`. */
CDP_API cdp_status cdp_kmeans_fit(cdp_kmeans **out, const double *x, size_t rows, size_t cols, int k, uint64_t seed);
/** Frees a k-means model. NULL is a no-op. */
CDP_API void cdp_kmeans_free(cdp_kmeans *km);
/** Nearest cluster of each row (-1 for a row with NaN) into caller-owned `out_labels` (rows values). */
CDP_API cdp_status cdp_kmeans_assign(const cdp_kmeans *km, const double *x, size_t rows, size_t cols,
                                     int32_t *out_labels);
/** Sum of squared distances of the training rows to their centres (standardised space). */
CDP_API double cdp_kmeans_inertia(const cdp_kmeans *km);

/* ---- lookalike -------------------------------------------------------------- */

/** Lookalike expansion: rows of a rows × cols float64 row-major feature
 *  matrix belong to persons[i]; the seed is `seed_count` ordinals. Fits a
 *  logistic model (penalty `l2`) seed vs the rest and keeps the `top_n`
 *  best-scored non-seed persons (or, when top_n is 0, those scoring >=
 *  `min_score`). Writes the chosen ordinals (ascending) to `*out_persons`
 *  (free with cdp_free) and their count to `*out_count`; `out_scores` (rows
 *  values, caller-owned) may be NULL. */
CDP_API cdp_status cdp_lookalike(const uint32_t *seed, size_t seed_count, const uint32_t *persons, const double *x,
                                 size_t rows, size_t cols, size_t top_n, double min_score, double l2,
                                 uint32_t **out_persons, size_t *out_count, double *out_scores);

#ifdef __cplusplus
}
#endif

#endif
