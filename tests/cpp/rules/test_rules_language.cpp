// The rule language: parsing, errors with positions, printing, JSON, limits,
// and a fuzz corpus that must never crash or hang the parser.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "cdpcore/error.hpp"
#include "cdpcore/rules.hpp"

using namespace cdpcore;
using namespace cdpcore::rules;

namespace {

const char* const kExamples[] = {
    R"(sum(order.amount, last 365 days) >= 5000 or member_level in ["gold", "platinum"])",
    R"(count(order) >= 1 and count(page_view, last 60 days) = 0)",
    R"(case when avg(order.amount, last 180 days) >= 500 then "high" when avg(order.amount, last 180 days) >= 150 then "mid" else "low" end)",
    R"(most_frequent(order.category, last 90 days))",
    R"(count(order, last 30 days) >= 2)",
    R"(count(add_to_cart, last 3 days) >= 1 and count(order, since last add_to_cart) = 0)",
    R"(signup_at in last 30 days)",
    R"(case when age(birthday) < 25 then "18-24" when age(birthday) < 35 then "25-34" when age(birthday) >= 35 then "35+" end)",
    R"(count(sms_click, last 90 days) / count(sms_sent, last 90 days) >= 0.1)",
    R"(count_distinct(order.store) >= 3)",
    R"(-x + -5 * (2 - -3.5) % 4 != -(7))",
    R"(not a and (b or c) and not (d = 1))",
    R"(x between 1 and 10 and y not between 2.5 and 3 and z not in [1, 2, null])",
    R"(name is not null and lower(trim(name)) = "bob" and contains(tags, "vip"))",
    R"(count(order where amount > 100 and category in ["shoes", "bags"], this month in "Asia/Shanghai") > 0)",
    R"(sum(order.amount, previous week) > 0 and last(order.time) > as_of - days(7))",
    R"(`weird name` = "tab\t\"quote\"\u00e9" and `case` = 'single')",
    R"(会员等级 = "金卡")",
    R"(1e3 = 1000.0 and 0.5 < .75 and 5. = 5)",
    R"(count(order, since timestamp("2024-01-01")) > 0)",
    R"(coalesce(a, b, 0) > least(1, 2, 3))",
    R"(count(order where time > as_of - hours(1), last 1 day) > 0)",
};

}  // namespace

TEST_CASE("rules: text and JSON round trips are the identity on the tree") {
  for (const char* text : kExamples) {
    CAPTURE(text);
    Node n = parse_expression(text);
    std::string printed = to_text(n);
    CAPTURE(printed);
    Node again = parse_expression(printed);
    CHECK(again == n);
    std::string j = to_json(n);
    CAPTURE(j);
    Node from = from_json(j);
    CHECK(from == n);
    CHECK(to_json(from) == j);
    CHECK(parse_expression(to_text(from)) == n);
  }
}

TEST_CASE("rules: the tree has the expected shape") {
  Node n = parse_expression("a + b * c >= 3 and not d");
  REQUIRE(n.kind == NodeKind::binary);
  CHECK(n.op == Op::and_);
  const Node& ge = n.children[0];
  CHECK(ge.op == Op::ge);
  CHECK(ge.children[0].op == Op::add);
  CHECK(ge.children[0].children[1].op == Op::mul);
  CHECK(n.children[1].kind == NodeKind::unary);
  CHECK(n.pos.line == 1);
  CHECK(n.children[1].pos.column == 20);
  Node agg = parse_expression("sum(order.amount where category = \"x\", last 30 days)");
  REQUIRE(agg.kind == NodeKind::aggregate);
  CHECK(agg.name == "sum");
  CHECK(agg.children[0].name == "order.amount");
  CHECK(agg.children[1].kind == NodeKind::binary);
  CHECK(agg.children[2].window == WindowKind::last);
  CHECK(agg.children[2].count == 30);
  CHECK(agg.children[2].unit == "days");
  Node since = parse_expression("count(order, since last add_to_cart)");
  const Node& w = since.children[2];
  CHECK(w.window == WindowKind::since);
  CHECK(w.children[0].kind == NodeKind::aggregate);
  CHECK(w.children[0].name == "last");
  CHECK(w.children[0].children[0].name == "add_to_cart.time");
  // the sugar equals the long form
  CHECK(since == parse_expression("count(order, since last(add_to_cart.time))"));
  // keywords are case-insensitive, = and == are the same
  CHECK(parse_expression("a = 1 AND b == 2 Or NOT c") == parse_expression("a = 1 and b = 2 or not c"));
  CHECK(parse_expression("-5").kind == NodeKind::literal);
  CHECK(std::get<int64_t>(parse_expression("-9223372036854775808").literal) == INT64_MIN);
}

TEST_CASE("rules: rule sets parse with comments and print back") {
  std::string text = R"(
# Big spenders
tag vip = sum(order.amount, last 365 days) >= 5000
          or member_level in ["gold", "platinum"]
trait spend = sum(order.amount)   # a number per person
tag `price band` = case when spend > 1 then "x" end
)";
  auto rules = parse_rules(text);
  REQUIRE(rules.size() == 3);
  CHECK(rules[0].name == "vip");
  CHECK(rules[0].kind == RuleKind::tag);
  CHECK(rules[0].pos.line == 3);
  CHECK(rules[1].kind == RuleKind::trait);
  CHECK(rules[2].name == "price band");
  auto again = parse_rules(rules_to_text(rules));
  CHECK(again == rules);
  auto from = rules_from_json(rules_to_json(rules));
  CHECK(from == rules);
  CHECK(parse_rules("").empty());
  CHECK(parse_rules("  # only a comment\n").empty());
}

TEST_CASE("rules: parse errors name line, column, token and what was expected") {
  auto message = [](const std::string& text) -> std::string {
    try {
      parse_rules(text);
    } catch (const ParseError& e) {
      return std::string(e.what()) + " @" + std::to_string(e.line()) + ":" + std::to_string(e.column());
    }
    return "no error";
  };
  std::string m = message("tag vip = count(order) >=\n");
  CHECK(m.find("line 2, column 1") != std::string::npos);
  CHECK(m.find("end of the text") != std::string::npos);
  CHECK(m.find("expected an expression") != std::string::npos);
  m = message("tag a = x\ntag b = (1 + 2");
  CHECK(m.find("line 2, column 15") != std::string::npos);
  CHECK(m.find("')'") != std::string::npos);
  m = message("tag a = count(order, last 30 parsecs)");
  CHECK(m.find("parsecs") != std::string::npos);
  CHECK(m.find("minutes, hours, days or weeks") != std::string::npos);
  m = message("tag a = x ? 1");
  CHECK(m.find("line 1, column 11") != std::string::npos);
  CHECK(m.find("'?'") != std::string::npos);
  m = message("tag a = \"unterminated");
  CHECK(m.find("unterminated string") != std::string::npos);
  m = message("tag a = 1 < 2 < 3");
  CHECK(m.find("'<'") != std::string::npos);
  m = message("vip = 1");
  CHECK(m.find("'tag' or 'trait'") != std::string::npos);
  m = message("tag case = 1");
  CHECK(m.find("backticks") != std::string::npos);
  m = message("tag a = 99999999999999999999");
  CHECK(m.find("out of range") != std::string::npos);
  m = message("tag a = sum(order.amount, last 30 days");
  CHECK(m.find("')'") != std::string::npos);
  try {
    parse_expression("a = \xff");
    FAIL("expected a UTF-8 error");
  } catch (const Utf8Error& e) {
    CHECK(e.offset() == 4);
  }
}

TEST_CASE("rules: JSON errors name the path") {
  auto message = [](const std::string& j) -> std::string {
    try {
      from_json(j);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(message(R"({"op": ">=", "args": [{"ref": "a"}]})").find("$.args") != std::string::npos);
  CHECK(message(R"({"op": "xor", "args": []})").find("unknown operator") != std::string::npos);
  CHECK(message(R"({"op": "and", "args": [{"ref": "a"}, {"bogus": 1}]})").find("$.args[1]") != std::string::npos);
  CHECK(message(R"({"aggregate": "median", "of": "order.amount"})").find("$.aggregate") != std::string::npos);
  CHECK(message(R"({"aggregate": "sum", "of": "order.amount", "window": {"window": "last", "count": 3, "unit": "years"}})")
            .find("$.window.unit") != std::string::npos);
  CHECK(message(R"({"ref": "a", "extra": 1})").find("unexpected key") != std::string::npos);
  CHECK(message("{not json").find("rule JSON") != std::string::npos);
}

TEST_CASE("rules: limits on untrusted rules") {
  Limits small;
  small.max_depth = 10;
  std::string deep(50, '(');
  deep += "1";
  deep += std::string(50, ')');
  CHECK_THROWS_AS(parse_expression(deep, small), LimitError);
  std::string nots;
  for (int i = 0; i < 30; ++i) nots += "not ";
  nots += "a";
  CHECK_THROWS_AS(parse_expression(nots, small), LimitError);
  Limits few;
  few.max_nodes = 20;
  std::string wide = "a";
  for (int i = 0; i < 30; ++i) wide += " or a";
  CHECK_THROWS_AS(parse_expression(wide, few), LimitError);
  Limits tiny;
  tiny.max_text_bytes = 10;
  CHECK_THROWS_AS(parse_rules("tag a = 1 or 2 or 3", tiny), LimitError);
  Limits two;
  two.max_rules = 2;
  CHECK_THROWS_AS(parse_rules("tag a = 1 tag b = 1 tag c = 1", two), LimitError);
  // very deep JSON is refused before it is parsed
  std::string j;
  for (int i = 0; i < 100000; ++i) j += "{\"op\":\"not\",\"args\":[";
  CHECK_THROWS_AS(from_json(j), LimitError);
  // the default depth stops a stack-busting text
  std::string huge(200000, '(');
  CHECK_THROWS_AS(parse_expression(huge), LimitError);
}

TEST_CASE("rules: the parser survives a fuzz corpus of random and mutated rules") {
  std::mt19937_64 rng(12345);
  const std::string alphabet = "abcxyz_0123456789 .,()[]<>=!+-*/%\"'`#\n\tandornotinisnullwhenthencaseendlastsincethis";
  const std::vector<std::string> words = {"and", "or", "not", "in", "between", "is", "null", "case", "when", "then",
                                          "else", "end", "(", ")", "[", "]", ",", ".", "=", ">=", "-", "*", "last",
                                          "this", "previous", "since", "days", "month", "count(", "sum(", "order",
                                          "amount", "where", "\"s\"", "3", "2.5", "`q`", "tag", "trait", "x"};
  size_t parsed = 0, rejected = 0;
  auto attempt = [&](const std::string& text) {
    try {
      auto rules = parse_rules(text);
      // whatever parses must print and re-parse to the same tree
      CHECK(parse_rules(rules_to_text(rules)) == rules);
      CHECK(rules_from_json(rules_to_json(rules)) == rules);
      ++parsed;
    } catch (const Error&) {
      ++rejected;  // ParseError, LimitError, Utf8Error: all are fine
    }
  };
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    size_t len = rng() % 60;
    for (size_t k = 0; k < len; ++k) s.push_back(alphabet[rng() % alphabet.size()]);
    attempt(s);
    attempt("tag t = " + s);
    std::string w = "tag t =";
    size_t nw = rng() % 25;
    for (size_t k = 0; k < nw; ++k) w += " " + words[rng() % words.size()];
    attempt(w);
  }
  for (const char* ex : kExamples) {
    std::string base = std::string("tag t = ") + ex;
    for (int m = 0; m < 200; ++m) {
      std::string s = base;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        size_t pos = rng() % s.size();
        switch (rng() % 4) {
          case 0: s.erase(pos, 1 + rng() % 3); break;
          case 1: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
          case 2: s[pos] = static_cast<char>(rng() % 256); break;
          default: s.insert(pos, " " + words[rng() % words.size()] + " "); break;
        }
      }
      attempt(s);
    }
  }
  CHECK(parsed > 100);
  CHECK(rejected > 100);
}

TEST_CASE("rules: mutated JSON never crashes the reader") {
  std::mt19937_64 rng(99);
  size_t ok = 0, rejected = 0;
  for (const char* ex : kExamples) {
    std::string base = to_json(parse_expression(ex));
    for (int m = 0; m < 150; ++m) {
      std::string s = base;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        size_t pos = rng() % s.size();
        switch (rng() % 3) {
          case 0: s.erase(pos, 1 + rng() % 4); break;
          case 1: s.insert(pos, 1, "{}[]\",:0a-"[rng() % 11]); break;
          default: s[pos] = static_cast<char>(rng() % 128); break;
        }
      }
      try {
        Node n = from_json(s);
        CHECK(from_json(to_json(n)) == n);
        ++ok;
      } catch (const Error&) {
        ++rejected;
      }
    }
  }
  CHECK(rejected > 100);
}
