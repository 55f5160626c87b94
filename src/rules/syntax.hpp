// Internal: what the parser, printer, JSON reader and compiler share about the
// rule language's vocabulary.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "cdpcore/rules.hpp"

namespace cdpcore::rules::detail {

/// Words with a meaning in the grammar (compared in lower case). A name that
/// is one of them must be written in backticks; names users define may not
/// be one (util/names.hpp reserves them all).
std::span<const std::string_view> keywords() noexcept;
bool is_keyword(std::string_view lower_word) noexcept;
/// Lower-cases ASCII letters.
std::string ascii_lower(std::string_view s);
/// Whether `name` can be written without backticks.
bool is_bare_name(std::string_view name) noexcept;
/// The aggregate functions (count, sum, avg, min, max, count_distinct, first,
/// last, most_frequent).
bool is_aggregate(std::string_view name) noexcept;
/// "days" for "day"/"days"/…; empty when not a unit of `last N …`.
std::string_view duration_unit(std::string_view word) noexcept;
/// "month" for "month"/"months"; empty when not a calendar unit.
std::string_view calendar_unit(std::string_view word) noexcept;
/// Microseconds in one unit of a duration ("days" → 86400000000).
int64_t unit_micros(std::string_view unit) noexcept;

/// Depth and size of a tree, for the limits.
struct TreeSize {
  uint32_t depth = 0;
  uint32_t nodes = 0;
};
TreeSize measure(const Node& n) noexcept;
/// Throws LimitError when the tree is deeper or larger than allowed.
void check_limits(const Node& n, const Limits& limits, std::string_view what);

}  // namespace cdpcore::rules::detail
