// The rule language's lexer and recursive-descent parser.
//
//   rules    := { ("tag" | "trait") name "=" expr }
//   expr     := and { "or" and }
//   and      := not { "and" not }
//   not      := "not" not | compare
//   compare  := sum [ cmpop sum | "is" ["not"] "null"
//                   | ["not"] "in" ( list | window | sum )
//                   | ["not"] "between" sum "and" sum ]
//   sum      := product { ("+" | "-") product }
//   product  := unary { ("*" | "/" | "%") unary }
//   unary    := "-" unary | primary
//   primary  := literal | name ["." name] | name "(" args ")" | aggregate
//             | "(" expr ")" | "case" { "when" expr "then" expr } ["else" expr] "end"
//   aggregate:= aggname "(" event ["." property] ["where" expr] ["," window] ")"
//   window   := "last" integer unit | ("this" | "previous") unit ["in" string]
//             | "since" sum | "since" ("last" | "first") event
#include <charconv>
#include <cmath>
#include <cstring>

#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"
#include "rules/syntax.hpp"

namespace cdpcore::rules {

using namespace detail;

namespace {

enum class Tok : uint8_t {
  end,
  name,         // bare word (keywords too: see Token::kw)
  quoted_name,  // `…`
  integer,
  real,
  string,
  lparen, rparen, lbracket, rbracket, comma, dot,
  eq, ne, lt, le, gt, ge,
  plus, minus, star, slash, percent,
};

struct Token {
  Tok kind = Tok::end;
  std::string_view text;  // as written
  std::string kw;         // lower-cased word when it is a keyword, else empty
  std::string value;      // names and strings: the value
  uint64_t uint_value = 0;
  double real_value = 0;
  SourcePos pos;
};

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::end: return "the end of the text";
    case Tok::string: return "the string " + std::string(t.text.substr(0, 40));
    case Tok::quoted_name: return "the name " + std::string(t.text.substr(0, 40));
    case Tok::integer:
    case Tok::real: return "the number " + std::string(t.text.substr(0, 40));
    case Tok::name: return t.kw.empty() ? "the name '" + std::string(t.text.substr(0, 40)) + "'" : "'" + std::string(t.text) + "'";
    default: return "'" + std::string(t.text) + "'";
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  Token next() {
    skip_space();
    Token t;
    t.pos = SourcePos{static_cast<uint32_t>(i_), line_, col_};
    if (i_ >= s_.size()) return t;
    size_t start = i_;
    auto c = static_cast<unsigned char>(s_[i_]);
    auto single = [&](Tok k, size_t n = 1) {
      t.kind = k;
      advance(n);
      t.text = s_.substr(start, n);
      return t;
    };
    if (is_name_start(c)) {
      while (i_ < s_.size() && is_name_char(static_cast<unsigned char>(s_[i_]))) advance(1);
      t.kind = Tok::name;
      t.text = s_.substr(start, i_ - start);
      t.value = std::string(t.text);
      std::string lower = ascii_lower(t.text);
      if (is_keyword(lower)) t.kw = std::move(lower);
      return t;
    }
    if (c >= '0' && c <= '9') return number(t, start);
    if (c == '.' && i_ + 1 < s_.size() && s_[i_ + 1] >= '0' && s_[i_ + 1] <= '9') return number(t, start);
    switch (c) {
      case '"':
      case '\'': return string(t, start, static_cast<char>(c));
      case '`': return quoted_name(t, start);
      case '(': return single(Tok::lparen);
      case ')': return single(Tok::rparen);
      case '[': return single(Tok::lbracket);
      case ']': return single(Tok::rbracket);
      case ',': return single(Tok::comma);
      case '.': return single(Tok::dot);
      case '+': return single(Tok::plus);
      case '-': return single(Tok::minus);
      case '*': return single(Tok::star);
      case '/': return single(Tok::slash);
      case '%': return single(Tok::percent);
      case '=': return single(Tok::eq, peek(1) == '=' ? 2 : 1);
      case '!':
        if (peek(1) == '=') return single(Tok::ne, 2);
        break;
      case '<':
        if (peek(1) == '=') return single(Tok::le, 2);
        if (peek(1) == '>') return single(Tok::ne, 2);
        return single(Tok::lt);
      case '>':
        if (peek(1) == '=') return single(Tok::ge, 2);
        return single(Tok::gt);
      default: break;
    }
    std::string shown = c < 0x20 || c == 0x7F ? "character code " + std::to_string(c) : "'" + std::string(1, static_cast<char>(c)) + "'";
    fail(t.pos, "unexpected " + shown + " (not part of the rule language)");
  }

  [[noreturn]] static void fail(const SourcePos& p, const std::string& what) {
    throw ParseError("line " + std::to_string(p.line) + ", column " + std::to_string(p.column) + ": " + what, p.offset,
                     p.line, p.column);
  }

 private:
  // A name's characters: exactly those of the library's one name rule
  // (util/names.hpp), so every name defined elsewhere (attribute, event
  // type, property, tag, trait, segment) is read here as one bare name; the
  // rule also refuses every keyword. tests/cpp/rules/test_rules_names.cpp
  // checks that both agree.
  static bool is_name_start(unsigned char c) { return c >= 0x80 || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
  static bool is_name_char(unsigned char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
  char peek(size_t k) const { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; }

  void advance(size_t n) {
    for (size_t k = 0; k < n && i_ < s_.size(); ++k) {
      auto c = static_cast<unsigned char>(s_[i_++]);
      if (c == '\n') {
        ++line_;
        col_ = 1;
      } else if ((c & 0xC0) != 0x80) {
        ++col_;  // columns count characters, not bytes
      }
    }
  }

  void skip_space() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        advance(1);
      } else if (c == '#') {
        while (i_ < s_.size() && s_[i_] != '\n') advance(1);
      } else {
        break;
      }
    }
  }

  Token number(Token& t, size_t start) {
    bool real = false;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') advance(1);
    if (i_ < s_.size() && s_[i_] == '.' && i_ + 1 < s_.size() && s_[i_ + 1] >= '0' && s_[i_ + 1] <= '9') {
      real = true;
      advance(1);
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') advance(1);
    } else if (i_ < s_.size() && s_[i_] == '.' && (i_ + 1 >= s_.size() || !is_name_start(static_cast<unsigned char>(s_[i_ + 1])))) {
      real = true;  // "5." is 5.0
      advance(1);
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      size_t j = i_ + 1;
      if (j < s_.size() && (s_[j] == '+' || s_[j] == '-')) ++j;
      if (j < s_.size() && s_[j] >= '0' && s_[j] <= '9') {
        real = true;
        advance(j - i_);
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') advance(1);
      }
    }
    if (i_ < s_.size() && is_name_start(static_cast<unsigned char>(s_[i_])))
      fail(t.pos, "a number may not be followed directly by a letter ('" + std::string(s_.substr(start, i_ - start + 1)) + "')");
    t.text = s_.substr(start, i_ - start);
    std::string digits(t.text);
    if (real) {
      t.kind = Tok::real;
      t.real_value = std::strtod(digits.c_str(), nullptr);
      if (!std::isfinite(t.real_value)) fail(t.pos, "the number " + digits + " is out of range");
    } else {
      t.kind = Tok::integer;
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), t.uint_value);
      if (r.ec != std::errc() || t.uint_value > 9223372036854775808ull)
        fail(t.pos, "the integer " + digits + " is out of range (int64)");
    }
    return t;
  }

  Token string(Token& t, size_t start, char quote) {
    advance(1);
    std::string v;
    while (true) {
      if (i_ >= s_.size()) fail(t.pos, "unterminated string (missing " + std::string(1, quote) + ")");
      char c = s_[i_];
      if (c == quote) {
        advance(1);
        break;
      }
      if (c == '\n') fail(t.pos, "unterminated string (a line break inside a string must be written \\n)");
      if (c == '\\') {
        char e = peek(1);
        SourcePos ep{static_cast<uint32_t>(i_), line_, col_};
        advance(2);
        switch (e) {
          case '"': v.push_back('"'); break;
          case '\'': v.push_back('\''); break;
          case '\\': v.push_back('\\'); break;
          case 'n': v.push_back('\n'); break;
          case 't': v.push_back('\t'); break;
          case 'r': v.push_back('\r'); break;
          case 'u': {
            uint32_t cp = 0;
            for (int k = 0; k < 4; ++k) {
              char h = peek(0);
              int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
              if (d < 0) fail(ep, "\\u needs four hexadecimal digits");
              cp = cp * 16 + static_cast<uint32_t>(d);
              advance(1);
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) fail(ep, "\\u escapes of surrogates are not allowed");
            if (cp < 0x80) v.push_back(static_cast<char>(cp));
            else if (cp < 0x800) {
              v.push_back(static_cast<char>(0xC0 | (cp >> 6)));
              v.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
            } else {
              v.push_back(static_cast<char>(0xE0 | (cp >> 12)));
              v.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
              v.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
            }
            break;
          }
          default: fail(ep, "unknown escape \\" + std::string(1, e) + " (use \\\", \\', \\\\, \\n, \\t, \\r or \\uXXXX)");
        }
        continue;
      }
      v.push_back(c);
      advance(1);
    }
    t.kind = Tok::string;
    t.text = s_.substr(start, i_ - start);
    t.value = std::move(v);
    return t;
  }

  Token quoted_name(Token& t, size_t start) {
    advance(1);
    std::string v;
    while (true) {
      if (i_ >= s_.size() || s_[i_] == '\n') fail(t.pos, "unterminated name (missing `)");
      if (s_[i_] == '`') {
        advance(1);
        break;
      }
      v.push_back(s_[i_]);
      advance(1);
    }
    if (v.empty()) fail(t.pos, "empty name ``");
    if (v.find('.') != std::string::npos) fail(t.pos, "a name may not contain '.'");
    t.kind = Tok::quoted_name;
    t.text = s_.substr(start, i_ - start);
    t.value = std::move(v);
    return t;
  }

  std::string_view s_;
  size_t i_ = 0;
  uint32_t line_ = 1;
  uint32_t col_ = 1;
};

class Parser {
 public:
  Parser(std::string_view text, const Limits& limits) : lex_(text), limits_(limits) {
    if (text.size() > limits.max_text_bytes)
      throw LimitError("the rule text has " + std::to_string(text.size()) + " bytes, more than the limit of " +
                       std::to_string(limits.max_text_bytes));
    if (auto bad = find_invalid_utf8(text)) throw Utf8Error("rule text: invalid UTF-8 at byte " + std::to_string(*bad), *bad);
    cur_ = lex_.next();
    nxt_ = lex_.next();
  }

  Node parse_single() {
    Node n = expr();
    if (cur_.kind != Tok::end) unexpected("an operator (and, or, =, +, …) or the end of the expression");
    check_limits(n, limits_, "expression");
    return n;
  }

  std::vector<Rule> parse_rules() {
    std::vector<Rule> out;
    while (cur_.kind != Tok::end) {
      if (out.size() >= limits_.max_rules)
        throw LimitError("more than " + std::to_string(limits_.max_rules) + " rules in one rule set");
      Rule r;
      r.pos = cur_.pos;
      if (cur_.kw == "tag") r.kind = RuleKind::tag;
      else if (cur_.kw == "trait") r.kind = RuleKind::trait;
      else unexpected("'tag' or 'trait' to start a definition");
      advance();
      r.name = name("the name of the " + std::string(r.kind == RuleKind::tag ? "tag" : "trait"));
      if (cur_.kind != Tok::eq || cur_.text != "=") {
        if (cur_.kind == Tok::name && cur_.kw.empty() && nxt_.kind == Tok::eq)
          unexpected("'=' (a name is one word: use _ or backticks for spaces)");
        unexpected("'=' after the name");
      }
      advance();
      nodes_ = 0;
      r.expr = expr();
      if (cur_.kind != Tok::end && cur_.kw != "tag" && cur_.kw != "trait")
        unexpected("an operator (and, or, =, +, …), the next 'tag'/'trait' definition, or the end");
      check_limits(r.expr, limits_, "rule '" + r.name + "'");
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  void advance() {
    cur_ = std::move(nxt_);
    nxt_ = lex_.next();
  }
  [[noreturn]] void unexpected(const std::string& expected) {
    Lexer::fail(cur_.pos, "unexpected " + describe(cur_) + ", expected " + expected);
  }
  bool kw(std::string_view k) const { return cur_.kind == Tok::name && cur_.kw == k; }
  void expect_kw(std::string_view k, const std::string& what) {
    if (!kw(k)) unexpected(what);
    advance();
  }
  void expect(Tok k, const std::string& what) {
    if (cur_.kind != k) unexpected(what);
    advance();
  }
  std::string name(const std::string& what) {
    if ((cur_.kind == Tok::name && cur_.kw.empty()) || cur_.kind == Tok::quoted_name) {
      std::string v = cur_.value;
      advance();
      return v;
    }
    if (cur_.kind == Tok::name) unexpected(what + " (a keyword as a name must be written in backticks: `" + std::string(cur_.text) + "`)");
    unexpected(what);
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > p.limits_.max_depth)
        throw LimitError("line " + std::to_string(p.cur_.pos.line) + ", column " + std::to_string(p.cur_.pos.column) +
                         ": nesting deeper than the limit of " + std::to_string(p.limits_.max_depth));
    }
    ~DepthGuard() { --p.depth_; }
  };

  Node make(NodeKind k, Op op, SourcePos pos, std::vector<Node> children = {}) {
    if (++nodes_ > limits_.max_nodes)
      throw LimitError("line " + std::to_string(pos.line) + ", column " + std::to_string(pos.column) +
                       ": the rule has more than " + std::to_string(limits_.max_nodes) + " nodes");
    Node n;
    n.kind = k;
    n.op = op;
    n.pos = pos;
    n.children = std::move(children);
    return n;
  }

  Node expr() {
    DepthGuard g(*this);
    Node left = and_expr();
    while (kw("or")) {
      SourcePos p = cur_.pos;
      advance();
      Node right = and_expr();
      left = make(NodeKind::binary, Op::or_, p, {std::move(left), std::move(right)});
    }
    return left;
  }

  Node and_expr() {
    Node left = not_expr();
    while (kw("and")) {
      SourcePos p = cur_.pos;
      advance();
      Node right = not_expr();
      left = make(NodeKind::binary, Op::and_, p, {std::move(left), std::move(right)});
    }
    return left;
  }

  Node not_expr() {
    DepthGuard g(*this);
    if (kw("not")) {
      SourcePos p = cur_.pos;
      advance();
      return make(NodeKind::unary, Op::not_, p, {not_expr()});
    }
    return compare();
  }

  Node compare() {
    Node left = sum();
    SourcePos p = cur_.pos;
    Op op = Op::none;
    switch (cur_.kind) {
      case Tok::eq: op = Op::eq; break;
      case Tok::ne: op = Op::ne; break;
      case Tok::lt: op = Op::lt; break;
      case Tok::le: op = Op::le; break;
      case Tok::gt: op = Op::gt; break;
      case Tok::ge: op = Op::ge; break;
      default: break;
    }
    if (op != Op::none) {
      advance();
      Node right = sum();
      return make(NodeKind::binary, op, p, {std::move(left), std::move(right)});
    }
    if (kw("is")) {
      advance();
      bool negate = false;
      if (kw("not")) {
        negate = true;
        advance();
      }
      expect_kw("null", negate ? "'null' after 'is not'" : "'null' or 'not null' after 'is'");
      return make(NodeKind::is_null, negate ? Op::is_not_null : Op::is_null, p, {std::move(left)});
    }
    bool negate = false;
    if (kw("not") && nxt_.kind == Tok::name && (nxt_.kw == "in" || nxt_.kw == "between")) {
      negate = true;
      advance();
    }
    if (kw("in")) {
      advance();
      Node right;
      if (cur_.kind == Tok::lbracket) right = list();
      else if (kw("last") || kw("this") || kw("previous") || kw("since")) right = window();
      else right = sum();
      return make(NodeKind::in, negate ? Op::not_in : Op::in, p, {std::move(left), std::move(right)});
    }
    if (kw("between")) {
      advance();
      Node lo = sum();
      expect_kw("and", "'and' between the bounds of 'between'");
      Node hi = sum();
      return make(NodeKind::between, negate ? Op::not_between : Op::between, p,
                  {std::move(left), std::move(lo), std::move(hi)});
    }
    if (negate) unexpected("'in' or 'between' after 'not'");
    return left;
  }

  Node sum() {
    Node left = product();
    while (cur_.kind == Tok::plus || cur_.kind == Tok::minus) {
      SourcePos p = cur_.pos;
      Op op = cur_.kind == Tok::plus ? Op::add : Op::sub;
      advance();
      Node right = product();
      left = make(NodeKind::binary, op, p, {std::move(left), std::move(right)});
    }
    return left;
  }

  Node product() {
    Node left = unary();
    while (cur_.kind == Tok::star || cur_.kind == Tok::slash || cur_.kind == Tok::percent) {
      SourcePos p = cur_.pos;
      Op op = cur_.kind == Tok::star ? Op::mul : cur_.kind == Tok::slash ? Op::div : Op::mod;
      advance();
      Node right = unary();
      left = make(NodeKind::binary, op, p, {std::move(left), std::move(right)});
    }
    return left;
  }

  Node unary() {
    DepthGuard g(*this);
    if (cur_.kind == Tok::minus) {
      SourcePos p = cur_.pos;
      advance();
      // A minus sign directly before a number is part of the literal.
      if (cur_.kind == Tok::integer) {
        uint64_t v = cur_.uint_value;
        advance();
        Node n = make(NodeKind::literal, Op::none, p);
        n.literal = v == 9223372036854775808ull ? INT64_MIN : -static_cast<int64_t>(v);
        return n;
      }
      if (cur_.kind == Tok::real) {
        double v = cur_.real_value;
        advance();
        Node n = make(NodeKind::literal, Op::none, p);
        n.literal = -v;
        return n;
      }
      return make(NodeKind::unary, Op::neg, p, {unary()});
    }
    return primary();
  }

  Node list() {
    SourcePos p = cur_.pos;
    advance();  // [
    Node n = make(NodeKind::list, Op::none, p);
    if (cur_.kind != Tok::rbracket) {
      while (true) {
        n.children.push_back(expr());
        if (cur_.kind == Tok::comma) {
          advance();
          continue;
        }
        break;
      }
    }
    expect(Tok::rbracket, "',' or ']' in the list");
    return n;
  }

  int64_t window_count() {
    if (cur_.kind != Tok::integer) unexpected("a whole number of units after 'last' (as in 'last 30 days')");
    if (cur_.uint_value > 1000000) Lexer::fail(cur_.pos, "a window of " + std::string(cur_.text) + " units is too long (at most 1000000)");
    auto v = static_cast<int64_t>(cur_.uint_value);
    advance();
    return v;
  }

  Node window() {
    SourcePos p = cur_.pos;
    Node w = make(NodeKind::window, Op::none, p);
    if (kw("last")) {
      advance();
      w.window = WindowKind::last;
      w.count = window_count();
      if (cur_.kind != Tok::name) unexpected("a unit: minutes, hours, days or weeks");
      auto u = duration_unit(ascii_lower(cur_.text));
      if (u.empty()) unexpected("a unit: minutes, hours, days or weeks");
      w.unit = std::string(u);
      advance();
      return w;
    }
    if (kw("this") || kw("previous")) {
      w.window = kw("this") ? WindowKind::this_ : WindowKind::previous;
      advance();
      if (cur_.kind != Tok::name) unexpected("a calendar unit: day, week, month or year");
      auto u = calendar_unit(ascii_lower(cur_.text));
      if (u.empty()) unexpected("a calendar unit: day, week, month or year");
      w.unit = std::string(u);
      advance();
      if (kw("in") && nxt_.kind == Tok::string) {
        advance();
        if (cur_.value.empty()) Lexer::fail(cur_.pos, "the time zone name is empty");
        w.zone = cur_.value;
        advance();
      }
      return w;
    }
    if (kw("since")) {
      advance();
      w.window = WindowKind::since;
      // "since last add_to_cart" means since the time of the last add_to_cart.
      bool sugar = (kw("last") || (cur_.kind == Tok::name && cur_.kw.empty() && cur_.text == "first")) &&
                   (nxt_.kind == Tok::name || nxt_.kind == Tok::quoted_name) && nxt_.kw.empty();
      if (sugar) {
        SourcePos ap = cur_.pos;
        std::string fn = kw("last") ? "last" : "first";
        advance();
        SourcePos ep = cur_.pos;
        std::string event = name("an event type");
        Node agg = make(NodeKind::aggregate, Op::none, ap);
        agg.name = fn;
        Node target = make(NodeKind::ref, Op::none, ep);
        target.name = event + ".time";
        agg.children.push_back(std::move(target));
        agg.children.push_back(Node{});
        agg.children.push_back(Node{});
        w.children.push_back(std::move(agg));
      } else {
        w.children.push_back(sum());
      }
      return w;
    }
    unexpected("a window: 'last N days', 'this month', 'previous week' or 'since …'");
  }

  Node primary() {
    SourcePos p = cur_.pos;
    switch (cur_.kind) {
      case Tok::integer: {
        if (cur_.uint_value > static_cast<uint64_t>(INT64_MAX)) Lexer::fail(p, "the integer " + std::string(cur_.text) + " is out of range (int64)");
        Node n = make(NodeKind::literal, Op::none, p);
        n.literal = static_cast<int64_t>(cur_.uint_value);
        advance();
        return n;
      }
      case Tok::real: {
        Node n = make(NodeKind::literal, Op::none, p);
        n.literal = cur_.real_value;
        advance();
        return n;
      }
      case Tok::string: {
        Node n = make(NodeKind::literal, Op::none, p);
        n.literal = cur_.value;
        advance();
        return n;
      }
      case Tok::lparen: {
        advance();
        Node n = expr();
        expect(Tok::rparen, "')' to close the '(' at line " + std::to_string(p.line) + ", column " + std::to_string(p.column));
        return n;
      }
      case Tok::lbracket: unexpected("an expression (a list [...] is only allowed after 'in')");
      case Tok::name:
      case Tok::quoted_name: break;
      default: unexpected("an expression");
    }
    if (cur_.kind == Tok::name && !cur_.kw.empty()) {
      const std::string k = cur_.kw;
      if (k == "true" || k == "false" || k == "null") {
        Node n = make(NodeKind::literal, Op::none, p);
        if (k == "null") n.literal = std::monostate{};
        else n.literal = (k == "true");
        advance();
        return n;
      }
      if (k == "as_of") {
        advance();
        Node n = make(NodeKind::ref, Op::none, p);
        n.name = "as_of";
        return n;
      }
      if (k == "case") return case_when();
      if (k == "last" && nxt_.kind == Tok::lparen) {
        advance();
        return call_or_aggregate("last", p);
      }
      unexpected("an expression");
    }
    bool quoted = cur_.kind == Tok::quoted_name;
    std::string first = cur_.value;
    advance();
    if (!quoted && cur_.kind == Tok::lparen) return call_or_aggregate(first, p);
    Node n = make(NodeKind::ref, Op::none, p);
    n.name = first;
    if (cur_.kind == Tok::dot) {
      advance();
      n.name += "." + name("a property name after '.'");
    }
    return n;
  }

  Node call_or_aggregate(const std::string& fn, SourcePos p) {
    advance();  // (
    if (is_aggregate(fn)) {
      Node agg = make(NodeKind::aggregate, Op::none, p);
      agg.name = fn;
      SourcePos tp = cur_.pos;
      Node target = make(NodeKind::ref, Op::none, tp);
      target.name = name("an event type (as in " + fn + "(order.amount))");
      if (cur_.kind == Tok::dot) {
        advance();
        target.name += "." + name("a property name after '.'");
      }
      agg.children.push_back(std::move(target));
      if (kw("where")) {
        advance();
        agg.children.push_back(expr());
      } else {
        agg.children.push_back(Node{});
      }
      if (cur_.kind == Tok::comma) {
        advance();
        agg.children.push_back(window());
      } else {
        agg.children.push_back(Node{});
      }
      expect(Tok::rparen, "'where', ',' and a window, or ')' in " + fn + "(…)");
      return agg;
    }
    Node call = make(NodeKind::call, Op::none, p);
    call.name = fn;
    if (cur_.kind != Tok::rparen) {
      while (true) {
        call.children.push_back(expr());
        if (cur_.kind == Tok::comma) {
          advance();
          continue;
        }
        break;
      }
    }
    expect(Tok::rparen, "',' or ')' in " + fn + "(…)");
    return call;
  }

  Node case_when() {
    SourcePos p = cur_.pos;
    advance();  // case
    Node n = make(NodeKind::case_when, Op::none, p);
    if (!kw("when")) unexpected("'when' after 'case'");
    while (kw("when")) {
      advance();
      n.children.push_back(expr());
      expect_kw("then", "'then' after the condition of 'when'");
      n.children.push_back(expr());
    }
    if (kw("else")) {
      advance();
      n.children.push_back(expr());
    }
    expect_kw("end", "'when', 'else' or 'end' in case … end");
    return n;
  }

  Lexer lex_;
  Limits limits_;
  Token cur_, nxt_;
  uint32_t depth_ = 0;
  uint32_t nodes_ = 0;
};

}  // namespace

Node parse_expression(std::string_view text, const Limits& limits) { return Parser(text, limits).parse_single(); }

std::vector<Rule> parse_rules(std::string_view text, const Limits& limits) { return Parser(text, limits).parse_rules(); }

}  // namespace cdpcore::rules
