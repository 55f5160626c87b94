// Event aggregations (count, sum, avg, min, max, count_distinct, first,
// last, most_frequent) for a block of persons: each person's rows are one
// contiguous range of the event log (sorted by person, then time); the window
// is found by binary search on time, and a `where` filter is evaluated on the
// window rows a chunk at a time with the same column kernels as persons.
#include <algorithm>
#include <cmath>
#include <tuple>

#include "rules/kernels.hpp"

namespace cdpcore::rules_detail {

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

/// The aggregated values of one person's rows: a property's column, or the
/// time (prop -1), or none (prop -2: count events).
struct RowValues {
  const EventColumns& src;
  const EventColumns::Prop* pc;  // the property's column, or nullptr
  const uint8_t* valid;          // the property's nulls, or nullptr: none
  int prop;

  bool ok(uint64_t r) const { return !valid || valid[r]; }
  int64_t int_at(uint64_t r) const { return prop == -1 ? src.time[r] : pc->ints[r]; }
};

void count_rows(const Rows& rows, RowValues v, Column& out, size_t k) {
  int64_t cnt = 0;
  if (v.prop < 0 || !v.valid) cnt = static_cast<int64_t>(rows.size());
  else rows.each([&](uint64_t r) { cnt += v.valid[r] ? 1 : 0; });
  out.valid[k] = 1;
  out.i[k] = cnt;
}

// sum and avg; an int64 sum is null on overflow
void sum_rows(const Rows& rows, RowValues v, ValueType pt, bool avg, ValueType result, Column& out, size_t k) {
  double ds = 0;
  int64_t is = 0, cnt = 0;
  bool overflow = false;
  if (pt == ValueType::float64) {
    const double* d = v.pc->doubles.data();
    rows.each([&](uint64_t r) {
      if (v.ok(r) && !std::isnan(d[r])) {
        ds += d[r];
        ++cnt;
      }
    });
  } else {
    rows.each([&](uint64_t r) {
      if (!v.ok(r)) return;
      int64_t x = v.int_at(r);
      overflow = overflow || __builtin_add_overflow(is, x, &is);
      ds += static_cast<double>(x);
      ++cnt;
    });
  }
  if (avg) {
    out.valid[k] = cnt > 0 && std::isfinite(ds);
    out.d[k] = cnt > 0 ? ds / static_cast<double>(cnt) : 0;
  } else if (result == ValueType::float64) {
    out.valid[k] = std::isfinite(ds);
    out.d[k] = ds;
  } else {
    out.valid[k] = !overflow;
    out.i[k] = is;
  }
}

// min and max
void extreme_rows(const Rows& rows, RowValues v, ValueType pt, const profile_detail::StringDict* dict,
                  bool want_min, Column& out, size_t k) {
  bool any = false;
  if (pt == ValueType::float64) {
    double best = 0;
    const double* d = v.pc->doubles.data();
    rows.each([&](uint64_t r) {
      if (!v.ok(r) || std::isnan(d[r])) return;
      if (!any || (want_min ? d[r] < best : d[r] > best)) best = d[r];
      any = true;
    });
    out.d[k] = best;
  } else if (pt == ValueType::string) {
    const std::string* best = nullptr;
    rows.each([&](uint64_t r) {
      if (!v.ok(r)) return;
      const std::string& s = dict->values[v.pc->codes[r]];
      if (!best || (want_min ? s < *best : s > *best)) best = &s;
    });
    any = best != nullptr;
    if (any) out.s[k] = *best;
  } else {
    int64_t best = 0;
    rows.each([&](uint64_t r) {
      if (!v.ok(r)) return;
      int64_t x = v.int_at(r);
      if (!any || (want_min ? x < best : x > best)) best = x;
      any = true;
    });
    out.i[k] = best;
  }
  out.valid[k] = any;
}

// first and last non-null value in time order
void end_row(const Rows& rows, RowValues v, ValueType pt, const profile_detail::StringDict* dict, bool first,
             Column& out, size_t k) {
  bool any = false;
  uint64_t at = 0;
  auto take = [&](uint64_t r) {
    bool ok = v.ok(r) && !(pt == ValueType::float64 && std::isnan(v.pc->doubles[r]));
    if (ok) {
      any = true;
      at = r;
    }
    return !ok;  // continue until found
  };
  if (first) rows.each_until(take);
  else rows.each_reverse(take);
  out.valid[k] = any;
  if (!any) return;
  if (pt == ValueType::float64) out.d[k] = v.pc->doubles[at];
  else if (pt == ValueType::string) out.s[k] = dict->values[v.pc->codes[at]];
  else out.i[k] = v.int_at(at);
}

/// Distinct values of sorted [begin, end) and the value of the longest run
/// (the smallest among equally long ones).
template <typename T>
struct Runs {
  int64_t distinct = 0;
  T mode{};
  size_t longest = 0;
};

template <typename It>
auto runs_of(It begin, It end) {
  Runs<std::decay_t<decltype(*begin)>> out;
  for (It i = begin; i != end;) {
    It j = i;
    while (j != end && *j == *i) ++j;
    ++out.distinct;
    if (static_cast<size_t>(j - i) > out.longest) {
      out.longest = static_cast<size_t>(j - i);
      out.mode = *i;
    }
    i = j;
  }
  return out;
}

// count_distinct and most_frequent of a string property: counts per code,
// reset by a generation stamp instead of clearing
void distinct_codes(Context& ctx, const Rows& rows, RowValues v, const profile_detail::StringDict& dict,
                    bool distinct, Column& out, size_t k) {
  if (ctx.stamp.size() < dict.values.size()) {
    ctx.stamp.resize(dict.values.size(), 0);
    ctx.counts.resize(dict.values.size(), 0);
  }
  if (++ctx.generation == 0) {
    std::fill(ctx.stamp.begin(), ctx.stamp.end(), 0);
    ctx.generation = 1;
  }
  const uint32_t g = ctx.generation;
  int64_t distinct_n = 0;
  uint32_t best = profile_detail::kNoCode, best_count = 0;
  rows.each([&](uint64_t r) {
    if (!v.ok(r)) return;
    uint32_t code = v.pc->codes[r];
    if (ctx.stamp[code] != g) {
      ctx.stamp[code] = g;
      ctx.counts[code] = 0;
      ++distinct_n;
    }
    uint32_t cnt = ++ctx.counts[code];
    if (!distinct) {
      // Ties go to the smallest value, so the result does not depend on order.
      if (cnt > best_count || (cnt == best_count && dict.values[code] < dict.values[best])) {
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
    if (out.valid[k]) out.s[k] = dict.values[best];
  }
}

// count_distinct and most_frequent of a double property (-0 counts as 0)
void distinct_doubles(Context& ctx, const Rows& rows, RowValues v, bool distinct, Column& out, size_t k) {
  const double* d = v.pc->doubles.data();
  ctx.dbls.clear();
  rows.each([&](uint64_t r) {
    if (v.ok(r) && !std::isnan(d[r])) ctx.dbls.push_back(d[r] == 0 ? 0.0 : d[r]);
  });
  std::sort(ctx.dbls.begin(), ctx.dbls.end());
  auto runs = runs_of(ctx.dbls.begin(), ctx.dbls.end());
  out.valid[k] = distinct || runs.longest > 0;
  if (distinct) out.i[k] = runs.distinct;
  else out.d[k] = runs.mode;
}

// count_distinct and most_frequent of an integer property or the time;
// sorted after the windows that ctx.ints[0, base) holds
void distinct_ints(Context& ctx, const Rows& rows, RowValues v, size_t base, bool distinct, Column& out,
                   size_t k) {
  std::vector<int64_t>& x = ctx.ints;
  x.resize(base);
  rows.each([&](uint64_t r) {
    if (v.ok(r)) x.push_back(v.int_at(r));
  });
  std::sort(x.begin() + static_cast<ptrdiff_t>(base), x.end());
  auto runs = runs_of(x.begin() + static_cast<ptrdiff_t>(base), x.end());
  x.resize(base);
  out.valid[k] = distinct || runs.longest > 0;
  out.i[k] = distinct ? runs.distinct : runs.mode;
}

}  // namespace

void Evaluator::window_rows(Context& ctx, const AggSpec& a, size_t n, std::vector<uint8_t>& has_window) const {
  const WindowSpec* w = a.window >= 0 ? &p_.windows[static_cast<size_t>(a.window)] : nullptr;
  int64_t lo_t = kMin, hi_t = as_of_;
  if (w) std::tie(lo_t, hi_t) = window_bounds_[static_cast<size_t>(a.window)];
  const Column* since = nullptr;
  if (w && w->since >= 0) {
    ensure_uniform(ctx, w->since, n);
    since = &ctx.cols[static_cast<size_t>(w->since)];
  }
  const bool since_null_type = w && w->since >= 0 && p_.nodes[static_cast<size_t>(w->since)].type == ValueType::null;
  ctx.ints.resize(2 * n);
  for (size_t k = 0; k < n; ++k) {
    const RowSpan& sp = span(ctx, a.event, k);
    int64_t lo = lo_t;
    bool ok = true;
    if (since) {
      ok = !since_null_type && since->valid[k];
      lo = since->i[k];
    }
    has_window[k] = ok;
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
}

void Evaluator::filter_rows(Context& ctx, const AggSpec& a, size_t n, const std::vector<uint8_t>& has_window) const {
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
    if (!has_window[k]) continue;
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

void Evaluator::eval_aggregate(Context& ctx, int id, size_t n) const {
  const CNode& c = p_.nodes[id];
  const AggSpec& a = p_.aggs[static_cast<size_t>(c.agg)];
  const EventTable& t = store_.event_table(static_cast<size_t>(a.event));
  Column& out = ctx.cols[id];
  // Whether each person has a window (a null `since` has none): kept in the
  // output's validity, which each person's result then overwrites.
  std::vector<uint8_t>& has_window = out.valid;
  window_rows(ctx, a, n, has_window);
  const bool filtered = a.filter >= 0;
  if (filtered) filter_rows(ctx, a, n, has_window);
  const int prop = a.prop;
  const ValueType pt = a.prop_type;
  const profile_detail::StringDict* dict = prop >= 0 && pt == ValueType::string ? &t.dicts[static_cast<size_t>(prop)] : nullptr;
  for (size_t k = 0; k < n; ++k) {
    if (!has_window[k]) {
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
    const EventColumns::Prop* pc = prop >= 0 ? &src.props[static_cast<size_t>(prop)] : nullptr;
    const RowValues v{src, pc, pc && !pc->valid.empty() ? pc->valid.data() : nullptr, prop};
    switch (a.fn) {
      case Agg::count: count_rows(rows, v, out, k); break;
      case Agg::sum:
      case Agg::avg: sum_rows(rows, v, pt, a.fn == Agg::avg, c.type, out, k); break;
      case Agg::min:
      case Agg::max: extreme_rows(rows, v, pt, dict, a.fn == Agg::min, out, k); break;
      case Agg::first:
      case Agg::last: end_row(rows, v, pt, dict, a.fn == Agg::first, out, k); break;
      case Agg::count_distinct:
      case Agg::most_frequent: {
        const bool distinct = a.fn == Agg::count_distinct;
        if (pt == ValueType::string) distinct_codes(ctx, rows, v, *dict, distinct, out, k);
        else if (pt == ValueType::float64) distinct_doubles(ctx, rows, v, distinct, out, k);
        else distinct_ints(ctx, rows, v, 2 * n, distinct, out, k);
        break;
      }
    }
  }
}

}  // namespace cdpcore::rules_detail
