#include <doctest/doctest.h>

#include "cdpcore/error.hpp"
#include "cdpcore/time.hpp"

using namespace cdpcore;

TEST_CASE("time: civil dates round-trip through day numbers over four centuries") {
  CHECK(days_from_civil({1970, 1, 1}) == 0);
  CHECK(days_from_civil({2000, 3, 1}) == 11017);
  CHECK(days_from_civil({1969, 12, 31}) == -1);
  for (int64_t d = -146097; d <= 146097; d += 13) {
    CHECK(days_from_civil(civil_from_days(d)) == d);
  }
  CHECK(civil_from_days(days_from_civil({2024, 2, 29})) == CivilDate{2024, 2, 29});
  CHECK_FALSE(is_valid_date({2023, 2, 29}));
  CHECK(is_valid_date({2000, 2, 29}));
  CHECK_FALSE(is_valid_date({1900, 2, 29}));
}

TEST_CASE("time: day_number floors negative times") {
  CHECK(day_number(0) == 0);
  CHECK(day_number(-1) == -1);
  CHECK(day_number(days(3) - 1) == 2);
}

TEST_CASE("time: ISO 8601 parses dates, fractions and offsets") {
  CHECK(parse_iso8601("1970-01-01") == 0);
  CHECK(parse_iso8601("1970-01-01T00:00:01Z") == kMicrosPerSecond);
  CHECK(parse_iso8601("2024-03-01T08:00:00+08:00") == parse_iso8601("2024-03-01T00:00:00Z"));
  CHECK(parse_iso8601("2024-03-01 08:00:00.5") == parse_iso8601("2024-03-01T08:00:00Z") + 500000);
  CHECK(format_iso8601(parse_iso8601("2024-03-01T08:09:10.000123Z")) == "2024-03-01T08:09:10.000123Z");
  CHECK(format_iso8601(-1) == "1969-12-31T23:59:59.999999Z");
}

TEST_CASE("time: malformed ISO 8601 is a ParseError with the offset") {
  auto offset_of = [](const char* s) -> long long {
    try {
      parse_iso8601(s);
    } catch (const ParseError& e) {
      return static_cast<long long>(e.offset());
    }
    return -1;
  };
  CHECK(offset_of("2024-13-01") == 5);
  CHECK(offset_of("2024-02-30") == 5);
  CHECK(offset_of("2024-02-3x") == 9);
  CHECK(offset_of("2024-02-03T25:00") == 16);
  CHECK(offset_of("2024-02-03T10:00Q") == 16);
}

TEST_CASE("time: zones from the system database, with daylight saving") {
  TimeZone sh = TimeZone::load("Asia/Shanghai");
  CHECK(sh.offset_at(parse_iso8601("2024-07-01T00:00:00Z")) == 8 * 3600);
  TimeZone berlin = TimeZone::load("Europe/Berlin");
  CHECK(berlin.offset_at(parse_iso8601("2024-01-15T12:00:00Z")) == 3600);
  CHECK(berlin.offset_at(parse_iso8601("2024-07-15T12:00:00Z")) == 7200);
  // 2024-03-31 01:00Z is the switch to summer time.
  CHECK(berlin.offset_at(parse_iso8601("2024-03-31T00:59:59Z")) == 3600);
  CHECK(berlin.offset_at(parse_iso8601("2024-03-31T01:00:00Z")) == 7200);
  // Past the last listed transition the POSIX rule takes over.
  CHECK(berlin.offset_at(parse_iso8601("2077-07-15T12:00:00Z")) == 7200);
  CHECK(berlin.offset_at(parse_iso8601("2077-12-15T12:00:00Z")) == 3600);
  TimeZone ny = TimeZone::load("America/New_York");
  CHECK(ny.offset_at(parse_iso8601("2090-07-04T12:00:00Z")) == -4 * 3600);

  CivilTime lt = sh.to_local(parse_iso8601("2024-12-31T20:00:00Z"));
  CHECK(lt.date == CivilDate{2025, 1, 1});
  CHECK(lt.hour == 4);
  CHECK(sh.start_of_day({2025, 1, 1}) == parse_iso8601("2024-12-31T16:00:00Z"));
  // A local time skipped by spring-forward maps to the end of the gap.
  CivilTime skipped{{2024, 3, 31}, 2, 30, 0, 0};
  CHECK(berlin.from_local(skipped) == parse_iso8601("2024-03-31T01:00:00Z"));
  CivilTime twice{{2024, 10, 27}, 2, 30, 0, 0};  // occurs twice; the earlier wins
  CHECK(berlin.from_local(twice) == parse_iso8601("2024-10-27T00:30:00Z"));
}

TEST_CASE("time: unknown zones and fixed offsets") {
  CHECK_THROWS_AS(TimeZone::load("Mars/Olympus"), NotFound);
  CHECK_THROWS_AS(TimeZone::load("../../etc/passwd"), NotFound);
  TimeZone f = TimeZone::load("+05:30");
  CHECK(f.offset_at(0) == 5 * 3600 + 1800);
  CHECK(TimeZone::load("UTC").offset_at(123) == 0);
}
