// Type checking and compilation of rule trees into programs.
#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"
#include "rules/program.hpp"
#include "rules/syntax.hpp"

namespace cdpcore::rules_detail {

using rules::Node;
using rules::NodeKind;
using rules::Op;
using rules::WindowKind;

namespace {

bool numeric(ValueType t) { return t == ValueType::int64 || t == ValueType::float64; }
bool nullish(ValueType t) { return t == ValueType::null; }

std::string short_text(const Node& n) {
  std::string s = rules::to_text(n);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

std::string tname(ValueType t) { return value_type_name(t); }

struct Scope {
  bool row = false;
  int event = -1;  // row scope: the aggregated event table
};

}  // namespace

class Compiler {
 public:
  Compiler(const ProfileStore& store, const CompileOptions& options, Program& p)
      : schema_(store), options_(options), p_(p) {}

  // Rule set support.
  const std::vector<rules::Rule>* rules = nullptr;
  std::unordered_map<std::string, size_t> rule_index;
  std::vector<int> rule_state;  // 0 new, 1 compiling, 2 done
  std::vector<int> rule_root;
  std::vector<TagKind> rule_kind;
  std::vector<size_t> stack;
  std::string context;  // "rule 'vip'" for messages

  int compile_rule(size_t i) {
    if (rule_state[i] == 2) return rule_root[i];
    const auto& r = (*rules)[i];
    if (rule_state[i] == 1) {
      std::string cycle;
      auto it = std::find(stack.begin(), stack.end(), i);
      for (; it != stack.end(); ++it) cycle += (*rules)[*it].name + " → ";
      cycle += r.name;
      throw InvalidArgument("rules refer to each other in a cycle: " + cycle);
    }
    rule_state[i] = 1;
    stack.push_back(i);
    std::string saved = context;
    context = std::string(r.kind == rules::RuleKind::tag ? "tag" : "trait") + " '" + r.name + "'";
    Scope sc;
    int root = expr(r.expr, sc);
    ValueType t = p_.nodes[root].type;
    TagKind kind;
    if (r.kind == rules::RuleKind::tag) {
      if (t == ValueType::boolean) kind = TagKind::boolean;
      else if (t == ValueType::string) kind = TagKind::value;
      else
        throw TypeError(where(r.expr) + "a tag is a condition (bool) or a label (string); this expression is " + tname(t) +
                        (numeric(t) || t == ValueType::timestamp ? " — declare it as a trait" : ""));
    } else {
      if (!(numeric(t) || t == ValueType::boolean || t == ValueType::timestamp))
        throw TypeError(where(r.expr) + "a trait is a number; this expression is " + tname(t));
      kind = TagKind::trait;
      if (t != ValueType::float64) root = promote(root, ValueType::float64);
    }
    context = saved;
    stack.pop_back();
    rule_state[i] = 2;
    rule_root[i] = root;
    rule_kind[i] = kind;
    return root;
  }

  int expr(const Node& n, const Scope& sc) {
    switch (n.kind) {
      case NodeKind::none: throw InvalidArgument(where(n) + "an empty expression");
      case NodeKind::literal: {
        CNode c;
        c.kind = K::constant;
        c.constant = n.literal;
        c.type = std::visit(
            [](const auto& v) {
              using T = std::decay_t<decltype(v)>;
              if constexpr (std::is_same_v<T, std::monostate>) return ValueType::null;
              else if constexpr (std::is_same_v<T, bool>) return ValueType::boolean;
              else if constexpr (std::is_same_v<T, int64_t>) return ValueType::int64;
              else if constexpr (std::is_same_v<T, double>) return ValueType::float64;
              else return ValueType::string;
            },
            n.literal);
        if (auto* s = std::get_if<std::string>(&n.literal)) require_utf8(*s, where(n) + "string literal");
        return add(std::move(c));
      }
      case NodeKind::ref: return ref(n, sc);
      case NodeKind::list: throw TypeError(where(n) + "a list [...] can only follow 'in'");
      case NodeKind::window: throw TypeError(where(n) + "a window can only follow 'in' or end an aggregation");
      case NodeKind::unary: {
        need_children(n, 1);
        int a = expr(n.children[0], sc);
        ValueType t = type(a);
        CNode c;
        c.args = {a};
        if (n.op == Op::not_) {
          if (t != ValueType::boolean && !nullish(t)) throw TypeError(where(n) + "'not' needs a condition (bool), got " + tname(t) + " (" + short_text(n.children[0]) + ")");
          c.kind = K::not_;
          c.type = ValueType::boolean;
        } else if (n.op == Op::neg) {
          if (!numeric(t) && !nullish(t)) throw TypeError(where(n) + "'-' needs a number, got " + tname(t) + " (" + short_text(n.children[0]) + ")");
          c.kind = K::neg;
          c.type = nullish(t) ? ValueType::int64 : t;
        } else {
          throw InvalidArgument(where(n) + "unknown unary operator");
        }
        return add(std::move(c));
      }
      case NodeKind::binary: return binary(n, sc);
      case NodeKind::in: return in(n, sc);
      case NodeKind::between: {
        need_children(n, 3);
        int x = expr(n.children[0], sc), lo = expr(n.children[1], sc), hi = expr(n.children[2], sc);
        lo = coerce_time_literal(x, lo, n.children[1]);
        hi = coerce_time_literal(x, hi, n.children[2]);
        x = coerce_time_literal(lo, x, n.children[0]);
        check_comparable(n, x, lo, n.children[0], n.children[1]);
        check_comparable(n, x, hi, n.children[0], n.children[2]);
        CNode c;
        c.kind = K::between;
        c.type = ValueType::boolean;
        c.args = {x, lo, hi};
        int b = add(std::move(c));
        if (n.op == Op::not_between) return add_simple(K::not_, ValueType::boolean, {b});
        return b;
      }
      case NodeKind::is_null: {
        need_children(n, 1);
        int a = expr(n.children[0], sc);
        CNode c;
        c.kind = K::is_null;
        c.op = n.op;
        c.type = ValueType::boolean;
        c.args = {a};
        return add(std::move(c));
      }
      case NodeKind::call: return call(n, sc);
      case NodeKind::aggregate: return aggregate(n, sc);
      case NodeKind::case_when: {
        if (n.children.size() < 2) throw InvalidArgument(where(n) + "case needs at least one 'when … then …'");
        std::vector<int> args;
        std::vector<int> values;
        size_t pairs = n.children.size() / 2;
        for (size_t i = 0; i < pairs; ++i) {
          int cond = expr(n.children[2 * i], sc);
          if (type(cond) != ValueType::boolean && !nullish(type(cond)))
            throw TypeError(where(n.children[2 * i]) + "the condition after 'when' must be bool, got " + tname(type(cond)));
          args.push_back(cond);
          args.push_back(expr(n.children[2 * i + 1], sc));
          values.push_back(static_cast<int>(args.size()) - 1);
        }
        if (n.children.size() % 2) {
          args.push_back(expr(n.children.back(), sc));
          values.push_back(static_cast<int>(args.size()) - 1);
        }
        ValueType t = unify(n, args, values);
        CNode c;
        c.kind = K::case_when;
        c.type = t;
        c.args = std::move(args);
        return add(std::move(c));
      }
    }
    throw InvalidArgument(where(n) + "unknown node");
  }

  std::string where(const Node& n) const {
    std::string s;
    if (!context.empty()) s = context + ", ";
    if (n.pos.line > 0) s += "line " + std::to_string(n.pos.line) + ", column " + std::to_string(n.pos.column) + ": ";
    else if (!s.empty()) s += ": ";
    return s;
  }

  int promote(int a, ValueType to) {
    if (type(a) == to || to != ValueType::float64) return a;
    return add_simple(K::to_double, ValueType::float64, {a});
  }

  void finish_costs(const std::vector<int>& roots, const std::vector<std::string>& names) {
    for (size_t r = 0; r < roots.size(); ++r) {
      uint64_t cost = cost_of(roots[r]);
      p_.costs.push_back(cost);
      if (cost > options_.limits.max_cost)
        throw LimitError((names[r].empty() ? std::string("the expression") : names[r]) + ": estimated cost " +
                         std::to_string(cost) + " exceeds the limit of " + std::to_string(options_.limits.max_cost));
    }
  }

  ValueType type(int id) const { return p_.nodes[id].type; }

 private:
  uint64_t cost_of(int root) const {
    std::vector<uint8_t> seen(p_.nodes.size(), 0);
    std::vector<int> todo{root};
    uint64_t cost = 0;
    while (!todo.empty()) {
      int id = todo.back();
      todo.pop_back();
      if (seen[id]) continue;
      seen[id] = 1;
      const CNode& c = p_.nodes[id];
      cost += 1;
      if (c.kind == K::aggregate) {
        const AggSpec& a = p_.aggs[c.agg];
        cost += 25;
        if (a.fn == Agg::count_distinct || a.fn == Agg::most_frequent) cost += 25;
        cost += 5 * a.filter_nodes.size();
        if (a.window >= 0 && p_.windows[a.window].since >= 0) todo.push_back(p_.windows[a.window].since);
      }
      for (int x : c.args) todo.push_back(x);
    }
    return cost;
  }

  void need_children(const Node& n, size_t k) {
    if (n.children.size() != k)
      throw InvalidArgument(where(n) + "'" + rules::op_text(n.op) + "' takes " + std::to_string(k) + " operands, not " +
                            std::to_string(n.children.size()));
  }

  int add_simple(K kind, ValueType t, std::vector<int> args) {
    CNode c;
    c.kind = kind;
    c.type = t;
    c.args = std::move(args);
    return add(std::move(c));
  }

  std::string key_of(const CNode& c) const {
    std::string k;
    k.reserve(64);
    k += std::to_string(static_cast<int>(c.kind)) + "|" + std::to_string(static_cast<int>(c.type)) + "|" +
         std::to_string(static_cast<int>(c.op)) + "|" + std::to_string(c.index) + "|" + std::to_string(c.event) + "|" +
         std::to_string(static_cast<int>(c.fn)) + "|";
    for (int a : c.args) k += std::to_string(a) + ",";
    k += "|" + std::to_string(c.constant.index()) + ":";
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) k += "null";
          else if constexpr (std::is_same_v<T, std::string>) k += v;
          else if constexpr (std::is_same_v<T, double>) {
            char b[40];
            std::snprintf(b, sizeof b, "%a", v);
            k += b;
          } else k += std::to_string(v);
        },
        c.constant);
    if (c.kind == K::aggregate) {
      const AggSpec& a = p_.aggs[c.agg];
      k += "|agg" + std::to_string(static_cast<int>(a.fn)) + "," + std::to_string(a.event) + "," + std::to_string(a.prop) +
           "," + std::to_string(a.filter) + "," + window_key(a.window);
    }
    if (c.kind == K::in_window) k += "|w" + window_key(c.window);
    return k;
  }

  std::string window_key(int w) const {
    if (w < 0) return "-";
    const WindowSpec& s = p_.windows[w];
    return std::to_string(static_cast<int>(s.kind)) + "," + std::to_string(s.micros) + "," + s.unit + "," +
           (s.zone ? s.zone->name() : "") + "," + std::to_string(s.since);
  }

  int add(CNode c) {
    // Level: the highest of the arguments'.
    Level lv = Level::uniform;
    if (c.kind == K::attribute || c.kind == K::external || c.kind == K::aggregate) lv = Level::person;
    if (c.kind == K::prop) lv = Level::row;
    for (int a : c.args) {
      Level al = p_.nodes[a].level;
      if ((al == Level::row && lv == Level::person) || (al == Level::person && lv == Level::row))
        throw TypeError("an expression mixes event properties with person values");
      if (al > lv) lv = al;
    }
    if (c.kind == K::in_window && c.window >= 0 && p_.windows[c.window].since >= 0) {
      Level al = p_.nodes[p_.windows[c.window].since].level;
      if (al > lv) lv = al;
    }
    c.level = lv;
    std::string key = key_of(c);
    auto it = interned_.find(key);
    if (it != interned_.end()) {
      if (c.agg >= 0 && c.agg == static_cast<int>(p_.aggs.size()) - 1) p_.aggs.pop_back();
      return it->second;
    }
    int id = static_cast<int>(p_.nodes.size());
    p_.nodes.push_back(std::move(c));
    interned_.emplace(std::move(key), id);
    return id;
  }

  int ref(const Node& n, const Scope& sc) {
    const std::string& name = n.name;
    if (name == "as_of") return add_simple(K::as_of, ValueType::timestamp, {});
    auto dot = name.find('.');
    if (sc.row) {
      const EventTypeDef& t = schema_.event_type(static_cast<size_t>(sc.event));
      std::string prop = name;
      if (dot != std::string::npos) {
        std::string ev = name.substr(0, dot);
        if (ev != t.name)
          throw TypeError(where(n) + "inside 'where' of an aggregation over " + t.name + ", '" + name +
                          "' is not a property of " + t.name);
        prop = name.substr(dot + 1);
      }
      CNode c;
      c.kind = K::prop;
      c.event = sc.event;
      if (prop == "time") {
        c.index = -1;
        c.type = ValueType::timestamp;
        return add(std::move(c));
      }
      for (size_t i = 0; i < t.properties.size(); ++i) {
        if (t.properties[i].name == prop) {
          c.index = static_cast<int>(i);
          c.type = t.properties[i].type;
          return add(std::move(c));
        }
      }
      throw NotFound(where(n) + "event type " + t.name + " has no property '" + prop +
                     "' (inside 'where' only the aggregated event's properties, time and as_of can be used)");
    }
    if (dot != std::string::npos) {
      std::string ev = name.substr(0, dot);
      if (schema_.event_type_index(ev))
        throw TypeError(where(n) + "'" + name + "' is a property of each " + ev +
                        " event: use it inside an aggregation such as sum(" + name + ", last 30 days)");
      throw NotFound(where(n) + "unknown event type '" + ev + "' in '" + name + "'");
    }
    if (rules) {
      auto it = rule_index.find(name);
      if (it != rule_index.end()) {
        int root = compile_rule(it->second);
        if (rule_kind[it->second] == TagKind::boolean) return add_simple(K::truth, ValueType::boolean, {root});
        return root;
      }
    }
    if (auto a = schema_.attribute_index(name)) {
      CNode c;
      c.kind = K::attribute;
      c.index = static_cast<int>(*a);
      c.type = schema_.attribute(*a).type;
      return add(std::move(c));
    }
    if (options_.resolver) {
      if (auto ext = options_.resolver(name)) {
        if (ext->type != ValueType::boolean && ext->type != ValueType::int64 && ext->type != ValueType::float64)
          throw TypeError(where(n) + "'" + name + "' resolves to " + tname(ext->type) + "; external names are bool, int64 or double");
        if (!ext->fetch) throw InvalidArgument(where(n) + "'" + name + "' resolves without a fetch function");
        auto eit = external_index_.find(name);
        int idx;
        if (eit == external_index_.end()) {
          idx = static_cast<int>(p_.externals.size());
          p_.externals.push_back(std::move(*ext));
          external_index_.emplace(name, idx);
        } else {
          idx = eit->second;
        }
        CNode c;
        c.kind = K::external;
        c.index = idx;
        c.type = p_.externals[idx].type;
        return add(std::move(c));
      }
    }
    if (schema_.event_type_index(name))
      throw TypeError(where(n) + "'" + name + "' is an event type, not a value: use it in an aggregation such as count(" +
                      name + ", last 30 days)");
    throw NotFound(where(n) + "unknown name '" + name + "' (not an attribute, tag, trait or event type)");
  }

  void check_comparable(const Node& n, int a, int b, const Node& na, const Node& nb) {
    ValueType ta = type(a), tb = type(b);
    if (nullish(ta) || nullish(tb)) return;
    if (numeric(ta) && numeric(tb)) return;
    if (ta == tb && ta != ValueType::string_set) return;
    throw TypeError(where(n) + "cannot compare " + tname(ta) + " (" + short_text(na) + ") with " + tname(tb) + " (" +
                    short_text(nb) + ")");
  }

  /// A string literal compared with a timestamp is read as ISO 8601.
  int coerce_time_literal(int other, int lit, const Node& n) {
    if (type(other) != ValueType::timestamp || type(lit) != ValueType::string) return lit;
    const CNode& c = p_.nodes[lit];
    if (c.kind != K::constant) return lit;
    Timestamp t;
    try {
      t = parse_iso8601(std::get<std::string>(c.constant));
    } catch (const Error& e) {
      throw TypeError(where(n) + "\"" + std::get<std::string>(c.constant) + "\" is compared with a time but is not one: " + e.what());
    }
    CNode k;
    k.kind = K::constant;
    k.type = ValueType::timestamp;
    k.constant = static_cast<int64_t>(t);
    return add(std::move(k));
  }

  int binary(const Node& n, const Scope& sc) {
    need_children(n, 2);
    int a = expr(n.children[0], sc);
    int b = expr(n.children[1], sc);
    ValueType ta = type(a), tb = type(b);
    CNode c;
    c.op = n.op;
    switch (n.op) {
      case Op::and_:
      case Op::or_: {
        for (int k = 0; k < 2; ++k) {
          ValueType t = k ? tb : ta;
          if (t != ValueType::boolean && !nullish(t))
            throw TypeError(where(n) + "'" + rules::op_text(n.op) + "' needs conditions (bool) on both sides, got " + tname(t) +
                            " (" + short_text(n.children[k]) + ")");
        }
        c.kind = n.op == Op::and_ ? K::and_ : K::or_;
        c.type = ValueType::boolean;
        c.args = {a, b};
        return add(std::move(c));
      }
      case Op::eq: case Op::ne: case Op::lt: case Op::le: case Op::gt: case Op::ge: {
        b = coerce_time_literal(a, b, n.children[1]);
        a = coerce_time_literal(b, a, n.children[0]);
        check_comparable(n, a, b, n.children[0], n.children[1]);
        c.kind = K::compare;
        c.type = ValueType::boolean;
        c.args = {a, b};
        return add(std::move(c));
      }
      case Op::add: case Op::sub: case Op::mul: case Op::div: case Op::mod: {
        ta = type(a);
        tb = type(b);
        ValueType t = ValueType::null;
        auto bad = [&]() -> TypeError {
          return TypeError(where(n) + "'" + rules::op_text(n.op) + "' cannot combine " + tname(ta) + " (" +
                           short_text(n.children[0]) + ") and " + tname(tb) + " (" + short_text(n.children[1]) + ")");
        };
        auto num_or_null = [](ValueType x) { return numeric(x) || nullish(x); };
        if (n.op == Op::add && ((ta == ValueType::timestamp && num_or_null(tb) && tb != ValueType::float64) ||
                                (tb == ValueType::timestamp && num_or_null(ta) && ta != ValueType::float64))) {
          t = ValueType::timestamp;
        } else if (n.op == Op::sub && ta == ValueType::timestamp && (tb == ValueType::int64 || nullish(tb))) {
          t = ValueType::timestamp;
        } else if (n.op == Op::sub && ta == ValueType::timestamp && tb == ValueType::timestamp) {
          t = ValueType::int64;
        } else if (num_or_null(ta) && num_or_null(tb)) {
          if (n.op == Op::div) t = ValueType::float64;
          else if (ta == ValueType::float64 || tb == ValueType::float64) t = ValueType::float64;
          else t = ValueType::int64;
        } else {
          throw bad();
        }
        c.kind = K::arith;
        c.type = t;
        c.args = {a, b};
        return add(std::move(c));
      }
      default: throw InvalidArgument(where(n) + "unknown binary operator");
    }
  }

  int window(const Node& w, const Scope& sc) {
    if (w.kind != NodeKind::window) throw TypeError(where(w) + "expected a window");
    WindowSpec s;
    s.kind = w.window;
    switch (w.window) {
      case WindowKind::last: {
        int64_t unit = rules::detail::unit_micros(w.unit);
        if (unit == 0) throw InvalidArgument(where(w) + "unknown unit '" + w.unit + "' (minutes, hours, days, weeks)");
        if (w.count < 0 || w.count > 1000000) throw InvalidArgument(where(w) + "the window length must be 0 to 1000000 units");
        s.micros = w.count * unit;
        break;
      }
      case WindowKind::this_:
      case WindowKind::previous: {
        auto u = rules::detail::calendar_unit(w.unit);
        if (u.empty()) throw InvalidArgument(where(w) + "unknown calendar unit '" + w.unit + "' (day, week, month, year)");
        s.unit = std::string(u);
        if (!w.zone.empty()) {
          try {
            s.zone = std::make_shared<TimeZone>(TimeZone::load(w.zone));
          } catch (const Error& e) {
            throw NotFound(where(w) + "unknown time zone \"" + w.zone + "\"");
          }
        } else {
          s.zone = p_.zone;
        }
        break;
      }
      case WindowKind::since: {
        if (w.children.size() != 1) throw InvalidArgument(where(w) + "'since' needs a start time");
        Scope person;  // the start is a person-level value even inside an aggregation
        (void)sc;
        int st = expr(w.children[0], person);
        if (type(st) != ValueType::timestamp && !nullish(type(st)))
          throw TypeError(where(w.children[0]) + "'since' needs a time, got " + tname(type(st)) + " (" + short_text(w.children[0]) + ")");
        s.since = st;
        break;
      }
      case WindowKind::none: throw InvalidArgument(where(w) + "a window without a kind");
    }
    p_.windows.push_back(std::move(s));
    return static_cast<int>(p_.windows.size()) - 1;
  }

  int in(const Node& n, const Scope& sc) {
    need_children(n, 2);
    int x = expr(n.children[0], sc);
    const Node& right = n.children[1];
    int result;
    if (right.kind == NodeKind::list) {
      if (right.children.empty()) throw InvalidArgument(where(right) + "an empty list after 'in'");
      std::vector<int> args{x};
      for (const auto& e : right.children) {
        int v = expr(e, sc);
        v = coerce_time_literal(x, v, e);
        check_comparable(n, x, v, n.children[0], e);
        args.push_back(v);
      }
      CNode c;
      c.kind = K::in_list;
      c.type = ValueType::boolean;
      c.args = std::move(args);
      result = add(std::move(c));
    } else if (right.kind == NodeKind::window) {
      if (type(x) != ValueType::timestamp && !nullish(type(x)))
        throw TypeError(where(n) + "'in " + rules::to_text(right) + "' needs a time on the left, got " + tname(type(x)) +
                        " (" + short_text(n.children[0]) + ")");
      CNode c;
      c.kind = K::in_window;
      c.type = ValueType::boolean;
      c.window = window(right, sc);
      c.args = {x};
      if (p_.windows[c.window].since >= 0) c.args.push_back(p_.windows[c.window].since);
      result = add(std::move(c));
    } else {
      int s = expr(right, sc);
      if (type(s) != ValueType::string_set)
        throw TypeError(where(n) + "'in' needs a list [...], a window or a set<string> on the right, got " + tname(type(s)) +
                        " (" + short_text(right) + ")");
      if (type(x) != ValueType::string && !nullish(type(x)))
        throw TypeError(where(n) + "membership in a set<string> needs a string, got " + tname(type(x)));
      CNode c;
      c.kind = K::in_set;
      c.type = ValueType::boolean;
      c.args = {x, s};
      result = add(std::move(c));
    }
    if (n.op == Op::not_in) return add_simple(K::not_, ValueType::boolean, {result});
    return result;
  }

  ValueType unify(const Node& n, std::vector<int>& args, const std::vector<int>& values) {
    ValueType t = ValueType::null;
    for (int vi : values) {
      ValueType vt = type(args[vi]);
      if (nullish(vt)) continue;
      if (nullish(t)) t = vt;
      else if (t == vt) continue;
      else if (numeric(t) && numeric(vt)) t = ValueType::float64;
      else
        throw TypeError(where(n) + "the branches give different types: " + tname(t) + " and " + tname(vt));
    }
    if (t == ValueType::float64)
      for (int vi : values) args[vi] = promote(args[vi], ValueType::float64);
    return t;
  }

  int call(const Node& n, const Scope& sc) {
    static const std::map<std::string, Fn, std::less<>> kFns = {
        {"lower", Fn::lower},       {"upper", Fn::upper},         {"trim", Fn::trim},
        {"length", Fn::length},     {"contains", Fn::contains_str}, {"starts_with", Fn::starts_with},
        {"ends_with", Fn::ends_with}, {"concat", Fn::concat},     {"size", Fn::size_set},
        {"abs", Fn::abs},           {"round", Fn::round},         {"floor", Fn::floor},
        {"ceil", Fn::ceil},         {"least", Fn::least},         {"greatest", Fn::greatest},
        {"coalesce", Fn::coalesce}, {"days", Fn::days},           {"hours", Fn::hours},
        {"minutes", Fn::minutes},   {"weeks", Fn::weeks},         {"days_since", Fn::days_since},
        {"days_between", Fn::days_between}, {"age", Fn::age},     {"year", Fn::year},
        {"month", Fn::month},       {"day", Fn::day},             {"hour", Fn::hour},
        {"weekday", Fn::weekday},   {"timestamp", Fn::timestamp_of}};
    auto it = kFns.find(n.name);
    if (it == kFns.end()) throw NotFound(where(n) + "unknown function '" + n.name + "'");
    Fn fn = it->second;
    std::vector<int> args;
    for (const auto& c : n.children) args.push_back(expr(c, sc));
    auto argc = [&](size_t lo, size_t hi) {
      if (args.size() < lo || args.size() > hi)
        throw TypeError(where(n) + n.name + "() takes " +
                        (lo == hi ? std::to_string(lo) : std::to_string(lo) + (hi > 100 ? " or more" : " to " + std::to_string(hi))) +
                        " arguments, not " + std::to_string(args.size()));
    };
    auto want = [&](size_t i, std::initializer_list<ValueType> ok, const char* what) {
      ValueType t = type(args[i]);
      if (nullish(t)) return;
      for (ValueType o : ok)
        if (t == o) return;
      throw TypeError(where(n.children[i]) + n.name + "() needs " + what + " as argument " + std::to_string(i + 1) +
                      ", got " + tname(t) + " (" + short_text(n.children[i]) + ")");
    };
    ValueType t = ValueType::null;
    switch (fn) {
      case Fn::lower: case Fn::upper: case Fn::trim:
        argc(1, 1);
        want(0, {ValueType::string}, "a string");
        t = ValueType::string;
        break;
      case Fn::length:
        argc(1, 1);
        want(0, {ValueType::string}, "a string");
        t = ValueType::int64;
        break;
      case Fn::contains_str:
        argc(2, 2);
        if (type(args[0]) == ValueType::string_set) fn = Fn::contains_set;
        else want(0, {ValueType::string}, "a string or a set<string>");
        want(1, {ValueType::string}, "a string");
        t = ValueType::boolean;
        break;
      case Fn::starts_with: case Fn::ends_with:
        argc(2, 2);
        want(0, {ValueType::string}, "a string");
        want(1, {ValueType::string}, "a string");
        t = ValueType::boolean;
        break;
      case Fn::concat:
        argc(1, 1000);
        for (size_t i = 0; i < args.size(); ++i)
          want(i, {ValueType::string, ValueType::int64, ValueType::float64, ValueType::boolean, ValueType::timestamp}, "a value");
        t = ValueType::string;
        break;
      case Fn::size_set:
        argc(1, 1);
        want(0, {ValueType::string_set}, "a set<string>");
        t = ValueType::int64;
        break;
      case Fn::abs:
        argc(1, 1);
        want(0, {ValueType::int64, ValueType::float64}, "a number");
        t = nullish(type(args[0])) ? ValueType::int64 : type(args[0]);
        break;
      case Fn::round:
        argc(1, 2);
        want(0, {ValueType::int64, ValueType::float64}, "a number");
        if (args.size() == 2) want(1, {ValueType::int64}, "a whole number of digits");
        t = ValueType::float64;
        args[0] = promote(args[0], ValueType::float64);
        break;
      case Fn::floor: case Fn::ceil:
        argc(1, 1);
        want(0, {ValueType::int64, ValueType::float64}, "a number");
        t = ValueType::float64;
        args[0] = promote(args[0], ValueType::float64);
        break;
      case Fn::least: case Fn::greatest: {
        argc(1, 1000);
        std::vector<int> all;
        for (size_t i = 0; i < args.size(); ++i) {
          want(i, {ValueType::int64, ValueType::float64, ValueType::timestamp, ValueType::string}, "a number, time or string");
          all.push_back(static_cast<int>(i));
        }
        t = unify(n, args, all);
        break;
      }
      case Fn::coalesce: {
        argc(1, 1000);
        std::vector<int> all;
        for (size_t i = 0; i < args.size(); ++i) all.push_back(static_cast<int>(i));
        t = unify(n, args, all);
        if (t == ValueType::string_set) throw TypeError(where(n) + "coalesce() of sets is not supported");
        break;
      }
      case Fn::days: case Fn::hours: case Fn::minutes: case Fn::weeks:
        argc(1, 1);
        want(0, {ValueType::int64, ValueType::float64}, "a number");
        t = ValueType::int64;
        args[0] = promote(args[0], ValueType::float64);
        break;
      case Fn::days_since: case Fn::age: case Fn::year: case Fn::month: case Fn::day: case Fn::hour: case Fn::weekday:
        argc(1, 1);
        want(0, {ValueType::timestamp}, "a time");
        t = ValueType::int64;
        break;
      case Fn::days_between:
        argc(2, 2);
        want(0, {ValueType::timestamp}, "a time");
        want(1, {ValueType::timestamp}, "a time");
        t = ValueType::int64;
        break;
      case Fn::timestamp_of:
        argc(1, 1);
        want(0, {ValueType::string, ValueType::timestamp}, "ISO 8601 text");
        t = ValueType::timestamp;
        break;
      default: break;
    }
    CNode c;
    c.kind = K::call;
    c.fn = fn;
    c.type = t;
    c.args = std::move(args);
    return add(std::move(c));
  }

  int aggregate(const Node& n, const Scope& sc) {
    if (sc.row) throw TypeError(where(n) + "aggregations cannot be nested inside 'where'");
    if (n.children.size() != 3) throw InvalidArgument(where(n) + "an aggregation has a target, a filter and a window");
    static const std::map<std::string, Agg, std::less<>> kAggs = {
        {"count", Agg::count}, {"sum", Agg::sum}, {"avg", Agg::avg}, {"min", Agg::min}, {"max", Agg::max},
        {"count_distinct", Agg::count_distinct}, {"first", Agg::first}, {"last", Agg::last},
        {"most_frequent", Agg::most_frequent}};
    auto fit = kAggs.find(n.name);
    if (fit == kAggs.end()) throw NotFound(where(n) + "unknown aggregation '" + n.name + "'");
    AggSpec a;
    a.fn = fit->second;
    const Node& target = n.children[0];
    if (target.kind != NodeKind::ref) throw InvalidArgument(where(n) + "the target of an aggregation is an event type or event.property");
    std::string ev = target.name, prop;
    auto dot = ev.find('.');
    if (dot != std::string::npos) {
      prop = ev.substr(dot + 1);
      ev = ev.substr(0, dot);
    }
    auto eit = schema_.event_type_index(ev);
    if (!eit) {
      if (schema_.attribute_index(ev)) throw TypeError(where(target) + "'" + ev + "' is an attribute, not an event type: " + n.name + "() aggregates events");
      throw NotFound(where(target) + "unknown event type '" + ev + "'");
    }
    a.event = static_cast<int>(*eit);
    const EventTypeDef& t = schema_.event_type(*eit);
    if (!prop.empty()) {
      if (prop == "time") {
        a.prop = -1;
        a.prop_type = ValueType::timestamp;
      } else {
        for (size_t i = 0; i < t.properties.size(); ++i)
          if (t.properties[i].name == prop) {
            a.prop = static_cast<int>(i);
            a.prop_type = t.properties[i].type;
          }
        if (a.prop < -1) throw NotFound(where(target) + "event type " + ev + " has no property '" + prop + "'");
      }
    }
    ValueType result = ValueType::null;
    switch (a.fn) {
      case Agg::count:
        result = ValueType::int64;
        break;
      case Agg::count_distinct:
        if (a.prop < -1) throw TypeError(where(n) + "count_distinct() needs a property, as in count_distinct(" + ev + ".store)");
        result = ValueType::int64;
        break;
      case Agg::sum:
      case Agg::avg:
        if (a.prop < -1) throw TypeError(where(n) + n.name + "() needs a numeric property, as in " + n.name + "(" + ev + ".amount)");
        if (!numeric(a.prop_type) && a.prop_type != ValueType::boolean)
          throw TypeError(where(target) + n.name + "() needs a number; " + ev + "." + prop + " is " + tname(a.prop_type));
        result = a.fn == Agg::avg ? ValueType::float64 : a.prop_type == ValueType::float64 ? ValueType::float64 : ValueType::int64;
        break;
      case Agg::min:
      case Agg::max:
      case Agg::first:
      case Agg::last:
      case Agg::most_frequent:
        if (a.prop < -1) throw TypeError(where(n) + n.name + "() needs a property, as in " + n.name + "(" + ev + ".time)");
        result = a.prop_type;
        break;
    }
    if (!n.children[1].empty()) {
      Scope row;
      row.row = true;
      row.event = a.event;
      size_t before = p_.nodes.size();
      int f = expr(n.children[1], row);
      if (type(f) != ValueType::boolean && !nullish(type(f)))
        throw TypeError(where(n.children[1]) + "the condition after 'where' must be bool, got " + tname(type(f)));
      if (p_.nodes[f].level == Level::person)
        throw TypeError(where(n.children[1]) + "the condition after 'where' can only use the event's properties");
      a.filter = f;
      // The filter's nodes (row level) in evaluation order, including ones
      // interned before this aggregation.
      std::vector<uint8_t> need(p_.nodes.size(), 0);
      std::vector<int> todo{f};
      while (!todo.empty()) {
        int id = todo.back();
        todo.pop_back();
        if (need[id]) continue;
        need[id] = 1;
        for (int x : p_.nodes[id].args) todo.push_back(x);
      }
      (void)before;
      for (size_t id = 0; id < p_.nodes.size(); ++id)
        if (need[id] && p_.nodes[id].level == Level::row) a.filter_nodes.push_back(static_cast<int>(id));
    }
    if (!n.children[2].empty()) a.window = window(n.children[2], sc);
    p_.aggs.push_back(std::move(a));
    CNode c;
    c.kind = K::aggregate;
    c.type = result;
    c.agg = static_cast<int>(p_.aggs.size()) - 1;
    if (p_.aggs.back().window >= 0 && p_.windows[p_.aggs.back().window].since >= 0)
      c.args.push_back(p_.windows[p_.aggs.back().window].since);
    return add(std::move(c));
  }

  const profile_detail::SchemaView schema_;
  const CompileOptions& options_;
  Program& p_;
  std::unordered_map<std::string, int> interned_;
  std::unordered_map<std::string, int> external_index_;
};

namespace {

std::shared_ptr<const TimeZone> program_zone(const ProfileStore& store, const CompileOptions& o) {
  if (o.time_zone.empty()) return std::make_shared<TimeZone>(store.time_zone());
  return std::make_shared<TimeZone>(TimeZone::load(o.time_zone));
}

void order_nodes(Program& p) {
  std::vector<uint8_t> need(p.nodes.size(), 0);
  std::vector<int> todo(p.roots.begin(), p.roots.end());
  while (!todo.empty()) {
    int id = todo.back();
    todo.pop_back();
    if (need[id]) continue;
    need[id] = 1;
    const CNode& c = p.nodes[id];
    for (int x : c.args) todo.push_back(x);
    if (c.kind == K::aggregate) {
      const AggSpec& a = p.aggs[c.agg];
      for (int x : a.filter_nodes) todo.push_back(x);
    }
  }
  for (size_t id = 0; id < p.nodes.size(); ++id) {
    if (!need[id]) continue;
    if (p.nodes[id].level == Level::uniform) p.uniform_order.push_back(static_cast<int>(id));
    else if (p.nodes[id].level == Level::person) p.person_order.push_back(static_cast<int>(id));
  }
  for (const auto& t : p.aggs) (void)t;
}

}  // namespace

std::shared_ptr<Program> compile_program(const ProfileStore& store, const std::vector<rules::Rule>& rules,
                                         const CompileOptions& options, std::vector<CompiledRule>& out) {
  if (rules.size() > options.limits.max_rules)
    throw LimitError("more than " + std::to_string(options.limits.max_rules) + " rules in one rule set");
  auto p = std::make_shared<Program>();
  p->store_id = store.id();
  p->zone = program_zone(store, options);
  Compiler c(store, options, *p);
  c.rules = &rules;
  c.rule_state.assign(rules.size(), 0);
  c.rule_root.assign(rules.size(), -1);
  c.rule_kind.assign(rules.size(), TagKind::boolean);
  const profile_detail::SchemaView schema(store);
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    if (r.name.empty()) throw InvalidArgument("rule " + std::to_string(i + 1) + " has no name");
    require_utf8(r.name, "rule name");
    rules::detail::check_limits(r.expr, options.limits, "rule '" + r.name + "'");
    if (!c.rule_index.emplace(r.name, i).second) {
      std::string at = r.pos.line ? " (again at line " + std::to_string(r.pos.line) + ")" : "";
      throw Conflict("rule '" + r.name + "' is defined twice" + at);
    }
    if (schema.attribute_index(r.name) && !(r.kind == rules::RuleKind::trait))
      throw Conflict("tag '" + r.name + "' has the name of an attribute");
    if (schema.event_type_index(r.name)) throw Conflict("rule '" + r.name + "' has the name of an event type");
  }
  // A trait may share its name with the attribute it is stored into; inside
  // the rule set the name then means the rule.
  out.clear();
  std::vector<std::string> names;
  for (size_t i = 0; i < rules.size(); ++i) {
    int root = c.compile_rule(i);
    p->roots.push_back(root);
    out.push_back(CompiledRule{rules[i].name, rules[i].kind, c.rule_kind[i], root});
    names.push_back(std::string(rules[i].kind == rules::RuleKind::tag ? "tag" : "trait") + " '" + rules[i].name + "'");
  }
  c.finish_costs(p->roots, names);
  order_nodes(*p);
  return p;
}

std::shared_ptr<Program> compile_single(const ProfileStore& store, const rules::Node& expr,
                                        const CompileOptions& options, int* root) {
  rules::detail::check_limits(expr, options.limits, "expression");
  auto p = std::make_shared<Program>();
  p->store_id = store.id();
  p->zone = program_zone(store, options);
  Compiler c(store, options, *p);
  Scope sc;
  *root = c.expr(expr, sc);
  p->roots.push_back(*root);
  c.finish_costs(p->roots, {""});
  order_nodes(*p);
  return p;
}

}  // namespace cdpcore::rules_detail
