// cdpcore::Error and its subclasses become Python exceptions of the same name,
// deriving from cdpcore.Error and from the matching built-in (ValueError,
// KeyError, ...), carrying `code` and, where known, `offset`, `line`, `column`.
#include <Python.h>

#include "cdpcore/error.hpp"
#include "common.hpp"

namespace cdpcore::python {
namespace {

PyObject* g_base = nullptr;
PyObject* g_classes[32] = {};

PyObject* make(py::module_& m, const char* name, PyObject* builtin, const char* doc) {
  std::string qual = std::string("cdpcore.") + name;
  PyObject* bases = builtin ? PyTuple_Pack(2, g_base, builtin) : PyTuple_Pack(1, g_base);
  PyObject* cls = PyErr_NewExceptionWithDoc(qual.c_str(), doc, bases, nullptr);
  Py_DECREF(bases);
  if (!cls) throw py::error_already_set();
  m.add_object(name, py::handle(cls));  // steals? no: add_object increfs
  return cls;  // kept alive for the interpreter's life (intentionally leaked)
}

size_t slot(ErrorCode c) { return static_cast<size_t>(-static_cast<int32_t>(c)); }

void raise(const Error& e, PyObject* cls) {
  PyObject* inst = PyObject_CallFunction(cls, "s", e.what());
  if (!inst) return;  // error already set
  PyObject_SetAttrString(inst, "code", PyLong_FromLong(static_cast<long>(e.code())));
  if (auto* pe = dynamic_cast<const ParseError*>(&e)) {
    PyObject_SetAttrString(inst, "offset", PyLong_FromUnsignedLongLong(pe->offset()));
    PyObject_SetAttrString(inst, "line", PyLong_FromUnsignedLong(pe->line()));
    PyObject_SetAttrString(inst, "column", PyLong_FromUnsignedLong(pe->column()));
  } else if (auto* ue = dynamic_cast<const Utf8Error*>(&e)) {
    PyObject_SetAttrString(inst, "offset", PyLong_FromUnsignedLongLong(ue->offset()));
  }
  PyErr_SetObject(cls, inst);
  Py_DECREF(inst);
}

void init_errors(py::module_& m) {
  g_base = PyErr_NewExceptionWithDoc("cdpcore.Error",
                                     "Base of every cdpcore error; `code` is the C ABI status code.",
                                     PyExc_Exception, nullptr);
  m.add_object("Error", py::handle(g_base));
  struct Def {
    ErrorCode code;
    const char* name;
    PyObject* builtin;
    const char* doc;
  };
  const Def defs[] = {
      {ErrorCode::invalid_argument, "InvalidArgument", PyExc_ValueError, "An argument is invalid."},
      {ErrorCode::not_found, "NotFound", PyExc_LookupError, "A named thing does not exist."},
      {ErrorCode::parse, "ParseError", PyExc_ValueError, "Input does not parse; see offset, line, column."},
      {ErrorCode::conflict, "Conflict", nullptr, "The request conflicts with existing state."},
      {ErrorCode::io, "IoError", PyExc_OSError, "Reading or writing a file failed."},
      {ErrorCode::corrupt, "CorruptError", nullptr, "Stored data is not what it should be."},
      {ErrorCode::version, "VersionError", nullptr, "Written by a newer version of cdpcore."},
      {ErrorCode::no_memory, "OutOfMemory", PyExc_MemoryError, "Out of memory."},
      {ErrorCode::limit, "LimitError", nullptr, "A configured limit would be exceeded."},
      {ErrorCode::utf8, "Utf8Error", PyExc_ValueError, "A string is not valid UTF-8; see offset."},
      {ErrorCode::unsupported, "Unsupported", nullptr, "A valid but unsupported feature."},
      {ErrorCode::type, "TypeError", PyExc_TypeError, "A type mismatch in a rule or column."},
      {ErrorCode::cancelled, "Cancelled", nullptr, "A progress callback asked to stop."},
      {ErrorCode::busy, "BusyError", nullptr, "The database is locked by another connection."},
      {ErrorCode::state, "StateError", nullptr, "The object is not in a state that allows the call."},
  };
  for (const Def& d : defs) g_classes[slot(d.code)] = make(m, d.name, d.builtin, d.doc);

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      size_t s = slot(e.code());
      PyObject* cls = s < 32 && g_classes[s] ? g_classes[s] : g_base;
      raise(e, cls);
    }
  });
}

CDPCORE_PY_REGISTER(0, "errors", init_errors);

}  // namespace
}  // namespace cdpcore::python
