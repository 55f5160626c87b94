#include "cdpcore/workspace.hpp"

#include "cdpcore/hash.hpp"
#include "cdpcore/time.hpp"
#include "cdpcore/utf8.hpp"
#include "common.hpp"

namespace cdpcore::python {
namespace {

void init_workspace(py::module_& m) {
  py::class_<Workspace, std::shared_ptr<Workspace>>(m, "Workspace", R"doc(
One SQLite file holding every component's state (":memory:" for a private
in-memory one). Components bind to it. Use from one thread at a time.)doc")
      .def_static(
          "open",
          [](const std::string& path, bool read_only, bool create, int32_t busy_timeout_ms,
             const std::optional<std::string>& time_zone) {
            WorkspaceOptions o;
            o.read_only = read_only;
            o.create = create;
            o.busy_timeout_ms = busy_timeout_ms;
            if (time_zone) o.time_zone = *time_zone;
            return Workspace::open(path, o);
          },
          py::arg("path"), py::kw_only(), py::arg("read_only") = false, py::arg("create") = true,
          py::arg("busy_timeout_ms") = 5000, py::arg("time_zone") = py::none(),
          py::call_guard<py::gil_scoped_release>(),
          R"doc(Open or create a workspace. Raises CorruptError for a file that is not a
cdpcore workspace and VersionError for one written by a newer cdpcore; the
file is left untouched in both cases.)doc")
      .def_property_readonly("path", &Workspace::path, "The path it was opened with.")
      .def_property_readonly("read_only", &Workspace::read_only)
      .def_property_readonly(
          "time_zone", [](const Workspace& w) { return w.time_zone().name(); },
          "The IANA time zone used by calendar rules.")
      .def("set_time_zone", &Workspace::set_time_zone, py::arg("name"), "Change and store the time zone.")
      .def("schema_version", &Workspace::schema_version, py::arg("component"),
           "Stored schema version of a component, 0 when it has no tables.")
      .def("setting", &Workspace::setting, py::arg("key"), "A stored setting, or None.")
      .def("set_setting", &Workspace::set_setting, py::arg("key"), py::arg("value"), "Store a setting.")
      .def("__repr__", [](const Workspace& w) { return "<cdpcore.Workspace path='" + w.path() + "'>"; });

  m.def(
      "sha256_hex", [](const py::bytes& b) { return to_hex(sha256(std::string_view(b))); }, py::arg("data"),
      "SHA-256 of bytes, as 64 lowercase hex digits.");
  m.def(
      "hmac_sha256_hex",
      [](const py::bytes& key, const py::bytes& b) { return to_hex(hmac_sha256(std::string_view(key), std::string_view(b))); },
      py::arg("key"), py::arg("data"), "HMAC-SHA256 of bytes under key, as hex.");
}

CDPCORE_PY_REGISTER(10, "workspace", init_workspace);

}  // namespace
}  // namespace cdpcore::python
