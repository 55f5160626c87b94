// cdpcore — time.
//
// Time is always an argument, never the wall clock read behind the caller's
// back: an int64 count of microseconds since 1970-01-01T00:00:00Z (UTC),
// leap seconds ignored, like Unix time. Calendar questions ("this month",
// "age in years", "quiet hours") need a time zone, which is always named.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>


namespace cdpcore {

/// Microseconds since the Unix epoch, UTC.
using Timestamp = int64_t;

inline constexpr int64_t kMicrosPerSecond = 1'000'000;
inline constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

constexpr Timestamp from_seconds(int64_t s) { return s * kMicrosPerSecond; }
constexpr Timestamp days(int64_t n) { return n * kMicrosPerDay; }
constexpr Timestamp hours(int64_t n) { return n * kMicrosPerHour; }
/// Floor division to whole days since the epoch (correct for negative times).
constexpr int64_t day_number(Timestamp t) {
  return t >= 0 ? t / kMicrosPerDay : -((-t + kMicrosPerDay - 1) / kMicrosPerDay);
}

/// A proleptic Gregorian calendar date.
struct CivilDate {
  int32_t year;
  uint32_t month;  // 1..12
  uint32_t day;    // 1..31
  friend bool operator==(const CivilDate&, const CivilDate&) = default;
};

/// A date and time of day, without a zone.
struct CivilTime {
  CivilDate date;
  uint32_t hour, minute, second;
  uint32_t micros;
};

/// Days since 1970-01-01 of a civil date (negative before).
int64_t days_from_civil(CivilDate d) noexcept;
/// The civil date of a day number.
CivilDate civil_from_days(int64_t days) noexcept;
/// UTC civil time of a timestamp.
CivilTime to_civil_utc(Timestamp t) noexcept;
/// Whether `d` is a real date (month 1..12, day within the month).
bool is_valid_date(CivilDate d) noexcept;

/// Formats as ISO 8601 in UTC, "2024-03-01T08:00:00Z" (".123456" added when
/// there are microseconds).
std::string format_iso8601(Timestamp t);

/// Parses ISO 8601: "2024-03-01", "2024-03-01T08:00:00", with optional
/// fraction and "Z" or "±hh:mm" offset (no offset means UTC). Throws
/// ParseError naming the offset of the first bad character.
Timestamp parse_iso8601(std::string_view text);

/// An IANA time zone ("Asia/Shanghai", "Europe/Berlin", "UTC"), read from the
/// system's zoneinfo database (TZif files, RFC 8536), or a fixed offset
/// ("+08:00"). Immutable after load; share freely across threads.
class TimeZone {
 public:
  /// Loads a zone by name. Throws NotFound for an unknown zone.
  static TimeZone load(std::string_view name);
  /// The UTC zone (no file needed).
  static TimeZone utc();

  TimeZone(const TimeZone&);
  TimeZone& operator=(const TimeZone&);
  TimeZone(TimeZone&&) noexcept;
  TimeZone& operator=(TimeZone&&) noexcept;
  ~TimeZone();

  const std::string& name() const noexcept;
  /// Offset from UTC, in seconds, in force at `t`.
  int32_t offset_at(Timestamp t) const noexcept;
  /// Local civil time of `t`.
  CivilTime to_local(Timestamp t) const noexcept;
  /// The UTC instant of local midnight starting `date` (the first instant of
  /// that day when a transition skips midnight).
  Timestamp start_of_day(CivilDate date) const noexcept;
  /// The UTC instant of a local civil time; for times that occur twice the
  /// earlier, for times skipped by a transition the instant just after it.
  Timestamp from_local(const CivilTime& local) const noexcept;

  struct Impl;

 private:
  explicit TimeZone(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace cdpcore
