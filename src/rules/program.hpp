// Internal: a compiled rule program (a DAG of typed nodes) and its evaluator.
//
// Nodes come in three levels:
//  - uniform: the same for every person (literals, as_of, arithmetic on them),
//    computed once per evaluation;
//  - person: one value per person, computed a block of persons at a time;
//  - row: one value per event row, inside an aggregation's `where` filter.
// Nodes are stored children-first, so evaluating in index order is valid.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cdpcore/rules.hpp"
#include "profile/columns.hpp"
#include "profile/snapshot.hpp"

namespace cdpcore::rules_detail {

using profile_detail::EventColumns;
using profile_detail::EventTable;
using profile_detail::ProfileSnapshot;

enum class Level : uint8_t { uniform = 0, person = 1, row = 2 };

enum class K : uint8_t {
  constant,
  as_of,
  attribute,   // index: attribute
  prop,        // index: property (-1 = time); event: the table
  external,    // index: external name
  truth,       // TRUE → true, FALSE / NULL → false (a referenced boolean tag)
  neg, not_,
  arith,       // op add sub mul div mod
  compare,     // op eq ne lt le gt ge
  and_, or_,
  in_list,     // args[0] in args[1..]
  in_set,      // args[0] in set args[1]
  in_window,   // args[0] in window `window` (since: args[1] is the start)
  between,
  is_null,     // op is_null / is_not_null
  call,        // fn
  aggregate,   // agg
  case_when,   // args: cond, value, …, [else]
  to_double,   // numeric promotion inserted by the compiler
};

enum class Fn : uint8_t {
  lower, upper, trim, length, contains_str, starts_with, ends_with, concat,
  contains_set, size_set,
  abs, round, floor, ceil, least, greatest, coalesce,
  days, hours, minutes, weeks,
  days_since, days_between, age, year, month, day, hour, weekday,
  timestamp_of,
};

enum class Agg : uint8_t { count, sum, avg, min, max, count_distinct, first, last, most_frequent };

struct WindowSpec {
  rules::WindowKind kind = rules::WindowKind::none;
  int64_t micros = 0;  // last: length
  std::string unit;    // this / previous: calendar unit
  std::shared_ptr<const TimeZone> zone;
  int since = -1;      // since: node giving the start
};

struct AggSpec {
  Agg fn = Agg::count;
  int event = -1;       // index into the store's event tables
  int prop = -2;        // -2: none (count events), -1: time, else property index
  ValueType prop_type = ValueType::null;
  int filter = -1;      // row-level node (bool), or -1
  std::vector<int> filter_nodes;  // row-level nodes of the filter, in order
  int window = -1;      // index into windows, or -1
};

struct CNode {
  K kind = K::constant;
  ValueType type = ValueType::null;
  Level level = Level::uniform;
  rules::Op op = rules::Op::none;
  std::vector<int> args;
  rules::Literal constant;
  int index = -1;  // attribute / property / external
  int event = -1;  // prop: table
  Fn fn = Fn::lower;
  int agg = -1;
  int window = -1;
};

struct Program {
  uint64_t store_id = 0;
  std::shared_ptr<const TimeZone> zone;
  std::vector<CNode> nodes;
  std::vector<AggSpec> aggs;
  std::vector<WindowSpec> windows;
  std::vector<ExternalName> externals;
  std::vector<int> roots;
  std::vector<int> uniform_order;  // uniform nodes needed, in order
  std::vector<int> person_order;   // person nodes needed, in order
  std::vector<uint64_t> costs;     // per root
  size_t max_props = 0;
};

/// One node's values for a block of persons or a chunk of rows.
struct Column {
  std::vector<uint8_t> valid;
  std::vector<int64_t> i;             // bool, int64, timestamp
  std::vector<double> d;              // double
  std::vector<std::string_view> s;    // string
  std::vector<const std::vector<uint32_t>*> set;  // set<string> (codes of set_dict)
  const profile_detail::StringDict* set_dict = nullptr;
};

/// Where one person's rows of one event table are: rows [begin, end) of `cols`.
struct RowSpan {
  const EventColumns* cols = nullptr;
  uint64_t begin = 0;
  uint64_t end = 0;
};

/// Scratch state of one evaluating thread. Reused across calls.
struct Context {
  const Program* program = nullptr;
  std::vector<Column> cols;
  std::vector<size_t> filled;  // uniform nodes: entries filled
  std::deque<std::string> arena;
  // the block
  std::vector<PersonOrdinal> persons;
  std::vector<std::vector<RowSpan>> spans;  // per event table used: per person
  std::vector<std::unique_ptr<EventColumns>> overlays;
  size_t overlay_used = 0;
  // aggregation scratch
  std::vector<uint32_t> stamp;
  std::vector<uint32_t> counts;
  uint32_t generation = 0;
  std::vector<int64_t> ints;
  std::vector<double> dbls;
  // row chunks of filters
  std::vector<const EventColumns*> row_src;
  std::vector<uint32_t> row_idx;
  std::vector<uint32_t> row_owner;  // index of the person in the block
  std::vector<uint32_t> sel;        // selected rows (indices into the person's cols)
  std::vector<uint32_t> sel_offsets;
  std::vector<const EventColumns*> sel_src;
};

inline constexpr size_t kBlock = 1024;
inline constexpr size_t kRowChunk = 2048;

/// Compiles one expression into `program` (appending nodes); returns the root.
class Compiler;

/// Evaluation of a program for a block of persons, reading the columns of a
/// snapshot that outlives it.
/// Thread safety: const; one Context per thread.
class Evaluator {
 public:
  Evaluator(const Program& program, const ProfileSnapshot& store, Timestamp as_of);
  /// Prepares a context (sizes columns; computes uniform nodes).
  void begin(Context& ctx) const;
  /// Evaluates every needed person node for `persons` (sorted or not).
  void eval_block(Context& ctx, std::span<const PersonOrdinal> persons) const;

 private:
  void eval_node(Context& ctx, int id, size_t n) const;
  void eval_aggregate(Context& ctx, int id, size_t n) const;
  /// Each person's rows in the aggregation's window: [ctx.ints[2k], ctx.ints[2k+1]).
  void window_rows(Context& ctx, const AggSpec& a, size_t n, std::vector<uint8_t>& has_window) const;
  /// The window rows passing the `where` filter: ctx.sel, per person by ctx.sel_offsets.
  void filter_rows(Context& ctx, const AggSpec& a, size_t n, const std::vector<uint8_t>& has_window) const;
  void eval_prop(Context& ctx, int id, size_t n) const;
  void ensure_uniform(Context& ctx, int id, size_t n) const;
  void prepare_spans(Context& ctx, size_t n) const;
  /// Person k's rows of an event table (inline: read per person and aggregation).
  const RowSpan& span(const Context& ctx, int event, size_t k) const {
    return ctx.spans[static_cast<size_t>(event_slot_[event])][k];
  }

  const Program& p_;
  const ProfileSnapshot& store_;
  Timestamp as_of_;
  std::vector<int> event_slot_;  // event table → index into ctx.spans (or -1)
  std::vector<std::pair<int64_t, int64_t>> window_bounds_;  // fixed windows: [lo, hi] inclusive
};

/// Compiles rules / expressions (src/rules/compile.cpp).
struct CompiledRule {
  std::string name;
  rules::RuleKind declared;
  TagKind kind;
  int root = -1;
};

std::shared_ptr<Program> compile_program(const ProfileStore& store, const std::vector<rules::Rule>& rules,
                                         const CompileOptions& options, std::vector<CompiledRule>& out);
std::shared_ptr<Program> compile_single(const ProfileStore& store, const rules::Node& expr,
                                        const CompileOptions& options, int* root);

}  // namespace cdpcore::rules_detail
