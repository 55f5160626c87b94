// Random rule trees, well-typed or not, compile or fail cleanly, and whatever
// compiles evaluates for everyone and for single persons without crashing,
// with batch and single-person results agreeing.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "cdpcore/error.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/rules.hpp"

using namespace cdpcore;
using namespace cdpcore::rules;

namespace {

const Timestamp kAsOf = 1'718'452'800'000'000;  // 2024-06-15T12:00:00Z

struct Gen {
  std::mt19937_64 rng{2024};
  int pick(int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); }

  Node literal() {
    switch (pick(9)) {
      case 0: return Node::make_literal(std::monostate{});
      case 1: return Node::make_literal(pick(2) == 0);
      case 2: return Node::make_literal(static_cast<int64_t>(pick(200)) - 50);
      case 3: return Node::make_literal(std::numeric_limits<int64_t>::max());
      case 4: return Node::make_literal(1e308);
      case 5: return Node::make_literal(static_cast<double>(pick(1000)) / 7.0);
      case 6: return Node::make_literal(std::string(pick(2) ? "gold" : "上海"));
      case 7: return Node::make_literal(std::string("2024-06-01"));
      default: return Node::make_literal(int64_t{0});
    }
  }

  Node window() {
    Node w;
    w.kind = NodeKind::window;
    switch (pick(4)) {
      case 0:
        w.window = WindowKind::last;
        w.count = pick(400);
        w.unit = pick(2) ? "days" : "hours";
        break;
      case 1:
        w.window = pick(2) ? WindowKind::this_ : WindowKind::previous;
        w.unit = std::vector<std::string>{"day", "week", "month", "year"}[static_cast<size_t>(pick(4))];
        break;
      default:
        w.window = WindowKind::since;
        w.children.push_back(pick(2) ? Node::make_ref("signup_at") : Node::make_ref("as_of"));
    }
    return w;
  }

  Node row_expr(int depth) {
    if (depth <= 0 || pick(3) == 0) {
      switch (pick(4)) {
        case 0: return Node::make_ref("amount");
        case 1: return Node::make_ref("category");
        case 2: return Node::make_ref("time");
        default: return literal();
      }
    }
    static const Op ops[] = {Op::gt, Op::eq, Op::and_, Op::or_, Op::add, Op::div};
    return Node::make(NodeKind::binary, ops[pick(6)], {row_expr(depth - 1), row_expr(depth - 1)});
  }

  Node expr(int depth) {
    if (depth <= 0 || pick(5) == 0) {
      switch (pick(4)) {
        case 0: return literal();
        case 1: return Node::make_ref(std::vector<std::string>{"level", "score", "signup_at", "n", "tags", "as_of"}[static_cast<size_t>(pick(6))]);
        default: {
          Node a;
          a.kind = NodeKind::aggregate;
          a.name = std::vector<std::string>{"count", "sum", "avg", "min", "max", "count_distinct", "first", "last",
                                            "most_frequent"}[static_cast<size_t>(pick(9))];
          std::string target = pick(2) ? "order" : "view";
          if (target == "order" && pick(4) != 0)
            target += std::vector<std::string>{".amount", ".category", ".time", ".qty"}[static_cast<size_t>(pick(4))];
          a.children.push_back(Node::make_ref(target));
          a.children.push_back(pick(3) == 0 && target.rfind("order", 0) == 0 ? row_expr(2) : Node{});
          a.children.push_back(pick(2) ? window() : Node{});
          return a;
        }
      }
    }
    switch (pick(8)) {
      case 0: {
        static const Op ops[] = {Op::add, Op::sub, Op::mul, Op::div, Op::mod, Op::eq, Op::ne, Op::lt, Op::ge,
                                 Op::and_, Op::or_};
        return Node::make(NodeKind::binary, ops[pick(11)], {expr(depth - 1), expr(depth - 1)});
      }
      case 1: return Node::make(NodeKind::unary, pick(2) ? Op::not_ : Op::neg, {expr(depth - 1)});
      case 2: {
        Node list;
        list.kind = NodeKind::list;
        for (int i = 0; i < 1 + pick(3); ++i) list.children.push_back(literal());
        return Node::make(NodeKind::in, pick(2) ? Op::in : Op::not_in, {expr(depth - 1), std::move(list)});
      }
      case 3: return Node::make(NodeKind::between, Op::between, {expr(depth - 1), expr(depth - 1), expr(depth - 1)});
      case 4: return Node::make(NodeKind::is_null, pick(2) ? Op::is_null : Op::is_not_null, {expr(depth - 1)});
      case 5: {
        Node c;
        c.kind = NodeKind::call;
        c.name = std::vector<std::string>{"lower", "length", "abs", "round", "coalesce", "least", "days_since", "age",
                                          "year", "concat", "contains", "days", "size", "timestamp"}[static_cast<size_t>(pick(14))];
        for (int i = 0; i < 1 + pick(2); ++i) c.children.push_back(expr(depth - 1));
        return c;
      }
      case 6: {
        Node c;
        c.kind = NodeKind::case_when;
        for (int i = 0; i < 1 + pick(2); ++i) {
          c.children.push_back(expr(depth - 1));
          c.children.push_back(expr(depth - 1));
        }
        if (pick(2)) c.children.push_back(expr(depth - 1));
        return c;
      }
      default: {
        Node w = window();
        return Node::make(NodeKind::in, Op::in, {expr(depth - 1), std::move(w)});
      }
    }
  }
};

}  // namespace

TEST_CASE("rules: random trees compile or fail cleanly, and evaluate consistently") {
  ProfileStore s;
  s.define_attribute({"level", ValueType::string});
  s.define_attribute({"score", ValueType::float64});
  s.define_attribute({"signup_at", ValueType::timestamp});
  s.define_attribute({"n", ValueType::int64});
  s.define_attribute({"tags", ValueType::string_set, MergePolicy::union_});
  s.define_event_type({"order", {{"amount", ValueType::float64}, {"category", ValueType::string}, {"qty", ValueType::int64}}});
  s.define_event_type({"view", {}});
  std::mt19937_64 rng(1);
  const PersonOrdinal persons = 40;
  {
    std::vector<PersonOrdinal> who;
    std::vector<std::string_view> level;
    std::vector<double> score;
    std::vector<int64_t> signup, n;
    std::vector<uint8_t> valid;
    for (PersonOrdinal p = 0; p < persons; ++p) {
      who.push_back(p);
      level.push_back(p % 3 ? "gold" : "上海");
      score.push_back(p % 4 ? static_cast<double>(p) : std::nan(""));
      signup.push_back(kAsOf - static_cast<int64_t>(p) * 86'400'000'000LL);
      n.push_back(p % 5 == 0 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(p) - 20);
      valid.push_back(p % 6 != 0);
    }
    std::vector<ColumnInput> cols = {ColumnInput::of_strings("level", level), ColumnInput::of_doubles("score", score),
                                     ColumnInput::of_timestamps("signup_at", signup), ColumnInput::of_int64s("n", n)};
    cols[0].valid = valid;
    s.upsert_attributes(RowKeys::of(who), cols);
    std::vector<PersonOrdinal> ew;
    std::vector<Timestamp> t;
    std::vector<double> amount;
    std::vector<std::string_view> cat;
    std::vector<int64_t> qty;
    for (int i = 0; i < 600; ++i) {
      ew.push_back(static_cast<PersonOrdinal>(rng() % (persons - 5)));
      t.push_back(kAsOf - static_cast<int64_t>(rng() % 500) * 86'400'000'000LL + static_cast<int64_t>(rng() % 1000));
      amount.push_back(i % 17 == 0 ? std::nan("") : i % 29 == 0 ? 1e308 : static_cast<double>(rng() % 1000));
      cat.push_back(i % 3 ? "a" : "b");
      qty.push_back(i % 11 == 0 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(rng() % 5));
    }
    std::vector<ColumnInput> props = {ColumnInput::of_doubles("amount", amount), ColumnInput::of_strings("category", cat),
                                      ColumnInput::of_int64s("qty", qty)};
    s.append_events("order", RowKeys::of(ew), t, props);
    s.append_events("view", RowKeys::of(std::span<const PersonOrdinal>(ew.data(), 300)),
                    std::span<const Timestamp>(t.data(), 300), {});
  }
  Gen g;
  size_t compiled = 0, failed = 0, boolean = 0;
  for (int i = 0; i < 1500; ++i) {
    Node tree = g.expr(4);
    // whatever the tree, text and JSON round trips hold
    CHECK(from_json(to_json(tree)) == tree);
    std::string text = to_text(tree);
    INFO("expression: ", text);
    try {
      CHECK(parse_expression(text) == tree);
    } catch (const LimitError&) {
    }
    try {
      auto e = CompiledExpression::compile(s, tree);
      ++compiled;
      if (e.type() == ValueType::boolean) {
        ++boolean;
        Bitmap all = e.evaluate_all(s, kAsOf);
        for (PersonOrdinal p = 0; p < persons; p += 3) CHECK(e.evaluate_one(s, p, kAsOf) == all.contains(p));
      } else if (e.type() != ValueType::string && e.type() != ValueType::string_set && e.type() != ValueType::null) {
        auto col = e.evaluate_numeric(s, kAsOf);
        for (PersonOrdinal p = 0; p < persons; p += 5) {
          Value v = e.evaluate_value(s, p, kAsOf);
          bool null = std::holds_alternative<std::monostate>(v);
          CHECK(null == !col.valid[p]);
        }
      } else {
        for (PersonOrdinal p = 0; p < persons; p += 7) (void)e.evaluate_value(s, p, kAsOf);
      }
    } catch (const Error&) {
      ++failed;  // type errors, unknown names: reported, never a crash
    }
  }
  CHECK(compiled > 200);
  CHECK(boolean > 50);
  CHECK(failed > 200);
}
