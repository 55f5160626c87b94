// LightGBM text models (Booster.save_model("m.txt")).
//
// Format facts relied on (LightGBM's GBDT::SaveModelToString and
// Tree::ToString): a header of key=value lines, then one "Tree=i" block per
// tree with space-separated arrays: split_feature, threshold, decision_type,
// left_child, right_child (internal nodes; a negative child c is leaf ~c),
// leaf_value (leaves), cat_boundaries/cat_threshold (uint32 bitsets, when
// num_cat > 0), then "end of trees". decision_type bits: 1 categorical,
// 2 default left, bits 2-3 the missing type (0 None, 1 Zero, 2 NaN).
// Numbers are written with 17 significant digits, so parsing them as double
// gives back the exact values.
#include <charconv>
#include <cmath>
#include <string>

#include "cdpcore/error.hpp"
#include "model/tree_ensemble.hpp"

namespace cdpcore::model_detail {

namespace {

struct Line {
  std::string_view text;
  uint64_t offset = 0;  // byte offset of the line
  uint32_t number = 0;  // 1-based
};

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}
  bool next(Line& line) {
    if (pos_ >= text_.size()) return false;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line.text = text_.substr(pos_, end - pos_);
    if (!line.text.empty() && line.text.back() == '\r') line.text.remove_suffix(1);
    line.offset = pos_;
    line.number = ++number_;
    pos_ = end + 1;
    return true;
  }
  uint64_t offset() const { return pos_; }
  uint32_t line_number() const { return number_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  uint32_t number_ = 0;
};

[[noreturn]] void fail(const Line& line, const std::string& what, size_t column = 0) {
  throw ParseError("LightGBM model: line " + std::to_string(line.number) + ": " + what, line.offset + column,
                   line.number, static_cast<uint32_t>(column + 1));
}

struct Field {
  std::string_view key, value;
  Line line;
  size_t value_column = 0;
};

template <class T>
std::vector<T> parse_array(const Field& f, size_t expect, const char* what) {
  std::vector<T> out;
  const char* p = f.value.data();
  const char* end = p + f.value.size();
  while (p < end) {
    while (p < end && *p == ' ') ++p;
    if (p >= end) break;
    T v{};
    std::from_chars_result r;
    if constexpr (std::is_floating_point_v<T>) {
      r = std::from_chars(p, end, v, std::chars_format::general);
      // LightGBM writes "inf"/"nan" through its own formatter only for
      // thresholds that cannot occur; from_chars reads them too.
    } else {
      r = std::from_chars(p, end, v);
    }
    if (r.ec != std::errc() || (r.ptr < end && *r.ptr != ' ')) {
      fail(f.line,
           std::string(what) + ": \"" + std::string(f.key) + "\" value " + std::to_string(out.size()) + " is not a " +
               (std::is_floating_point_v<T> ? "number" : "integer"),
           f.value_column + static_cast<size_t>(p - f.value.data()));
    }
    out.push_back(v);
    p = r.ptr;
  }
  if (expect != SIZE_MAX && out.size() != expect) {
    fail(f.line,
         std::string(what) + ": \"" + std::string(f.key) + "\" has " + std::to_string(out.size()) +
             " values, expected " + std::to_string(expect),
         f.value_column);
  }
  return out;
}

int64_t parse_int(const Field& f, int64_t lo, int64_t hi, const char* what) {
  auto v = parse_array<int64_t>(f, 1, what);
  if (v[0] < lo || v[0] > hi) {
    fail(f.line, std::string(what) + ": \"" + std::string(f.key) + "\" = " + std::to_string(v[0]) + " outside " +
                     std::to_string(lo) + ".." + std::to_string(hi),
         f.value_column);
  }
  return v[0];
}

/// key=value fields of one section, in order.
struct Section {
  std::vector<Field> fields;
  Line start;
  const Field* find(std::string_view key) const {
    for (const Field& f : fields)
      if (f.key == key) return &f;
    return nullptr;
  }
  const Field& need(std::string_view key, const std::string& what) const {
    const Field* f = find(key);
    if (!f) fail(start, what + ": missing \"" + std::string(key) + "\"");
    return *f;
  }
};

Field split_field(const Line& line) {
  Field f;
  f.line = line;
  size_t eq = line.text.find('=');
  if (eq == std::string_view::npos) {
    f.key = line.text;
    return f;
  }
  f.key = line.text.substr(0, eq);
  f.value = line.text.substr(eq + 1);
  f.value_column = eq + 1;
  return f;
}

void set_objective(TreeEnsemble<double>& m, const Field& f) {
  std::string_view v = f.value;
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < v.size()) {
    size_t sp = v.find(' ', i);
    if (sp == std::string_view::npos) sp = v.size();
    if (sp > i) tokens.push_back(v.substr(i, sp - i));
    i = sp + 1;
  }
  if (tokens.empty()) fail(f.line, "header: \"objective\" is empty", f.value_column);
  m.objective = std::string(v);
  const std::string_view name = tokens[0];
  bool sqrt = false;
  for (size_t t = 1; t < tokens.size(); ++t) {
    std::string_view tok = tokens[t];
    if (tok == "sqrt") sqrt = true;
    if (tok.substr(0, 8) == "sigmoid:") {
      double a = 0;
      auto r = std::from_chars(tok.data() + 8, tok.data() + tok.size(), a);
      if (r.ec != std::errc() || r.ptr != tok.data() + tok.size() || !(a > 0) || !std::isfinite(a)) {
        fail(f.line, "header: objective parameter \"" + std::string(tok) + "\" is not a positive number",
             f.value_column);
      }
      m.sigmoid_alpha = a;
    }
  }
  if (name == "binary" || name == "multiclassova" || name == "multiclass_ova" || name == "ova" || name == "ovr") {
    m.transform = Transform::sigmoid;
  } else if (name == "cross_entropy" || name == "xentropy") {
    m.transform = Transform::sigmoid;
    m.sigmoid_alpha = 1.0;
  } else if (name == "cross_entropy_lambda" || name == "xentlambda") {
    m.transform = Transform::log1p_exp;
  } else if (name == "multiclass" || name == "softmax") {
    m.transform = Transform::softmax;
  } else if (name == "poisson" || name == "gamma" || name == "tweedie") {
    m.transform = Transform::exp;
  } else if (name == "regression" || name == "regression_l2" || name == "regression_l1" || name == "huber" ||
             name == "fair" || name == "quantile" || name == "mape" || name == "l2" || name == "l1" ||
             name == "mean_squared_error" || name == "mse" || name == "mean_absolute_error") {
    m.transform = sqrt ? Transform::signed_square : Transform::identity;
  } else if (name == "lambdarank" || name == "rank_xendcg" || name == "custom" || name == "none") {
    m.transform = Transform::identity;
  } else {
    throw Unsupported("LightGBM model: line " + std::to_string(f.line.number) + ": objective \"" + std::string(name) +
                      "\" is not supported");
  }
}

}  // namespace

std::shared_ptr<const Model::Impl> parse_lightgbm_text(std::string_view text) {
  auto model = std::make_shared<TreeEnsemble<double>>();
  model->kind = ModelKind::lightgbm;
  model->format = Format::lightgbm;
  Reader reader(text);
  Line line;
  if (!reader.next(line) || line.text != "tree") {
    Line first{text.substr(0, 0), 0, 1};
    fail(first, "not a LightGBM text model (the first line must be \"tree\")");
  }
  // Header.
  Section header;
  header.start = line;
  std::vector<Section> trees;
  bool ended = false;
  bool in_tree = false;
  while (reader.next(line)) {
    if (line.text.empty()) continue;
    if (line.text == "end of trees") {
      ended = true;
      break;
    }
    Field f = split_field(line);
    if (f.key == "Tree") {
      in_tree = true;
      trees.emplace_back();
      trees.back().start = line;
      auto idx = parse_array<int64_t>(f, 1, "tree header");
      if (idx[0] != static_cast<int64_t>(trees.size() - 1)) {
        fail(line, "expected Tree=" + std::to_string(trees.size() - 1), f.value_column);
      }
      continue;
    }
    (in_tree ? trees.back() : header).fields.push_back(f);
  }
  if (!ended) {
    Line at{{}, reader.offset(), reader.line_number()};
    fail(at, "truncated: \"end of trees\" not found");
  }

  const int64_t num_class = header.find("num_class") ? parse_int(*header.find("num_class"), 1, 1 << 20, "header") : 1;
  const int64_t per_iter = header.find("num_tree_per_iteration")
                               ? parse_int(*header.find("num_tree_per_iteration"), 1, 1 << 20, "header")
                               : num_class;
  const int64_t max_feature_idx = parse_int(header.need("max_feature_idx", "header"), -1, kMaxFeatures - 1, "header");
  model->num_features = static_cast<size_t>(max_feature_idx + 1);
  model->num_outputs = static_cast<size_t>(per_iter);
  if (const Field* f = header.find("objective")) {
    set_objective(*model, *f);
  } else {
    model->objective = "custom";
    model->transform = Transform::identity;
  }
  if (model->transform == Transform::softmax && per_iter < 2) {
    fail(header.start, "header: multiclass objective with num_tree_per_iteration " + std::to_string(per_iter));
  }
  if (header.find("average_output")) model->average_output = true;
  if (const Field* f = header.find("feature_names")) {
    std::string_view v = f->value;
    size_t i = 0;
    while (i < v.size()) {
      size_t sp = v.find(' ', i);
      if (sp == std::string_view::npos) sp = v.size();
      if (sp > i) model->feature_names.emplace_back(v.substr(i, sp - i));
      i = sp + 1;
    }
    if (model->feature_names.size() != model->num_features) {
      fail(f->line, "header: \"feature_names\" has " + std::to_string(model->feature_names.size()) + " names for " +
                        std::to_string(model->num_features) + " features",
           f->value_column);
    }
  }
  model->base_margin.assign(model->num_outputs, 0.0);
  if (trees.size() % static_cast<size_t>(per_iter) != 0) {
    fail(header.start, "header: " + std::to_string(trees.size()) + " trees is not a multiple of num_tree_per_iteration " +
                           std::to_string(per_iter));
  }
  model->iterations = trees.size() / static_cast<size_t>(per_iter);

  for (size_t t = 0; t < trees.size(); ++t) {
    const Section& s = trees[t];
    const std::string what = "Tree=" + std::to_string(t);
    const int64_t num_leaves = parse_int(s.need("num_leaves", what), 1, int64_t{1} << 28, what.c_str());
    if (const Field* f = s.find("is_linear")) {
      if (parse_int(*f, 0, 1, what.c_str()) != 0) {
        throw Unsupported("LightGBM model: line " + std::to_string(f->line.number) + ": " + what +
                          " is a linear tree (is_linear=1), which is not supported");
      }
    }
    RawTree raw;
    raw.output = static_cast<uint32_t>(t % static_cast<size_t>(per_iter));
    const size_t leaves = static_cast<size_t>(num_leaves);
    const size_t internal = leaves - 1;
    auto leaf_value = parse_array<double>(s.need("leaf_value", what), leaves, what.c_str());
    raw.nodes.resize(internal + leaves);
    for (size_t k = 0; k < leaves; ++k) {
      if (!std::isfinite(leaf_value[k])) fail(s.need("leaf_value", what).line, what + ": a leaf value is not finite");
      raw.nodes[internal + k].leaf = true;
      raw.nodes[internal + k].value = leaf_value[k];
    }
    if (internal > 0) {
      const Field& fsplit = s.need("split_feature", what);
      const Field& fthr = s.need("threshold", what);
      const Field& fdt = s.need("decision_type", what);
      auto split_feature = parse_array<int64_t>(fsplit, internal, what.c_str());
      auto threshold = parse_array<double>(fthr, internal, what.c_str());
      auto decision = parse_array<int64_t>(fdt, internal, what.c_str());
      auto left = parse_array<int64_t>(s.need("left_child", what), internal, what.c_str());
      auto right = parse_array<int64_t>(s.need("right_child", what), internal, what.c_str());
      int64_t num_cat = s.find("num_cat") ? parse_int(*s.find("num_cat"), 0, num_leaves, what.c_str()) : 0;
      std::vector<int64_t> boundaries;
      std::vector<uint32_t> bits;
      const uint32_t set_base = static_cast<uint32_t>(model->cat_sets.size());
      if (num_cat > 0) {
        const Field& fb = s.need("cat_boundaries", what);
        boundaries = parse_array<int64_t>(fb, static_cast<size_t>(num_cat) + 1, what.c_str());
        const Field& fc = s.need("cat_threshold", what);
        auto words = parse_array<int64_t>(fc, SIZE_MAX, what.c_str());
        if (boundaries[0] != 0) fail(fb.line, what + ": cat_boundaries must start at 0", fb.value_column);
        for (size_t i = 1; i < boundaries.size(); ++i) {
          if (boundaries[i] < boundaries[i - 1] || boundaries[i] > static_cast<int64_t>(words.size())) {
            fail(fb.line, what + ": cat_boundaries are not increasing within cat_threshold's " +
                              std::to_string(words.size()) + " words",
                 fb.value_column);
          }
        }
        for (size_t i = 0; i + 1 < boundaries.size(); ++i) {
          CategorySet cs;
          cs.offset = static_cast<uint32_t>(model->cat_words.size() + static_cast<size_t>(boundaries[i]));
          cs.words = static_cast<uint32_t>(boundaries[i + 1] - boundaries[i]);
          model->cat_sets.push_back(cs);
        }
        if (model->cat_words.size() + words.size() > kMaxCategoryWords) {
          throw LimitError("LightGBM model: line " + std::to_string(fc.line.number) + ": the category sets are too large");
        }
        for (int64_t w : words) {
          if (w < 0 || w > 0xFFFFFFFFll) fail(fc.line, what + ": a cat_threshold word is not a uint32", fc.value_column);
          model->cat_words.push_back(static_cast<uint32_t>(w));
        }
      }
      for (size_t i = 0; i < internal; ++i) {
        auto& node = raw.nodes[i];
        if (split_feature[i] < 0 || split_feature[i] > max_feature_idx) {
          fail(fsplit.line, what + ": split_feature[" + std::to_string(i) + "] = " + std::to_string(split_feature[i]) +
                                " but the model has " + std::to_string(model->num_features) + " features",
               fsplit.value_column);
        }
        node.feature = static_cast<uint32_t>(split_feature[i]);
        auto child = [&](int64_t c, const char* side) -> int64_t {
          if (c >= 0) {
            if (static_cast<size_t>(c) >= internal) {
              fail(s.start, what + ": " + side + "[" + std::to_string(i) + "] = " + std::to_string(c) +
                                " is not a node");
            }
            return c;
          }
          int64_t leaf = ~c;
          if (static_cast<size_t>(leaf) >= leaves) {
            fail(s.start, what + ": " + side + "[" + std::to_string(i) + "] = " + std::to_string(c) + " is not a leaf");
          }
          return static_cast<int64_t>(internal) + leaf;
        };
        node.left = child(left[i], "left_child");
        node.right = child(right[i], "right_child");
        const int64_t dt = decision[i];
        if (dt < 0 || dt > 127) fail(fdt.line, what + ": decision_type[" + std::to_string(i) + "] out of range", fdt.value_column);
        const bool categorical = (dt & 1) != 0;
        const bool default_left = (dt & 2) != 0;
        const int missing = static_cast<int>((dt >> 2) & 3);
        if (missing == 3) fail(fdt.line, what + ": decision_type[" + std::to_string(i) + "] has missing type 3", fdt.value_column);
        if (categorical) {
          const double ci = threshold[i];
          if (!(ci >= 0 && ci < static_cast<double>(num_cat)) || ci != std::floor(ci)) {
            fail(fthr.line, what + ": threshold[" + std::to_string(i) + "] is not a category-set index below num_cat",
                 fthr.value_column);
          }
          node.flags = kCategorical;
          node.threshold = static_cast<double>(set_base + static_cast<uint32_t>(ci));
        } else {
          if (std::isnan(threshold[i])) fail(fthr.line, what + ": threshold[" + std::to_string(i) + "] is NaN", fthr.value_column);
          node.threshold = threshold[i];
          if (missing == 0) {
            node.flags = (0.0 <= threshold[i]) ? kNanLeft : 0;  // NaN is read as 0
          } else if (missing == 1) {
            node.flags = kZeroMissing | (default_left ? (kDefaultLeft | kNanLeft) : 0);
          } else {
            node.flags = default_left ? kNanLeft : 0;
          }
        }
      }
    }
    try {
      model->add_tree(raw, what);
    } catch (const ParseError& e) {
      fail(s.start, e.what());
    }
  }
  model->finish();
  return model;
}

}  // namespace cdpcore::model_detail
