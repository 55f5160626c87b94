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

}  // namespace

void Evaluator::eval_aggregate(Context& ctx, int id, size_t n) const {
  const CNode& c = p_.nodes[id];
  const AggSpec& a = p_.aggs[static_cast<size_t>(c.agg)];
  const EventTable& t = store_.event_table(static_cast<size_t>(a.event));
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
