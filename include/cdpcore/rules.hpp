// cdpcore — the tag-rule language and the tag engine.
//
// Rules are written in a small language business users can read (README.md, "Tag rules"
// has the grammar, the functions and the null semantics):
//
//   tag vip = sum(order.amount, last 365 days) >= 5000
//             or member_level in ["gold", "platinum"]
//   tag price_band = case when avg(order.amount, last 180 days) >= 500 then "high"
//                         when avg(order.amount, last 180 days) >= 150 then "mid"
//                         else "low" end
//   trait spend_365d = sum(order.amount, last 365 days)
//
// The same tree has a JSON form (rules::to_json / rules::from_json) for UIs
// that generate rules; the two convert both ways without loss.
//
//   auto rs = cdpcore::RuleSet::compile(store, text);        // once
//   auto all = rs.evaluate_all(store, as_of);                 // everyone, every hardware thread
//   auto one = rs.evaluate_person(store, person, as_of);      // one person, all rules
//   rs.update(all, store, report.touched, as_of);             // incremental
//
// A boolean tag is a Bitmap of the persons for whom the rule is TRUE (never
// for FALSE or NULL); a value tag is a column of labels plus a Bitmap per
// label; a trait is a column of doubles with nulls.
//
// Other components (segments, models) parse expressions with
// rules::parse_expression, walk the tree, and compile sub-expressions with
// CompiledExpression, supplying a NameResolver for names of their own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/time.hpp"

namespace cdpcore {

class Workspace;

namespace rules {

/// Where a node starts in the rule text (1-based line and column; byte
/// offset). All zero for nodes built in code or read from JSON.
struct SourcePos {
  uint32_t offset = 0;
  uint32_t line = 0;
  uint32_t column = 0;
};

enum class NodeKind : uint8_t {
  none = 0,    // an absent optional part (an aggregate without filter or window)
  literal,     // `literal`: null, true, 42, 4.5, "text"
  list,        // [a, b, …]: `children` are the elements (right side of `in`)
  ref,         // a name: attribute, tag, trait, event, "event.property", `as_of`,
               // or a name the caller's NameResolver knows; the name is `name`
  unary,       // op neg / not_, children[0]
  binary,      // op add sub mul div mod eq ne lt le gt ge and_ or_, children[0..1]
  in,          // op in / not_in: children[0] in children[1] (a list, a window, or a set)
  between,     // op between / not_between: children[0] between children[1] and children[2]
  is_null,     // op is_null / is_not_null, children[0]
  call,        // a scalar function `name`(children…)
  aggregate,   // an event aggregation `name`: children = {target, where, window};
               // target is a ref ("order" or "order.amount"); where and window
               // are NodeKind::none when absent
  window,      // a time window (see WindowKind); `since` has its start in children[0]
  case_when,   // children = {cond1, value1, cond2, value2, …[, else]}: odd size → else
};

enum class Op : uint8_t {
  none = 0,
  neg, not_,
  add, sub, mul, div, mod,
  eq, ne, lt, le, gt, ge,
  and_, or_,
  in, not_in,
  between, not_between,
  is_null, is_not_null,
};

enum class WindowKind : uint8_t {
  none = 0,
  last,      // last N units before as_of: (as_of - N·unit, as_of]; `count` = N,
             // unit: "minutes", "hours", "days", "weeks"
  this_,     // the calendar unit containing as_of, up to as_of: "day", "week", "month", "year"
  previous,  // the calendar unit before the one containing as_of
  since,     // [children[0], as_of]: from a timestamp expression to as_of
};

/// The text of an operator: "+", ">=", "and", "not in", "is not null" …
const char* op_text(Op op) noexcept;
/// "literal", "ref", "aggregate" … (the JSON key of the node's form).
const char* node_kind_name(NodeKind kind) noexcept;

using Literal = std::variant<std::monostate, bool, int64_t, double, std::string>;

/// A node of a rule's expression tree. A value type.
struct Node {
  NodeKind kind = NodeKind::none;
  Op op = Op::none;
  std::string name;  // ref: the name; call / aggregate: the function
  Literal literal;   // literal: the value
  std::vector<Node> children;
  // window nodes only
  WindowKind window = WindowKind::none;
  int64_t count = 0;  // `last`: how many units
  std::string unit;   // "days", "hours", … for last; "day", "week", "month", "year" for this/previous
  std::string zone;   // this/previous: IANA zone ("" = the store's zone)
  SourcePos pos;

  /// Structural equality: every field but `pos`.
  bool operator==(const Node& other) const noexcept;
  bool empty() const noexcept { return kind == NodeKind::none; }

  static Node make_literal(Literal value) {
    Node n;
    n.kind = NodeKind::literal;
    n.literal = std::move(value);
    return n;
  }
  static Node make_ref(std::string name) {
    Node n;
    n.kind = NodeKind::ref;
    n.name = std::move(name);
    return n;
  }
  static Node make(NodeKind kind, Op op, std::vector<Node> children) {
    Node n;
    n.kind = kind;
    n.op = op;
    n.children = std::move(children);
    return n;
  }
};

/// Bounds for untrusted rules, checked while parsing and compiling.
struct Limits {
  size_t max_text_bytes = 256 * 1024;  // one rule set's text or JSON
  uint32_t max_depth = 64;             // nesting of expressions
  uint32_t max_nodes = 4096;           // nodes per rule
  uint32_t max_rules = 10000;          // rules per rule set
  /// Estimated evaluation cost per rule (units: one per node and per person,
  /// plus a weight per event aggregation, see README.md, "Tag rules").
  uint64_t max_cost = 100000;
};

/// Parses one expression. Throws ParseError whose message names the line,
/// column, offending token and what was expected; LimitError when a limit is
/// exceeded; Utf8Error for invalid UTF-8.
Node parse_expression(std::string_view text, const Limits& limits = {});
/// The text form of an expression (parses back to an equal tree).
std::string to_text(const Node& node);
/// The JSON form of an expression (compact, one line).
std::string to_json(const Node& node);
/// Reads the JSON form. Throws ParseError naming the JSON path on bad input.
Node from_json(std::string_view json, const Limits& limits = {});

enum class RuleKind : uint8_t {
  tag = 0,    // `tag name = …`: boolean (a bool expression) or value (a string expression)
  trait = 1,  // `trait name = …`: a number per person
};

/// One definition of a rule set.
struct Rule {
  RuleKind kind = RuleKind::tag;
  std::string name;
  Node expr;
  SourcePos pos;
  bool operator==(const Rule& o) const noexcept { return kind == o.kind && name == o.name && expr == o.expr; }
};

/// Parses a rule set: definitions `tag <name> = <expr>` and `trait <name> =
/// <expr>`, comments from `#` to the end of the line.
std::vector<Rule> parse_rules(std::string_view text, const Limits& limits = {});
std::string rules_to_text(std::span<const Rule> rules);
/// {"rules":[{"kind":"tag","name":"vip","expr":{…}}, …]}
std::string rules_to_json(std::span<const Rule> rules);
std::vector<Rule> rules_from_json(std::string_view json, const Limits& limits = {});

}  // namespace rules

/// A name outside the schema and the rule set (a segment, a model score),
/// supplied by the caller at compile time.
struct ExternalName {
  /// boolean, int64 or float64.
  ValueType type = ValueType::boolean;
  /// Fills values[i] and valid[i] (0 = null) for persons[i]. Booleans as
  /// 0.0 / 1.0. Called from the evaluating threads (possibly several at once).
  std::function<void(std::span<const PersonOrdinal> persons, std::span<double> values, std::span<uint8_t> valid)>
      fetch;
};
/// Returns what a name means, or nullopt when the caller does not know it.
using NameResolver = std::function<std::optional<ExternalName>(std::string_view name)>;

struct CompileOptions {
  rules::Limits limits;
  NameResolver resolver;
  /// IANA zone for calendar windows and date functions; empty: the store's.
  std::string time_zone;
};

struct EvalOptions {
  /// Worker threads for batch evaluation, the calling thread included
  /// (1 = the calling thread only); 0 = every hardware thread
  /// (std::thread::hardware_concurrency()), the default of every `threads`
  /// option in the library.
  unsigned threads = 0;
  /// Called with (persons done, persons total); return false to cancel
  /// (evaluation then throws Cancelled).
  std::function<bool(uint64_t, uint64_t)> progress;
};

/// Numbers per person with nulls.
struct NumericColumn {
  std::vector<double> values;  // NaN where null
  std::vector<uint8_t> valid;  // 0 = null
};

/// One compiled expression, for callers that evaluate sub-expressions
/// (segments) or bind features to expressions (models). Immutable after
/// compile; share freely across threads. Evaluate only against the store it
/// was compiled for (StateError otherwise).
class CompiledExpression {
 public:
  /// Type-checks against the store's schema (and the resolver's names).
  /// Throws TypeError naming both types and the position, NotFound naming an
  /// unknown attribute, event or property, LimitError past a limit.
  static CompiledExpression compile(const ProfileStore& store, const rules::Node& expr,
                                    const CompileOptions& options = {});
  static CompiledExpression compile(const ProfileStore& store, std::string_view text,
                                    const CompileOptions& options = {});
  ~CompiledExpression();
  CompiledExpression(CompiledExpression&&) noexcept;
  CompiledExpression& operator=(CompiledExpression&&) noexcept;

  /// The result type (null for an expression that is always null).
  ValueType type() const noexcept;
  const rules::Node& node() const noexcept;
  uint64_t estimated_cost() const noexcept;

  /// Boolean expressions: the persons (ordinals < store.person_count()) for
  /// whom the expression is TRUE.
  Bitmap evaluate_all(const ProfileStore& store, Timestamp as_of, const EvalOptions& options = {}) const;
  /// The same, restricted to `persons`.
  Bitmap evaluate_persons(const ProfileStore& store, const Bitmap& persons, Timestamp as_of) const;
  /// Boolean expressions: TRUE for one person (false for FALSE and NULL).
  bool evaluate_one(const ProfileStore& store, PersonOrdinal person, Timestamp as_of) const;
  /// Numeric (or boolean, timestamp) expressions for every person.
  NumericColumn evaluate_numeric(const ProfileStore& store, Timestamp as_of, const EvalOptions& options = {}) const;
  /// Any expression, one person (std::monostate for null).
  Value evaluate_value(const ProfileStore& store, PersonOrdinal person, Timestamp as_of) const;

  struct Impl;

 private:
  explicit CompiledExpression(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class TagKind : uint8_t { boolean = 0, value = 1, trait = 2 };
/// "boolean", "value", "trait".
const char* tag_kind_name(TagKind kind) noexcept;

/// One rule's result for every person.
struct TagColumn {
  std::string name;
  TagKind kind = TagKind::boolean;
  /// boolean: the persons with TRUE; value: the persons with a label;
  /// trait: the persons with a non-null value.
  Bitmap members;
  // value tags
  std::vector<std::string> labels;    // distinct labels, in order of first appearance
  std::vector<int32_t> codes;         // per person: index into labels, -1 = none
  std::vector<Bitmap> label_members;  // per label
  // traits
  std::vector<double> values;  // per person, NaN where null
  std::vector<uint8_t> valid;  // per person, 0 = null
};

/// Every rule's result for every person. A value type.
struct TagResults {
  Timestamp as_of = 0;
  size_t person_count = 0;
  std::vector<TagColumn> tags;  // in rule order
  /// The column of a rule. Throws NotFound.
  const TagColumn& operator[](std::string_view name) const;
};

/// One rule's result for one person.
struct PersonTag {
  TagKind kind = TagKind::boolean;
  bool member = false;  // boolean: TRUE; value: has a label; trait: has a value
  std::string label;    // value tags
  double value = 0;     // traits (NaN when null)
};

/// A compiled rule set: compile once, evaluate many times. Immutable after
/// compile; share freely across threads. Evaluate only against the store it
/// was compiled for (StateError otherwise).
class RuleSet {
 public:
  /// Parses and compiles. Rules may refer to earlier or later rules of the
  /// set (cycles are rejected naming the rules in the cycle).
  static RuleSet compile(const ProfileStore& store, std::string_view text, const CompileOptions& options = {});
  static RuleSet compile(const ProfileStore& store, std::vector<rules::Rule> rules,
                         const CompileOptions& options = {});
  static RuleSet compile_json(const ProfileStore& store, std::string_view json, const CompileOptions& options = {});
  ~RuleSet();
  RuleSet(RuleSet&&) noexcept;
  RuleSet& operator=(RuleSet&&) noexcept;

  size_t size() const noexcept;
  const std::vector<rules::Rule>& rules() const noexcept;
  TagKind kind(size_t i) const noexcept;
  /// The index of a rule. Throws NotFound.
  size_t index_of(std::string_view name) const;
  std::string to_text() const;
  std::string to_json() const;
  /// Summed estimated cost of the rules.
  uint64_t estimated_cost() const noexcept;

  /// Every rule for every person, in `options.threads` threads.
  TagResults evaluate_all(const ProfileStore& store, Timestamp as_of, const EvalOptions& options = {}) const;
  /// Every rule for one person (the moment an event arrives): index i is rule i.
  std::vector<PersonTag> evaluate_person(const ProfileStore& store, PersonOrdinal person, Timestamp as_of) const;
  /// Re-evaluates `persons` (e.g. WriteReport::touched) and updates `results`
  /// in place; other persons keep their values (computed at their earlier
  /// as_of). Ordinals the results do not cover yet (new persons) are
  /// evaluated too and the columns grow.
  void update(TagResults& results, const ProfileStore& store, const Bitmap& persons, Timestamp as_of) const;
  /// Writes every trait's column into the store as a double attribute of the
  /// same name (so other rules, segments and models can use it).
  void store_traits(const TagResults& results, ProfileStore& store) const;

  // ---- versions in the workspace ------------------------------------------
  /// Stores the rule set's text under `name` as a new version (1, 2, …) in
  /// the workspace's `rules_sets` table; returns the version.
  int64_t save(Workspace& ws, std::string_view name) const;
  /// Loads and compiles a stored version (0 = the latest). Throws NotFound.
  static RuleSet load(const ProfileStore& store, Workspace& ws, std::string_view name, int64_t version = 0,
                      const CompileOptions& options = {});
  /// The stored versions of a rule set, oldest first (empty when none).
  static std::vector<int64_t> versions(Workspace& ws, std::string_view name);

  struct Impl;

 private:
  explicit RuleSet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdpcore
