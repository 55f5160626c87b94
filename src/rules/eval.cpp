// Vectorised evaluation of compiled rule programs over blocks of persons.
//
// Each node computes a column for the whole block; event aggregations read
// each person's rows as one contiguous range of the event log (sorted by
// person, then time), find the window by binary search on time, and filter
// rows a chunk at a time with the same column kernels.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "cdpcore/error.hpp"
#include "rules/program.hpp"

namespace cdpcore::rules_detail {

using rules::Op;
using rules::WindowKind;

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

bool int_like(ValueType t) {
  return t == ValueType::int64 || t == ValueType::timestamp || t == ValueType::boolean;
}

int64_t sat_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? kMin : kMax;
  return r;
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

/// 1 = Monday … 7 = Sunday of a day number.
int64_t weekday_of(int64_t days) {
  int64_t w = (days + 3) % 7;  // 1970-01-01 was a Thursday (index 3 from Monday)
  if (w < 0) w += 7;
  return w + 1;
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

inline double as_num(const Column& c, ValueType t, size_t k) {
  return t == ValueType::float64 ? c.d[k] : static_cast<double>(c.i[k]);
}

}  // namespace

Evaluator::Evaluator(const Program& program, const ProfileStore::Impl& store, Timestamp as_of)
    : p_(program), store_(store), as_of_(as_of) {
  event_slot_.assign(store.events.size(), -1);
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

const RowSpan& Evaluator::span(const Context& ctx, int event, size_t k) const {
  return ctx.spans[static_cast<size_t>(event_slot_[event])][k];
}

void Evaluator::prepare_spans(Context& ctx, size_t n) const {
  ctx.overlay_used = 0;
  for (size_t e = 0; e < event_slot_.size(); ++e) {
    int slot = event_slot_[e];
    if (slot < 0) continue;
    const EventTable& t = *store_.events[e];
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
  const EventTable& t = *store_.events[c.event];
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

void Evaluator::eval_node(Context& ctx, int id, size_t n) const {
  const CNode& c = p_.nodes[id];
  Column& out = ctx.cols[id];
  for (int a : c.args) ensure_uniform(ctx, a, n);
  auto A = [&](size_t i) -> const Column& { return ctx.cols[static_cast<size_t>(c.args[i])]; };
  auto T = [&](size_t i) { return p_.nodes[static_cast<size_t>(c.args[i])].type; };
  switch (c.kind) {
    case K::constant: {
      for (size_t k = 0; k < n; ++k) {
        std::visit(
            [&](const auto& v) {
              using V = std::decay_t<decltype(v)>;
              if constexpr (std::is_same_v<V, std::monostate>) out.valid[k] = 0;
              else if constexpr (std::is_same_v<V, bool>) {
                out.valid[k] = 1;
                out.i[k] = v;
              } else if constexpr (std::is_same_v<V, int64_t>) {
                out.valid[k] = 1;
                if (c.type == ValueType::float64) out.d[k] = static_cast<double>(v);
                else out.i[k] = v;
              } else if constexpr (std::is_same_v<V, double>) {
                out.valid[k] = 1;
                out.d[k] = v;
              } else {
                out.valid[k] = 1;
                out.s[k] = v;
              }
            },
            c.constant);
      }
      return;
    }
    case K::as_of:
      for (size_t k = 0; k < n; ++k) {
        out.valid[k] = 1;
        out.i[k] = as_of_;
      }
      return;
    case K::attribute: {
      const auto& col = *store_.attrs[static_cast<size_t>(c.index)];
      const size_t size = col.size();
      for (size_t k = 0; k < n; ++k) {
        PersonOrdinal p = ctx.persons[k];
        bool v = p < size && col.valid[p];
        out.valid[k] = v;
        if (!v) continue;
        switch (c.type) {
          case ValueType::float64: out.d[k] = col.doubles[p]; break;
          case ValueType::string: out.s[k] = col.dict.values[col.codes[p]]; break;
          case ValueType::string_set: out.set[k] = &col.sets[p]; break;
          default: out.i[k] = col.ints[p]; break;
        }
      }
      if (c.type == ValueType::string_set) out.set_dict = &col.dict;
      return;
    }
    case K::prop: eval_prop(ctx, id, n); return;
    case K::external: {
      const auto& ext = p_.externals[static_cast<size_t>(c.index)];
      ctx.dbls.assign(n, 0);
      ctx.codes.assign(n, 0);
      std::vector<uint8_t> valid(n, 0);
      ext.fetch(std::span<const PersonOrdinal>(ctx.persons.data(), n), std::span<double>(ctx.dbls.data(), n),
                std::span<uint8_t>(valid.data(), n));
      for (size_t k = 0; k < n; ++k) {
        double v = ctx.dbls[k];
        bool ok = valid[k] && !std::isnan(v);
        if (c.type == ValueType::float64) out.d[k] = v;
        else if (c.type == ValueType::boolean) out.i[k] = v != 0;
        else {
          ok = ok && std::fabs(v) < 9.2e18;
          out.i[k] = ok ? static_cast<int64_t>(v) : 0;
        }
        out.valid[k] = ok;
      }
      return;
    }
    case K::truth: {
      const Column& a = A(0);
      for (size_t k = 0; k < n; ++k) {
        out.valid[k] = 1;
        out.i[k] = a.valid[k] && a.i[k] != 0;
      }
      return;
    }
    case K::to_double: {
      const Column& a = A(0);
      for (size_t k = 0; k < n; ++k) {
        out.valid[k] = a.valid[k];
        out.d[k] = static_cast<double>(a.i[k]);
      }
      return;
    }
    case K::neg: {
      const Column& a = A(0);
      for (size_t k = 0; k < n; ++k) {
        out.valid[k] = a.valid[k];
        if (c.type == ValueType::float64) out.d[k] = -a.d[k];
        else if (a.i[k] == kMin) out.valid[k] = 0;
        else out.i[k] = -a.i[k];
      }
      return;
    }
    case K::not_: {
      const Column& a = A(0);
      for (size_t k = 0; k < n; ++k) {
        out.valid[k] = a.valid[k];
        out.i[k] = !a.i[k];
      }
      return;
    }
    case K::and_:
    case K::or_: {
      const Column& a = A(0);
      const Column& b = A(1);
      const bool is_and = c.kind == K::and_;
      for (size_t k = 0; k < n; ++k) {
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
      return;
    }
    case K::arith: {
      const Column& a = A(0);
      const Column& b = A(1);
      ValueType ta = T(0), tb = T(1);
      if (ta == ValueType::null || tb == ValueType::null) {
        std::fill(out.valid.begin(), out.valid.begin() + static_cast<ptrdiff_t>(n), 0);
        return;
      }
      if (c.type == ValueType::float64) {
        for (size_t k = 0; k < n; ++k) {
          double x = as_num(a, ta, k), y = as_num(b, tb, k);
          double r = 0;
          bool ok = a.valid[k] && b.valid[k];
          switch (c.op) {
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
          switch (c.op) {
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
      return;
    }
    case K::compare: {
      const Column& a = A(0);
      const Column& b = A(1);
      ValueType ta = T(0), tb = T(1);
      if (ta == ValueType::null || tb == ValueType::null) {
        std::fill(out.valid.begin(), out.valid.begin() + static_cast<ptrdiff_t>(n), 0);
        return;
      }
      auto apply = [&](auto cmp) {
        for (size_t k = 0; k < n; ++k) {
          out.valid[k] = a.valid[k] && b.valid[k];
          int r = out.valid[k] ? cmp(k) : 0;
          bool v = false;
          switch (c.op) {
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
      return;
    }
    case K::in_list: {
      const Column& x = A(0);
      ValueType tx = T(0);
      for (size_t k = 0; k < n; ++k) {
        if (tx == ValueType::null || !x.valid[k]) {
          out.valid[k] = 0;
          out.i[k] = 0;
          continue;
        }
        bool match = false, saw_null = false;
        for (size_t e = 1; e < c.args.size() && !match; ++e) {
          const Column& v = A(e);
          ValueType tv = T(e);
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
      return;
    }
    case K::in_set: {
      const Column& x = A(0);
      const Column& s = A(1);
      for (size_t k = 0; k < n; ++k) {
        bool ok = T(0) != ValueType::null && x.valid[k] && s.valid[k];
        out.valid[k] = ok;
        out.i[k] = 0;
        if (!ok) continue;
        uint32_t code = s.set_dict ? s.set_dict->find(x.s[k]) : profile_detail::kNoCode;
        out.i[k] = code != profile_detail::kNoCode && std::binary_search(s.set[k]->begin(), s.set[k]->end(), code);
      }
      return;
    }
    case K::in_window: {
      const Column& x = A(0);
      const WindowSpec& w = p_.windows[static_cast<size_t>(c.window)];
      const bool since = w.since >= 0;
      const Column* st = since ? &ctx.cols[static_cast<size_t>(w.since)] : nullptr;
      if (since) ensure_uniform(ctx, w.since, n);
      auto [lo, hi] = window_bounds_[static_cast<size_t>(c.window)];
      for (size_t k = 0; k < n; ++k) {
        bool ok = T(0) != ValueType::null && x.valid[k] && (!since || st->valid[k]);
        int64_t l = since ? st->i[k] : lo;
        out.valid[k] = ok;
        out.i[k] = ok && x.i[k] >= l && x.i[k] <= hi;
      }
      return;
    }
    case K::between: {
      const Column& x = A(0);
      const Column& lo = A(1);
      const Column& hi = A(2);
      ValueType tx = T(0), tl = T(1), th = T(2);
      auto cmp = [&](const Column& a, ValueType ta, const Column& b, ValueType tb, size_t k) {
        if (ta == ValueType::string) {
          int r = a.s[k].compare(b.s[k]);
          return r < 0 ? -1 : r > 0 ? 1 : 0;
        }
        if (int_like(ta) && int_like(tb)) return a.i[k] < b.i[k] ? -1 : a.i[k] > b.i[k] ? 1 : 0;
        double p = as_num(a, ta, k), q = as_num(b, tb, k);
        return p < q ? -1 : p > q ? 1 : 0;
      };
      bool any_null_type = tx == ValueType::null || tl == ValueType::null || th == ValueType::null;
      for (size_t k = 0; k < n; ++k) {
        // (x >= lo) and (x <= hi), three-valued.
        bool v1 = !any_null_type && x.valid[k] && lo.valid[k];
        bool v2 = !any_null_type && x.valid[k] && hi.valid[k];
        bool t1 = v1 && cmp(x, tx, lo, tl, k) >= 0;
        bool t2 = v2 && cmp(x, tx, hi, th, k) <= 0;
        bool any_false = (v1 && !t1) || (v2 && !t2);
        out.valid[k] = any_false || (v1 && v2);
        out.i[k] = t1 && t2;
      }
      return;
    }
    case K::is_null: {
      const Column& a = A(0);
      bool null_type = T(0) == ValueType::null;
      for (size_t k = 0; k < n; ++k) {
        bool is_null = null_type || !a.valid[k];
        out.valid[k] = 1;
        out.i[k] = c.op == Op::is_null ? is_null : !is_null;
      }
      return;
    }
    case K::case_when: {
      const size_t pairs = c.args.size() / 2;
      const bool has_else = c.args.size() % 2;
      for (size_t k = 0; k < n; ++k) {
        int pick = -1;
        for (size_t w = 0; w < pairs; ++w) {
          const Column& cond = A(2 * w);
          if (T(2 * w) != ValueType::null && cond.valid[k] && cond.i[k]) {
            pick = static_cast<int>(2 * w + 1);
            break;
          }
        }
        if (pick < 0 && has_else) pick = static_cast<int>(c.args.size() - 1);
        if (pick < 0 || T(static_cast<size_t>(pick)) == ValueType::null || !A(static_cast<size_t>(pick)).valid[k]) {
          out.valid[k] = 0;
          continue;
        }
        const Column& v = A(static_cast<size_t>(pick));
        out.valid[k] = 1;
        switch (c.type) {
          case ValueType::float64: out.d[k] = v.d[k]; break;
          case ValueType::string: out.s[k] = v.s[k]; break;
          case ValueType::string_set:
            out.set[k] = v.set[k];
            out.set_dict = v.set_dict;
            break;
          default: out.i[k] = v.i[k]; break;
        }
      }
      return;
    }
    case K::call: break;
    case K::aggregate: eval_aggregate(ctx, id, n); return;
  }
  // ---- functions ----
  const TimeZone& zone = *p_.zone;
  switch (c.fn) {
    case Fn::lower:
    case Fn::upper:
    case Fn::trim: {
      const Column& a = A(0);
      for (size_t k = 0; k < n; ++k) {
        out.valid[k] = T(0) != ValueType::null && a.valid[k];
        if (!out.valid[k]) continue;
        std::string_view s = a.s[k];
        if (c.fn == Fn::trim) {
          size_t b = s.find_first_not_of(" \t\r\n");
          size_t e = s.find_last_not_of(" \t\r\n");
          out.s[k] = b == std::string_view::npos ? std::string_view() : s.substr(b, e - b + 1);
          continue;
        }
        std::string& r = ctx.arena.emplace_back(s);
        for (auto& ch : r) {
          if (c.fn == Fn::lower && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
          if (c.fn == Fn::upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
        }
        out.s[k] = r;
      }
      return;
    }
    case Fn::length: {
      const Column& a = A(0);
      for (size_t k = 0; k < n; ++k) {
        out.valid[k] = T(0) != ValueType::null && a.valid[k];
        int64_t chars = 0;
        if (out.valid[k])
          for (char ch : a.s[k]) chars += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
        out.i[k] = chars;
      }
      return;
    }
    case Fn::contains_str:
    case Fn::starts_with:
    case Fn::ends_with: {
      const Column& a = A(0);
      const Column& b = A(1);
      for (size_t k = 0; k < n; ++k) {
        bool ok = T(0) != ValueType::null && T(1) != ValueType::null && a.valid[k] && b.valid[k];
        out.valid[k] = ok;
        if (!ok) {
          out.i[k] = 0;
          continue;
        }
        std::string_view s = a.s[k], t = b.s[k];
        if (c.fn == Fn::contains_str) out.i[k] = s.find(t) != std::string_view::npos;
        else if (c.fn == Fn::starts_with) out.i[k] = s.substr(0, t.size()) == t;
        else out.i[k] = s.size() >= t.size() && s.substr(s.size() - t.size()) == t;
      }
      return;
    }
    case Fn::contains_set: {
      const Column& s = A(0);
      const Column& x = A(1);
      for (size_t k = 0; k < n; ++k) {
        bool ok = T(1) != ValueType::null && x.valid[k] && s.valid[k];
        out.valid[k] = ok;
        out.i[k] = 0;
        if (!ok) continue;
        uint32_t code = s.set_dict ? s.set_dict->find(x.s[k]) : profile_detail::kNoCode;
        out.i[k] = code != profile_detail::kNoCode && std::binary_search(s.set[k]->begin(), s.set[k]->end(), code);
      }
      return;
    }
    case Fn::size_set: {
      const Column& s = A(0);
      for (size_t k = 0; k < n; ++k) {
        out.valid[k] = s.valid[k];
        out.i[k] = s.valid[k] ? static_cast<int64_t>(s.set[k]->size()) : 0;
      }
      return;
    }
    case Fn::concat: {
      for (size_t k = 0; k < n; ++k) {
        std::string& r = ctx.arena.emplace_back();
        for (size_t i = 0; i < c.args.size(); ++i) {
          const Column& a = A(i);
          ValueType t = T(i);
          if (t == ValueType::null || !a.valid[k]) continue;  // nulls are skipped
          switch (t) {
            case ValueType::string: r += a.s[k]; break;
            case ValueType::float64: {
              char buf[32];
              std::snprintf(buf, sizeof buf, "%.15g", a.d[k]);
              r += buf;
              break;
            }
            case ValueType::boolean: r += a.i[k] ? "true" : "false"; break;
            case ValueType::timestamp: r += format_iso8601(a.i[k]); break;
            default: r += std::to_string(a.i[k]); break;
          }
        }
        out.valid[k] = 1;
        out.s[k] = r;
      }
      return;
    }
    case Fn::abs: {
      const Column& a = A(0);
      for (size_t k = 0; k < n; ++k) {
        out.valid[k] = T(0) != ValueType::null && a.valid[k];
        if (c.type == ValueType::float64) out.d[k] = std::fabs(a.d[k]);
        else if (a.i[k] == kMin) out.valid[k] = 0;
        else out.i[k] = a.i[k] < 0 ? -a.i[k] : a.i[k];
      }
      return;
    }
    case Fn::round:
    case Fn::floor:
    case Fn::ceil: {
      const Column& a = A(0);
      for (size_t k = 0; k < n; ++k) {
        bool ok = T(0) != ValueType::null && a.valid[k];
        double x = ok ? a.d[k] : 0, r = 0;
        if (c.fn == Fn::round) {
          int64_t digits = 0;
          if (c.args.size() > 1) {
            ok = ok && T(1) != ValueType::null && A(1).valid[k];
            digits = ok ? std::clamp<int64_t>(A(1).i[k], -15, 15) : 0;
          }
          double f = std::pow(10.0, static_cast<double>(digits));
          r = std::round(x * f) / f;
        } else {
          r = c.fn == Fn::floor ? std::floor(x) : std::ceil(x);
        }
        out.valid[k] = ok && std::isfinite(r);
        out.d[k] = r;
      }
      return;
    }
    case Fn::least:
    case Fn::greatest: {
      const bool least = c.fn == Fn::least;
      for (size_t k = 0; k < n; ++k) {
        int best = -1;
        for (size_t i = 0; i < c.args.size(); ++i) {
          const Column& a = A(i);
          if (T(i) == ValueType::null || !a.valid[k]) continue;  // nulls are ignored
          if (best < 0) {
            best = static_cast<int>(i);
            continue;
          }
          const Column& b = A(static_cast<size_t>(best));
          bool better;
          if (c.type == ValueType::string) better = least ? a.s[k] < b.s[k] : a.s[k] > b.s[k];
          else if (c.type == ValueType::float64) better = least ? a.d[k] < b.d[k] : a.d[k] > b.d[k];
          else better = least ? a.i[k] < b.i[k] : a.i[k] > b.i[k];
          if (better) best = static_cast<int>(i);
        }
        out.valid[k] = best >= 0;
        if (best < 0) continue;
        const Column& b = A(static_cast<size_t>(best));
        if (c.type == ValueType::string) out.s[k] = b.s[k];
        else if (c.type == ValueType::float64) out.d[k] = b.d[k];
        else out.i[k] = b.i[k];
      }
      return;
    }
    case Fn::coalesce: {
      for (size_t k = 0; k < n; ++k) {
        out.valid[k] = 0;
        for (size_t i = 0; i < c.args.size(); ++i) {
          const Column& a = A(i);
          if (T(i) == ValueType::null || !a.valid[k]) continue;
          out.valid[k] = 1;
          if (c.type == ValueType::string) out.s[k] = a.s[k];
          else if (c.type == ValueType::float64) out.d[k] = a.d[k];
          else out.i[k] = a.i[k];
          break;
        }
      }
      return;
    }
    case Fn::days:
    case Fn::hours:
    case Fn::minutes:
    case Fn::weeks: {
      const Column& a = A(0);
      double unit = c.fn == Fn::days ? 86400e6 : c.fn == Fn::hours ? 3600e6 : c.fn == Fn::minutes ? 60e6 : 7 * 86400e6;
      for (size_t k = 0; k < n; ++k) {
        double v = T(0) != ValueType::null && a.valid[k] ? std::round(a.d[k] * unit) : std::nan("");
        out.valid[k] = std::isfinite(v) && std::fabs(v) < 9.2e18;
        out.i[k] = out.valid[k] ? static_cast<int64_t>(v) : 0;
      }
      return;
    }
    case Fn::days_since:
    case Fn::days_between: {
      const Column& a = A(0);
      for (size_t k = 0; k < n; ++k) {
        bool ok = T(0) != ValueType::null && a.valid[k];
        int64_t from = a.i[k], to = as_of_;
        if (c.fn == Fn::days_between) {
          ok = ok && T(1) != ValueType::null && A(1).valid[k];
          to = A(1).i[k];
        }
        int64_t diff = 0;
        ok = ok && !__builtin_sub_overflow(to, from, &diff);
        out.valid[k] = ok;
        out.i[k] = ok ? floor_div(diff, kMicrosPerDay) : 0;
      }
      return;
    }
    case Fn::age: {
      const Column& a = A(0);
      const CivilDate today = zone.to_local(as_of_).date;
      for (size_t k = 0; k < n; ++k) {
        bool ok = T(0) != ValueType::null && a.valid[k];
        out.valid[k] = ok;
        if (!ok) continue;
        // A birth date is stored as midnight UTC of the date.
        CivilDate b = civil_from_days(day_number(a.i[k]));
        int64_t years = static_cast<int64_t>(today.year) - b.year;
        if (today.month < b.month || (today.month == b.month && today.day < b.day)) --years;
        out.i[k] = years;
      }
      return;
    }
    case Fn::year:
    case Fn::month:
    case Fn::day:
    case Fn::hour:
    case Fn::weekday: {
      const Column& a = A(0);
      for (size_t k = 0; k < n; ++k) {
        bool ok = T(0) != ValueType::null && a.valid[k];
        out.valid[k] = ok;
        if (!ok) continue;
        CivilTime lt = zone.to_local(a.i[k]);
        switch (c.fn) {
          case Fn::year: out.i[k] = lt.date.year; break;
          case Fn::month: out.i[k] = lt.date.month; break;
          case Fn::day: out.i[k] = lt.date.day; break;
          case Fn::hour: out.i[k] = lt.hour; break;
          default: out.i[k] = weekday_of(days_from_civil(lt.date)); break;
        }
      }
      return;
    }
    case Fn::timestamp_of: {
      const Column& a = A(0);
      for (size_t k = 0; k < n; ++k) {
        bool ok = T(0) != ValueType::null && a.valid[k];
        if (ok && T(0) == ValueType::timestamp) {
          out.i[k] = a.i[k];
        } else if (ok) {
          try {
            out.i[k] = parse_iso8601(a.s[k]);
          } catch (const Error&) {
            ok = false;  // text that is not a time is null
          }
        }
        out.valid[k] = ok;
      }
      return;
    }
  }
}

// ---- aggregations ---------------------------------------------------------------

namespace {

/// Calls f(row) for the selected rows: a range, or a list.
struct Rows {
  const uint32_t* sel = nullptr;
  size_t sel_n = 0;
  uint64_t lo = 0, hi = 0;
  size_t size() const { return sel ? sel_n : static_cast<size_t>(hi - lo); }
  template <typename F>
  void each(F&& f) const {
    if (sel) {
      for (size_t i = 0; i < sel_n; ++i) f(static_cast<uint64_t>(sel[i]));
    } else {
      for (uint64_t r = lo; r < hi; ++r) f(r);
    }
  }
  template <typename F>
  void each_reverse(F&& f) const {
    if (sel) {
      for (size_t i = sel_n; i-- > 0;)
        if (!f(static_cast<uint64_t>(sel[i]))) return;
    } else {
      for (uint64_t r = hi; r-- > lo;)
        if (!f(r)) return;
    }
  }
  template <typename F>
  void each_until(F&& f) const {
    if (sel) {
      for (size_t i = 0; i < sel_n; ++i)
        if (!f(static_cast<uint64_t>(sel[i]))) return;
    } else {
      for (uint64_t r = lo; r < hi; ++r)
        if (!f(r)) return;
    }
  }
};

}  // namespace

void Evaluator::eval_aggregate(Context& ctx, int id, size_t n) const {
  const CNode& c = p_.nodes[id];
  const AggSpec& a = p_.aggs[static_cast<size_t>(c.agg)];
  const EventTable& t = *store_.events[static_cast<size_t>(a.event)];
  Column& out = ctx.cols[id];
  const WindowSpec* w = a.window >= 0 ? &p_.windows[static_cast<size_t>(a.window)] : nullptr;
  int64_t lo_t = kMin, hi_t = as_of_;
  if (w) std::tie(lo_t, hi_t) = window_bounds_[static_cast<size_t>(a.window)];
  const Column* since = nullptr;
  if (w && w->since >= 0) {
    ensure_uniform(ctx, w->since, n);
    since = &ctx.cols[static_cast<size_t>(w->since)];
  }
  const bool since_null_type = w && w->since >= 0 && p_.nodes[static_cast<size_t>(w->since)].type == ValueType::null;
  // Window rows of each person.
  ctx.ints.resize(2 * n);
  std::vector<uint8_t>& skip = out.valid;  // reused below: 0 = null result
  for (size_t k = 0; k < n; ++k) {
    const RowSpan& sp = span(ctx, a.event, k);
    int64_t lo = lo_t;
    bool ok = true;
    if (since) {
      ok = !since_null_type && since->valid[k];
      lo = since->i[k];
    }
    skip[k] = ok;
    if (!ok) {
      ctx.ints[2 * k] = ctx.ints[2 * k + 1] = 0;
      continue;
    }
    const int64_t* tb = sp.cols->time.data() + sp.begin;
    const int64_t* te = sp.cols->time.data() + sp.end;
    const int64_t* l = lo == kMin ? tb : std::lower_bound(tb, te, lo);
    const int64_t* h = std::upper_bound(l, te, hi_t);
    ctx.ints[2 * k] = static_cast<int64_t>(sp.begin + static_cast<uint64_t>(l - tb));
    ctx.ints[2 * k + 1] = static_cast<int64_t>(sp.begin + static_cast<uint64_t>(h - tb));
  }
  // Filter: evaluate the condition on the window rows, a chunk at a time.
  const bool filtered = a.filter >= 0;
  if (filtered) {
    ctx.sel.clear();
    ctx.sel_offsets.assign(n + 1, 0);
    ctx.row_src.resize(kRowChunk);
    ctx.row_idx.resize(kRowChunk);
    ctx.row_owner.resize(kRowChunk);
    size_t fill = 0;
    const Column& cond = ctx.cols[static_cast<size_t>(a.filter)];
    const bool cond_null = p_.nodes[static_cast<size_t>(a.filter)].type == ValueType::null;
    auto flush = [&]() {
      if (fill == 0) return;
      for (int fid : a.filter_nodes) eval_node(ctx, fid, fill);
      ensure_uniform(ctx, a.filter, fill);
      for (size_t r = 0; r < fill; ++r) {
        if (!cond_null && cond.valid[r] && cond.i[r]) {
          ctx.sel.push_back(ctx.row_idx[r]);
          ++ctx.sel_offsets[ctx.row_owner[r] + 1];
        }
      }
      fill = 0;
    };
    for (size_t k = 0; k < n; ++k) {
      if (!skip[k]) continue;
      const EventColumns* src = span(ctx, a.event, k).cols;
      for (int64_t r = ctx.ints[2 * k]; r < ctx.ints[2 * k + 1]; ++r) {
        ctx.row_src[fill] = src;
        ctx.row_idx[fill] = static_cast<uint32_t>(r);
        ctx.row_owner[fill] = static_cast<uint32_t>(k);
        if (++fill == kRowChunk) flush();
      }
    }
    flush();
    for (size_t k = 0; k < n; ++k) ctx.sel_offsets[k + 1] += ctx.sel_offsets[k];
  }
  // The property's columns.
  const int prop = a.prop;
  const ValueType pt = a.prop_type;
  const profile_detail::StringDict* dict = prop >= 0 && pt == ValueType::string ? &t.dicts[static_cast<size_t>(prop)] : nullptr;
  for (size_t k = 0; k < n; ++k) {
    if (!skip[k]) {
      out.valid[k] = 0;
      continue;
    }
    const EventColumns& src = *span(ctx, a.event, k).cols;
    Rows rows;
    if (filtered) {
      rows.sel = ctx.sel.data() + ctx.sel_offsets[k];
      rows.sel_n = ctx.sel_offsets[k + 1] - ctx.sel_offsets[k];
    } else {
      rows.lo = static_cast<uint64_t>(ctx.ints[2 * k]);
      rows.hi = static_cast<uint64_t>(ctx.ints[2 * k + 1]);
    }
    const profile_detail::EventColumns::Prop* pc = prop >= 0 ? &src.props[static_cast<size_t>(prop)] : nullptr;
    const uint8_t* valid = pc && !pc->valid.empty() ? pc->valid.data() : nullptr;
    auto is_valid = [&](uint64_t r) { return !valid || valid[r]; };
    auto ival = [&](uint64_t r) -> int64_t { return prop == -1 ? src.time[r] : pc->ints[r]; };
    switch (a.fn) {
      case Agg::count: {
        int64_t cnt = 0;
        if (prop < 0 || !valid) cnt = static_cast<int64_t>(rows.size());
        else rows.each([&](uint64_t r) { cnt += valid[r] ? 1 : 0; });
        out.valid[k] = 1;
        out.i[k] = cnt;
        break;
      }
      case Agg::sum:
      case Agg::avg: {
        double ds = 0;
        int64_t is = 0, cnt = 0;
        bool overflow = false;
        if (pt == ValueType::float64) {
          const double* d = pc->doubles.data();
          rows.each([&](uint64_t r) {
            if (is_valid(r) && !std::isnan(d[r])) {
              ds += d[r];
              ++cnt;
            }
          });
        } else {
          rows.each([&](uint64_t r) {
            if (!is_valid(r)) return;
            int64_t v = ival(r);
            overflow = overflow || __builtin_add_overflow(is, v, &is);
            ds += static_cast<double>(v);
            ++cnt;
          });
        }
        if (a.fn == Agg::avg) {
          out.valid[k] = cnt > 0 && std::isfinite(ds);
          out.d[k] = cnt > 0 ? ds / static_cast<double>(cnt) : 0;
        } else if (c.type == ValueType::float64) {
          out.valid[k] = std::isfinite(ds);
          out.d[k] = ds;
        } else {
          out.valid[k] = !overflow;
          out.i[k] = is;
        }
        break;
      }
      case Agg::min:
      case Agg::max: {
        const bool want_min = a.fn == Agg::min;
        bool any = false;
        if (pt == ValueType::float64) {
          double best = 0;
          const double* d = pc->doubles.data();
          rows.each([&](uint64_t r) {
            if (!is_valid(r) || std::isnan(d[r])) return;
            if (!any || (want_min ? d[r] < best : d[r] > best)) best = d[r];
            any = true;
          });
          out.d[k] = best;
        } else if (pt == ValueType::string) {
          const std::string* best = nullptr;
          rows.each([&](uint64_t r) {
            if (!is_valid(r)) return;
            const std::string& s = dict->values[pc->codes[r]];
            if (!best || (want_min ? s < *best : s > *best)) best = &s;
          });
          any = best != nullptr;
          if (any) out.s[k] = *best;
        } else {
          int64_t best = 0;
          rows.each([&](uint64_t r) {
            if (!is_valid(r)) return;
            int64_t v = ival(r);
            if (!any || (want_min ? v < best : v > best)) best = v;
            any = true;
          });
          out.i[k] = best;
        }
        out.valid[k] = any;
        break;
      }
      case Agg::first:
      case Agg::last: {
        bool any = false;
        uint64_t at = 0;
        auto take = [&](uint64_t r) {
          bool ok = is_valid(r) && !(pt == ValueType::float64 && std::isnan(pc->doubles[r]));
          if (ok) {
            any = true;
            at = r;
          }
          return !ok;  // continue until found
        };
        if (a.fn == Agg::first) rows.each_until(take);
        else rows.each_reverse(take);
        out.valid[k] = any;
        if (!any) break;
        if (pt == ValueType::float64) out.d[k] = pc->doubles[at];
        else if (pt == ValueType::string) out.s[k] = dict->values[pc->codes[at]];
        else out.i[k] = ival(at);
        break;
      }
      case Agg::count_distinct:
      case Agg::most_frequent: {
        const bool distinct = a.fn == Agg::count_distinct;
        if (pt == ValueType::string) {
          if (ctx.stamp.size() < dict->values.size()) {
            ctx.stamp.resize(dict->values.size(), 0);
            ctx.counts.resize(dict->values.size(), 0);
          }
          if (++ctx.generation == 0) {
            std::fill(ctx.stamp.begin(), ctx.stamp.end(), 0);
            ctx.generation = 1;
          }
          const uint32_t g = ctx.generation;
          int64_t distinct_n = 0;
          uint32_t best = profile_detail::kNoCode, best_count = 0;
          rows.each([&](uint64_t r) {
            if (!is_valid(r)) return;
            uint32_t code = pc->codes[r];
            if (ctx.stamp[code] != g) {
              ctx.stamp[code] = g;
              ctx.counts[code] = 0;
              ++distinct_n;
            }
            uint32_t cnt = ++ctx.counts[code];
            if (!distinct) {
              // Ties go to the smallest value, so the result does not depend on order.
              if (cnt > best_count || (cnt == best_count && dict->values[code] < dict->values[best])) {
                best = code;
                best_count = cnt;
              }
            }
          });
          if (distinct) {
            out.valid[k] = 1;
            out.i[k] = distinct_n;
          } else {
            out.valid[k] = best != profile_detail::kNoCode;
            if (out.valid[k]) out.s[k] = dict->values[best];
          }
        } else if (pt == ValueType::float64) {
          ctx.dbls.clear();
          rows.each([&](uint64_t r) {
            if (is_valid(r) && !std::isnan(pc->doubles[r])) ctx.dbls.push_back(pc->doubles[r] == 0 ? 0.0 : pc->doubles[r]);
          });
          std::sort(ctx.dbls.begin(), ctx.dbls.end());
          int64_t distinct_n = 0;
          double best = 0;
          size_t best_run = 0;
          for (size_t i = 0; i < ctx.dbls.size();) {
            size_t j = i;
            while (j < ctx.dbls.size() && ctx.dbls[j] == ctx.dbls[i]) ++j;
            ++distinct_n;
            if (j - i > best_run) {
              best_run = j - i;
              best = ctx.dbls[i];
            }
            i = j;
          }
          out.valid[k] = distinct || best_run > 0;
          if (distinct) out.i[k] = distinct_n;
          else out.d[k] = best;
        } else {
          std::vector<int64_t>& v = ctx.ints;  // ints[0..2n) hold the windows
          const size_t base = 2 * n;
          v.resize(base);
          rows.each([&](uint64_t r) {
            if (is_valid(r)) v.push_back(ival(r));
          });
          std::sort(v.begin() + static_cast<ptrdiff_t>(base), v.end());
          int64_t distinct_n = 0, best = 0;
          size_t best_run = 0;
          for (size_t i = base; i < v.size();) {
            size_t j = i;
            while (j < v.size() && v[j] == v[i]) ++j;
            ++distinct_n;
            if (j - i > best_run) {
              best_run = j - i;
              best = v[i];
            }
            i = j;
          }
          v.resize(base);
          out.valid[k] = distinct || best_run > 0;
          out.i[k] = distinct ? distinct_n : best;
        }
        break;
      }
    }
  }
}

}  // namespace cdpcore::rules_detail
