// Helpers shared by the model tests.
#pragma once

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "cdpcore/model.hpp"

namespace model_test {

inline const double kNaN = std::numeric_limits<double>::quiet_NaN();

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

inline std::string data_path(const std::string& name) { return std::string(CDPCORE_TEST_DATA_DIR) + "/model/" + name; }

/// A CSV of numbers ("nan" allowed), no header.
inline std::vector<std::vector<double>> read_csv(const std::string& path) {
  std::vector<std::vector<double>> rows;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) row.push_back(cell == "nan" ? kNaN : std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}

/// One XGBoost JSON tree from parallel arrays (leaves: left = right = -1,
/// value in cond). `cats` lists, per categorical node id, its categories.
struct XgbTree {
  std::vector<int> left, right, feature, default_left, split_type;
  std::vector<double> cond;
  std::vector<std::pair<int, std::vector<int>>> cats;
  int output = 0;
};

inline std::string join(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s.push_back(',');
    s.append(std::to_string(v[i]));
  }
  return s;
}
inline std::string joind(const std::vector<double>& v) {
  std::ostringstream s;
  s.precision(9);
  for (size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
  return s.str();
}

inline std::string xgb_json(const std::vector<XgbTree>& trees, int num_feature, const std::string& objective,
                            const std::string& base_score, int num_class = 0) {
  std::string t;
  std::vector<int> info;
  for (size_t i = 0; i < trees.size(); ++i) {
    const XgbTree& tr = trees[i];
    std::vector<int> cn, cs, csz, cv;
    for (auto& [node, list] : tr.cats) {
      cn.push_back(node);
      cs.push_back(static_cast<int>(cv.size()));
      csz.push_back(static_cast<int>(list.size()));
      cv.insert(cv.end(), list.begin(), list.end());
    }
    std::vector<int> st = tr.split_type.empty() ? std::vector<int>(tr.left.size(), 0) : tr.split_type;
    if (i) t.push_back(',');
    t += "{\"base_weights\":[],\"categories\":[" + join(cv) + "],\"categories_nodes\":[" +
         join(cn) + "],\"categories_segments\":[" + join(cs) + "],\"categories_sizes\":[" + join(csz) +
         "],\"default_left\":[" + join(tr.default_left) + "],\"id\":" + std::to_string(i) + ",\"left_children\":[" +
         join(tr.left) + "],\"right_children\":[" + join(tr.right) + "],\"split_conditions\":[" + joind(tr.cond) +
         "],\"split_indices\":[" + join(tr.feature) + "],\"split_type\":[" + join(st) +
         "],\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"" + std::to_string(num_feature) +
         "\",\"num_nodes\":\"" + std::to_string(tr.left.size()) + "\",\"size_leaf_vector\":\"1\"}}";
    info.push_back(tr.output);
  }
  return "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],\"gradient_booster\":{\"model\":{"
         "\"gbtree_model_param\":{\"num_parallel_tree\":\"1\",\"num_trees\":\"" +
         std::to_string(trees.size()) + "\"},\"tree_info\":[" + join(info) + "],\"trees\":[" + t +
         "]},\"name\":\"gbtree\"},\"learner_model_param\":{\"base_score\":" + base_score +
         ",\"boost_from_average\":\"1\",\"num_class\":\"" + std::to_string(num_class) + "\",\"num_feature\":\"" +
         std::to_string(num_feature) + "\",\"num_target\":\"1\"},\"objective\":{\"name\":\"" + objective +
         "\"}},\"version\":[3,2,0]}";
}

}  // namespace model_test
