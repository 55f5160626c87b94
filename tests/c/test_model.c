/* Models through the C ABI, compiled as C. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cdpcore/cdpcore.h"
#include "ctest_util.h"

static const char *kLgb =
    "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=1\n"
    "objective=binary sigmoid:1\nfeature_names=a b\nfeature_infos=none none\ntree_sizes=1\n\n"
    "Tree=0\nnum_leaves=3\nnum_cat=0\nsplit_feature=0 1\nsplit_gain=1 1\n"
    "threshold=0.5 1.0000000180025095e-35\ndecision_type=2 6\nleft_child=-1 -2\nright_child=1 -3\n"
    "leaf_value=1 2 3\nleaf_weight=1 1 1\nleaf_count=1 1 1\ninternal_value=0 0\ninternal_weight=0 0\n"
    "internal_count=0 0\nis_linear=0\nshrinkage=1\n\n\nend of trees\n";

static const char *kXgb =
    "{\"learner\":{\"feature_names\":[],\"gradient_booster\":{\"model\":{\"tree_info\":[0],\"trees\":[{"
    "\"default_left\":[1,0,0],\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"
    "\"split_conditions\":[0.1,-1.5,2.5],\"split_indices\":[0,0,0],\"split_type\":[0,0,0],"
    "\"tree_param\":{\"num_nodes\":\"3\",\"size_leaf_vector\":\"1\"}}]},\"name\":\"gbtree\"},"
    "\"learner_model_param\":{\"base_score\":\"[5E-1]\",\"num_class\":\"0\",\"num_feature\":\"1\"},"
    "\"objective\":{\"name\":\"binary:logistic\"}}}";

static void test_lightgbm_scoring(void) {
  cdp_model *m = NULL;
  double x[6] = {0.5, 7, 2, 0, 2, 5}; /* three rows of (a, b) */
  double out[3] = {0, 0, 0};
  double one = 0;
  cdp_predict_options opts = CDP_PREDICT_OPTIONS_INIT;
  CHECK_OK(cdp_model_from_lightgbm_text(&m, kLgb, strlen(kLgb)));
  CHECK(cdp_model_num_features(m) == 2);
  CHECK(cdp_model_num_outputs(m) == 1);
  CHECK(cdp_model_num_trees(m) == 1);
  CHECK(cdp_model_kind(m) == CDP_MODEL_LIGHTGBM);
  CHECK(strcmp(cdp_model_objective(m), "binary sigmoid:1") == 0);
  opts.output = CDP_PREDICT_MARGIN;
  CHECK_OK(cdp_model_predict(m, x, CDP_DTYPE_FLOAT64, CDP_LAYOUT_ROW_MAJOR, 3, 2, out, 3, &opts));
  CHECK(out[0] == 1.0); /* 0.5 <= 0.5 */
  CHECK(out[1] == 2.0); /* b == 0: zero is missing, default left */
  CHECK(out[2] == 3.0);
  CHECK_OK(cdp_model_predict_row(m, x, 2, &one, 1, CDP_PREDICT_TRANSFORMED));
  CHECK(fabs(one - 1.0 / (1.0 + exp(-1.0))) < 1e-15);
  {
    float xf[2] = {2.0f, 5.0f};
    CHECK_OK(cdp_model_predict_row_f32(m, xf, 2, &one, 1, CDP_PREDICT_MARGIN));
    CHECK(one == 3.0);
  }
  /* Wrong feature count: an error naming both counts. */
  CHECK(cdp_model_predict(m, x, CDP_DTYPE_FLOAT64, CDP_LAYOUT_ROW_MAJOR, 2, 3, out, 3, NULL) == CDP_EINVAL);
  CHECK(strstr(cdp_last_error(), "expects 2 features") != NULL);
  CHECK(cdp_model_predict(m, x, 7, CDP_LAYOUT_ROW_MAJOR, 3, 2, out, 3, NULL) == CDP_EINVAL);
  CHECK(cdp_model_predict(m, x, CDP_DTYPE_FLOAT64, CDP_LAYOUT_ROW_MAJOR, 3, 2, out, 2, NULL) == CDP_EINVAL);
  cdp_model_free(m);
  cdp_model_free(NULL);
}

static void test_xgboost_and_bad_input(void) {
  cdp_model *m = (cdp_model *)&m;
  float xf[2] = {0.1f, 0.0f}; /* column-major 2 rows × 1 feature */
  double out[2];
  CHECK_OK(cdp_model_from_xgboost_json(&m, kXgb, strlen(kXgb)));
  CHECK_OK(cdp_model_predict(m, xf, CDP_DTYPE_FLOAT32, CDP_LAYOUT_COLUMN_MAJOR, 2, 1, out, 2, NULL));
  CHECK(fabs(out[0] - 1.0 / (1.0 + exp(-2.5))) < 1e-6); /* 0.1f is not < 0.1f */
  CHECK(fabs(out[1] - 1.0 / (1.0 + exp(1.5))) < 1e-6);
  cdp_model_free(m);

  m = (cdp_model *)&m;
  CHECK(cdp_model_from_xgboost_json(&m, kXgb, 40) == CDP_EPARSE);
  CHECK(m == NULL);
  CHECK(strstr(cdp_last_error(), "byte") != NULL);
  CHECK(cdp_model_from_lightgbm_text(&m, kLgb, 60) == CDP_EPARSE);
  CHECK(cdp_model_load_file(&m, "/nonexistent.json", 17, 0) == CDP_EIO);
}

static void test_linear_and_logistic_fit(void) {
  cdp_model *m = NULL;
  double coef[2] = {2.0, -1.0}, b = 0.5, x[2] = {1.0, 3.0}, p = 0;
  double rows[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  double y[8] = {0, 0, 1, 0, 1, 0, 1, 1};
  CHECK_OK(cdp_model_new_linear(&m, coef, 1, 2, &b, CDP_LINK_IDENTITY, NULL, NULL));
  CHECK_OK(cdp_model_predict_row(m, x, 2, &p, 1, CDP_PREDICT_TRANSFORMED));
  CHECK(p == 2.0 - 3.0 + 0.5);
  cdp_model_free(m);
  CHECK_OK(cdp_model_fit_logistic(&m, rows, 8, 1, y, 1e-3));
  {
    double lo = 0, hi = 0, v0 = 0, v7 = 7;
    CHECK_OK(cdp_model_predict_row(m, &v0, 1, &lo, 1, CDP_PREDICT_TRANSFORMED));
    CHECK_OK(cdp_model_predict_row(m, &v7, 1, &hi, 1, CDP_PREDICT_TRANSFORMED));
    CHECK(lo < 0.5 && hi > 0.5);
  }
  cdp_model_free(m);
}

static void test_rfm_clv_kmeans_lookalike(void) {
  uint32_t person[6] = {1, 1, 2, 3, 3, 3};
  int64_t day = 86400LL * 1000000LL;
  int64_t time[6];
  double amount[6] = {10, 20, 5, 1, 1, 1};
  size_t n = 0;
  uint32_t *persons = NULL;
  uint8_t *r = NULL, *f = NULL;
  char *groups = NULL;
  time[0] = 1 * day; time[1] = 9 * day; time[2] = 5 * day;
  time[3] = 2 * day; time[4] = 3 * day; time[5] = 4 * day;
  CHECK_OK(cdp_rfm(person, time, amount, 6, 10 * day, 5, &n, &persons, &r, &f, NULL, &groups));
  CHECK(n == 3);
  if (n == 3) {
    CHECK(persons[0] == 1 && persons[2] == 3);
    CHECK(r[0] == 5);           /* person 1 bought most recently */
    CHECK(f[2] == 5);           /* person 3 bought most often */
    CHECK(strlen(groups) > 0);  /* a named group */
  }
  cdp_free(persons);
  cdp_free(r);
  cdp_free(f);
  cdp_free(groups);

  {
    double freq[4] = {0, 2, 5, 1}, rec[4] = {0, 10, 30, 3}, T[4] = {40, 40, 40, 40}, mon[4] = {0, 20, 30, 10};
    double bg[4] = {0.24, 4.4, 0.79, 2.4}, gg[3] = {6.25, 3.74, 15.44};
    double e[4], a[4], c[4];
    CHECK_OK(cdp_clv_predict(bg, gg, freq, rec, T, mon, 4, 10, 12, 30, 0.01, e, a, c));
    CHECK(a[0] == 1.0);
    CHECK(a[2] > a[3]); /* recent frequent buyer more likely alive */
    CHECK(c[2] > c[1]);
    CHECK(cdp_bgnbd_fit(freq, T, rec, 4, bg, NULL) == CDP_EINVAL); /* recency > T */
  }
  {
    double pts[12] = {0, 0, 0.1, 0.1, 0, 0.2, 10, 10, 10.1, 10, 10, 10.2};
    int32_t labels[6];
    cdp_kmeans *km = NULL;
    CHECK_OK(cdp_kmeans_fit(&km, pts, 6, 2, 2, 7));
    CHECK_OK(cdp_kmeans_assign(km, pts, 6, 2, labels));
    CHECK(labels[0] == labels[1] && labels[1] == labels[2]);
    CHECK(labels[3] == labels[4] && labels[0] != labels[3]);
    CHECK(cdp_kmeans_inertia(km) > 0);
    cdp_kmeans_free(km);
    cdp_kmeans_free(NULL);
  }
  {
    /* Seed {0,1}: persons with high x; 2 and 3 are lookalikes, 4..7 are not. */
    uint32_t seed[2] = {0, 1}, who[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    double feat[8] = {5, 6, 5.5, 4.5, -5, -6, -4, 0};
    uint32_t *chosen = NULL;
    size_t count = 0;
    CHECK_OK(cdp_lookalike(seed, 2, who, feat, 8, 1, 2, 0, 1e-2, &chosen, &count, NULL));
    CHECK(count == 2);
    if (count == 2) CHECK(chosen[0] == 2 && chosen[1] == 3);
    cdp_free(chosen);
  }
}

int main(void) {
  test_lightgbm_scoring();
  test_xgboost_and_bad_input();
  test_linear_and_logistic_fit();
  test_rfm_clv_kmeans_lookalike();
  return ctest_finish("test_model");
}
