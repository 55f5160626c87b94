// XGBoost JSON models (Booster.save_model("m.json")), gbtree booster.
//
// Schema facts relied on (XGBoost's doc/model.schema): learner.
// learner_model_param holds num_feature, num_class, num_target and base_score
// as strings; base_score is in response space (a probability for logistic
// objectives, a mean for log-link ones) and since 3.0 a bracketed list, one
// value per output. Trees hold parallel arrays indexed by node id: a node is
// a leaf when left_children is -1, and its value is then split_conditions.
// Categorical nodes are listed in categories_nodes with their categories in
// categories[categories_segments[i] ..+ categories_sizes[i]].
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cdpcore/error.hpp"
#include "model/tree_ensemble.hpp"

namespace cdpcore::model_detail {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw ParseError("XGBoost model: " + path + ": " + what, 0);
}

const json& member(const json& obj, const char* key, const std::string& path) {
  if (!obj.is_object()) fail(path, "expected an object");
  auto it = obj.find(key);
  if (it == obj.end()) fail(path + "." + key, "missing");
  return *it;
}

/// A number given either as a JSON number or as a numeric string ("5E-1").
double number_of(const json& v, const std::string& path) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    const char* b = s.c_str();
    char* end = nullptr;
    double d = std::strtod(b, &end);
    if (end == b || *end != '\0') fail(path, "expected a number, got \"" + s + "\"");
    return d;
  }
  fail(path, "expected a number");
}

int64_t integer_of(const json& v, const std::string& path, int64_t lo, int64_t hi) {
  double d = number_of(v, path);
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d)) {
    fail(path, "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<int64_t>(d);
}

/// base_score: "5E-1", "[5E-1]", "[a,b,c]", or a number.
std::vector<double> base_scores(const json& v, const std::string& path) {
  if (v.is_number()) return {v.get<double>()};
  if (!v.is_string()) fail(path, "expected a number or a string");
  std::string s = v.get<std::string>();
  std::vector<double> out;
  size_t i = 0;
  if (!s.empty() && s.front() == '[') {
    if (s.back() != ']') fail(path, "unterminated list \"" + s + "\"");
    s = s.substr(1, s.size() - 2);
  }
  while (i <= s.size()) {
    size_t comma = s.find(',', i);
    if (comma == std::string::npos) comma = s.size();
    std::string item = s.substr(i, comma - i);
    const char* b = item.c_str();
    char* end = nullptr;
    double d = std::strtod(b, &end);
    while (end && (*end == ' ')) ++end;
    if (end == b || *end != '\0') fail(path, "expected numbers, got \"" + v.get<std::string>() + "\"");
    out.push_back(d);
    i = comma + 1;
  }
  if (out.empty()) fail(path, "empty");
  return out;
}

template <class F>
void for_array(const json& tree, const char* key, const std::string& path, size_t expect, F&& fn) {
  const json& a = member(tree, key, path);
  if (!a.is_array()) fail(path + "." + key, "expected an array");
  if (expect != SIZE_MAX && a.size() != expect) {
    fail(path + "." + key, "has " + std::to_string(a.size()) + " entries, expected " + std::to_string(expect));
  }
  for (size_t i = 0; i < a.size(); ++i) fn(i, a[i]);
}

struct Objective {
  Transform transform;
  enum class Link { identity, logit, log } base_link;
};

Objective objective_of(const std::string& name) {
  if (name == "binary:logistic" || name == "reg:logistic") return {Transform::sigmoid, Objective::Link::logit};
  // XGBoost 3 stores logitraw's base_score as a margin already.
  if (name == "binary:logitraw") return {Transform::identity, Objective::Link::identity};
  if (name == "binary:hinge") return {Transform::hinge, Objective::Link::identity};
  if (name == "reg:squarederror" || name == "reg:linear" || name == "reg:pseudohubererror" ||
      name == "reg:absoluteerror" || name == "reg:quantileerror" || name == "reg:squaredlogerror")
    return {Transform::identity, Objective::Link::identity};
  if (name == "count:poisson" || name == "reg:gamma" || name == "reg:tweedie")
    return {Transform::exp, Objective::Link::log};
  if (name == "multi:softprob") return {Transform::softmax, Objective::Link::identity};
  if (name == "multi:softmax") return {Transform::argmax, Objective::Link::identity};
  throw Unsupported("XGBoost model: objective \"" + name + "\" is not supported");
}

}  // namespace

std::shared_ptr<const Model::Impl> parse_xgboost_json(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    throw ParseError(std::string("XGBoost model: malformed JSON at byte ") + std::to_string(e.byte) + ": " + e.what(),
                     e.byte);
  }
  auto model = std::make_shared<TreeEnsemble<float>>();
  model->kind = ModelKind::xgboost;
  model->format = Format::xgboost;

  const json& learner = member(doc, "learner", "$");
  const std::string lp = "learner";
  const json& params = member(learner, "learner_model_param", lp);
  const std::string pp = lp + ".learner_model_param";
  const int64_t num_feature = integer_of(member(params, "num_feature", pp), pp + ".num_feature", 0, kMaxFeatures);
  int64_t num_class = 0, num_target = 1;
  if (params.contains("num_class")) num_class = integer_of(params["num_class"], pp + ".num_class", 0, 1 << 20);
  if (params.contains("num_target")) num_target = integer_of(params["num_target"], pp + ".num_target", 1, 1 << 20);
  std::vector<double> base = base_scores(member(params, "base_score", pp), pp + ".base_score");

  const json& obj = member(learner, "objective", lp);
  const json& obj_name = member(obj, "name", lp + ".objective");
  if (!obj_name.is_string()) fail(lp + ".objective.name", "expected a string");
  model->objective = obj_name.get<std::string>();
  Objective objective = objective_of(model->objective);
  model->transform = objective.transform;

  const size_t outputs = static_cast<size_t>(std::max<int64_t>(num_class > 1 ? num_class : 1, num_target));
  model->num_features = static_cast<size_t>(num_feature);
  model->num_outputs = objective.transform == Transform::argmax ? 1 : outputs;
  if (base.size() != 1 && base.size() != outputs) {
    fail(pp + ".base_score", "has " + std::to_string(base.size()) + " values for " + std::to_string(outputs) + " outputs");
  }
  model->base_margin.resize(outputs);
  for (size_t k = 0; k < outputs; ++k) {
    float b = static_cast<float>(base.size() == 1 ? base[0] : base[k]);
    float m = b;
    if (objective.base_link == Objective::Link::logit) {
      if (!(b > 0.0f && b < 1.0f)) fail(pp + ".base_score", "must be in (0, 1) for " + model->objective);
      m = -std::log(1.0f / b - 1.0f);
    } else if (objective.base_link == Objective::Link::log) {
      if (!(b > 0.0f)) fail(pp + ".base_score", "must be > 0 for " + model->objective);
      m = std::log(b);
    }
    if (!std::isfinite(m)) fail(pp + ".base_score", "is not finite");
    model->base_margin[k] = m;
  }

  if (learner.contains("feature_names") && learner["feature_names"].is_array()) {
    for (const json& n : learner["feature_names"]) {
      if (n.is_string()) model->feature_names.push_back(n.get<std::string>());
    }
    if (!model->feature_names.empty() && model->feature_names.size() != model->num_features) {
      fail(lp + ".feature_names", "has " + std::to_string(model->feature_names.size()) + " names for " +
                                      std::to_string(model->num_features) + " features");
    }
  }

  const json& booster = member(learner, "gradient_booster", lp);
  const std::string bp = lp + ".gradient_booster";
  const json& bname = member(booster, "name", bp);
  if (!bname.is_string()) fail(bp + ".name", "expected a string");
  if (bname.get<std::string>() != "gbtree") {
    throw Unsupported("XGBoost model: booster \"" + bname.get<std::string>() + "\" is not supported (only gbtree)");
  }
  const json& gbm = member(booster, "model", bp);
  const std::string mp = bp + ".model";
  const json& trees = member(gbm, "trees", mp);
  if (!trees.is_array()) fail(mp + ".trees", "expected an array");
  const json& tree_info = member(gbm, "tree_info", mp);
  if (!tree_info.is_array() || tree_info.size() != trees.size()) {
    fail(mp + ".tree_info", "expected an array of " + std::to_string(trees.size()) + " outputs");
  }

  for (size_t t = 0; t < trees.size(); ++t) {
    const std::string tp = mp + ".trees[" + std::to_string(t) + "]";
    const json& tree = trees[t];
    const json& tparam = member(tree, "tree_param", tp);
    const int64_t num_nodes = integer_of(member(tparam, "num_nodes", tp + ".tree_param"), tp + ".tree_param.num_nodes", 1,
                                         int64_t{1} << 30);
    if (tparam.contains("size_leaf_vector")) {
      int64_t slv = integer_of(tparam["size_leaf_vector"], tp + ".tree_param.size_leaf_vector", 0, 1 << 20);
      if (slv > 1) throw Unsupported("XGBoost model: " + tp + " is a multi-output tree (size_leaf_vector " +
                                     std::to_string(slv) + ")");
    }
    const size_t n = static_cast<size_t>(num_nodes);
    {
      const json& lc = member(tree, "left_children", tp);
      if (!lc.is_array() || lc.size() != n) {
        fail(tp + ".left_children", "expected an array of num_nodes = " + std::to_string(n) + " entries");
      }
    }
    RawTree raw;
    raw.nodes.resize(n);
    raw.output = static_cast<uint32_t>(integer_of(tree_info[t], mp + ".tree_info[" + std::to_string(t) + "]", 0,
                                                  static_cast<int64_t>(outputs) - 1));
    for_array(tree, "left_children", tp, n, [&](size_t i, const json& v) {
      raw.nodes[i].left = integer_of(v, tp + ".left_children[" + std::to_string(i) + "]", -1, num_nodes - 1);
      raw.nodes[i].leaf = raw.nodes[i].left == -1;
    });
    for_array(tree, "right_children", tp, n, [&](size_t i, const json& v) {
      raw.nodes[i].right = integer_of(v, tp + ".right_children[" + std::to_string(i) + "]", -1, num_nodes - 1);
      if (!raw.nodes[i].leaf && raw.nodes[i].right == -1) {
        fail(tp + ".right_children[" + std::to_string(i) + "]", "an internal node without a right child");
      }
    });
    for_array(tree, "split_indices", tp, n, [&](size_t i, const json& v) {
      int64_t f = integer_of(v, tp + ".split_indices[" + std::to_string(i) + "]", 0, kMaxFeatures);
      if (!raw.nodes[i].leaf && f >= num_feature) {
        fail(tp + ".split_indices[" + std::to_string(i) + "]",
             "feature " + std::to_string(f) + " but the model has " + std::to_string(num_feature) + " features");
      }
      raw.nodes[i].feature = static_cast<uint32_t>(f);
    });
    for_array(tree, "split_conditions", tp, n, [&](size_t i, const json& v) {
      double d = number_of(v, tp + ".split_conditions[" + std::to_string(i) + "]");
      if (!std::isfinite(d)) fail(tp + ".split_conditions[" + std::to_string(i) + "]", "is not finite");
      float f = static_cast<float>(d);
      if (raw.nodes[i].leaf) {
        raw.nodes[i].value = f;
      } else {
        raw.nodes[i].threshold = f;
      }
    });
    for_array(tree, "default_left", tp, n, [&](size_t i, const json& v) {
      bool dl = v.is_boolean() ? v.get<bool>() : integer_of(v, tp + ".default_left[" + std::to_string(i) + "]", 0, 1) != 0;
      if (dl) raw.nodes[i].flags |= kNanLeft;
    });
    std::vector<uint8_t> split_type(n, 0);
    if (tree.contains("split_type")) {
      for_array(tree, "split_type", tp, n, [&](size_t i, const json& v) {
        split_type[i] = static_cast<uint8_t>(integer_of(v, tp + ".split_type[" + std::to_string(i) + "]", 0, 1));
      });
    }
    // Categorical splits: node list, segments into the flat category list.
    if (tree.contains("categories_nodes")) {
      const json& cnodes = member(tree, "categories_nodes", tp);
      const json& csegs = member(tree, "categories_segments", tp);
      const json& csizes = member(tree, "categories_sizes", tp);
      const json& cats = member(tree, "categories", tp);
      if (!cnodes.is_array() || !csegs.is_array() || !csizes.is_array() || !cats.is_array() ||
          csegs.size() != cnodes.size() || csizes.size() != cnodes.size()) {
        fail(tp + ".categories_nodes", "categories_nodes, categories_segments and categories_sizes differ in length");
      }
      for (size_t c = 0; c < cnodes.size(); ++c) {
        const std::string cp = tp + ".categories_nodes[" + std::to_string(c) + "]";
        int64_t nid = integer_of(cnodes[c], cp, 0, num_nodes - 1);
        int64_t seg = integer_of(csegs[c], tp + ".categories_segments[" + std::to_string(c) + "]", 0,
                                 static_cast<int64_t>(cats.size()));
        int64_t size = integer_of(csizes[c], tp + ".categories_sizes[" + std::to_string(c) + "]", 0,
                                  static_cast<int64_t>(cats.size()) - seg);
        auto& node = raw.nodes[static_cast<size_t>(nid)];
        if (node.leaf) fail(cp, "node " + std::to_string(nid) + " is a leaf");
        int64_t max_cat = -1;
        std::vector<uint32_t> list;
        for (int64_t j = seg; j < seg + size; ++j) {
          int64_t v = integer_of(cats[static_cast<size_t>(j)], tp + ".categories[" + std::to_string(j) + "]", 0,
                                 16777215);
          list.push_back(static_cast<uint32_t>(v));
          max_cat = std::max(max_cat, v);
        }
        CategorySet cs;
        cs.offset = static_cast<uint32_t>(model->cat_words.size());
        cs.words = static_cast<uint32_t>((max_cat + 1 + 31) / 32);
        if (model->cat_words.size() + cs.words > kMaxCategoryWords) {
          throw LimitError("XGBoost model: " + cp + ": the category sets exceed " +
                           std::to_string(kMaxCategoryWords * 32) + " bits in total");
        }
        model->cat_words.resize(model->cat_words.size() + cs.words, 0u);
        for (uint32_t v : list) model->cat_words[cs.offset + v / 32] |= 1u << (v % 32);
        node.flags |= kCategorical;
        node.threshold = static_cast<double>(model->cat_sets.size());
        model->cat_sets.push_back(cs);
        split_type[static_cast<size_t>(nid)] = 2;  // seen
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (split_type[i] == 1 && !raw.nodes[i].leaf) {
        fail(tp + ".split_type[" + std::to_string(i) + "]", "a categorical split without categories");
      }
    }
    model->add_tree(raw, "XGBoost model: " + tp);
  }
  model->finish();
  return model;
}

}  // namespace cdpcore::model_detail
