// Internal: the function library of the rule language (lower … timestamp_of),
// evaluated a column at a time.
#pragma once

#include <deque>
#include <string>

#include "rules/kernels.hpp"

namespace cdpcore::rules_detail {

/// Evaluates a call node (K::call) for io.n entries into io.out. `arena`
/// keeps strings the results point to (lower, upper, concat) alive until the
/// next block; `as_of` and `zone` are the evaluation's time and calendar.
void eval_function(const NodeIO& io, std::deque<std::string>& arena, Timestamp as_of, const TimeZone& zone);

}  // namespace cdpcore::rules_detail
