// The function library of the rule language, one kernel per family of
// functions; each computes a column for a block of persons (or rows).
#include "rules/functions.hpp"

#include <cmath>
#include <cstdio>

#include "cdpcore/error.hpp"

namespace cdpcore::rules_detail {

namespace {

// lower, upper, trim
void string_case(const NodeIO& io, std::deque<std::string>& arena) {
  const Column& a = io.arg(0);
  const Fn fn = io.node.fn;
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    out.valid[k] = io.type(0) != ValueType::null && a.valid[k];
    if (!out.valid[k]) continue;
    std::string_view s = a.s[k];
    if (fn == Fn::trim) {
      size_t b = s.find_first_not_of(" \t\r\n");
      size_t e = s.find_last_not_of(" \t\r\n");
      out.s[k] = b == std::string_view::npos ? std::string_view() : s.substr(b, e - b + 1);
      continue;
    }
    std::string& r = arena.emplace_back(s);
    for (auto& ch : r) {
      if (fn == Fn::lower && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      if (fn == Fn::upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    }
    out.s[k] = r;
  }
}

// length: characters of UTF-8 text (bytes that do not continue a character)
void string_length(const NodeIO& io) {
  const Column& a = io.arg(0);
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    out.valid[k] = io.type(0) != ValueType::null && a.valid[k];
    int64_t chars = 0;
    if (out.valid[k])
      for (char ch : a.s[k]) chars += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    out.i[k] = chars;
  }
}

// contains(text, part), starts_with, ends_with
void string_match(const NodeIO& io) {
  const Column& a = io.arg(0);
  const Column& b = io.arg(1);
  const Fn fn = io.node.fn;
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    bool ok = io.type(0) != ValueType::null && io.type(1) != ValueType::null && a.valid[k] && b.valid[k];
    out.valid[k] = ok;
    if (!ok) {
      out.i[k] = 0;
      continue;
    }
    std::string_view s = a.s[k], t = b.s[k];
    if (fn == Fn::contains_str) out.i[k] = s.find(t) != std::string_view::npos;
    else if (fn == Fn::starts_with) out.i[k] = s.substr(0, t.size()) == t;
    else out.i[k] = s.size() >= t.size() && s.substr(s.size() - t.size()) == t;
  }
}

void set_size(const NodeIO& io) {
  const Column& s = io.arg(0);
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    out.valid[k] = s.valid[k];
    out.i[k] = s.valid[k] ? static_cast<int64_t>(s.set[k]->size()) : 0;
  }
}

// concat: the arguments' text, nulls skipped
void concat(const NodeIO& io, std::deque<std::string>& arena) {
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    std::string& r = arena.emplace_back();
    for (size_t i = 0; i < io.node.args.size(); ++i) {
      const Column& a = io.arg(i);
      ValueType t = io.type(i);
      if (t == ValueType::null || !a.valid[k]) continue;
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
}

void absolute(const NodeIO& io) {
  const Column& a = io.arg(0);
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    out.valid[k] = io.type(0) != ValueType::null && a.valid[k];
    if (io.node.type == ValueType::float64) out.d[k] = std::fabs(a.d[k]);
    else if (a.i[k] == kMin) out.valid[k] = 0;
    else out.i[k] = a.i[k] < 0 ? -a.i[k] : a.i[k];
  }
}

// round(x[, digits]), floor, ceil
void rounding(const NodeIO& io) {
  const Column& a = io.arg(0);
  const Fn fn = io.node.fn;
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    bool ok = io.type(0) != ValueType::null && a.valid[k];
    double x = ok ? a.d[k] : 0, r = 0;
    if (fn == Fn::round) {
      int64_t digits = 0;
      if (io.node.args.size() > 1) {
        ok = ok && io.type(1) != ValueType::null && io.arg(1).valid[k];
        digits = ok ? std::clamp<int64_t>(io.arg(1).i[k], -15, 15) : 0;
      }
      double f = std::pow(10.0, static_cast<double>(digits));
      r = std::round(x * f) / f;
    } else {
      r = fn == Fn::floor ? std::floor(x) : std::ceil(x);
    }
    out.valid[k] = ok && std::isfinite(r);
    out.d[k] = r;
  }
}

// least, greatest: nulls are ignored
void extreme(const NodeIO& io) {
  const bool least = io.node.fn == Fn::least;
  const ValueType type = io.node.type;
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    int best = -1;
    for (size_t i = 0; i < io.node.args.size(); ++i) {
      const Column& a = io.arg(i);
      if (io.type(i) == ValueType::null || !a.valid[k]) continue;
      if (best < 0) {
        best = static_cast<int>(i);
        continue;
      }
      const Column& b = io.arg(static_cast<size_t>(best));
      bool better;
      if (type == ValueType::string) better = least ? a.s[k] < b.s[k] : a.s[k] > b.s[k];
      else if (type == ValueType::float64) better = least ? a.d[k] < b.d[k] : a.d[k] > b.d[k];
      else better = least ? a.i[k] < b.i[k] : a.i[k] > b.i[k];
      if (better) best = static_cast<int>(i);
    }
    out.valid[k] = best >= 0;
    if (best < 0) continue;
    const Column& b = io.arg(static_cast<size_t>(best));
    if (type == ValueType::string) out.s[k] = b.s[k];
    else if (type == ValueType::float64) out.d[k] = b.d[k];
    else out.i[k] = b.i[k];
  }
}

void coalesce(const NodeIO& io) {
  const ValueType type = io.node.type;
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    out.valid[k] = 0;
    for (size_t i = 0; i < io.node.args.size(); ++i) {
      const Column& a = io.arg(i);
      if (io.type(i) == ValueType::null || !a.valid[k]) continue;
      out.valid[k] = 1;
      if (type == ValueType::string) out.s[k] = a.s[k];
      else if (type == ValueType::float64) out.d[k] = a.d[k];
      else out.i[k] = a.i[k];
      break;
    }
  }
}

// days(x), hours, minutes, weeks: a duration in microseconds
void duration(const NodeIO& io) {
  const Column& a = io.arg(0);
  const Fn fn = io.node.fn;
  Column& out = io.out;
  double unit = fn == Fn::days ? 86400e6 : fn == Fn::hours ? 3600e6 : fn == Fn::minutes ? 60e6 : 7 * 86400e6;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    double v = io.type(0) != ValueType::null && a.valid[k] ? std::round(a.d[k] * unit) : std::nan("");
    out.valid[k] = std::isfinite(v) && std::fabs(v) < 9.2e18;
    out.i[k] = out.valid[k] ? static_cast<int64_t>(v) : 0;
  }
}

// days_since(t) (to as_of), days_between(a, b): whole days, rounded down
void day_difference(const NodeIO& io, Timestamp as_of) {
  const Column& a = io.arg(0);
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    bool ok = io.type(0) != ValueType::null && a.valid[k];
    int64_t from = a.i[k], to = as_of;
    if (io.node.fn == Fn::days_between) {
      ok = ok && io.type(1) != ValueType::null && io.arg(1).valid[k];
      to = io.arg(1).i[k];
    }
    int64_t diff = 0;
    ok = ok && !__builtin_sub_overflow(to, from, &diff);
    out.valid[k] = ok;
    out.i[k] = ok ? floor_div(diff, kMicrosPerDay) : 0;
  }
}

// age(birth date): completed years at as_of in the program's zone
void age(const NodeIO& io, Timestamp as_of, const TimeZone& zone) {
  const Column& a = io.arg(0);
  Column& out = io.out;
  const CivilDate today = zone.to_local(as_of).date;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    bool ok = io.type(0) != ValueType::null && a.valid[k];
    out.valid[k] = ok;
    if (!ok) continue;
    // A birth date is stored as midnight UTC of the date.
    CivilDate b = civil_from_days(day_number(a.i[k]));
    int64_t years = static_cast<int64_t>(today.year) - b.year;
    if (today.month < b.month || (today.month == b.month && today.day < b.day)) --years;
    out.i[k] = years;
  }
}

// year, month, day, hour, weekday of a time in the program's zone
void calendar_part(const NodeIO& io, const TimeZone& zone) {
  const Column& a = io.arg(0);
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    bool ok = io.type(0) != ValueType::null && a.valid[k];
    out.valid[k] = ok;
    if (!ok) continue;
    CivilTime lt = zone.to_local(a.i[k]);
    switch (io.node.fn) {
      case Fn::year: out.i[k] = lt.date.year; break;
      case Fn::month: out.i[k] = lt.date.month; break;
      case Fn::day: out.i[k] = lt.date.day; break;
      case Fn::hour: out.i[k] = lt.hour; break;
      default: out.i[k] = weekday_of(days_from_civil(lt.date)); break;
    }
  }
}

// timestamp(x): a time, or ISO 8601 text (text that is not a time is null)
void timestamp_of(const NodeIO& io) {
  const Column& a = io.arg(0);
  Column& out = io.out;
  for (size_t k = 0, n = io.n; k < n; ++k) {
    bool ok = io.type(0) != ValueType::null && a.valid[k];
    if (ok && io.type(0) == ValueType::timestamp) {
      out.i[k] = a.i[k];
    } else if (ok) {
      try {
        out.i[k] = parse_iso8601(a.s[k]);
      } catch (const Error&) {
        ok = false;
      }
    }
    out.valid[k] = ok;
  }
}

}  // namespace

void eval_function(const NodeIO& io, std::deque<std::string>& arena, Timestamp as_of, const TimeZone& zone) {
  switch (io.node.fn) {
    case Fn::lower:
    case Fn::upper:
    case Fn::trim: return string_case(io, arena);
    case Fn::length: return string_length(io);
    case Fn::contains_str:
    case Fn::starts_with:
    case Fn::ends_with: return string_match(io);
    case Fn::contains_set: return set_membership(io.arg(1), io.type(1) == ValueType::null, io.arg(0), io.out, io.n);
    case Fn::size_set: return set_size(io);
    case Fn::concat: return concat(io, arena);
    case Fn::abs: return absolute(io);
    case Fn::round:
    case Fn::floor:
    case Fn::ceil: return rounding(io);
    case Fn::least:
    case Fn::greatest: return extreme(io);
    case Fn::coalesce: return coalesce(io);
    case Fn::days:
    case Fn::hours:
    case Fn::minutes:
    case Fn::weeks: return duration(io);
    case Fn::days_since:
    case Fn::days_between: return day_difference(io, as_of);
    case Fn::age: return age(io, as_of, zone);
    case Fn::year:
    case Fn::month:
    case Fn::day:
    case Fn::hour:
    case Fn::weekday: return calendar_part(io, zone);
    case Fn::timestamp_of: return timestamp_of(io);
  }
}

}  // namespace cdpcore::rules_detail
