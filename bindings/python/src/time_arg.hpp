// The one conversion of a Python time into cdpcore's UTC microseconds.
//
// Every binding that takes a time declares the parameter as TimeArg (or
// std::optional<TimeArg>); the type caster below converts it with
// to_timestamp(). Arrays of times take their own vectorised path in the
// pure-Python package (cdpcore/_time.py) and accept the same element kinds.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <span>

#include "cdpcore/time.hpp"

namespace py = pybind11;

namespace cdpcore::python {

/// The kinds of time accepted, for docstrings and error messages.
inline constexpr const char* kTimeKinds =
    "int microseconds since 1970-01-01 UTC, datetime.datetime (naive = UTC), datetime.date (midnight UTC), "
    "pandas.Timestamp, numpy.datetime64 (any unit) or ISO 8601 text";

/// UTC microseconds of a Python time:
///  - int (or any integer with __index__, not bool): microseconds, UTC;
///  - datetime.datetime and pandas.Timestamp: an aware one at its offset, a
///    naive one as UTC (as ISO 8601 text without an offset is UTC);
///    nanoseconds below the microsecond are dropped;
///  - datetime.date: midnight UTC of that day;
///  - numpy.datetime64 of any unit (floored to the microsecond);
///  - str: ISO 8601 as cdpcore::parse_iso8601 reads it.
/// Throws TypeError for anything else (float, bool, timedelta, None) and
/// ValueError for NaT or text that does not parse.
Timestamp to_timestamp(py::handle value);

/// Microseconds of a duration: int microseconds or datetime.timedelta.
/// None is 0 (no duration).
Timestamp to_duration(py::handle value);

/// UTC microseconds of a column of times (NumPy, pandas, Arrow or a list)
/// whose elements are any kind to_timestamp() takes. An integer NumPy array
/// goes through as it is; any other column is converted by
/// cdpcore._time.to_micros_array (the package's vectorised path). A missing
/// time (None, NaN, NaT) raises ValueError naming its row.
py::array_t<int64_t> to_timestamp_array(py::handle values);

/// A time argument; converts implicitly to Timestamp.
struct TimeArg {
  Timestamp micros = 0;
  operator Timestamp() const noexcept { return micros; }  // NOLINT(google-explicit-constructor)
};

/// A column-of-times argument (see to_timestamp_array).
struct TimeColumn {
  py::array_t<int64_t> micros;
  std::span<const int64_t> span() const { return {micros.data(), static_cast<size_t>(micros.size())}; }
};

}  // namespace cdpcore::python

namespace pybind11::detail {

/// Loads a TimeArg with to_timestamp(); a wrong kind raises its own TypeError
/// naming the accepted kinds rather than pybind's generic overload message.
template <>
struct type_caster<cdpcore::python::TimeArg> {
  PYBIND11_TYPE_CASTER(cdpcore::python::TimeArg, const_name("TimeLike"));
  bool load(handle src, bool /*convert*/) {
    value.micros = cdpcore::python::to_timestamp(src);
    return true;
  }
  static handle cast(const cdpcore::python::TimeArg& t, return_value_policy, handle) {
    return PyLong_FromLongLong(t.micros);
  }
};

/// Loads a TimeColumn with to_timestamp_array().
template <>
struct type_caster<cdpcore::python::TimeColumn> {
  PYBIND11_TYPE_CASTER(cdpcore::python::TimeColumn, const_name("TimeColumn"));
  bool load(handle src, bool /*convert*/) {
    value.micros = cdpcore::python::to_timestamp_array(src);
    return true;
  }
  static handle cast(const cdpcore::python::TimeColumn& t, return_value_policy, handle) {
    return t.micros.inc_ref();
  }
};

}  // namespace pybind11::detail
