// The rule language's vocabulary and the tree's small helpers.
#include "rules/syntax.hpp"

#include <algorithm>
#include <cstring>

#include "cdpcore/error.hpp"

namespace cdpcore::rules {

const char* op_text(Op op) noexcept {
  switch (op) {
    case Op::none: return "";
    case Op::neg: return "-";
    case Op::not_: return "not";
    case Op::add: return "+";
    case Op::sub: return "-";
    case Op::mul: return "*";
    case Op::div: return "/";
    case Op::mod: return "%";
    case Op::eq: return "=";
    case Op::ne: return "!=";
    case Op::lt: return "<";
    case Op::le: return "<=";
    case Op::gt: return ">";
    case Op::ge: return ">=";
    case Op::and_: return "and";
    case Op::or_: return "or";
    case Op::in: return "in";
    case Op::not_in: return "not in";
    case Op::between: return "between";
    case Op::not_between: return "not between";
    case Op::is_null: return "is null";
    case Op::is_not_null: return "is not null";
  }
  return "";
}

const char* node_kind_name(NodeKind kind) noexcept {
  switch (kind) {
    case NodeKind::none: return "none";
    case NodeKind::literal: return "literal";
    case NodeKind::list: return "list";
    case NodeKind::ref: return "ref";
    case NodeKind::unary: return "unary";
    case NodeKind::binary: return "binary";
    case NodeKind::in: return "in";
    case NodeKind::between: return "between";
    case NodeKind::is_null: return "is_null";
    case NodeKind::call: return "call";
    case NodeKind::aggregate: return "aggregate";
    case NodeKind::window: return "window";
    case NodeKind::case_when: return "case";
  }
  return "";
}

bool Node::operator==(const Node& o) const noexcept {
  if (kind != o.kind || op != o.op || name != o.name || window != o.window || count != o.count || unit != o.unit ||
      zone != o.zone || children.size() != o.children.size())
    return false;
  if (literal.index() != o.literal.index()) return false;
  if (auto* d = std::get_if<double>(&literal)) {
    // Bitwise for doubles (NaN == NaN, 0.0 != -0.0), so equality is exact.
    double e = std::get<double>(o.literal);
    if (std::memcmp(d, &e, sizeof(double)) != 0) return false;
  } else if (literal != o.literal) {
    return false;
  }
  for (size_t i = 0; i < children.size(); ++i)
    if (!(children[i] == o.children[i])) return false;
  return true;
}

namespace detail {

std::span<const std::string_view> keywords() noexcept {
  static constexpr std::string_view kWords[] = {
      "and",   "or",   "not",  "in",    "is",   "null",     "true",  "false", "between", "case", "when",
      "then",  "else", "end",  "where", "last", "this",     "previous", "since", "tag",   "trait", "as_of"};
  return kWords;
}

bool is_keyword(std::string_view w) noexcept {
  const auto words = keywords();
  return std::find(words.begin(), words.end(), w) != words.end();
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_bare_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    bool ok = c >= 0x80 || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return !is_keyword(ascii_lower(name));
}

bool is_aggregate(std::string_view n) noexcept {
  static constexpr std::string_view kAggs[] = {"count", "sum",  "avg",  "min",          "max",
                                               "count_distinct", "first", "last", "most_frequent"};
  return std::find(std::begin(kAggs), std::end(kAggs), n) != std::end(kAggs);
}

std::string_view duration_unit(std::string_view w) noexcept {
  if (w == "minute" || w == "minutes") return "minutes";
  if (w == "hour" || w == "hours") return "hours";
  if (w == "day" || w == "days") return "days";
  if (w == "week" || w == "weeks") return "weeks";
  return {};
}

std::string_view calendar_unit(std::string_view w) noexcept {
  if (w == "day" || w == "days") return "day";
  if (w == "week" || w == "weeks") return "week";
  if (w == "month" || w == "months") return "month";
  if (w == "year" || w == "years") return "year";
  return {};
}

int64_t unit_micros(std::string_view unit) noexcept {
  if (unit == "minutes") return 60'000'000LL;
  if (unit == "hours") return 3'600'000'000LL;
  if (unit == "days") return 86'400'000'000LL;
  if (unit == "weeks") return 7 * 86'400'000'000LL;
  return 0;
}

namespace {
void measure_into(const Node& n, uint32_t depth, TreeSize& s) noexcept {
  ++s.nodes;
  if (depth > s.depth) s.depth = depth;
  for (const auto& c : n.children) measure_into(c, depth + 1, s);
}
}  // namespace

TreeSize measure(const Node& n) noexcept {
  TreeSize s;
  measure_into(n, 1, s);
  return s;
}

void check_limits(const Node& n, const Limits& limits, std::string_view what) {
  auto s = measure(n);
  if (s.depth > limits.max_depth)
    throw LimitError(std::string(what) + ": nesting depth " + std::to_string(s.depth) + " exceeds the limit of " +
                     std::to_string(limits.max_depth));
  if (s.nodes > limits.max_nodes)
    throw LimitError(std::string(what) + ": " + std::to_string(s.nodes) + " nodes exceed the limit of " +
                     std::to_string(limits.max_nodes));
}

}  // namespace detail
}  // namespace cdpcore::rules
