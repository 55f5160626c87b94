#include "time_arg.hpp"

#include <datetime.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "cdpcore/error.hpp"
#include "common.hpp"

namespace cdpcore::python {
namespace {

/// The datetime C API, imported once (the GIL is held by every caller).
void ensure_datetime_api() {
  if (!PyDateTimeAPI) {
    PyDateTime_IMPORT;
    if (!PyDateTimeAPI) throw py::error_already_set();
  }
}

std::string type_name(py::handle o) { return Py_TYPE(o.ptr())->tp_name; }

[[noreturn]] void wrong_kind(py::handle o) {
  throw py::type_error(std::string("expected a time (") + kTimeKinds + "), got " + type_name(o));
}

/// An int as microseconds; one beyond int64 is a ValueError, not pybind's cast error.
Timestamp int_micros(py::handle i) {
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
  if (overflow) throw InvalidArgument("time " + py::repr(i).cast<std::string>() + " is out of range (int64 microseconds)");
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  return v;
}

/// Microseconds of a datetime.timedelta.
Timestamp delta_micros(py::handle d) {
  return PyDateTime_DELTA_GET_DAYS(d.ptr()) * kMicrosPerDay +
         PyDateTime_DELTA_GET_SECONDS(d.ptr()) * kMicrosPerSecond + PyDateTime_DELTA_GET_MICROSECONDS(d.ptr());
}

Timestamp date_micros(py::handle d) {
  const CivilDate c{PyDateTime_GET_YEAR(d.ptr()), static_cast<uint32_t>(PyDateTime_GET_MONTH(d.ptr())),
                    static_cast<uint32_t>(PyDateTime_GET_DAY(d.ptr()))};
  return days_from_civil(c) * kMicrosPerDay;
}

/// A datetime (pandas.Timestamp is one): its wall time, less its UTC offset
/// when it has one.
Timestamp datetime_micros(py::handle d) {
  PyObject* p = d.ptr();
  Timestamp t = date_micros(d) + PyDateTime_DATE_GET_HOUR(p) * kMicrosPerHour +
                PyDateTime_DATE_GET_MINUTE(p) * kMicrosPerMinute + PyDateTime_DATE_GET_SECOND(p) * kMicrosPerSecond +
                PyDateTime_DATE_GET_MICROSECOND(p);
  py::object offset = d.attr("utcoffset")();
  if (!offset.is_none()) t -= delta_micros(offset);
  return t;
}

/// pandas.NaT and numpy.datetime64("NaT") are missing values, not times.
bool is_pandas_nat(py::handle o) { return std::strcmp(Py_TYPE(o.ptr())->tp_name, "NaTType") == 0; }

Timestamp datetime64_micros(py::handle o) {
  // NaT is int64's minimum in every unit; casting to "us" floors finer units.
  const int64_t v = o.attr("astype")("datetime64[us]").attr("astype")("int64").cast<int64_t>();
  if (v == INT64_MIN) throw InvalidArgument("NaT is not a time");
  return v;
}

}  // namespace

Timestamp to_timestamp(py::handle o) {
  PyObject* p = o.ptr();
  if (PyBool_Check(p)) wrong_kind(o);
  if (PyLong_Check(p)) return int_micros(o);
  if (PyUnicode_Check(p)) return parse_iso8601(o.cast<std::string>());
  ensure_datetime_api();
  if (PyDateTime_Check(p)) {
    if (is_pandas_nat(o)) throw InvalidArgument("NaT is not a time");
    return datetime_micros(o);
  }
  if (PyDate_Check(p)) return date_micros(o);
  if (std::strcmp(Py_TYPE(p)->tp_name, "numpy.datetime64") == 0) return datetime64_micros(o);
  // numpy integers and other exact integers (numpy.bool_ has no __index__).
  if (!PyDelta_Check(p) && !PyFloat_Check(p) && PyIndex_Check(p)) {
    return int_micros(py::reinterpret_steal<py::object>(PyNumber_Index(p)));
  }
  wrong_kind(o);
}

Timestamp to_duration(py::handle o) {
  if (o.is_none()) return 0;
  PyObject* p = o.ptr();
  if (!PyBool_Check(p) && PyLong_Check(p)) return int_micros(o);
  ensure_datetime_api();
  if (PyDelta_Check(p)) return delta_micros(o);
  throw py::type_error("expected a duration (int microseconds or datetime.timedelta), got " + type_name(o));
}

py::array_t<int64_t> to_timestamp_array(py::handle values) {
  using Ints = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
  if (py::isinstance<py::array>(values)) {
    const char kind = py::reinterpret_borrow<py::array>(values).dtype().kind();
    if (kind == 'i' || kind == 'u') return Ints::ensure(values);
  }
  py::tuple r = py::module_::import("cdpcore._time").attr("to_micros_array")(values);
  if (!r[1].is_none()) {
    const int64_t row = py::module_::import("numpy").attr("flatnonzero")(r[1])[py::int_(0)].cast<int64_t>();
    throw InvalidArgument("time of row " + std::to_string(row) + " is missing");
  }
  return Ints::ensure(r[0]);
}

namespace {
void init_time(py::module_& m) {
  m.def(
      "to_micros", [](TimeArg t) { return t.micros; }, py::arg("time"),
      (std::string("UTC microseconds of a time: ") + kTimeKinds +
       ". The one conversion every time argument of cdpcore goes through.")
          .c_str());
  m.def("parse_time", &parse_iso8601, py::arg("text"), "Parse ISO 8601 text to UTC microseconds since the epoch.");
  m.def("format_time", &format_iso8601, py::arg("micros"), "Format UTC microseconds as ISO 8601.");
}
}  // namespace

CDPCORE_PY_REGISTER(5, "time", init_time);

}  // namespace cdpcore::python
