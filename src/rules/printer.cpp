// Rule trees back to text (parses back to an equal tree) and to JSON, and
// JSON back to trees.
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"
#include "rules/syntax.hpp"

namespace cdpcore::rules {

using namespace detail;

namespace {

// ---- text ---------------------------------------------------------------------

int precedence(const Node& n) {
  switch (n.kind) {
    case NodeKind::binary:
      switch (n.op) {
        case Op::or_: return 1;
        case Op::and_: return 2;
        case Op::eq: case Op::ne: case Op::lt: case Op::le: case Op::gt: case Op::ge: return 4;
        case Op::add: case Op::sub: return 5;
        default: return 6;
      }
    case NodeKind::unary: return n.op == Op::not_ ? 3 : 7;
    case NodeKind::in:
    case NodeKind::between:
    case NodeKind::is_null: return 4;
    default: return 8;
  }
}

std::string format_double(double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos && s.find("inf") == std::string::npos && s.find("nan") == std::string::npos)
    s += ".0";
  return s;
}

std::string quote_string(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += b;
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"";
  return out;
}

std::string name_text(std::string_view name) {
  if (is_bare_name(name)) return std::string(name);
  return "`" + std::string(name) + "`";
}

std::string ref_text(std::string_view name) {
  if (name == "as_of") return "as_of";
  auto dot = name.find('.');
  if (dot == std::string_view::npos) return name_text(name);
  return name_text(name.substr(0, dot)) + "." + name_text(name.substr(dot + 1));
}

void print(const Node& n, std::string& out);

void print_at(const Node& n, int min_prec, std::string& out) {
  bool paren = precedence(n) < min_prec;
  if (paren) out += "(";
  print(n, out);
  if (paren) out += ")";
}

void print_window(const Node& w, std::string& out) {
  switch (w.window) {
    case WindowKind::last: {
      out += "last " + std::to_string(w.count) + " ";
      std::string unit = w.unit;
      if (w.count == 1 && !unit.empty() && unit.back() == 's') unit.pop_back();
      out += unit;
      break;
    }
    case WindowKind::this_:
    case WindowKind::previous:
      out += w.window == WindowKind::this_ ? "this " : "previous ";
      out += w.unit;
      if (!w.zone.empty()) out += " in " + quote_string(w.zone);
      break;
    case WindowKind::since:
      out += "since ";
      if (!w.children.empty()) print_at(w.children[0], 5, out);
      break;
    case WindowKind::none: out += "<no window>"; break;
  }
}

void print(const Node& n, std::string& out) {
  switch (n.kind) {
    case NodeKind::none: out += "null"; break;
    case NodeKind::literal:
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) out += "null";
            else if constexpr (std::is_same_v<T, bool>) out += v ? "true" : "false";
            else if constexpr (std::is_same_v<T, int64_t>) out += std::to_string(v);
            else if constexpr (std::is_same_v<T, double>) out += format_double(v);
            else out += quote_string(v);
          },
          n.literal);
      break;
    case NodeKind::list:
      out += "[";
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i) out += ", ";
        print_at(n.children[i], 1, out);
      }
      out += "]";
      break;
    case NodeKind::ref: out += ref_text(n.name); break;
    case NodeKind::unary:
      if (n.op == Op::not_) {
        out += "not ";
        print_at(n.children.at(0), 3, out);
      } else {
        out += "-";
        const Node& c = n.children.at(0);
        // "-5" would read back as the literal -5: keep the operator visible.
        bool number = c.kind == NodeKind::literal &&
                      (std::holds_alternative<int64_t>(c.literal) || std::holds_alternative<double>(c.literal));
        if (number || (c.kind == NodeKind::unary && c.op == Op::neg)) {
          out += "(";
          print(c, out);
          out += ")";
        } else {
          print_at(c, 7, out);
        }
      }
      break;
    case NodeKind::binary: {
      int p = precedence(n);
      bool compare = p == 4;
      print_at(n.children.at(0), compare ? 5 : p, out);
      out += " ";
      out += op_text(n.op);
      out += " ";
      print_at(n.children.at(1), compare ? 5 : p + 1, out);
      break;
    }
    case NodeKind::in:
      print_at(n.children.at(0), 5, out);
      out += n.op == Op::not_in ? " not in " : " in ";
      if (n.children.at(1).kind == NodeKind::window) print_window(n.children[1], out);
      else print_at(n.children[1], 5, out);
      break;
    case NodeKind::between:
      print_at(n.children.at(0), 5, out);
      out += n.op == Op::not_between ? " not between " : " between ";
      print_at(n.children.at(1), 5, out);
      out += " and ";
      print_at(n.children.at(2), 5, out);
      break;
    case NodeKind::is_null:
      print_at(n.children.at(0), 5, out);
      out += n.op == Op::is_not_null ? " is not null" : " is null";
      break;
    case NodeKind::call:
      out += name_text(n.name);
      out += "(";
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i) out += ", ";
        print_at(n.children[i], 1, out);
      }
      out += ")";
      break;
    case NodeKind::aggregate:
      out += n.name;
      out += "(";
      if (!n.children.empty()) out += ref_text(n.children[0].name);
      if (n.children.size() > 1 && !n.children[1].empty()) {
        out += " where ";
        print_at(n.children[1], 1, out);
      }
      if (n.children.size() > 2 && !n.children[2].empty()) {
        out += ", ";
        print_window(n.children[2], out);
      }
      out += ")";
      break;
    case NodeKind::window: print_window(n, out); break;
    case NodeKind::case_when: {
      out += "case";
      size_t pairs = n.children.size() / 2;
      for (size_t i = 0; i < pairs; ++i) {
        out += " when ";
        print_at(n.children[2 * i], 1, out);
        out += " then ";
        print_at(n.children[2 * i + 1], 1, out);
      }
      if (n.children.size() % 2) {
        out += " else ";
        print_at(n.children.back(), 1, out);
      }
      out += " end";
      break;
    }
  }
}

// ---- JSON ---------------------------------------------------------------------

using nlohmann::json;

json window_json(const Node& w);

json to_j(const Node& n) {
  switch (n.kind) {
    case NodeKind::none: return nullptr;
    case NodeKind::literal: {
      json v;
      std::visit(
          [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) v = nullptr;
            else v = x;
          },
          n.literal);
      return json{{"literal", v}};
    }
    case NodeKind::list: {
      json a = json::array();
      for (const auto& c : n.children) a.push_back(to_j(c));
      return json{{"list", a}};
    }
    case NodeKind::ref: return json{{"ref", n.name}};
    case NodeKind::unary:
    case NodeKind::binary:
    case NodeKind::in:
    case NodeKind::between:
    case NodeKind::is_null: {
      json a = json::array();
      for (const auto& c : n.children) a.push_back(c.kind == NodeKind::window ? window_json(c) : to_j(c));
      return json{{"op", op_text(n.op)}, {"args", a}};
    }
    case NodeKind::call: {
      json a = json::array();
      for (const auto& c : n.children) a.push_back(to_j(c));
      return json{{"call", n.name}, {"args", a}};
    }
    case NodeKind::aggregate: {
      json j{{"aggregate", n.name}, {"of", n.children.empty() ? std::string() : n.children[0].name}};
      if (n.children.size() > 1 && !n.children[1].empty()) j["where"] = to_j(n.children[1]);
      if (n.children.size() > 2 && !n.children[2].empty()) j["window"] = window_json(n.children[2]);
      return j;
    }
    case NodeKind::window: return window_json(n);
    case NodeKind::case_when: {
      json a = json::array();
      size_t pairs = n.children.size() / 2;
      for (size_t i = 0; i < pairs; ++i) a.push_back(json{{"when", to_j(n.children[2 * i])}, {"then", to_j(n.children[2 * i + 1])}});
      json j{{"case", a}};
      if (n.children.size() % 2) j["else"] = to_j(n.children.back());
      return j;
    }
  }
  return nullptr;
}

json window_json(const Node& w) {
  switch (w.window) {
    case WindowKind::last: return json{{"window", "last"}, {"count", w.count}, {"unit", w.unit}};
    case WindowKind::this_:
    case WindowKind::previous: {
      json j{{"window", w.window == WindowKind::this_ ? "this" : "previous"}, {"unit", w.unit}};
      if (!w.zone.empty()) j["zone"] = w.zone;
      return j;
    }
    case WindowKind::since: return json{{"window", "since"}, {"from", w.children.empty() ? json(nullptr) : to_j(w.children[0])}};
    case WindowKind::none: break;
  }
  return json{{"window", "none"}};
}

class JsonReader {
 public:
  explicit JsonReader(const Limits& limits) : limits_(limits) {}

  Node node(const json& j, const std::string& path, uint32_t depth) {
    if (depth > limits_.max_depth)
      throw LimitError(path + ": nesting deeper than the limit of " + std::to_string(limits_.max_depth));
    if (++nodes_ > limits_.max_nodes)
      throw LimitError(path + ": more than " + std::to_string(limits_.max_nodes) + " nodes");
    if (!j.is_object()) fail(path, "expected an object such as {\"ref\": …}, {\"op\": …}, {\"literal\": …}");
    Node n;
    if (j.contains("literal")) {
      only(j, path, {"literal"});
      n.kind = NodeKind::literal;
      const json& v = j["literal"];
      if (v.is_null()) n.literal = std::monostate{};
      else if (v.is_boolean()) n.literal = v.get<bool>();
      else if (v.is_number_integer()) {
        if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
          fail(path + ".literal", "integer out of range (int64)");
        n.literal = v.get<int64_t>();
      } else if (v.is_number_float()) {
        double d = v.get<double>();
        if (!std::isfinite(d)) fail(path + ".literal", "number out of range");
        n.literal = d;
      } else if (v.is_string()) n.literal = v.get<std::string>();
      else fail(path + ".literal", "a literal is null, a bool, a number or a string");
      return n;
    }
    if (j.contains("ref")) {
      only(j, path, {"ref"});
      n.kind = NodeKind::ref;
      n.name = ref_name(j["ref"], path + ".ref");
      return n;
    }
    if (j.contains("list")) {
      only(j, path, {"list"});
      n.kind = NodeKind::list;
      const json& a = j["list"];
      if (!a.is_array()) fail(path + ".list", "expected an array");
      for (size_t i = 0; i < a.size(); ++i) n.children.push_back(node(a[i], path + ".list[" + std::to_string(i) + "]", depth + 1));
      return n;
    }
    if (j.contains("op")) {
      only(j, path, {"op", "args"});
      const json& o = j["op"];
      if (!o.is_string()) fail(path + ".op", "expected a string");
      std::string op = o.get<std::string>();
      const json& a = j.contains("args") ? j["args"] : json();
      if (!a.is_array()) fail(path + ".args", "expected an array of operands");
      size_t argc = a.size();
      auto arity = [&](size_t k) {
        if (argc != k) fail(path + ".args", "'" + op + "' takes " + std::to_string(k) + " operands, not " + std::to_string(argc));
      };
      static const std::pair<const char*, Op> kBinary[] = {
          {"+", Op::add}, {"*", Op::mul}, {"/", Op::div}, {"%", Op::mod}, {"=", Op::eq}, {"==", Op::eq},
          {"!=", Op::ne}, {"<>", Op::ne}, {"<", Op::lt}, {"<=", Op::le}, {">", Op::gt}, {">=", Op::ge},
          {"and", Op::and_}, {"or", Op::or_}};
      n.op = Op::none;
      for (const auto& [t, v] : kBinary)
        if (op == t) {
          n.kind = NodeKind::binary;
          n.op = v;
          arity(2);
        }
      if (op == "-") {
        if (argc == 1) {
          n.kind = NodeKind::unary;
          n.op = Op::neg;
        } else {
          n.kind = NodeKind::binary;
          n.op = Op::sub;
          arity(2);
        }
      } else if (op == "not") {
        n.kind = NodeKind::unary;
        n.op = Op::not_;
        arity(1);
      } else if (op == "in" || op == "not in") {
        n.kind = NodeKind::in;
        n.op = op == "in" ? Op::in : Op::not_in;
        arity(2);
      } else if (op == "between" || op == "not between") {
        n.kind = NodeKind::between;
        n.op = op == "between" ? Op::between : Op::not_between;
        arity(3);
      } else if (op == "is null" || op == "is not null") {
        n.kind = NodeKind::is_null;
        n.op = op == "is null" ? Op::is_null : Op::is_not_null;
        arity(1);
      } else if (n.op == Op::none) {
        fail(path + ".op", "unknown operator '" + op + "'");
      }
      for (size_t i = 0; i < argc; ++i) {
        std::string p = path + ".args[" + std::to_string(i) + "]";
        if (n.kind == NodeKind::in && i == 1 && a[i].is_object() && a[i].contains("window"))
          n.children.push_back(window(a[i], p, depth + 1));
        else
          n.children.push_back(node(a[i], p, depth + 1));
      }
      return n;
    }
    if (j.contains("call")) {
      only(j, path, {"call", "args"});
      n.kind = NodeKind::call;
      n.name = plain_name(j["call"], path + ".call");
      if (is_aggregate(n.name)) fail(path + ".call", "'" + n.name + "' is an aggregate: use {\"aggregate\": …}");
      // The text form writes a call as name(…), never quoted: accept the
      // names it can write, so that every tree prints as text that parses.
      if (!is_bare_name(n.name)) fail(path + ".call", "'" + n.name + "' cannot be a function name");
      const json& a = j.contains("args") ? j["args"] : json::array();
      if (!a.is_array()) fail(path + ".args", "expected an array");
      for (size_t i = 0; i < a.size(); ++i) n.children.push_back(node(a[i], path + ".args[" + std::to_string(i) + "]", depth + 1));
      return n;
    }
    if (j.contains("aggregate")) {
      only(j, path, {"aggregate", "of", "where", "window"});
      n.kind = NodeKind::aggregate;
      const json& f = j["aggregate"];
      if (!f.is_string() || !is_aggregate(f.get<std::string>()))
        fail(path + ".aggregate", "expected one of count, sum, avg, min, max, count_distinct, first, last, most_frequent");
      n.name = f.get<std::string>();
      if (!j.contains("of")) fail(path, "an aggregate needs \"of\": an event type or \"event.property\"");
      n.children.push_back(Node::make_ref(ref_name(j["of"], path + ".of")));
      n.children.push_back(j.contains("where") && !j["where"].is_null() ? node(j["where"], path + ".where", depth + 1) : Node{});
      n.children.push_back(j.contains("window") && !j["window"].is_null() ? window(j["window"], path + ".window", depth + 1) : Node{});
      return n;
    }
    if (j.contains("window")) return window(j, path, depth);
    if (j.contains("case")) {
      only(j, path, {"case", "else"});
      n.kind = NodeKind::case_when;
      const json& a = j["case"];
      if (!a.is_array() || a.empty()) fail(path + ".case", "expected a non-empty array of {\"when\": …, \"then\": …}");
      for (size_t i = 0; i < a.size(); ++i) {
        std::string p = path + ".case[" + std::to_string(i) + "]";
        if (!a[i].is_object() || !a[i].contains("when") || !a[i].contains("then")) fail(p, "expected {\"when\": …, \"then\": …}");
        only(a[i], p, {"when", "then"});
        n.children.push_back(node(a[i]["when"], p + ".when", depth + 1));
        n.children.push_back(node(a[i]["then"], p + ".then", depth + 1));
      }
      if (j.contains("else")) n.children.push_back(node(j["else"], path + ".else", depth + 1));
      return n;
    }
    fail(path, "unknown node: expected one of literal, ref, list, op, call, aggregate, window, case");
  }

  Node window(const json& j, const std::string& path, uint32_t depth) {
    if (!j.is_object() || !j.contains("window")) fail(path, "expected a window object {\"window\": …}");
    Node w;
    w.kind = NodeKind::window;
    const json& k = j["window"];
    std::string kind = k.is_string() ? k.get<std::string>() : "";
    if (kind == "last") {
      only(j, path, {"window", "count", "unit"});
      w.window = WindowKind::last;
      if (!j.contains("count") || !j["count"].is_number_integer() || j["count"].get<int64_t>() < 0 ||
          j["count"].get<int64_t>() > 1000000)
        fail(path + ".count", "expected a whole number from 0 to 1000000");
      w.count = j["count"].get<int64_t>();
      auto u = j.contains("unit") && j["unit"].is_string() ? duration_unit(j["unit"].get<std::string>()) : std::string_view();
      if (u.empty()) fail(path + ".unit", "expected minutes, hours, days or weeks");
      w.unit = std::string(u);
    } else if (kind == "this" || kind == "previous") {
      only(j, path, {"window", "unit", "zone"});
      w.window = kind == "this" ? WindowKind::this_ : WindowKind::previous;
      auto u = j.contains("unit") && j["unit"].is_string() ? calendar_unit(j["unit"].get<std::string>()) : std::string_view();
      if (u.empty()) fail(path + ".unit", "expected day, week, month or year");
      w.unit = std::string(u);
      if (j.contains("zone")) {
        if (!j["zone"].is_string() || j["zone"].get<std::string>().empty()) fail(path + ".zone", "expected a time zone name");
        w.zone = j["zone"].get<std::string>();
      }
    } else if (kind == "since") {
      only(j, path, {"window", "from"});
      w.window = WindowKind::since;
      if (!j.contains("from")) fail(path, "a since window needs \"from\"");
      w.children.push_back(node(j["from"], path + ".from", depth + 1));
    } else {
      fail(path + ".window", "expected last, this, previous or since");
    }
    return w;
  }

  [[noreturn]] static void fail(const std::string& path, const std::string& what) {
    throw ParseError("rule JSON at " + path + ": " + what, 0);
  }

  static void only(const json& j, const std::string& path, std::initializer_list<const char*> keys) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      bool ok = false;
      for (const char* k : keys) ok = ok || it.key() == k;
      if (!ok) fail(path, "unexpected key \"" + it.key() + "\"");
    }
  }

  static std::string plain_name(const json& v, const std::string& path) {
    if (!v.is_string()) fail(path, "expected a name");
    std::string s = v.get<std::string>();
    if (s.empty() || s.find_first_of("`.") != std::string::npos) fail(path, "a name is not empty and has no '`' or '.'");
    if (auto bad = find_invalid_utf8(s)) fail(path, "invalid UTF-8 at byte " + std::to_string(*bad));
    return s;
  }

  static std::string ref_name(const json& v, const std::string& path) {
    if (!v.is_string()) fail(path, "expected a name");
    std::string s = v.get<std::string>();
    auto dot = s.find('.');
    if (dot == std::string::npos) return plain_name(v, path);
    plain_name(s.substr(0, dot), path);
    plain_name(s.substr(dot + 1), path);
    return s;
  }

 private:
  Limits limits_;
  uint32_t nodes_ = 0;

 public:
  void reset_nodes() { nodes_ = 0; }
};

/// Rejects JSON nested deeper than the limit before parsing it.
void check_json_nesting(std::string_view text, const Limits& limits, uint32_t extra) {
  if (text.size() > limits.max_text_bytes)
    throw LimitError("the rule JSON has " + std::to_string(text.size()) + " bytes, more than the limit of " +
                     std::to_string(limits.max_text_bytes));
  uint64_t depth = 0;
  bool in_string = false;
  // Each tree level nests at most three JSON levels ({"op":…,"args":[{…}]}).
  const uint64_t max = 3ull * limits.max_depth + extra;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max) throw LimitError("rule JSON: nesting deeper than the limit at byte " + std::to_string(i));
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

json parse_json(std::string_view text) {
  if (auto bad = find_invalid_utf8(text)) throw Utf8Error("rule JSON: invalid UTF-8 at byte " + std::to_string(*bad), *bad);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw ParseError(std::string("rule JSON: ") + e.what(), e.byte);
  }
}

}  // namespace

std::string to_text(const Node& node) {
  std::string out;
  print(node, out);
  return out;
}

std::string to_json(const Node& node) { return to_j(node).dump(); }

Node from_json(std::string_view text, const Limits& limits) {
  check_json_nesting(text, limits, 2);
  json j = parse_json(text);
  JsonReader r(limits);
  return r.node(j, "$", 1);
}

std::string rules_to_text(std::span<const Rule> rules) {
  std::string out;
  for (const auto& r : rules) {
    out += r.kind == RuleKind::tag ? "tag " : "trait ";
    out += name_text(r.name);
    out += " = ";
    print(r.expr, out);
    out += "\n";
  }
  return out;
}

std::string rules_to_json(std::span<const Rule> rules) {
  json a = json::array();
  for (const auto& r : rules)
    a.push_back(json{{"kind", r.kind == RuleKind::tag ? "tag" : "trait"}, {"name", r.name}, {"expr", to_j(r.expr)}});
  return json{{"rules", a}}.dump();
}

std::vector<Rule> rules_from_json(std::string_view text, const Limits& limits) {
  check_json_nesting(text, limits, 4);
  json j = parse_json(text);
  if (!j.is_object() || !j.contains("rules") || !j["rules"].is_array())
    JsonReader::fail("$", "expected {\"rules\": [ … ]}");
  JsonReader::only(j, "$", {"rules"});
  const json& a = j["rules"];
  if (a.size() > limits.max_rules)
    throw LimitError("more than " + std::to_string(limits.max_rules) + " rules in one rule set");
  std::vector<Rule> out;
  JsonReader reader(limits);
  for (size_t i = 0; i < a.size(); ++i) {
    std::string p = "$.rules[" + std::to_string(i) + "]";
    const json& r = a[i];
    if (!r.is_object()) JsonReader::fail(p, "expected {\"kind\": …, \"name\": …, \"expr\": …}");
    JsonReader::only(r, p, {"kind", "name", "expr"});
    Rule rule;
    std::string kind = r.contains("kind") && r["kind"].is_string() ? r["kind"].get<std::string>() : "";
    if (kind == "tag") rule.kind = RuleKind::tag;
    else if (kind == "trait") rule.kind = RuleKind::trait;
    else JsonReader::fail(p + ".kind", "expected \"tag\" or \"trait\"");
    if (!r.contains("name")) JsonReader::fail(p, "missing \"name\"");
    rule.name = JsonReader::plain_name(r["name"], p + ".name");
    if (!r.contains("expr")) JsonReader::fail(p, "missing \"expr\"");
    reader.reset_nodes();
    rule.expr = reader.node(r["expr"], p + ".expr", 1);
    out.push_back(std::move(rule));
  }
  return out;
}

}  // namespace cdpcore::rules
