// Definitions: parsed by the rule language's parser, compiled into a plan of
// bitmap operations over tags and segments, with the rest (attribute and
// trait conditions, event aggregations) handed to the rule engine as "scan"
// leaves. Evaluation follows SQL's three-valued logic: each node has a TRUE
// set and a FALSE set (NULL is neither); `and` intersects TRUE sets and
// unites FALSE sets, `or` the reverse, `not` swaps them. Tags and segments
// are two-valued, so their FALSE set is the universe minus their members and
// is only computed under a `not` that cannot become an and-not.
#include <algorithm>
#include <functional>
#include <set>

#include "cdpcore/error.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/rules.hpp"
#include "segment/engine_impl.hpp"

namespace cdpcore::segment_detail {

namespace {

using rules::Node;
using rules::NodeKind;
using rules::Op;

enum class POp : uint8_t { segment, tag, labels, has_label, scan, constant, and_, or_, not_ };

}  // namespace

struct PlanNode {
  POp op = POp::constant;
  std::string name;                 // segment, tag or value tag
  std::vector<std::string> labels;  // labels: the labels of value tag `name`
  bool negate = false;              // labels: labelled but none of these (!=, not in)
  bool value = false;               // constant
  Node expr;                        // scan
  rules::SourcePos pos;
  std::vector<PlanNode> children;
  bool two_valued = true;  // no scan or label comparison below
  // scan: compiled on first use (expr, and `not (expr)` for FALSE sets)
  std::shared_ptr<CompiledExpression> compiled, compiled_not;
};

struct Plan {
  PlanNode root;
};

namespace {

// What a name means now (for a new definition).
std::optional<NameKind> resolve_now(const Impl& im, std::string_view self, std::string_view name) {
  if (name == self || im.segments.count(name)) return NameKind::segment;
  auto t = im.tags.find(name);
  if (t != im.tags.end()) {
    switch (t->second.kind) {
      case TagEntry::Kind::boolean:
        return NameKind::tag;
      case TagEntry::Kind::value:
        return NameKind::value_tag;
      case TagEntry::Kind::trait:
        return NameKind::trait;
    }
  }
  if (im.store) {
    const ProfileSchema& schema = im.store->schema();
    if (schema.attribute(name) || schema.event_type(name)) return NameKind::column;
  }
  return std::nullopt;
}

[[noreturn]] void fail_type(std::string_view seg, const std::string& what, const rules::SourcePos& pos) {
  throw TypeError(at_pos(seg, what, pos.line, pos.column));
}

// Walks a definition: records every name's meaning and first position,
// whether the definition depends on time, and rejects unknown names.
struct NameCollector {
  const Impl& im;
  Segment& s;
  bool resolve;  // false: positions only (a stored definition keeps its meanings)

  void record(const std::string& name, NameKind k, const rules::SourcePos& p) {
    s.name_pos.emplace(name, p);
    if (resolve) s.names.emplace(name, k);
  }

  void walk(const Node& n) {
    switch (n.kind) {
      case NodeKind::ref: {
        if (n.name == "as_of") {
          s.time_relative = true;
          return;
        }
        if (!resolve) {
          s.name_pos.emplace(n.name, n.pos);
          return;
        }
        auto k = resolve_now(im, s.name, n.name);
        if (!k) {
          std::string what = "unknown name '" + n.name + "': not a segment, tag, trait";
          what += im.store ? ", attribute or event type" : " (and no profile store is attached for attributes)";
          throw NotFound(at_pos(s.name, what, n.pos.line, n.pos.column));
        }
        record(n.name, *k, n.pos);
        if (*k == NameKind::segment && n.name != s.name) {
          auto it = im.segments.find(n.name);
          if (it != im.segments.end() && it->second->time_relative) s.time_relative = true;
        }
        return;
      }
      case NodeKind::aggregate: {
        // Names inside an aggregation are the event's properties: the rule
        // engine checks them. Record the event type it reads.
        s.time_relative = true;
        if (!n.children.empty() && n.children[0].kind == NodeKind::ref) {
          std::string_view target = n.children[0].name;
          std::string event(target.substr(0, target.find('.')));
          if (resolve && (!im.store || !im.store->schema().event_type(event))) {
            throw NotFound(at_pos(s.name, "unknown event type '" + event + "'", n.children[0].pos.line,
                                  n.children[0].pos.column));
          }
          record(event, NameKind::column, n.children[0].pos);
        }
        return;
      }
      case NodeKind::window:
      case NodeKind::call:
        s.time_relative = true;
        break;
      default:
        break;
    }
    for (const Node& c : n.children) walk(c);
  }
};

bool is_string_literal(const Node& n) {
  return n.kind == NodeKind::literal && std::holds_alternative<std::string>(n.literal);
}

const char* literal_type(const Node& n) {
  if (n.kind != NodeKind::literal) return rules::node_kind_name(n.kind);
  switch (n.literal.index()) {
    case 0:
      return "null";
    case 1:
      return "a boolean";
    case 2:
    case 3:
      return "a number";
    default:
      return "a string";
  }
}

// Builds the plan of a definition from the names' recorded meanings.
struct PlanBuilder {
  const Segment& s;

  NameKind kind_of(const std::string& name) const {
    auto it = s.names.find(name);
    return it == s.names.end() ? NameKind::column : it->second;
  }
  bool is_value_tag(const Node& n) const { return n.kind == NodeKind::ref && kind_of(n.name) == NameKind::value_tag; }

  // A value tag anywhere in `n` (outside the label comparisons handled by build).
  void reject_value_tags(const Node& n) const {
    if (is_value_tag(n)) {
      fail_type(s.name,
                "value tag '" + n.name + "' can only be compared with labels (==, !=, in, not in, is null)", n.pos);
    }
    for (const Node& c : n.children) reject_value_tags(c);
  }

  PlanNode scan(const Node& n) const {
    reject_value_tags(n);
    PlanNode p;
    p.op = POp::scan;
    p.expr = n;
    p.pos = n.pos;
    p.two_valued = false;
    return p;
  }

  PlanNode labels(const Node& tag, std::vector<std::string> labels, bool negate, const rules::SourcePos& pos) const {
    PlanNode p;
    p.op = POp::labels;
    p.name = tag.name;
    p.labels = std::move(labels);
    p.negate = negate;
    p.pos = pos;
    p.two_valued = false;
    return p;
  }

  void flatten(const Node& n, Op op, std::vector<const Node*>& out) const {
    if (n.kind == NodeKind::binary && n.op == op) {
      for (const Node& c : n.children) flatten(c, op, out);
    } else {
      out.push_back(&n);
    }
  }

  PlanNode build(const Node& n) const {
    switch (n.kind) {
      case NodeKind::binary:
        if (n.op == Op::and_ || n.op == Op::or_) return build_nary(n);
        if ((n.op == Op::eq || n.op == Op::ne) && n.children.size() == 2) {
          const Node& a = n.children[0];
          const Node& b = n.children[1];
          if (is_value_tag(a) || is_value_tag(b)) {
            const Node& tag = is_value_tag(a) ? a : b;
            const Node& other = is_value_tag(a) ? b : a;
            if (!is_string_literal(other)) {
              fail_type(s.name,
                        "value tag '" + tag.name + "' compared with " + literal_type(other) + "; labels are strings",
                        other.pos.line ? other.pos : n.pos);
            }
            return labels(tag, {std::get<std::string>(other.literal)}, n.op == Op::ne, n.pos);
          }
        }
        return scan(n);
      case NodeKind::unary:
        if (n.op == Op::not_ && n.children.size() == 1) {
          PlanNode c = build(n.children[0]);
          if (c.op == POp::scan) return scan(n);  // the rule engine negates with its null semantics
          PlanNode p;
          p.op = POp::not_;
          p.pos = n.pos;
          p.two_valued = c.two_valued;
          p.children.push_back(std::move(c));
          return p;
        }
        return scan(n);
      case NodeKind::in:
        if (n.children.size() == 2 && is_value_tag(n.children[0])) {
          const Node& list = n.children[1];
          if (list.kind != NodeKind::list)
            fail_type(s.name, "value tag '" + n.children[0].name + "' must be compared with a list of labels", list.pos);
          std::vector<std::string> ls;
          for (const Node& e : list.children) {
            if (!is_string_literal(e)) {
              fail_type(s.name,
                        "value tag '" + n.children[0].name + "' compared with " + literal_type(e) +
                            "; labels are strings",
                        e.pos.line ? e.pos : list.pos);
            }
            ls.push_back(std::get<std::string>(e.literal));
          }
          return labels(n.children[0], std::move(ls), n.op == Op::not_in, n.pos);
        }
        return scan(n);
      case NodeKind::is_null:
        if (n.children.size() == 1 && is_value_tag(n.children[0])) {
          PlanNode has;
          has.op = POp::has_label;
          has.name = n.children[0].name;
          has.pos = n.pos;
          if (n.op == Op::is_not_null) return has;
          PlanNode p;
          p.op = POp::not_;
          p.pos = n.pos;
          p.children.push_back(std::move(has));
          return p;
        }
        return scan(n);
      case NodeKind::literal:
        if (std::holds_alternative<bool>(n.literal)) {
          PlanNode p;
          p.op = POp::constant;
          p.value = std::get<bool>(n.literal);
          p.pos = n.pos;
          return p;
        }
        if (!std::holds_alternative<std::monostate>(n.literal))
          fail_type(s.name, std::string("a condition must be boolean, not ") + literal_type(n), n.pos);
        return scan(n);
      case NodeKind::ref: {
        NameKind k = kind_of(n.name);
        if (k == NameKind::segment || k == NameKind::tag) {
          PlanNode p;
          p.op = k == NameKind::segment ? POp::segment : POp::tag;
          p.name = n.name;
          p.pos = n.pos;
          return p;
        }
        if (k == NameKind::value_tag) {
          fail_type(s.name,
                    "value tag '" + n.name + "' is not a condition; compare it with a label (" + n.name +
                        " == \"...\")",
                    n.pos);
        }
        return scan(n);
      }
      default:
        return scan(n);
    }
  }

  PlanNode build_nary(const Node& n) const {
    std::vector<const Node*> parts;
    flatten(n, n.op, parts);
    PlanNode p;
    p.op = n.op == Op::and_ ? POp::and_ : POp::or_;
    p.pos = n.pos;
    // Scan operands are handed to the rule engine together, as one condition.
    std::vector<const Node*> scans;
    for (const Node* c : parts) {
      PlanNode b = build(*c);
      if (b.op == POp::scan) {
        scans.push_back(c);
      } else {
        p.two_valued = p.two_valued && b.two_valued;
        p.children.push_back(std::move(b));
      }
    }
    if (!scans.empty()) {
      Node merged = *scans[0];
      for (size_t i = 1; i < scans.size(); ++i) {
        rules::SourcePos at = merged.pos;
        merged = Node::make(NodeKind::binary, n.op, {std::move(merged), *scans[i]});
        merged.pos = at;
      }
      p.children.push_back(scan(merged));
      p.two_valued = false;
    }
    if (p.children.size() == 1) return std::move(p.children[0]);
    return p;
  }
};

void visit_names(const Node& n, const std::function<void(const Node&)>& fn) {
  if (n.kind == NodeKind::ref) fn(n);
  for (const Node& c : n.children) visit_names(c, fn);
}

// Rethrows a rule-engine error about part of a definition with the segment's
// name in front, keeping its type (and position for parse errors).
[[noreturn]] void rethrow_in(std::string_view seg) {
  std::string pre = "segment '" + std::string(seg) + "': ";
  try {
    throw;
  } catch (const ParseError& e) {
    throw ParseError(pre + e.what(), e.offset(), e.line(), e.column());
  } catch (const Utf8Error& e) {
    throw Utf8Error(pre + e.what(), e.offset());
  } catch (const Error& e) {
    switch (e.code()) {
      case ErrorCode::not_found:
        throw NotFound(pre + e.what());
      case ErrorCode::type:
        throw TypeError(pre + e.what());
      case ErrorCode::invalid_argument:
        throw InvalidArgument(pre + e.what());
      case ErrorCode::limit:
        throw LimitError(pre + e.what());
      case ErrorCode::state:
        throw StateError(pre + e.what());
      case ErrorCode::cancelled:
        throw Cancelled(pre + e.what());
      default:
        throw Error(e.code(), pre + e.what());
    }
  }
}

// ---- evaluation -----------------------------------------------------------------------

// A bitmap that is either borrowed (a tag's or segment's members) or owned.
struct BRef {
  const Bitmap* borrowed = nullptr;
  Bitmap owned;
  const Bitmap& get() const noexcept { return borrowed ? *borrowed : owned; }
  Bitmap take() { return borrowed ? *borrowed : std::move(owned); }
  static BRef of(const Bitmap& b) {
    BRef r;
    r.borrowed = &b;
    return r;
  }
  static BRef own(Bitmap b) {
    BRef r;
    r.owned = std::move(b);
    return r;
  }
};

struct Evaluator {
  Impl& im;
  const Segment& s;
  Timestamp as_of;
  std::optional<Bitmap> universe;

  const Bitmap& all() {
    if (!universe) universe = im.universe_bitmap();
    return *universe;
  }

  const TagEntry& tag(const PlanNode& p, TagEntry::Kind kind) {
    auto it = im.tags.find(p.name);
    if (it == im.tags.end() || it->second.kind != kind) {
      throw NotFound(at_pos(s.name,
                            std::string(kind == TagEntry::Kind::value ? "value tag '" : "tag '") + p.name +
                                "' was deleted; restore it or redefine the segment",
                            p.pos.line, p.pos.column));
    }
    return it->second;
  }

  const Bitmap& segment_members(const PlanNode& p) {
    const Segment& dep = im.get(p.name);
    if (!dep.evaluated) {
      throw StateError(at_pos(s.name, "segment '" + p.name + "' has not been evaluated", p.pos.line, p.pos.column));
    }
    return dep.members;
  }

  Bitmap label_union(const PlanNode& p) {
    const TagEntry& t = tag(p, TagEntry::Kind::value);
    std::vector<const Bitmap*> parts;
    for (const std::string& l : p.labels) {
      auto it = std::find(t.labels.begin(), t.labels.end(), l);
      if (it != t.labels.end()) parts.push_back(&t.label_members[static_cast<size_t>(it - t.labels.begin())]);
    }
    return Bitmap::or_many(parts);
  }

  CompiledExpression& compiled(PlanNode& p, bool negated) {
    std::shared_ptr<CompiledExpression>& slot = negated ? p.compiled_not : p.compiled;
    if (slot) return *slot;
    if (!im.store) {
      throw StateError(at_pos(s.name, "'" + rules::to_text(p.expr) + "' needs a profile store (attach_store)",
                              p.pos.line, p.pos.column));
    }
    Node e = negated ? Node::make(NodeKind::unary, Op::not_, {p.expr}) : p.expr;
    CompileOptions opts;
    opts.resolver = make_resolver(im, s.name);
    try {
      slot = std::make_shared<CompiledExpression>(CompiledExpression::compile(*im.store, e, opts));
    } catch (...) {
      rethrow_in(s.name);
    }
    if (slot->type() != ValueType::boolean && slot->type() != ValueType::null) {
      std::string t = value_type_name(slot->type());
      slot.reset();
      fail_type(s.name, "'" + rules::to_text(p.expr) + "' is " + t + ", not a condition", p.pos);
    }
    return *slot;
  }

  Bitmap scan(PlanNode& p, bool negated, const Bitmap* candidates) {
    CompiledExpression& c = compiled(p, negated);
    try {
      if (candidates) return c.evaluate_persons(*im.store, *candidates, as_of);
      return c.evaluate_all(*im.store, as_of);
    } catch (...) {
      rethrow_in(s.name);
    }
  }

  // Whether `p` is `not X` with X two-valued: subtracted inside an `and`.
  static bool is_negated_two_valued(const PlanNode& p) {
    return p.op == POp::not_ && p.children[0].two_valued;
  }

  BRef truth(PlanNode& p, const Bitmap* candidates) {
    switch (p.op) {
      case POp::segment:
        return BRef::of(segment_members(p));
      case POp::tag:
        return BRef::of(tag(p, TagEntry::Kind::boolean).members);
      case POp::has_label:
        return BRef::of(tag(p, TagEntry::Kind::value).members);
      case POp::labels: {
        Bitmap u = label_union(p);
        if (p.negate) return BRef::own(tag(p, TagEntry::Kind::value).members - u);
        return BRef::own(std::move(u));
      }
      case POp::scan: {
        // A scan covers the store's persons; a universe set by hand bounds
        // every answer that is not a stored tag or segment.
        Bitmap b = scan(p, false, candidates);
        if (im.universe) b &= *im.universe;
        return BRef::own(std::move(b));
      }
      case POp::constant:
        return p.value ? BRef::of(all()) : BRef::own(Bitmap());
      case POp::not_:
        return falsity(p.children[0], candidates);
      case POp::or_: {
        std::vector<BRef> parts;
        for (PlanNode& c : p.children) parts.push_back(truth(c, candidates));
        std::vector<const Bitmap*> ptrs;
        for (const BRef& r : parts) ptrs.push_back(&r.get());
        return BRef::own(Bitmap::or_many(ptrs));
      }
      case POp::and_: {
        // Bitmap operands first, then subtract the negated ones, then hand
        // the survivors to the scan (it reads columns only for them).
        std::vector<BRef> pos;
        std::vector<BRef> neg;
        PlanNode* scan_child = nullptr;
        for (PlanNode& c : p.children) {
          if (c.op == POp::scan) scan_child = &c;
          else if (is_negated_two_valued(c)) neg.push_back(truth(c.children[0], candidates));
          else pos.push_back(truth(c, candidates));
        }
        Bitmap acc;
        if (pos.empty()) {
          acc = candidates ? *candidates : all();
        } else if (pos.size() == 1) {
          acc = pos[0].take();
        } else {
          std::vector<const Bitmap*> ptrs;
          for (const BRef& r : pos) ptrs.push_back(&r.get());
          acc = Bitmap::and_many(ptrs);
        }
        for (const BRef& r : neg) {
          if (acc.empty()) break;
          acc -= r.get();
        }
        if (scan_child && !acc.empty()) acc = scan(*scan_child, false, &acc);
        return BRef::own(std::move(acc));
      }
    }
    return BRef::own(Bitmap());
  }

  // The FALSE set of a condition: always inside the universe, whatever the
  // labels or the store's columns hold beyond it (`not` is relative to it).
  BRef falsity(PlanNode& p, const Bitmap* candidates) {
    switch (p.op) {
      case POp::segment:
      case POp::tag:
      case POp::has_label:
        return BRef::own(all() - truth(p, candidates).get());
      case POp::labels: {
        Bitmap u = label_union(p);
        if (p.negate) return BRef::own(u & all());
        return BRef::own((tag(p, TagEntry::Kind::value).members - u) & all());
      }
      case POp::scan: {
        Bitmap b = scan(p, true, candidates);
        b &= all();  // a store holds columns for ordinals beyond a universe set by hand
        return BRef::own(std::move(b));
      }
      case POp::constant:
        return p.value ? BRef::own(Bitmap()) : BRef::of(all());
      case POp::not_:
        return truth(p.children[0], candidates);
      case POp::and_: {
        std::vector<BRef> parts;
        for (PlanNode& c : p.children) parts.push_back(falsity(c, candidates));
        std::vector<const Bitmap*> ptrs;
        for (const BRef& r : parts) ptrs.push_back(&r.get());
        return BRef::own(Bitmap::or_many(ptrs));
      }
      case POp::or_: {
        std::vector<BRef> parts;
        for (PlanNode& c : p.children) parts.push_back(falsity(c, candidates));
        std::vector<const Bitmap*> ptrs;
        for (const BRef& r : parts) ptrs.push_back(&r.get());
        return BRef::own(Bitmap::and_many(ptrs));
      }
    }
    return BRef::own(Bitmap());
  }

  // One person, three-valued: 1 TRUE, 0 FALSE, -1 NULL.
  int person(PlanNode& p, PersonOrdinal who, const std::map<Segment*, bool>& decided) {
    switch (p.op) {
      case POp::segment: {
        Segment& dep = im.get(p.name);
        auto d = decided.find(&dep);
        if (d != decided.end()) return d->second ? 1 : 0;
        return segment_members(p).contains(who) ? 1 : 0;
      }
      case POp::tag:
        return tag(p, TagEntry::Kind::boolean).members.contains(who) ? 1 : 0;
      case POp::has_label:
        return tag(p, TagEntry::Kind::value).members.contains(who) ? 1 : 0;
      case POp::labels: {
        const TagEntry& t = tag(p, TagEntry::Kind::value);
        if (!t.members.contains(who)) return -1;
        bool in = false;
        for (const std::string& l : p.labels) {
          auto it = std::find(t.labels.begin(), t.labels.end(), l);
          if (it != t.labels.end() && t.label_members[static_cast<size_t>(it - t.labels.begin())].contains(who))
            in = true;
        }
        return in != p.negate ? 1 : 0;
      }
      case POp::scan: {
        if (im.universe && !im.universe->contains(who)) return -1;  // as the bulk path: outside, neither
        CompiledExpression& c = compiled(p, false);
        Value v;
        try {
          v = c.evaluate_value(*im.store, who, as_of);
        } catch (...) {
          rethrow_in(s.name);
        }
        if (const bool* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
        return -1;
      }
      case POp::constant:
        return p.value ? 1 : 0;
      case POp::not_: {
        if (!all().contains(who)) return -1;  // `not` is relative to the universe
        int v = person(p.children[0], who, decided);
        return v < 0 ? v : 1 - v;
      }
      case POp::and_: {
        int out = 1;
        for (PlanNode& c : p.children) {
          int v = person(c, who, decided);
          if (v == 0) return 0;
          if (v < 0) out = -1;
        }
        return out;
      }
      case POp::or_: {
        int out = 0;
        for (PlanNode& c : p.children) {
          int v = person(c, who, decided);
          if (v == 1) return 1;
          if (v < 0) out = -1;
        }
        return out;
      }
    }
    return -1;
  }

  // Names a definition reads through the rule engine: segments and boolean
  // tags as booleans, traits as numbers.
  static NameResolver make_resolver(Impl& im, std::string seg) {
    Impl* ip = &im;
    return [ip, seg](std::string_view name) -> std::optional<ExternalName> {
      if (ip->segments.count(name)) {
        std::string n(name);
        ExternalName e;
        e.type = ValueType::boolean;
        e.fetch = [ip, n](std::span<const PersonOrdinal> persons, std::span<double> values, std::span<uint8_t> valid) {
          const Segment& dep = ip->get(n);
          for (size_t i = 0; i < persons.size(); ++i) {
            values[i] = dep.members.contains(persons[i]) ? 1.0 : 0.0;
            valid[i] = 1;
          }
        };
        return e;
      }
      auto t = ip->tags.find(name);
      if (t == ip->tags.end()) return std::nullopt;
      std::string n(name);
      ExternalName e;
      if (t->second.kind == TagEntry::Kind::boolean) {
        e.type = ValueType::boolean;
        e.fetch = [ip, n](std::span<const PersonOrdinal> persons, std::span<double> values, std::span<uint8_t> valid) {
          auto it = ip->tags.find(n);
          for (size_t i = 0; i < persons.size(); ++i) {
            values[i] = it != ip->tags.end() && it->second.members.contains(persons[i]) ? 1.0 : 0.0;
            valid[i] = 1;
          }
        };
        return e;
      }
      if (t->second.kind == TagEntry::Kind::trait) {
        e.type = ValueType::float64;
        e.fetch = [ip, n](std::span<const PersonOrdinal> persons, std::span<double> values, std::span<uint8_t> valid) {
          auto it = ip->tags.find(n);
          for (size_t i = 0; i < persons.size(); ++i) {
            bool ok = it != ip->tags.end() && it->second.is_valid(persons[i]);
            values[i] = ok ? it->second.values[persons[i]] : 0.0;
            valid[i] = ok ? 1 : 0;
          }
        };
        return e;
      }
      return std::nullopt;  // value tags are only compared with labels (the plan does that)
    };
  }
};

// Recorded names must still mean what they meant.
void check_names(const Impl& im, const Segment& s) {
  for (const auto& [name, kind] : s.names) {
    const rules::SourcePos* p = nullptr;
    auto pit = s.name_pos.find(name);
    if (pit != s.name_pos.end()) p = &pit->second;
    auto fail = [&](const std::string& what) {
      throw NotFound(at_pos(s.name, what, p ? p->line : 0, p ? p->column : 0));
    };
    switch (kind) {
      case NameKind::segment:
        if (!im.segments.count(name)) fail("segment '" + name + "' was removed");
        break;
      case NameKind::tag:
      case NameKind::value_tag:
      case NameKind::trait: {
        auto t = im.tags.find(name);
        TagEntry::Kind want = kind == NameKind::tag         ? TagEntry::Kind::boolean
                              : kind == NameKind::value_tag ? TagEntry::Kind::value
                                                            : TagEntry::Kind::trait;
        if (t == im.tags.end() || t->second.kind != want) {
          fail(std::string(kind == NameKind::trait ? "trait '" : kind == NameKind::tag ? "tag '" : "value tag '") +
               name + "' was deleted; restore it or redefine the segment");
        }
        break;
      }
      case NameKind::column:
        break;  // the rule engine reports missing attributes and events
    }
  }
}

Plan& plan_of(Impl& im, Segment& s) {
  check_names(im, s);
  if (!s.plan) {
    auto p = std::make_shared<Plan>();
    p->root = PlanBuilder{s}.build(*s.expr);
    s.plan = std::move(p);
  }
  return *s.plan;
}

}  // namespace

void Impl::parse_definition(Segment& s, std::string_view text) {
  Node root;
  try {
    root = rules::parse_expression(text);
  } catch (...) {
    rethrow_in(s.name);
  }
  s.name_pos.clear();
  s.time_relative = false;
  NameCollector{*this, s, false}.walk(root);
  s.expr = std::make_shared<const Node>(std::move(root));
  s.plan.reset();
}

void Impl::compile_definition(Segment& s, std::string_view text) {
  Node root;
  try {
    root = rules::parse_expression(text);
  } catch (...) {
    rethrow_in(s.name);
  }
  s.names.clear();
  s.name_pos.clear();
  s.time_relative = false;
  NameCollector{*this, s, true}.walk(root);
  s.expr = std::make_shared<const Node>(std::move(root));
  s.plan.reset();
  // Type-check now: label comparisons, and the scan parts against the store.
  PlanNode plan = PlanBuilder{s}.build(*s.expr);
  if (store) {
    Evaluator ev{*this, s, 0, std::nullopt};
    std::function<void(PlanNode&)> check = [&](PlanNode& p) {
      if (p.op == POp::scan) ev.compiled(p, false);
      for (PlanNode& c : p.children) check(c);
    };
    check(plan);
  } else {
    std::function<void(const PlanNode&)> check = [&](const PlanNode& p) {
      if (p.op == POp::scan && s.kind == SegmentKind::dynamic) {
        throw StateError(at_pos(s.name, "'" + rules::to_text(p.expr) + "' needs a profile store (attach_store)",
                                p.pos.line, p.pos.column));
      }
      for (const PlanNode& c : p.children) check(c);
    };
    check(plan);
  }
  auto p = std::make_shared<Plan>();
  p->root = std::move(plan);
  s.plan = std::move(p);
}

void Impl::check_cycles(const Segment& s) const {
  // Depth-first from s over segment references; `s` replaces any stored
  // segment of the same name.
  std::vector<std::string> path{s.name};
  std::set<std::string, std::less<>> done;
  std::function<bool(const Segment&)> dfs = [&](const Segment& cur) -> bool {
    for (const auto& [n, k] : cur.names) {
      if (k != NameKind::segment) continue;
      if (n == s.name) {
        path.push_back(n);
        return true;
      }
      if (done.count(n)) continue;
      auto it = segments.find(n);
      if (it == segments.end()) continue;
      path.push_back(n);
      if (dfs(*it->second)) return true;
      path.pop_back();
      done.insert(n);
    }
    return false;
  };
  if (!dfs(s)) return;
  std::string cycle;
  for (const std::string& n : path) cycle += (cycle.empty() ? "" : " -> ") + n;
  const std::string& first = path[1];
  auto pit = s.name_pos.find(first);
  throw InvalidArgument(at_pos(s.name, "cycle between segments: " + cycle,
                               pit != s.name_pos.end() ? pit->second.line : 0,
                               pit != s.name_pos.end() ? pit->second.column : 0));
}

Bitmap Impl::compute(Segment& s, Timestamp as_of) {
  Plan& plan = plan_of(*this, s);
  Evaluator ev{*this, s, as_of, std::nullopt};
  BRef r = ev.truth(plan.root, nullptr);
  return r.take();
}

bool Impl::compute_person(Segment& s, PersonOrdinal p, Timestamp as_of, const std::map<Segment*, bool>& decided) {
  Plan& plan = plan_of(*this, s);
  Evaluator ev{*this, s, as_of, std::nullopt};
  return ev.person(plan.root, p, decided) == 1;
}

}  // namespace cdpcore::segment_detail
