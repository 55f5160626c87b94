// The rule language reads exactly the names the library's one name rule
// (util/names.hpp) lets users define: each is one bare name in rule text.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cdpcore/rules.hpp"
#include "rules/syntax.hpp"
#include "util/names.hpp"

using namespace cdpcore;

TEST_CASE("rules: every keyword of the language is a word the name rule reserves") {
  for (std::string_view w : rules::detail::keywords()) {
    INFO(w);
    CHECK(util::is_reserved_word(w));
    CHECK(util::is_reserved_word(rules::detail::ascii_lower(w)));
    std::string upper(w);
    for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    CHECK_FALSE(util::is_valid_name(upper));
  }
}

TEST_CASE("rules: a name is written bare exactly when the name rule accepts it") {
  // Every name of one to three characters over letters, digits, '_', a
  // non-ASCII letter and characters that end a name.
  const std::vector<std::string> alphabet = {"a", "Z", "_", "0", "9", "é", "-", ".", " ", ":"};
  std::vector<std::string> names = {""};
  for (int len = 1; len <= 3; ++len) {
    std::vector<std::string> longer;
    for (const auto& n : names)
      for (const auto& c : alphabet) longer.push_back(n + c);
    names.insert(names.end(), longer.begin(), longer.end());
  }
  for (const char* extra : {"vip", "order", "会员等级", "and", "in", "tag", "as_of", "count", "sum", "last"})
    names.emplace_back(extra);
  size_t accepted = 0;
  for (const std::string& name : names) {
    INFO("name \"" << name << "\"");
    const bool valid = util::is_valid_name(name);
    CHECK(rules::detail::is_bare_name(name) == valid);
    if (!valid) continue;
    ++accepted;
    const rules::Node n = rules::parse_expression(name);
    CHECK(n.kind == rules::NodeKind::ref);
    CHECK(n.name == name);
    CHECK(rules::to_text(n) == name);
  }
  CHECK(accepted > 100);
  // "time" is reserved for names (an event's own time in `where` clauses)
  // without being a keyword of the grammar.
  CHECK(rules::detail::is_bare_name("time"));
  CHECK_FALSE(util::is_valid_name("time"));
}
