// Vectorised evaluation of compiled rule programs over blocks of persons.
//
// Each node computes a column for the whole block: one kernel per node kind
// here, the function library in functions.cpp, event aggregations in
// aggregate.cpp. Rows not yet compacted into an event log are merged into a
// small per-person overlay, so that every person's rows are one sorted range.
#include <algorithm>
#include <cmath>

#include "rules/functions.hpp"
#include "rules/kernels.hpp"

namespace cdpcore::rules_detail {

using rules::Op;
using rules::WindowKind;

namespace {

int64_t sat_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? kMin : kMax;
  return r;
}

Timestamp calendar_start(const TimeZone& z, Timestamp t, std::string_view unit, int back) {
  CivilDate d = z.to_local(t).date;
  int64_t days = days_from_civil(d);
  if (unit == "day") return z.start_of_day(civil_from_days(days - back));
  if (unit == "week") return z.start_of_day(civil_from_days(days - (weekday_of(days) - 1) - 7 * back));
  if (unit == "month") {
    int32_t y = d.year;
    int32_t m = static_cast<int32_t>(d.month) - back;
    while (m <= 0) {
      m += 12;
      --y;
    }
    return z.start_of_day(CivilDate{y, static_cast<uint32_t>(m), 1});
  }
  return z.start_of_day(CivilDate{d.year - back, 1, 1});  // year
}

void size_column(Column& c, ValueType t, size_t cap) {
  c.valid.assign(cap, 0);
  switch (t) {
    case ValueType::float64: c.d.assign(cap, 0); break;
    case ValueType::string: c.s.assign(cap, {}); break;
    case ValueType::string_set: c.set.assign(cap, nullptr); break;
    default: c.i.assign(cap, 0); break;
  }
}

}  // namespace

Evaluator::Evaluator(const Program& program, const ProfileSnapshot& store, Timestamp as_of)
    : p_(program), store_(store), as_of_(as_of) {
  event_slot_.assign(store.event_table_count(), -1);
  int slots = 0;
  for (const auto& a : p_.aggs)
    if (a.event >= 0 && event_slot_[a.event] < 0) event_slot_[a.event] = slots++;
  window_bounds_.resize(p_.windows.size());
  for (size_t w = 0; w < p_.windows.size(); ++w) {
    const WindowSpec& s = p_.windows[w];
    int64_t lo = kMin, hi = as_of;
    switch (s.kind) {
      case WindowKind::last: lo = sat_sub(as_of, s.micros) == kMin ? kMin : sat_sub(as_of, s.micros) + 1; break;
      case WindowKind::this_: lo = calendar_start(*s.zone, as_of, s.unit, 0); break;
      case WindowKind::previous:
        lo = calendar_start(*s.zone, as_of, s.unit, 1);
        hi = calendar_start(*s.zone, as_of, s.unit, 0) - 1;
        break;
      default: break;
    }
    window_bounds_[w] = {lo, hi};
  }
}

void Evaluator::begin(Context& ctx) const {
  const size_t cap = std::max(kBlock, kRowChunk);
  if (ctx.program != &p_) {
    ctx.cols.assign(p_.nodes.size(), Column{});
    for (size_t i = 0; i < p_.nodes.size(); ++i) size_column(ctx.cols[i], p_.nodes[i].type, cap);
    ctx.program = &p_;
    ctx.spans.clear();
  }
  int slots = 0;
  for (int s : event_slot_) slots = std::max(slots, s + 1);
  ctx.spans.resize(static_cast<size_t>(slots));
  ctx.filled.assign(p_.nodes.size(), 0);
  ctx.arena.clear();
  ctx.persons.clear();
  for (int id : p_.uniform_order) {
    eval_node(ctx, id, 1);
    ctx.filled[id] = 1;
  }
}

void Evaluator::ensure_uniform(Context& ctx, int id, size_t n) const {
  if (p_.nodes[id].level != Level::uniform || ctx.filled[id] >= n) return;
  Column& c = ctx.cols[id];
  size_t from = ctx.filled[id];
  std::fill(c.valid.begin() + static_cast<ptrdiff_t>(from), c.valid.begin() + static_cast<ptrdiff_t>(n), c.valid[0]);
  switch (p_.nodes[id].type) {
    case ValueType::float64: std::fill(c.d.begin() + static_cast<ptrdiff_t>(from), c.d.begin() + static_cast<ptrdiff_t>(n), c.d[0]); break;
    case ValueType::string: std::fill(c.s.begin() + static_cast<ptrdiff_t>(from), c.s.begin() + static_cast<ptrdiff_t>(n), c.s[0]); break;
    case ValueType::string_set: std::fill(c.set.begin() + static_cast<ptrdiff_t>(from), c.set.begin() + static_cast<ptrdiff_t>(n), c.set[0]); break;
    default: std::fill(c.i.begin() + static_cast<ptrdiff_t>(from), c.i.begin() + static_cast<ptrdiff_t>(n), c.i[0]); break;
  }
  ctx.filled[id] = n;
}

void Evaluator::prepare_spans(Context& ctx, size_t n) const {
  ctx.overlay_used = 0;
  for (size_t e = 0; e < event_slot_.size(); ++e) {
    int slot = event_slot_[e];
    if (slot < 0) continue;
    const EventTable& t = store_.event_table(e);
    auto& spans = ctx.spans[static_cast<size_t>(slot)];
    spans.resize(n);
    const bool pending = !t.pending_by_person.empty();
    for (size_t k = 0; k < n; ++k) {
      PersonOrdinal p = ctx.persons[k];
      uint64_t b = 0;
      size_t cnt = t.main_rows_of(p, &b);
      spans[k] = RowSpan{&t.main, b, b + cnt};
      if (!pending) continue;
      auto it = t.pending_by_person.find(p);
      if (it == t.pending_by_person.end()) continue;
      // Rows not yet compacted: merge the person's rows into a small overlay.
      if (ctx.overlay_used == ctx.overlays.size()) ctx.overlays.push_back(std::make_unique<EventColumns>());
      EventColumns& o = *ctx.overlays[ctx.overlay_used++];
      const auto& rows = it->second;
      std::vector<std::pair<int64_t, uint64_t>> order;  // time, (row | pending bit)
      order.reserve(cnt + rows.size());
      constexpr uint64_t kPend = 1ull << 63;
      for (uint64_t r = b; r < b + cnt; ++r) order.push_back({t.main.time[r], r});
      for (uint32_t r : rows) order.push_back({t.pending.time[r], kPend | r});
      std::stable_sort(order.begin(), order.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      const size_t m = order.size();
      o.time.resize(m);
      o.source.resize(m);
      o.props.resize(t.def.properties.size());
      for (size_t i = 0; i < m; ++i) {
        uint64_t r = order[i].second & ~kPend;
        const EventColumns& src = (order[i].second & kPend) ? t.pending : t.main;
        o.time[i] = src.time[r];
        o.source[i] = src.source[r];
      }
      for (size_t pi = 0; pi < t.def.properties.size(); ++pi) {
        auto& op = o.props[pi];
        bool any_null = !t.main.props[pi].valid.empty() || !t.pending.props[pi].valid.empty();
        op.valid.assign(any_null ? m : 0, 1);
        ValueType pt = t.def.properties[pi].type;
        if (pt == ValueType::float64) op.doubles.resize(m);
        else if (pt == ValueType::string) op.codes.resize(m);
        else op.ints.resize(m);
        for (size_t i = 0; i < m; ++i) {
          uint64_t r = order[i].second & ~kPend;
          const auto& sp = ((order[i].second & kPend) ? t.pending : t.main).props[pi];
          if (pt == ValueType::float64) op.doubles[i] = sp.doubles[r];
          else if (pt == ValueType::string) op.codes[i] = sp.codes[r];
          else op.ints[i] = sp.ints[r];
          if (any_null) op.valid[i] = sp.valid.empty() ? 1 : sp.valid[r];
        }
      }
      spans[k] = RowSpan{&o, 0, m};
    }
  }
}

void Evaluator::eval_block(Context& ctx, std::span<const PersonOrdinal> persons) const {
  const size_t n = persons.size();
  ctx.persons.assign(persons.begin(), persons.end());
  ctx.arena.clear();
  prepare_spans(ctx, n);
  for (int id : p_.person_order) eval_node(ctx, id, n);
  // A root that does not depend on the person (a constant, as_of) holds one
  // value; callers read every entry of the block.
  for (int r : p_.roots) ensure_uniform(ctx, r, n);
}

void Evaluator::eval_prop(Context& ctx, int id, size_t n) const {
  const CNode& c = p_.nodes[id];
  Column& out = ctx.cols[id];
  const EventTable& t = store_.event_table(static_cast<size_t>(c.event));
  for (size_t k = 0; k < n; ++k) {
    const EventColumns& src = *ctx.row_src[k];
    uint32_t r = ctx.row_idx[k];
    if (c.index < 0) {
      out.valid[k] = 1;
      out.i[k] = src.time[r];
      continue;
    }
    const auto& pc = src.props[static_cast<size_t>(c.index)];
    bool valid = pc.valid.empty() || pc.valid[r];
    out.valid[k] = valid;
    switch (c.type) {
      case ValueType::float64: out.d[k] = pc.doubles[r]; break;
      case ValueType::string:
        out.s[k] = valid ? std::string_view(t.dicts[static_cast<size_t>(c.index)].values[pc.codes[r]]) : std::string_view();
        break;
      default: out.i[k] = pc.ints[r]; break;
    }
  }
}

// ---- node kinds ------------------------------------------------------------------

namespace {

void constant(const NodeIO& io) {
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::monostate>) out.valid[k] = 0;
          else if constexpr (std::is_same_v<V, bool>) {
            out.valid[k] = 1;
            out.i[k] = v;
          } else if constexpr (std::is_same_v<V, int64_t>) {
            out.valid[k] = 1;
            if (io.node.type == ValueType::float64) out.d[k] = static_cast<double>(v);
            else out.i[k] = v;
          } else if constexpr (std::is_same_v<V, double>) {
            out.valid[k] = 1;
            out.d[k] = v;
          } else {
            out.valid[k] = 1;
            out.s[k] = v;
          }
        },
        io.node.constant);
  }
}

void fill_time(const NodeIO& io, Timestamp t) {
  for (size_t k = 0, n = io.n; k < n; ++k) {
    io.out.valid[k] = 1;
    io.out.i[k] = t;
  }
}

void attribute(const NodeIO& io, const profile_detail::AttrColumn& col, const std::vector<PersonOrdinal>& persons) {
  Column& out = io.out;
  const size_t size = col.size();
  for (size_t k = 0, n = io.n; k < n; ++k) {
    PersonOrdinal p = persons[k];
    bool v = p < size && col.valid[p];
    out.valid[k] = v;
    if (!v) continue;
    switch (io.node.type) {
      case ValueType::float64: out.d[k] = col.doubles[p]; break;
      case ValueType::string: out.s[k] = col.dict.values[col.codes[p]]; break;
      case ValueType::string_set: out.set[k] = &col.sets[p]; break;
      default: out.i[k] = col.ints[p]; break;
    }
  }
  if (io.node.type == ValueType::string_set) out.set_dict = &col.dict;
}

// A value fetched from the host application (bool, int64 or double).
void external(const NodeIO& io, const ExternalName& ext, const std::vector<PersonOrdinal>& persons,
              std::vector<double>& values) {
  const size_t n = io.n;
  Column& out = io.out;
  values.assign(n, 0);
  std::vector<uint8_t> valid(n, 0);
  ext.fetch(std::span<const PersonOrdinal>(persons.data(), n), std::span<double>(values.data(), n),
            std::span<uint8_t>(valid.data(), n));
  for (size_t k = 0; k < n; ++k) {
    double v = values[k];
    bool ok = valid[k] && !std::isnan(v);
    if (io.node.type == ValueType::float64) out.d[k] = v;
    else if (io.node.type == ValueType::boolean) out.i[k] = v != 0;
    else {
      ok = ok && std::fabs(v) < 9.2e18;
      out.i[k] = ok ? static_cast<int64_t>(v) : 0;
    }
    out.valid[k] = ok;
  }
}

// TRUE → true, FALSE / NULL → false
void truth(const NodeIO& io) {
  const Column& a = io.arg(0);
  for (size_t k = 0, n = io.n; k < n; ++k) {
    io.out.valid[k] = 1;
    io.out.i[k] = a.valid[k] && a.i[k] != 0;
  }
}

void to_double(const NodeIO& io) {
  const Column& a = io.arg(0);
  for (size_t k = 0, n = io.n; k < n; ++k) {
    io.out.valid[k] = a.valid[k];
    io.out.d[k] = static_cast<double>(a.i[k]);
  }
}

void negate(const NodeIO& io) {
  const Column& a = io.arg(0);
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    out.valid[k] = a.valid[k];
    if (io.node.type == ValueType::float64) out.d[k] = -a.d[k];
    else if (a.i[k] == kMin) out.valid[k] = 0;
    else out.i[k] = -a.i[k];
  }
}

void logical_not(const NodeIO& io) {
  const Column& a = io.arg(0);
  for (size_t k = 0, n = io.n; k < n; ++k) {
    io.out.valid[k] = a.valid[k];
    io.out.i[k] = !a.i[k];
  }
}

// and / or, three-valued
void logical(const NodeIO& io) {
  const Column& a = io.arg(0);
  const Column& b = io.arg(1);
  Column& out = io.out;
  const bool is_and = io.node.kind == K::and_;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    bool av = a.valid[k], bv = b.valid[k];
    bool at = av && a.i[k], bt = bv && b.i[k];
    if (is_and) {
      bool any_false = (av && !a.i[k]) || (bv && !b.i[k]);
      out.valid[k] = any_false || (av && bv);
      out.i[k] = at && bt;
    } else {
      out.valid[k] = at || bt || (av && bv);
      out.i[k] = at || bt;
    }
  }
}

// + - * / %: doubles, or int64 with null on overflow and division by zero
void arith(const NodeIO& io) {
  const Column& a = io.arg(0);
  const Column& b = io.arg(1);
  const ValueType ta = io.type(0), tb = io.type(1);
  const Op op = io.node.op;
  Column& out = io.out;
  const size_t n = io.n;
  if (ta == ValueType::null || tb == ValueType::null) {
    std::fill(out.valid.begin(), out.valid.begin() + static_cast<ptrdiff_t>(n), 0);
    return;
  }
  if (io.node.type == ValueType::float64) {
    for (size_t k = 0; k < n; ++k) {
      double x = as_num(a, ta, k), y = as_num(b, tb, k);
      double r = 0;
      bool ok = a.valid[k] && b.valid[k];
      switch (op) {
        case Op::add: r = x + y; break;
        case Op::sub: r = x - y; break;
        case Op::mul: r = x * y; break;
        case Op::div: ok = ok && y != 0; r = ok ? x / y : 0; break;
        case Op::mod: ok = ok && y != 0; r = ok ? std::fmod(x, y) : 0; break;
        default: break;
      }
      out.valid[k] = ok && std::isfinite(r);
      out.d[k] = r;
    }
  } else {
    for (size_t k = 0; k < n; ++k) {
      int64_t x = a.i[k], y = b.i[k], r = 0;
      bool ok = a.valid[k] && b.valid[k];
      switch (op) {
        case Op::add: ok = ok && !__builtin_add_overflow(x, y, &r); break;
        case Op::sub: ok = ok && !__builtin_sub_overflow(x, y, &r); break;
        case Op::mul: ok = ok && !__builtin_mul_overflow(x, y, &r); break;
        case Op::mod:
          ok = ok && y != 0;
          r = ok ? (y == -1 ? 0 : x % y) : 0;
          break;
        default: ok = false; break;
      }
      out.valid[k] = ok;
      out.i[k] = r;
    }
  }
}

// = != < <= > >=
void compare(const NodeIO& io) {
  const Column& a = io.arg(0);
  const Column& b = io.arg(1);
  const ValueType ta = io.type(0), tb = io.type(1);
  Column& out = io.out;
  const size_t n = io.n;
  if (ta == ValueType::null || tb == ValueType::null) {
    std::fill(out.valid.begin(), out.valid.begin() + static_cast<ptrdiff_t>(n), 0);
    return;
  }
  auto apply = [&](auto cmp) {
    for (size_t k = 0; k < n; ++k) {
      out.valid[k] = a.valid[k] && b.valid[k];
      int r = out.valid[k] ? cmp(k) : 0;
      bool v = false;
      switch (io.node.op) {
        case Op::eq: v = r == 0; break;
        case Op::ne: v = r != 0; break;
        case Op::lt: v = r < 0; break;
        case Op::le: v = r <= 0; break;
        case Op::gt: v = r > 0; break;
        case Op::ge: v = r >= 0; break;
        default: break;
      }
      out.i[k] = v;
    }
  };
  if (ta == ValueType::string) {
    apply([&](size_t k) { int r = a.s[k].compare(b.s[k]); return r < 0 ? -1 : r > 0 ? 1 : 0; });
  } else if (int_like(ta) && int_like(tb)) {
    apply([&](size_t k) { return a.i[k] < b.i[k] ? -1 : a.i[k] > b.i[k] ? 1 : 0; });
  } else {
    apply([&](size_t k) {
      double x = as_num(a, ta, k), y = as_num(b, tb, k);
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }
}

// x in [v1, v2, …], three-valued
void in_list(const NodeIO& io) {
  const Column& x = io.arg(0);
  const ValueType tx = io.type(0);
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    if (tx == ValueType::null || !x.valid[k]) {
      out.valid[k] = 0;
      out.i[k] = 0;
      continue;
    }
    bool match = false, saw_null = false;
    for (size_t e = 1; e < io.node.args.size() && !match; ++e) {
      const Column& v = io.arg(e);
      ValueType tv = io.type(e);
      if (tv == ValueType::null || !v.valid[k]) {
        saw_null = true;
        continue;
      }
      if (tx == ValueType::string) match = x.s[k] == v.s[k];
      else if (int_like(tx) && int_like(tv)) match = x.i[k] == v.i[k];
      else match = as_num(x, tx, k) == as_num(v, tv, k);
    }
    out.valid[k] = match || !saw_null;
    out.i[k] = match;
  }
}

// x in window: [lo, hi], or [since, hi] with `since` a column
void in_window(const NodeIO& io, const Column* since, std::pair<int64_t, int64_t> bounds) {
  const Column& x = io.arg(0);
  const auto [lo, hi] = bounds;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    bool ok = io.type(0) != ValueType::null && x.valid[k] && (!since || since->valid[k]);
    int64_t l = since ? since->i[k] : lo;
    io.out.valid[k] = ok;
    io.out.i[k] = ok && x.i[k] >= l && x.i[k] <= hi;
  }
}

// x between lo and hi: (x >= lo) and (x <= hi), three-valued
void between(const NodeIO& io) {
  const Column& x = io.arg(0);
  const Column& lo = io.arg(1);
  const Column& hi = io.arg(2);
  const ValueType tx = io.type(0), tl = io.type(1), th = io.type(2);
  auto cmp = [&](const Column& a, ValueType ta, const Column& b, ValueType tb, size_t k) {
    if (ta == ValueType::string) {
      int r = a.s[k].compare(b.s[k]);
      return r < 0 ? -1 : r > 0 ? 1 : 0;
    }
    if (int_like(ta) && int_like(tb)) return a.i[k] < b.i[k] ? -1 : a.i[k] > b.i[k] ? 1 : 0;
    double p = as_num(a, ta, k), q = as_num(b, tb, k);
    return p < q ? -1 : p > q ? 1 : 0;
  };
  const bool any_null_type = tx == ValueType::null || tl == ValueType::null || th == ValueType::null;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    bool v1 = !any_null_type && x.valid[k] && lo.valid[k];
    bool v2 = !any_null_type && x.valid[k] && hi.valid[k];
    bool t1 = v1 && cmp(x, tx, lo, tl, k) >= 0;
    bool t2 = v2 && cmp(x, tx, hi, th, k) <= 0;
    bool any_false = (v1 && !t1) || (v2 && !t2);
    io.out.valid[k] = any_false || (v1 && v2);
    io.out.i[k] = t1 && t2;
  }
}

// is null / is not null
void is_null(const NodeIO& io) {
  const Column& a = io.arg(0);
  const bool null_type = io.type(0) == ValueType::null;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    bool null = null_type || !a.valid[k];
    io.out.valid[k] = 1;
    io.out.i[k] = io.node.op == Op::is_null ? null : !null;
  }
}

// case when c1 then v1 … [else v] end: args cond, value, …, [else]
void case_when(const NodeIO& io) {
  const size_t nargs = io.node.args.size();
  const size_t pairs = nargs / 2;
  const bool has_else = nargs % 2;
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    int pick = -1;
    for (size_t w = 0; w < pairs; ++w) {
      const Column& cond = io.arg(2 * w);
      if (io.type(2 * w) != ValueType::null && cond.valid[k] && cond.i[k]) {
        pick = static_cast<int>(2 * w + 1);
        break;
      }
    }
    if (pick < 0 && has_else) pick = static_cast<int>(nargs - 1);
    if (pick < 0 || io.type(static_cast<size_t>(pick)) == ValueType::null || !io.arg(static_cast<size_t>(pick)).valid[k]) {
      out.valid[k] = 0;
      continue;
    }
    const Column& v = io.arg(static_cast<size_t>(pick));
    out.valid[k] = 1;
    switch (io.node.type) {
      case ValueType::float64: out.d[k] = v.d[k]; break;
      case ValueType::string: out.s[k] = v.s[k]; break;
      case ValueType::string_set:
        out.set[k] = v.set[k];
        out.set_dict = v.set_dict;
        break;
      default: out.i[k] = v.i[k]; break;
    }
  }
}

}  // namespace

void Evaluator::eval_node(Context& ctx, int id, size_t n) const {
  const CNode& c = p_.nodes[id];
  for (int a : c.args) ensure_uniform(ctx, a, n);
  const NodeIO io{c, ctx.cols[id], ctx.cols, p_.nodes, n};
  switch (c.kind) {
    case K::constant: return constant(io);
    case K::as_of: return fill_time(io, as_of_);
    case K::attribute: return attribute(io, store_.attribute(static_cast<size_t>(c.index)), ctx.persons);
    case K::prop: return eval_prop(ctx, id, n);
    case K::external: return external(io, p_.externals[static_cast<size_t>(c.index)], ctx.persons, ctx.dbls);
    case K::truth: return truth(io);
    case K::to_double: return to_double(io);
    case K::neg: return negate(io);
    case K::not_: return logical_not(io);
    case K::and_:
    case K::or_: return logical(io);
    case K::arith: return arith(io);
    case K::compare: return compare(io);
    case K::in_list: return in_list(io);
    case K::in_set: return set_membership(io.arg(0), io.type(0) == ValueType::null, io.arg(1), io.out, n);
    case K::in_window: {
      const WindowSpec& w = p_.windows[static_cast<size_t>(c.window)];
      if (w.since >= 0) ensure_uniform(ctx, w.since, n);
      const Column* since = w.since >= 0 ? &ctx.cols[static_cast<size_t>(w.since)] : nullptr;
      return in_window(io, since, window_bounds_[static_cast<size_t>(c.window)]);
    }
    case K::between: return between(io);
    case K::is_null: return is_null(io);
    case K::case_when: return case_when(io);
    case K::call: return eval_function(io, ctx.arena, as_of_, *p_.zone);
    case K::aggregate: return eval_aggregate(ctx, id, n);
  }
}

}  // namespace cdpcore::rules_detail
