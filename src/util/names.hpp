// Internal: the one rule for the names users give things — identifier types,
// attributes, event types and their properties, tags, traits, segments,
// consent purposes and channels.
//
// The rule: a name is 1 to 128 bytes of valid UTF-8 made of ASCII letters,
// digits, '_' and non-ASCII characters (letters of any script), not starting
// with a digit, and not one of the words the rule language reserves (ASCII
// case ignored): and, as_of, between, case, else, end, false, in, is, last,
// not, null, or, previous, since, tag, then, this, time, trait, true, when,
// where. Where names form a hierarchy (consent purposes: "marketing.sms"),
// '.' separates segments and each segment follows the rule; the whole name
// is still at most 128 bytes.
//
// Why this rule: every such name is written bare in rule text ("vip and
// count(order, last 30 days) > 2"), and the rule language reads exactly
// these characters as a name (src/rules/parser.cpp, Lexer::is_name_start /
// is_name_char); a reserved word would be read as the keyword instead
// ("time" is an event's own time in `where` clauses). tests/cpp/rules checks
// that the lexer and this rule agree.
#pragma once

#include <cstddef>
#include <string_view>

namespace cdpcore::util {

/// The longest name, in bytes.
inline constexpr size_t kMaxNameBytes = 128;

/// Whether '.' separates segments of a hierarchical name.
enum class NameShape { single, dotted };

/// Whether `word` is reserved by the rule language (ASCII case ignored).
bool is_reserved_word(std::string_view word) noexcept;

/// Whether `name` follows the rule.
bool is_valid_name(std::string_view name, NameShape shape = NameShape::single) noexcept;

/// Throws when `name` does not follow the rule: Utf8Error (with the offset)
/// for invalid UTF-8, else InvalidArgument naming `what` ("attribute name",
/// "segment name", …), the name and what is wrong with it.
void validate_name(std::string_view name, const char* what, NameShape shape = NameShape::single);

}  // namespace cdpcore::util
