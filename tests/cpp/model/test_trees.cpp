#include <doctest/doctest.h>

#include <cmath>
#include <thread>

#include "cdpcore/error.hpp"
#include "cdpcore/model.hpp"
#include "model_test_util.hpp"

using namespace cdpcore;
using namespace model_test;

namespace {

// Tree: node0 f0 < 0.1f ? node1 : node2 (missing → left); node1 leaf 1.0,
// node2: f1 categorical {1,3} → right (leaf 3) else left (leaf 2); missing → right.
XgbTree sample_tree() {
  XgbTree t;
  t.left = {1, -1, 3, -1, -1};
  t.right = {2, -1, 4, -1, -1};
  t.feature = {0, 0, 1, 0, 0};
  t.default_left = {1, 0, 0, 0, 0};
  t.split_type = {0, 0, 1, 0, 0};
  t.cond = {0.1, 1.0, 0, 2.0, 3.0};
  t.cats = {{2, {1, 3}}};
  return t;
}

double margin(const Model& m, std::vector<double> x) {
  std::vector<double> out(m.num_outputs());
  m.predict_row(x, out, PredictType::margin);
  return out[0];
}

}  // namespace

TEST_CASE("model: XGBoost compares in float32 with strict <") {
  Model m = Model::from_xgboost_json(xgb_json({sample_tree()}, 2, "reg:squarederror", "\"[0E0]\""));
  CHECK(m.kind() == ModelKind::xgboost);
  CHECK(m.num_features() == 2);
  CHECK(m.num_trees() == 1);
  // 0.1 (double) rounds to 0.1f: equal, so not less → right subtree.
  CHECK(margin(m, {0.1, 0}) == 2.0);
  // The largest float below 0.1f goes left.
  CHECK(margin(m, {std::nextafter(0.1f, 0.0f), 0}) == 1.0);
  // A double a hair above 0.1f still rounds to 0.1f.
  CHECK(margin(m, {0.1 + 1e-12, 0}) == 2.0);
  // Missing takes default_left.
  CHECK(margin(m, {kNaN, 0}) == 1.0);
  // ±Inf compare as values.
  CHECK(margin(m, {-INFINITY, 0}) == 1.0);
  CHECK(margin(m, {INFINITY, 0}) == 2.0);
}

TEST_CASE("model: XGBoost categories listed in a node go right, others left") {
  Model m = Model::from_xgboost_json(xgb_json({sample_tree()}, 2, "reg:squarederror", "\"0\""));
  CHECK(margin(m, {1, 1}) == 3.0);
  CHECK(margin(m, {1, 3}) == 3.0);
  CHECK(margin(m, {1, 3.7}) == 3.0);   // truncated to 3
  CHECK(margin(m, {1, 2}) == 2.0);
  CHECK(margin(m, {1, 0}) == 2.0);
  CHECK(margin(m, {1, 40}) == 2.0);    // beyond the node's bitset: unseen category
  CHECK(margin(m, {1, -1}) == 2.0);    // invalid category
  CHECK(margin(m, {1, 1e9}) == 2.0);   // not representable
  CHECK(margin(m, {1, kNaN}) == 3.0);  // missing: default right
}

TEST_CASE("model: XGBoost base_score is in response space, scalar or list") {
  XgbTree leaf;
  leaf.left = {-1};
  leaf.right = {-1};
  leaf.feature = {0};
  leaf.default_left = {0};
  leaf.cond = {0.25};
  for (std::string base : {"\"2.5E-1\"", "\"[2.5E-1]\"", "0.25"}) {
    Model m = Model::from_xgboost_json(xgb_json({leaf}, 1, "binary:logistic", base));
    double logit = std::log(0.25 / 0.75);
    CHECK(margin(m, {0}) == doctest::Approx(logit + 0.25).epsilon(1e-6));
    CHECK(m.predict_one(std::vector<double>{0}) == doctest::Approx(1 / (1 + std::exp(-(logit + 0.25)))).epsilon(1e-6));
  }
  Model pois = Model::from_xgboost_json(xgb_json({leaf}, 1, "count:poisson", "\"[2E0]\""));
  CHECK(margin(pois, {0}) == doctest::Approx(std::log(2.0) + 0.25).epsilon(1e-6));
  CHECK(pois.predict_one(std::vector<double>{0}) == doctest::Approx(2.0 * std::exp(0.25)).epsilon(1e-6));
  CHECK_THROWS_AS(Model::from_xgboost_json(xgb_json({leaf}, 1, "binary:logistic", "\"1.5\"")), ParseError);
}

TEST_CASE("model: XGBoost multi-class sums trees per class and applies softmax") {
  std::vector<XgbTree> trees;
  for (int k = 0; k < 3; ++k) {
    XgbTree t;
    t.left = {1, -1, -1};
    t.right = {2, -1, -1};
    t.feature = {0, 0, 0};
    t.default_left = {0, 0, 0};
    t.cond = {0.5, 0.1 * k, -0.1 * k};
    t.output = k;
    trees.push_back(t);
  }
  Model m = Model::from_xgboost_json(xgb_json(trees, 1, "multi:softprob", "\"[1E-1,2E-1,3E-1]\"", 3));
  CHECK(m.num_outputs() == 3);
  std::vector<double> out(3);
  m.predict_row(std::vector<double>{0.0}, out, PredictType::margin);
  CHECK(out[0] == doctest::Approx(0.1));
  CHECK(out[1] == doctest::Approx(0.2 + 0.1).epsilon(1e-6));
  CHECK(out[2] == doctest::Approx(0.3 + 0.2).epsilon(1e-6));
  m.predict_row(std::vector<double>{0.0}, out);
  CHECK(out[0] + out[1] + out[2] == doctest::Approx(1.0));
  CHECK(out[2] > out[1]);
  Model argmax = Model::from_xgboost_json(xgb_json(trees, 1, "multi:softmax", "\"[1E-1,2E-1,3E-1]\"", 3));
  CHECK(argmax.num_outputs() == 1);
  CHECK(argmax.predict_one(std::vector<double>{0.0}) == 2.0);
  CHECK_THROWS_AS(argmax.predict_one(std::vector<double>{0.0}, PredictType::margin), Unsupported);
}

static const char* kLgbModel = R"(tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=1
objective=binary sigmoid:2
feature_names=a b
feature_infos=none none
tree_sizes=1

Tree=0
num_leaves=3
num_cat=0
split_feature=0 1
split_gain=1 1
threshold=0.5 1.0000000180025095e-35
decision_type=2 6
left_child=-1 -2
right_child=1 -3
leaf_value=1 2 3
leaf_weight=1 1 1
leaf_count=1 1 1
internal_value=0 0
internal_weight=0 0
internal_count=0 0
is_linear=0
shrinkage=1


Tree=1
num_leaves=2
num_cat=1
split_feature=1
split_gain=1
threshold=0
decision_type=1
left_child=-1
right_child=-2
leaf_value=0.25 -0.25
leaf_weight=1 1
leaf_count=1 1
internal_value=0
internal_weight=0
internal_count=0
cat_boundaries=0 2
cat_threshold=10 1
is_linear=0
shrinkage=1


end of trees

feature_importances:
a=1

parameters:
[boosting: gbdt]
end of parameters

pandas_categorical:null
)";

TEST_CASE("model: LightGBM compares in double with <=, decision_type bits and zero-as-missing") {
  Model m = Model::from_lightgbm_text(kLgbModel);
  CHECK(m.kind() == ModelKind::lightgbm);
  CHECK(m.objective() == "binary sigmoid:2");
  CHECK(m.feature_names() == std::vector<std::string>{"a", "b"});
  // Tree 1 bitset {1, 3, 32}: category 1 → left (+0.25), else right (-0.25).
  CHECK(margin(m, {0.5, 1}) == 1.25);                   // x0 <= 0.5 → leaf 1
  CHECK(margin(m, {std::nextafter(0.5, 1.0), 2}) == 2.75);  // right; x1=2 > 1e-35 → leaf 3; cat 2 not listed
  CHECK(margin(m, {kNaN, 2}) == 0.75);                  // NaN → 0 (missing None) → left
  CHECK(margin(m, {1, 0}) == 1.75);                     // zero → default left → leaf 2; cat 0 not listed
  CHECK(margin(m, {1, 1e-36}) == 1.75);                 // |x| <= 1e-35 reads as 0
  CHECK(margin(m, {1, kNaN}) == 1.75);                  // NaN → 0 → zero → left (2); categorical NaN → right
  CHECK(margin(m, {1, -5}) == 1.75);                    // <= 1e-35 → left; negative category → right
  CHECK(margin(m, {1, 3}) == 3.25);                     // right (3); category 3 listed → left
  CHECK(margin(m, {1, 32}) == 3.25);                    // second bitset word
  CHECK(margin(m, {1, 33}) == 2.75);                    // not listed
  CHECK(margin(m, {1, 1000}) == 2.75);                  // beyond the bitset
  // sigmoid:2 → 1 / (1 + exp(-2 m)).
  CHECK(m.predict_one(std::vector<double>{0.5, 1}) == doctest::Approx(1 / (1 + std::exp(-2 * 1.25))));
}

TEST_CASE("model: batch scoring equals row scoring for every layout, dtype and thread count") {
  Model m = Model::from_lightgbm_text(kLgbModel);
  Model x = Model::from_xgboost_json(xgb_json({sample_tree()}, 2, "binary:logistic", "\"[3E-1]\""));
  const size_t rows = 5000;
  std::vector<double> rm(rows * 2), cm(rows * 2);
  std::vector<float> rmf(rows * 2);
  uint64_t s = 7;
  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < 2; ++j) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      double v = static_cast<double>((s >> 33) % 9) - 2.0;  // -2..6, hits thresholds and categories
      if ((s >> 20) % 17 == 0) v = kNaN;
      rm[i * 2 + j] = v;
      cm[j * rows + i] = v;
      rmf[i * 2 + j] = static_cast<float>(v);
    }
  }
  for (const Model* mod : {&m, &x}) {
    std::vector<double> expect(rows);
    for (size_t i = 0; i < rows; ++i) expect[i] = mod->predict_one(std::vector<double>{rm[i * 2], rm[i * 2 + 1]});
    for (unsigned threads : {1u, 2u, 3u}) {
      PredictOptions o;
      o.threads = threads;
      CHECK(mod->predict(MatrixView::of(rm.data(), rows, 2), o) == expect);
      CHECK(mod->predict(MatrixView::of(cm.data(), rows, 2, Layout::column_major), o) == expect);
      CHECK(mod->predict(MatrixView::of(rmf.data(), rows, 2), o) == expect);
    }
  }
}

TEST_CASE("model: one model is scored from many threads at once") {
  Model m = Model::from_lightgbm_text(kLgbModel);
  std::vector<std::thread> pool;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        double v = (i + t) % 5;
        double expect = m.predict_one(std::vector<double>{1, v});
        Model copy = m;
        if (copy.predict_one(std::vector<double>{1, v}) != expect) ++wrong;
      }
    });
  }
  for (auto& th : pool) th.join();
  CHECK(wrong == 0);
}

TEST_CASE("model: a feature count that does not match the input is refused") {
  Model m = Model::from_lightgbm_text(kLgbModel);
  std::vector<double> three(6, 0.0);
  try {
    (void)m.predict(MatrixView::of(three.data(), 2, 3));
    FAIL("expected InvalidArgument");
  } catch (const InvalidArgument& e) {
    CHECK(std::string(e.what()).find("expects 2 features") != std::string::npos);
    CHECK(std::string(e.what()).find("3 columns") != std::string::npos);
  }
  CHECK_THROWS_AS(m.predict_one(std::vector<double>{1.0}), InvalidArgument);
}

TEST_CASE("model: malformed and unsupported models are refused with the field and offset") {
  std::string good = kLgbModel;
  // Truncated: no "end of trees".
  try {
    (void)Model::from_lightgbm_text(good.substr(0, good.find("Tree=1")));
    FAIL("expected ParseError");
  } catch (const ParseError& e) {
    CHECK(std::string(e.what()).find("truncated") != std::string::npos);
  }
  // A bad number names the line and the field.
  std::string bad = good;
  bad.replace(bad.find("threshold=0.5"), 13, "threshold=0.x");
  try {
    (void)Model::from_lightgbm_text(bad);
    FAIL("expected ParseError");
  } catch (const ParseError& e) {
    CHECK(e.line() == 17);
    CHECK(std::string(e.what()).find("threshold") != std::string::npos);
    CHECK(e.offset() == bad.find("threshold=0.x") + 10);
  }
  // A child out of range.
  bad = good;
  bad.replace(bad.find("right_child=1 -3"), 16, "right_child=1 -9");
  CHECK_THROWS_AS(Model::from_lightgbm_text(bad), ParseError);
  // Linear trees and unknown objectives are unsupported.
  bad = good;
  bad.replace(bad.find("is_linear=0"), 11, "is_linear=1");
  CHECK_THROWS_AS(Model::from_lightgbm_text(bad), Unsupported);
  bad = good;
  bad.replace(bad.find("objective=binary"), 16, "objective=lambdo");
  CHECK_THROWS_AS(Model::from_lightgbm_text(bad), Unsupported);

  // XGBoost: malformed JSON carries the byte offset.
  std::string json = xgb_json({sample_tree()}, 2, "binary:logistic", "\"[5E-1]\"");
  try {
    (void)Model::from_xgboost_json(json.substr(0, 100));
    FAIL("expected ParseError");
  } catch (const ParseError& e) {
    CHECK(e.offset() > 0);
  }
  std::string other = json;
  other.replace(other.find("\"gbtree\""), 8, "\"gblinear\"");
  CHECK_THROWS_AS(Model::from_xgboost_json(other), Unsupported);
  other = json;
  other.replace(other.find("binary:logistic"), 15, "rank:pairwise");
  CHECK_THROWS_AS(Model::from_xgboost_json(other), Unsupported);
  other = json;
  other.replace(other.find("\"split_indices\":[0,"), 19, "\"split_indices\":[7,");
  try {
    (void)Model::from_xgboost_json(other);
    FAIL("expected ParseError");
  } catch (const ParseError& e) {
    CHECK(std::string(e.what()).find("trees[0].split_indices[0]") != std::string::npos);
  }
  // A cycle is not a tree.
  other = json;
  other.replace(other.find("\"left_children\":[1,"), 19, "\"left_children\":[0,");
  CHECK_THROWS_AS(Model::from_xgboost_json(other), ParseError);
  CHECK_THROWS_AS(Model::load_xgboost_json("/nonexistent/model.json"), IoError);
}

TEST_CASE("model: hostile model files never crash (truncations and byte flips)") {
  auto hammer = [](const std::string& good, auto parse) {
    int parsed = 0;
    std::vector<double> row{0.3, 1.0};
    for (size_t cut = 0; cut < good.size(); cut += 3) {
      try {
        Model m = parse(good.substr(0, cut));
        if (m.num_features() == 2 && m.num_outputs() == 1) (void)m.predict_one(row);
        ++parsed;
      } catch (const Error&) {
      }
    }
    uint64_t s = 99;
    const char alphabet[] = "0123456789-.e,[]{}\":= \nabNIf";
    for (int i = 0; i < 3000; ++i) {
      std::string t = good;
      for (int k = 0; k < 3; ++k) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t pos = (s >> 33) % t.size();
        t[pos] = alphabet[(s >> 13) % (sizeof(alphabet) - 1)];
      }
      try {
        Model m = parse(t);
        if (m.num_features() == 2 && m.num_outputs() == 1) {
          (void)m.predict_one(row);
          (void)m.predict(MatrixView::of(row.data(), 1, 2));
        }
        ++parsed;
      } catch (const Error&) {
      }
    }
    return parsed;
  };
  CHECK(hammer(kLgbModel, [](const std::string& t) { return Model::from_lightgbm_text(t); }) > 0);
  CHECK(hammer(xgb_json({sample_tree()}, 2, "binary:logistic", "\"[5E-1]\""),
               [](const std::string& t) { return Model::from_xgboost_json(t); }) > 0);
}
