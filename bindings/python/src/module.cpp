#include <algorithm>
#include <vector>

#include "cdpcore/version.hpp"
#include "common.hpp"

namespace cdpcore::python {

namespace {
struct Entry {
  int order;
  const char* name;
  InitFn fn;
};
std::vector<Entry>& registry() {
  static std::vector<Entry> r;
  return r;
}
}  // namespace

bool register_init(int order, const char* name, InitFn fn) {
  registry().push_back({order, name, fn});
  return true;
}

void run_inits(py::module_& m) {
  auto& r = registry();
  std::stable_sort(r.begin(), r.end(), [](const Entry& a, const Entry& b) { return a.order < b.order; });
  for (const Entry& e : r) e.fn(m);
}

bool call_progress(const py::object& cb, uint64_t done, uint64_t total) {
  if (cb.is_none()) return true;
  py::gil_scoped_acquire gil;
  py::object r = cb(done, total);
  return r.is_none() || r.cast<bool>();
}

}  // namespace cdpcore::python

PYBIND11_MODULE(_cdpcore, m) {
  m.doc() = "cdpcore native extension: the C++ library's API. Use the `cdpcore` package.";
  m.attr("__version__") = cdpcore::version();
  m.attr("version_number") = cdpcore::version_number();
  cdpcore::python::run_inits(m);
}
