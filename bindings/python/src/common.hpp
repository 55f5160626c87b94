// Shared by the binding files of the Python extension.
//
// Each component's bindings live in their own file and register an init
// function with CDPCORE_PY_REGISTER; module.cpp calls them in `order`.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <string_view>

namespace py = pybind11;

namespace cdpcore::python {

using InitFn = void (*)(py::module_&);
/// Records a binding init function; returns true (for a static initialiser).
bool register_init(int order, const char* name, InitFn fn);
/// Calls every registered init function in order.
void run_inits(py::module_& m);

/// Python str → UTF-8 std::string (pybind11 already rejects lone surrogates).
inline std::string to_utf8(const py::str& s) { return s.cast<std::string>(); }

/// Calls a Python progress callback (done, total) -> bool|None; returns true to
/// continue. Takes the GIL itself, so it may be called from released sections.
bool call_progress(const py::object& cb, uint64_t done, uint64_t total);

}  // namespace cdpcore::python

#define CDPCORE_PY_CAT2(a, b) a##b
#define CDPCORE_PY_CAT(a, b) CDPCORE_PY_CAT2(a, b)
/// CDPCORE_PY_REGISTER(order, name, fn): register `fn` to run at module init.
#define CDPCORE_PY_REGISTER(order, name, fn) \
  static const bool CDPCORE_PY_CAT(cdpcore_py_registered_, __LINE__) = ::cdpcore::python::register_init(order, name, fn)
