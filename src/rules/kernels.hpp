// Internal: what the node kernels of the evaluator (eval.cpp) and the
// function library (functions.cpp) share: a node's inputs and output for a
// block, value helpers, and the set-membership kernel.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "rules/program.hpp"

namespace cdpcore::rules_detail {

inline constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

/// One node's evaluation over n entries (persons of a block, or rows of a
/// chunk): its output column and its arguments' columns and types.
struct NodeIO {
  const CNode& node;
  Column& out;
  const std::vector<Column>& cols;   // every node's column (arguments are filled)
  const std::vector<CNode>& nodes;
  size_t n;

  const Column& arg(size_t i) const { return cols[static_cast<size_t>(node.args[i])]; }
  ValueType type(size_t i) const { return nodes[static_cast<size_t>(node.args[i])].type; }
};

inline bool int_like(ValueType t) {
  return t == ValueType::int64 || t == ValueType::timestamp || t == ValueType::boolean;
}

inline double as_num(const Column& c, ValueType t, size_t k) {
  return t == ValueType::float64 ? c.d[k] : static_cast<double>(c.i[k]);
}

inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

/// 1 = Monday … 7 = Sunday of a day number.
inline int64_t weekday_of(int64_t days) {
  int64_t w = (days + 3) % 7;  // 1970-01-01 was a Thursday (index 3 from Monday)
  if (w < 0) w += 7;
  return w + 1;
}

/// out = whether string x is a member of set s, for n entries: null when x
/// is of the null type or either side is null (`x in s`, contains(s, x)).
inline void set_membership(const Column& x, bool x_null_type, const Column& s, Column& out, size_t n) {
  for (size_t k = 0; k < n; ++k) {
    bool ok = !x_null_type && x.valid[k] && s.valid[k];
    out.valid[k] = ok;
    out.i[k] = 0;
    if (!ok) continue;
    uint32_t code = s.set_dict ? s.set_dict->find(x.s[k]) : profile_detail::kNoCode;
    out.i[k] = code != profile_detail::kNoCode && std::binary_search(s.set[k]->begin(), s.set[k]->end(), code);
  }
}

}  // namespace cdpcore::rules_detail
