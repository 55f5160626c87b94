// The one rule for names (util/names.hpp).
#include "util/names.hpp"

#include <algorithm>
#include <string>

#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"

namespace cdpcore::util {

namespace {

bool is_name_start(unsigned char c) { return c >= 0x80 || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_name_char(unsigned char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

enum class Fault { none, empty, too_long, not_utf8, empty_segment, bad_char, reserved };

// The first thing wrong with a name, and where (byte offset; for `reserved`
// the segment's start and length).
struct Finding {
  Fault fault = Fault::none;
  size_t at = 0;
  size_t len = 0;
};

Finding check_segment(std::string_view seg, size_t offset) noexcept {
  if (seg.empty()) return {Fault::empty_segment, offset};
  for (size_t i = 0; i < seg.size(); ++i) {
    const auto c = static_cast<unsigned char>(seg[i]);
    if (!(i == 0 ? is_name_start(c) : is_name_char(c))) return {Fault::bad_char, offset + i};
  }
  if (is_reserved_word(seg)) return {Fault::reserved, offset, seg.size()};
  return {};
}

Finding check(std::string_view name, NameShape shape) noexcept {
  if (name.empty()) return {Fault::empty};
  if (!is_valid_utf8(name)) return {Fault::not_utf8};
  if (name.size() > kMaxNameBytes) return {Fault::too_long};
  if (shape == NameShape::single) return check_segment(name, 0);
  for (size_t start = 0;;) {
    const size_t dot = std::min(name.find('.', start), name.size());
    const Finding f = check_segment(name.substr(start, dot - start), start);
    if (f.fault != Fault::none || dot == name.size()) return f;
    start = dot + 1;
  }
}

// A valid UTF-8 name as shown in a message: at most 40 bytes, cut at a character.
std::string shown(std::string_view name) {
  if (name.size() <= 40) return std::string(name);
  size_t n = 40;
  while (n > 0 && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80) --n;
  return std::string(name.substr(0, n)) + "…";
}

}  // namespace

bool is_reserved_word(std::string_view word) noexcept {
  static constexpr std::string_view kWords[] = {"and",  "as_of", "between", "case",  "else",     "end",   "false", "in",
                                                "is",   "last",  "not",     "null",  "or",       "previous", "since",
                                                "tag",  "then",  "this",    "time",  "trait",    "true",  "when",  "where"};
  char lower[8];
  if (word.size() > sizeof lower) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    const char c = word[i];
    lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view w(lower, word.size());
  return std::find(std::begin(kWords), std::end(kWords), w) != std::end(kWords);
}

bool is_valid_name(std::string_view name, NameShape shape) noexcept { return check(name, shape).fault == Fault::none; }

void validate_name(std::string_view name, const char* what, NameShape shape) {
  const Finding f = check(name, shape);
  if (f.fault == Fault::none) return;
  if (f.fault == Fault::not_utf8) require_utf8(name, what);  // Utf8Error with the offset, as for any text
  if (f.fault == Fault::empty) throw InvalidArgument(std::string(what) + " is empty");
  const std::string head = std::string(what) + " \"" + shown(name) + "\" ";
  switch (f.fault) {
    case Fault::too_long:
      throw InvalidArgument(head + "is " + std::to_string(name.size()) + " bytes, longer than " +
                            std::to_string(kMaxNameBytes));
    case Fault::empty_segment:
      throw InvalidArgument(head + "has an empty segment at byte " + std::to_string(f.at) +
                            " ('.' separates non-empty segments)");
    case Fault::bad_char: {
      const auto c = static_cast<unsigned char>(name[f.at]);
      const std::string ch = c < 0x20 || c == 0x7F ? "character code " + std::to_string(c) : "'" + std::string(1, name[f.at]) + "'";
      throw InvalidArgument(head + "has " + ch + " at byte " + std::to_string(f.at) +
                            ": use letters, digits and '_', not starting with a digit");
    }
    case Fault::reserved:
      throw InvalidArgument(head + "is reserved by the rule language (\"" + std::string(name.substr(f.at, f.len)) +
                            "\")");
    default: break;
  }
}

}  // namespace cdpcore::util
