// cdpcore.Bitmap: compressed bitmaps of person ordinals, with NumPy in and
// out and Roaring's portable serialisation (bytes pyroaring reads).
#include "cdpcore/bitmap.hpp"

#include "common.hpp"

namespace cdpcore::python {
namespace {

using U32Array = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>;

Bitmap from_any(const py::handle& values) {
  if (values.is_none()) return Bitmap();
  if (py::isinstance<Bitmap>(values)) return values.cast<const Bitmap&>();
  U32Array a;
  if (py::isinstance<py::array>(values)) {
    py::array arr = py::reinterpret_borrow<py::array>(values);
    // Negative or too large values would wrap silently in a cast: refuse them.
    if (arr.size() > 0 && py::str(arr.dtype().attr("kind")).cast<std::string>() == "i") {
      py::object mn = arr.attr("min")();
      py::object mx = arr.attr("max")();
      if (mn.cast<long long>() < 0 || mx.cast<long long>() > 0xFFFFFFFFLL)
        throw py::value_error("ordinals must be in 0..4294967295");
    }
    a = U32Array::ensure(arr);
  } else {
    std::vector<uint32_t> v;
    for (const py::handle& x : values) {
      long long n = x.cast<long long>();
      if (n < 0 || n > 0xFFFFFFFFLL) throw py::value_error("ordinal " + std::to_string(n) + " is not in 0..4294967295");
      v.push_back(static_cast<uint32_t>(n));
    }
    return Bitmap::from_values(v);
  }
  if (!a) throw py::type_error("expected an array of uint32 ordinals");
  if (a.ndim() != 1) throw py::value_error("expected a one-dimensional array of ordinals");
  std::span<const uint32_t> s(a.data(), static_cast<size_t>(a.size()));
  py::gil_scoped_release nogil;
  return Bitmap::from_values(s);
}

py::array_t<uint32_t> to_numpy(const Bitmap& b) {
  py::array_t<uint32_t> out(static_cast<py::ssize_t>(b.cardinality()));
  uint32_t* p = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    b.to_array(p);
  }
  return out;
}

std::vector<const Bitmap*> pointers(const std::vector<const Bitmap*>& v) { return v; }

void init_bitmap(py::module_& m) {
  py::class_<Bitmap> c(m, "Bitmap", R"doc(
A compressed set of uint32 person ordinals (a Roaring bitmap): the form of
every audience, tag and consent filter. Build from a NumPy array or any
iterable of ints; get the members back with to_numpy(). serialize() writes
Roaring's portable format, which pyroaring and CRoaring read. Concurrent
reads are safe; writes need exclusive access.)doc");
  c.def(py::init([](const py::object& values) { return from_any(values); }), py::arg("values") = py::none(),
        "A bitmap of the given ordinals (NumPy array, iterable of ints or Bitmap).")
      .def_static("from_range", &Bitmap::from_range, py::arg("begin"), py::arg("end"), "The ordinals in [begin, end).")
      .def_static(
          "deserialize",
          [](const py::bytes& data) {
            std::string_view s(data);
            std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
            py::gil_scoped_release nogil;
            return Bitmap::deserialize(bytes);
          },
          py::arg("data"),
          "Read Roaring's portable format. Raises ParseError (with offset) on malformed bytes.")
      .def_static(
          "portable_size",
          [](const py::bytes& data) {
            std::string_view s(data);
            return Bitmap::portable_size(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
          },
          py::arg("data"), "Check the portable format and return the bytes the bitmap occupies.")
      .def(
          "serialize",
          [](const Bitmap& b) {
            std::vector<uint8_t> v;
            {
              py::gil_scoped_release nogil;
              v = b.serialize();
            }
            return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
          },
          "Roaring's portable serialisation, as bytes.")
      .def("to_numpy", &to_numpy, "The members in ascending order as a uint32 NumPy array.")
      .def("add", &Bitmap::add, py::arg("ordinal"))
      .def(
          "add_many", [](Bitmap& b, const py::object& values) { b |= from_any(values); }, py::arg("values"),
          "Add many ordinals (array or iterable).")
      .def("add_range", &Bitmap::add_range, py::arg("begin"), py::arg("end"), "Add [begin, end).")
      .def("remove", &Bitmap::remove, py::arg("ordinal"))
      .def("clear", &Bitmap::clear)
      .def("copy", [](const Bitmap& b) { return Bitmap(b); })
      .def("__contains__", [](const Bitmap& b, long long v) { return v >= 0 && v <= 0xFFFFFFFFLL && b.contains(static_cast<uint32_t>(v)); },
           py::arg("ordinal"))
      .def("__len__", &Bitmap::cardinality)
      .def("__bool__", [](const Bitmap& b) { return !b.empty(); })
      .def("__iter__", [](const Bitmap& b) { return py::iter(to_numpy(b).attr("tolist")()); })
      .def("__eq__", [](const Bitmap& a, const py::object& o) {
        return py::isinstance<Bitmap>(o) && a == o.cast<const Bitmap&>();
      }, py::arg("other"))
      .def("__and__", [](const Bitmap& a, const Bitmap& b) { return a & b; }, py::arg("other"), py::call_guard<py::gil_scoped_release>())
      .def("__or__", [](const Bitmap& a, const Bitmap& b) { return a | b; }, py::arg("other"), py::call_guard<py::gil_scoped_release>())
      .def("__sub__", [](const Bitmap& a, const Bitmap& b) { return a - b; }, py::arg("other"), py::call_guard<py::gil_scoped_release>())
      .def("__xor__", [](const Bitmap& a, const Bitmap& b) { return a ^ b; }, py::arg("other"), py::call_guard<py::gil_scoped_release>())
      .def("__iand__", [](Bitmap& a, const Bitmap& b) -> Bitmap& { return a &= b; }, py::arg("other"), py::call_guard<py::gil_scoped_release>())
      .def("__ior__", [](Bitmap& a, const Bitmap& b) -> Bitmap& { return a |= b; }, py::arg("other"), py::call_guard<py::gil_scoped_release>())
      .def("__isub__", [](Bitmap& a, const Bitmap& b) -> Bitmap& { return a -= b; }, py::arg("other"), py::call_guard<py::gil_scoped_release>())
      .def("__ixor__", [](Bitmap& a, const Bitmap& b) -> Bitmap& { return a ^= b; }, py::arg("other"), py::call_guard<py::gil_scoped_release>())
      .def("and_cardinality", &Bitmap::and_cardinality, py::arg("other"), "|self ∩ other| without building it.")
      .def("or_cardinality", &Bitmap::or_cardinality, py::arg("other"))
      .def("andnot_cardinality", &Bitmap::andnot_cardinality, py::arg("other"))
      .def("xor_cardinality", &Bitmap::xor_cardinality, py::arg("other"))
      .def("intersects", &Bitmap::intersects, py::arg("other"))
      .def("is_subset", &Bitmap::is_subset_of, py::arg("other"), "Whether every member is in other.")
      .def("range_cardinality", &Bitmap::range_cardinality, py::arg("begin"), py::arg("end"))
      .def_property_readonly("min", [](const Bitmap& b) -> py::object {
        return b.empty() ? py::object(py::none()) : py::int_(b.minimum());
      })
      .def_property_readonly("max", [](const Bitmap& b) -> py::object {
        return b.empty() ? py::object(py::none()) : py::int_(b.maximum());
      })
      .def("rank", &Bitmap::rank, py::arg("ordinal"), "Number of members <= ordinal.")
      .def(
          "select",
          [](const Bitmap& b, uint64_t i) {
            uint32_t v = 0;
            if (!b.select(i, &v)) throw py::index_error("rank " + std::to_string(i) + " is out of range");
            return v;
          },
          py::arg("rank"), "The member of 0-based rank.")
      .def("memory_bytes", &Bitmap::memory_bytes)
      .def("optimize", &Bitmap::optimize, "Use run containers where smaller; shrink buffers.")
      .def_static(
          "or_many",
          [](const std::vector<const Bitmap*>& bs) {
            py::gil_scoped_release nogil;
            return Bitmap::or_many(pointers(bs));
          },
          py::arg("bitmaps"), "Union of many bitmaps.")
      .def_static(
          "and_many",
          [](const std::vector<const Bitmap*>& bs) {
            py::gil_scoped_release nogil;
            return Bitmap::and_many(pointers(bs));
          },
          py::arg("bitmaps"), "Intersection of many bitmaps.")
      .def_static("kernel_name", &Bitmap::kernel_name, "The dense kernels in use: 'avx2' or 'portable'.")
      .def(py::pickle([](const Bitmap& b) {
                        std::vector<uint8_t> v = b.serialize();
                        return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
                      },
                      [](const py::bytes& data) {
                        std::string_view s(data);
                        return Bitmap::deserialize(
                            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
                      }))
      .def("__repr__", [](const Bitmap& b) { return "<cdpcore.Bitmap of " + std::to_string(b.cardinality()) + ">"; });
  c.attr("__hash__") = py::none();
}

// Before the components' bindings, which return bitmaps.
CDPCORE_PY_REGISTER(5, "bitmap", init_bitmap);

}  // namespace
}  // namespace cdpcore::python
