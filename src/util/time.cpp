#include "cdpcore/time.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cdpcore/error.hpp"

namespace cdpcore {

// Civil-date arithmetic on the proleptic Gregorian calendar, by 400-year eras.
int64_t days_from_civil(CivilDate d) noexcept {
  int64_t y = d.year - (d.month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = (static_cast<int64_t>(d.month) + 9) % 12;  // March = 0
  const int64_t doy = (153 * mp + 2) / 5 + static_cast<int64_t>(d.day) - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate civil_from_days(int64_t z) noexcept {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const uint32_t day = static_cast<uint32_t>(doy - (153 * mp + 2) / 5 + 1);
  const uint32_t month = static_cast<uint32_t>(mp < 10 ? mp + 3 : mp - 9);
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return CivilDate{static_cast<int32_t>(year), month, day};
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
static uint32_t days_in_month(int64_t y, uint32_t m) {
  static const uint32_t k[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k[m - 1];
}

bool is_valid_date(CivilDate d) noexcept {
  return d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= days_in_month(d.year, d.month);
}

CivilTime to_civil_utc(Timestamp t) noexcept {
  const int64_t dn = day_number(t);
  int64_t rem = t - dn * kMicrosPerDay;
  CivilTime c{};
  c.date = civil_from_days(dn);
  c.hour = static_cast<uint32_t>(rem / kMicrosPerHour);
  rem %= kMicrosPerHour;
  c.minute = static_cast<uint32_t>(rem / kMicrosPerMinute);
  rem %= kMicrosPerMinute;
  c.second = static_cast<uint32_t>(rem / kMicrosPerSecond);
  c.micros = static_cast<uint32_t>(rem % kMicrosPerSecond);
  return c;
}

std::string format_iso8601(Timestamp t) {
  CivilTime c = to_civil_utc(t);
  char buf[64];
  if (c.micros) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02u.%06uZ", c.date.year, c.date.month, c.date.day,
                  c.hour, c.minute, c.second, c.micros);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02uZ", c.date.year, c.date.month, c.date.day, c.hour,
                  c.minute, c.second);
  }
  return buf;
}

namespace {
struct Cursor {
  std::string_view s;
  size_t i = 0;
  [[noreturn]] void fail(const std::string& what) const {
    throw ParseError("ISO 8601 time \"" + std::string(s.substr(0, 64)) + "\": " + what + " at offset " +
                         std::to_string(i),
                     i, 1, static_cast<uint32_t>(i + 1));
  }
  uint32_t digits(int n, const char* what) {
    uint32_t v = 0;
    for (int k = 0; k < n; ++k) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') fail(std::string("expected ") + what);
      v = v * 10 + static_cast<uint32_t>(s[i++] - '0');
    }
    return v;
  }
  void expect(char c) {
    if (i >= s.size() || s[i] != c) fail(std::string("expected '") + c + "'");
    ++i;
  }
  bool peek(char c) const { return i < s.size() && s[i] == c; }
};
}  // namespace

Timestamp parse_iso8601(std::string_view text) {
  Cursor c{text};
  CivilTime t{};
  t.date.year = static_cast<int32_t>(c.digits(4, "4-digit year"));
  c.expect('-');
  t.date.month = c.digits(2, "2-digit month");
  c.expect('-');
  t.date.day = c.digits(2, "2-digit day");
  if (!is_valid_date(t.date)) {
    c.i = 5;
    c.fail("no such date");
  }
  int64_t offset_s = 0;
  if (c.peek('T') || c.peek(' ')) {
    ++c.i;
    t.hour = c.digits(2, "2-digit hour");
    c.expect(':');
    t.minute = c.digits(2, "2-digit minute");
    if (c.peek(':')) {
      ++c.i;
      t.second = c.digits(2, "2-digit second");
    }
    if (t.hour > 23 || t.minute > 59 || t.second > 59) c.fail("time of day out of range");
    if (c.peek('.') || c.peek(',')) {
      ++c.i;
      uint32_t frac = 0;
      int n = 0;
      while (c.i < text.size() && text[c.i] >= '0' && text[c.i] <= '9') {
        if (n < 6) frac = frac * 10 + static_cast<uint32_t>(text[c.i] - '0'), ++n;
        ++c.i;
      }
      if (n == 0) c.fail("expected fraction digits");
      while (n < 6) frac *= 10, ++n;
      t.micros = frac;
    }
    if (c.peek('Z') || c.peek('z')) {
      ++c.i;
    } else if (c.peek('+') || c.peek('-')) {
      const int sign = text[c.i++] == '-' ? -1 : 1;
      uint32_t oh = c.digits(2, "offset hours");
      if (c.peek(':')) ++c.i;
      uint32_t om = c.digits(2, "offset minutes");
      if (oh > 23 || om > 59) c.fail("offset out of range");
      offset_s = sign * static_cast<int64_t>(oh * 3600 + om * 60);
    }
  }
  if (c.i != text.size()) c.fail("unexpected trailing characters");
  return days_from_civil(t.date) * kMicrosPerDay + t.hour * kMicrosPerHour + t.minute * kMicrosPerMinute +
         t.second * kMicrosPerSecond + t.micros - offset_s * kMicrosPerSecond;
}

// ---------------------------------------------------------------- TimeZone

namespace {
// A POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3") for times after the last
// listed transition of a TZif file.
struct PosixRule {
  struct When {
    char kind = 'M';  // 'M' month.week.day, 'J' julian 1..365 without Feb 29, 'D' zero-based day
    int month = 0, week = 0, wday = 0, day = 0;
    int32_t time = 7200;  // seconds after local midnight
  };
  bool valid = false;
  int32_t std_offset = 0;  // seconds east of UTC
  bool has_dst = false;
  int32_t dst_offset = 0;
  When start, end;
};

struct PosixParser {
  std::string_view s;
  size_t i = 0;
  bool ok = true;
  void name() {
    if (i < s.size() && s[i] == '<') {
      while (i < s.size() && s[i] != '>') ++i;
      if (i < s.size()) ++i; else ok = false;
    } else {
      size_t b = i;
      while (i < s.size() && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z'))) ++i;
      if (i - b < 3) ok = false;
    }
  }
  int num() {
    int v = 0;
    bool any = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0'), any = true;
    if (!any) ok = false;
    return v;
  }
  // [+-]hh[:mm[:ss]] → seconds
  int32_t hms() {
    int sign = 1;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
    int32_t v = num() * 3600;
    if (i < s.size() && s[i] == ':') ++i, v += num() * 60;
    if (i < s.size() && s[i] == ':') ++i, v += num();
    return sign * v;
  }
  PosixRule::When when() {
    PosixRule::When w;
    if (i < s.size() && s[i] == 'M') {
      ++i;
      w.kind = 'M';
      w.month = num();
      if (i < s.size() && s[i] == '.') ++i; else ok = false;
      w.week = num();
      if (i < s.size() && s[i] == '.') ++i; else ok = false;
      w.wday = num();
    } else if (i < s.size() && s[i] == 'J') {
      ++i;
      w.kind = 'J';
      w.day = num();
    } else {
      w.kind = 'D';
      w.day = num();
    }
    if (i < s.size() && s[i] == '/') ++i, w.time = hms();
    return w;
  }
  PosixRule parse() {
    PosixRule r;
    if (s.empty()) return r;
    name();
    r.std_offset = -hms();  // POSIX offsets are west-positive
    if (i < s.size() && s[i] != ',') {
      name();
      r.has_dst = true;
      r.dst_offset = r.std_offset + 3600;
      if (i < s.size() && s[i] != ',') r.dst_offset = -hms();
      if (i < s.size() && s[i] == ',') {
        ++i;
        r.start = when();
        if (i < s.size() && s[i] == ',') ++i; else ok = false;
        r.end = when();
      } else {
        ok = false;
      }
    }
    r.valid = ok && i == s.size();
    return r;
  }
};

// Seconds since the epoch (UTC-based local clock) of a rule's moment in `year`.
int64_t rule_local_seconds(const PosixRule::When& w, int64_t year) {
  int64_t day;
  if (w.kind == 'M') {
    int64_t first = days_from_civil({static_cast<int32_t>(year), static_cast<uint32_t>(w.month), 1});
    int64_t wd_first = ((first % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday (4)
    int64_t d = (w.wday - wd_first + 7) % 7 + 1 + 7 * (w.week - 1);
    int64_t dim = days_in_month(year, static_cast<uint32_t>(w.month));
    while (d > dim) d -= 7;
    day = first + d - 1;
  } else if (w.kind == 'J') {
    int64_t jan1 = days_from_civil({static_cast<int32_t>(year), 1, 1});
    int64_t d = w.day - 1;
    if (is_leap(year) && w.day >= 60) ++d;
    day = jan1 + d;
  } else {
    day = days_from_civil({static_cast<int32_t>(year), 1, 1}) + w.day;
  }
  return day * 86400 + w.time;
}

int32_t rule_offset(const PosixRule& r, int64_t utc_seconds) {
  if (!r.has_dst) return r.std_offset;
  int64_t year = civil_from_days(utc_seconds / 86400 - (utc_seconds % 86400 < 0 ? 1 : 0)).year;
  // DST starts at a local standard time and ends at a local DST time.
  int64_t start = rule_local_seconds(r.start, year) - r.std_offset;
  int64_t end = rule_local_seconds(r.end, year) - r.dst_offset;
  bool dst = start < end ? (utc_seconds >= start && utc_seconds < end)
                         : !(utc_seconds >= end && utc_seconds < start);  // southern hemisphere
  return dst ? r.dst_offset : r.std_offset;
}

uint32_t be32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}
uint64_t be64(const unsigned char* p) { return static_cast<uint64_t>(be32(p)) << 32 | be32(p + 4); }
}  // namespace

struct TimeZone::Impl {
  std::string name;
  std::vector<int64_t> transitions;  // UTC seconds, ascending
  std::vector<int32_t> offsets;      // offset in force from transitions[i]
  int32_t initial_offset = 0;        // before the first transition
  PosixRule rule;                    // after the last transition

  int32_t offset_at_seconds(int64_t s) const {
    if (transitions.empty() || s < transitions.front()) {
      if (transitions.empty() && rule.valid) return rule_offset(rule, s);
      return initial_offset;
    }
    if (s >= transitions.back() && rule.valid) return rule_offset(rule, s);
    auto it = std::upper_bound(transitions.begin(), transitions.end(), s);
    return offsets[static_cast<size_t>(it - transitions.begin()) - 1];
  }
};

static std::shared_ptr<TimeZone::Impl> parse_tzif(std::string name, const std::string& data) {
  auto fail = [&](const std::string& why, size_t off) -> void {
    throw CorruptError("time zone \"" + name + "\": " + why + " at offset " + std::to_string(off));
  };
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  if (n < 44 || std::string_view(data.data(), 4) != "TZif") fail("not a TZif file", 0);
  auto counts = [&](size_t at, uint32_t c[6]) {
    if (at + 44 > n) fail("truncated header", at);
    for (int k = 0; k < 6; ++k) c[k] = be32(p + at + 20 + 4 * k);
  };
  uint32_t c[6];  // isutcnt isstdcnt leapcnt timecnt typecnt charcnt
  counts(0, c);
  const char version = data[4];
  size_t block = 44;
  int tsize = 4;
  auto block_len = [&](const uint32_t* k, int ts) {
    return static_cast<size_t>(k[3]) * ts + k[3] + k[4] * 6ull + k[5] + k[2] * (ts + 4ull) + k[1] + k[0];
  };
  if (version >= '2') {
    size_t second = 44 + block_len(c, 4);
    counts(second, c);
    block = second + 44;
    tsize = 8;
  }
  if (block + block_len(c, tsize) > n) fail("truncated data block", block);
  auto impl = std::make_shared<TimeZone::Impl>();
  impl->name = std::move(name);
  const unsigned char* times = p + block;
  const unsigned char* idx = times + static_cast<size_t>(c[3]) * tsize;
  const unsigned char* types = idx + c[3];
  if (c[4] == 0) fail("no local time types", block);
  std::vector<int32_t> type_offsets(c[4]);
  for (uint32_t k = 0; k < c[4]; ++k) type_offsets[k] = static_cast<int32_t>(be32(types + 6 * k));
  impl->initial_offset = type_offsets[0];
  for (uint32_t k = 0; k < c[3]; ++k) {
    int64_t t = tsize == 8 ? static_cast<int64_t>(be64(times + 8 * k)) : static_cast<int32_t>(be32(times + 4 * k));
    if (idx[k] >= c[4]) fail("transition type out of range", block);
    impl->transitions.push_back(t);
    impl->offsets.push_back(type_offsets[idx[k]]);
  }
  if (version >= '2') {
    size_t footer = block + block_len(c, tsize);
    if (footer < n && data[footer] == '\n') {
      size_t end = data.find('\n', footer + 1);
      if (end != std::string::npos) {
        impl->rule = PosixParser{std::string_view(data).substr(footer + 1, end - footer - 1)}.parse();
      }
    }
  }
  return impl;
}

TimeZone::TimeZone(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
TimeZone::TimeZone(const TimeZone&) = default;
TimeZone& TimeZone::operator=(const TimeZone&) = default;
TimeZone::TimeZone(TimeZone&&) noexcept = default;
TimeZone& TimeZone::operator=(TimeZone&&) noexcept = default;
TimeZone::~TimeZone() = default;

TimeZone TimeZone::utc() {
  static const std::shared_ptr<const Impl> k = [] {
    auto i = std::make_shared<Impl>();
    i->name = "UTC";
    return i;
  }();
  return TimeZone(k);
}

TimeZone TimeZone::load(std::string_view name) {
  if (name.empty() || name == "UTC" || name == "Etc/UTC" || name == "Z") return utc();
  // Fixed offsets: "+08:00", "-0530".
  if (name[0] == '+' || name[0] == '-') {
    Cursor cur{name, 1};
    try {
      uint32_t h = cur.digits(2, "hours");
      if (cur.peek(':')) ++cur.i;
      uint32_t m = cur.digits(2, "minutes");
      if (cur.i != name.size() || h > 23 || m > 59) throw NotFound("");
      auto i = std::make_shared<Impl>();
      i->name = std::string(name);
      i->initial_offset = (name[0] == '-' ? -1 : 1) * static_cast<int32_t>(h * 3600 + m * 60);
      return TimeZone(i);
    } catch (const Error&) {
      throw NotFound("unknown time zone \"" + std::string(name) + "\": a fixed offset is written +hh:mm");
    }
  }
  // IANA names: letters, digits, '/', '_', '-', '+'; never "..".
  for (char ch : name) {
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '/' ||
              ch == '_' || ch == '-' || ch == '+';
    if (!ok) throw NotFound("unknown time zone \"" + std::string(name) + "\"");
  }
  if (name.find("..") != std::string_view::npos || name.front() == '/') {
    throw NotFound("unknown time zone \"" + std::string(name) + "\"");
  }
  const char* dirs[] = {"/usr/share/zoneinfo/", "/usr/lib/zoneinfo/", "/usr/share/lib/zoneinfo/"};
  for (const char* d : dirs) {
    std::ifstream f(std::string(d) + std::string(name), std::ios::binary);
    if (!f) continue;
    std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return TimeZone(parse_tzif(std::string(name), data));
  }
  throw NotFound("unknown time zone \"" + std::string(name) + "\" (no zoneinfo file; is tzdata installed?)");
}

const std::string& TimeZone::name() const noexcept { return impl_->name; }

int32_t TimeZone::offset_at(Timestamp t) const noexcept {
  int64_t s = t >= 0 ? t / kMicrosPerSecond : -((-t + kMicrosPerSecond - 1) / kMicrosPerSecond);
  return impl_->offset_at_seconds(s);
}

CivilTime TimeZone::to_local(Timestamp t) const noexcept {
  return to_civil_utc(t + static_cast<int64_t>(offset_at(t)) * kMicrosPerSecond);
}

Timestamp TimeZone::from_local(const CivilTime& lt) const noexcept {
  const Timestamp local = days_from_civil(lt.date) * kMicrosPerDay + lt.hour * kMicrosPerHour +
                          lt.minute * kMicrosPerMinute + lt.second * kMicrosPerSecond + lt.micros;
  // Try the offsets in force a day either side; prefer the earliest instant
  // that maps back to the same local time.
  int32_t o1 = offset_at(local - kMicrosPerDay), o2 = offset_at(local + kMicrosPerDay);
  Timestamp best = INT64_MAX;
  for (int32_t o : {o1, o2}) {
    Timestamp cand = local - static_cast<int64_t>(o) * kMicrosPerSecond;
    if (offset_at(cand) == o) best = std::min(best, cand);
  }
  if (best != INT64_MAX) return best;
  // Skipped by a transition (spring forward): the instant just after the gap.
  Timestamp a = local - static_cast<int64_t>(std::max(o1, o2)) * kMicrosPerSecond;
  Timestamp b = local - static_cast<int64_t>(std::min(o1, o2)) * kMicrosPerSecond;
  while (b - a > 1) {
    Timestamp m = a + (b - a) / 2;
    if (offset_at(m) == offset_at(a)) a = m; else b = m;
  }
  return b;
}

Timestamp TimeZone::start_of_day(CivilDate date) const noexcept {
  CivilTime lt{};
  lt.date = date;
  return from_local(lt);
}

}  // namespace cdpcore
