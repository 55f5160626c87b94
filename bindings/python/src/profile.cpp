// cdpcore.ProfileStore: typed attributes and event logs, with NumPy columns
// in and out (the pandas / Arrow conveniences are in cdpcore/profile.py).
#include <algorithm>
#include <cmath>
#include <deque>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/workspace.hpp"
#include "common.hpp"
#include "time_arg.hpp"

namespace cdpcore::python {
namespace {

using namespace pybind11::literals;

py::object to_py(const Value& v) {
  return std::visit(
      [](const auto& x) -> py::object {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) return py::none();
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          py::list l;
          for (const auto& s : x) l.append(py::str(s));
          return l;
        } else return py::cast(x);
      },
      v);
}

/// Column data kept alive for one batch call.
struct BatchColumns {
  std::vector<ColumnInput> inputs;
  std::deque<std::vector<std::string>> owned_strings;
  std::deque<std::vector<std::string_view>> views;
  std::deque<std::vector<uint8_t>> valids;
  std::vector<py::object> arrays;  // NumPy arrays whose buffers the inputs view
};

template <typename T>
std::span<const T> array_span(BatchColumns& b, const py::object& o, const char* what, size_t rows) {
  auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(o);
  if (!a) throw py::type_error(std::string(what) + ": expected an array");
  if (a.ndim() != 1) throw py::value_error(std::string(what) + ": expected a one-dimensional array");
  if (rows != SIZE_MAX && static_cast<size_t>(a.shape(0)) != rows)
    throw py::value_error(std::string(what) + ": " + std::to_string(a.shape(0)) + " values for " + std::to_string(rows) + " rows");
  b.arrays.push_back(a);
  return std::span<const T>(a.data(), static_cast<size_t>(a.shape(0)));
}

std::vector<std::string_view>& strings_of(BatchColumns& b, const py::sequence& seq, std::vector<uint8_t>* valid) {
  b.owned_strings.emplace_back();
  auto& owned = b.owned_strings.back();
  owned.reserve(py::len(seq));
  for (const auto& item : seq) {
    if (item.is_none() || (py::isinstance<py::float_>(item) && std::isnan(item.cast<double>()))) {
      owned.emplace_back();
      if (valid) valid->push_back(0);
    } else {
      if (!py::isinstance<py::str>(item)) throw py::type_error("expected str values (or None), got " + std::string(py::str(py::type::of(item))));
      owned.push_back(item.cast<std::string>());
      if (valid) valid->push_back(1);
    }
  }
  b.views.emplace_back(owned.begin(), owned.end());
  return b.views.back();
}

/// columns: [(name, kind, data, valid|None, dictionary|None, set_offsets|None)]
/// kind: "bool", "int64", "timestamp", "double", "string", "codes", "set".
void build_columns(BatchColumns& b, const py::list& columns, size_t rows) {
  for (const auto& item : columns) {
    auto t = item.cast<py::tuple>();
    if (t.size() != 6) throw py::value_error("each column is (name, kind, data, valid, dictionary, set_offsets)");
    ColumnInput in;
    in.name = t[0].cast<std::string>();
    std::string kind = t[1].cast<std::string>();
    py::object data = t[2], valid = t[3], dict = t[4], offsets = t[5];
    std::string what = "column \"" + in.name + "\"";
    if (kind == "bool") {
      in.type = ValueType::boolean;
      in.bools = array_span<uint8_t>(b, data, what.c_str(), rows);
    } else if (kind == "int64" || kind == "timestamp") {
      in.type = kind == "int64" ? ValueType::int64 : ValueType::timestamp;
      in.int64s = array_span<int64_t>(b, data, what.c_str(), rows);
    } else if (kind == "double") {
      in.type = ValueType::float64;
      in.doubles = array_span<double>(b, data, what.c_str(), rows);
    } else if (kind == "string") {
      in.type = ValueType::string;
      auto& v = b.valids.emplace_back();
      in.strings = strings_of(b, data.cast<py::sequence>(), &v);
      if (in.strings.size() != rows)
        throw py::value_error(what + ": " + std::to_string(in.strings.size()) + " values for " + std::to_string(rows) + " rows");
      bool any_null = std::find(v.begin(), v.end(), 0) != v.end();
      if (any_null) in.valid = v;
    } else if (kind == "codes") {
      in.type = ValueType::string;
      in.codes = array_span<int32_t>(b, data, what.c_str(), rows);
      in.dictionary = strings_of(b, dict.cast<py::sequence>(), nullptr);
    } else if (kind == "set") {
      in.type = ValueType::string_set;
      in.strings = strings_of(b, data.cast<py::sequence>(), nullptr);
      in.set_offsets = array_span<uint32_t>(b, offsets, what.c_str(), rows + 1);
    } else {
      throw py::value_error(what + ": unknown column kind '" + kind + "'");
    }
    if (!valid.is_none()) in.valid = array_span<uint8_t>(b, valid, (what + " valid").c_str(), rows);
    b.inputs.push_back(std::move(in));
  }
}

WriteOptions write_options(bool best_effort, bool nulls_clear, bool create_persons, int64_t time,
                           const py::object& progress) {
  WriteOptions o;
  o.best_effort = best_effort;
  o.nulls_clear = nulls_clear;
  o.create_persons = create_persons;
  o.time = time;
  if (!progress.is_none()) o.progress = [progress](uint64_t d, uint64_t t) { return call_progress(progress, d, t); };
  return o;
}

ValueType type_of(const std::string& s) { return parse_value_type(s); }

void init_profile(py::module_& m) {
  py::class_<WriteReport>(m, "WriteReport", "What a write batch did.")
      .def_readonly("rows_applied", &WriteReport::rows_applied, "Rows written.")
      .def_property_readonly(
          "rejected",
          [](const WriteReport& r) {
            py::list l;
            for (const auto& e : r.rejected) l.append(py::make_tuple(e.index, e.message));
            return l;
          },
          "Skipped rows (best effort): a list of (row index, message).")
      .def_readonly("touched", &WriteReport::touched, "The persons the batch changed (a Bitmap).")
      .def("__repr__", [](const WriteReport& r) {
        return "<cdpcore.WriteReport rows_applied=" + std::to_string(r.rows_applied) +
               " rejected=" + std::to_string(r.rejected.size()) + ">";
      });

  py::class_<ProfileStore, std::shared_ptr<ProfileStore>> c(m, "ProfileStore", py::dynamic_attr(), R"doc(
Typed attributes per person and an event log per event type, indexed by the
dense person ordinal. In memory, or bound to a Workspace (schema and data
persist; every batch is one transaction). One writer at a time.

cdpcore.profile.ProfileStore adds upsert()/append_events() taking pandas
DataFrames, Arrow tables or dicts of columns.)doc");
  c.def(py::init([](const std::shared_ptr<Workspace>& ws) {
          return ws ? std::make_shared<ProfileStore>(ws) : std::make_shared<ProfileStore>();
        }),
        py::arg("workspace") = nullptr, "A store in memory, or bound to a workspace (loads what it holds).")
      .def(
          "define_attribute",
          [](ProfileStore& s, const std::string& name, const std::string& type, const std::string& merge) {
            s.define_attribute(AttributeDef{name, type_of(type), parse_merge_policy(merge)});
          },
          py::arg("name"), py::arg("type"), py::arg("merge") = "latest",
          "Add an attribute: type bool, int64, double, string, timestamp or set<string>; merge latest, first, "
          "min, max, sum or union.")
      .def(
          "define_event_type",
          [](ProfileStore& s, const std::string& name, const py::object& props) {
            EventTypeDef d;
            d.name = name;
            if (!props.is_none()) {
              if (py::isinstance<py::dict>(props)) {
                for (auto kv : props.cast<py::dict>())
                  d.properties.push_back(PropertyDef{kv.first.cast<std::string>(), type_of(kv.second.cast<std::string>())});
              } else {
                for (const auto& p : props) {
                  auto t = p.cast<py::tuple>();
                  d.properties.push_back(PropertyDef{t[0].cast<std::string>(), type_of(t[1].cast<std::string>())});
                }
              }
            }
            s.define_event_type(d);
          },
          py::arg("name"), py::arg("properties") = py::none(),
          "Add an event type with properties {name: type}, or new properties to an existing one.")
      .def_property_readonly(
          "schema",
          [](const ProfileStore& s) {
            py::dict attrs, events;
            for (const auto& a : s.schema().attributes)
              attrs[py::str(a.name)] = py::make_tuple(value_type_name(a.type), merge_policy_name(a.merge));
            for (const auto& e : s.schema().event_types) {
              py::dict props;
              for (const auto& p : e.properties) props[py::str(p.name)] = value_type_name(p.type);
              events[py::str(e.name)] = props;
            }
            py::dict out;
            out["attributes"] = attrs;
            out["event_types"] = events;
            return out;
          },
          "{'attributes': {name: (type, merge)}, 'event_types': {name: {property: type}}}")
      .def(
          "_write",
          [](ProfileStore& s, const py::object& event_type, const py::object& ordinals, const py::object& id_type,
             const py::object& id_values, const py::object& times, const py::list& columns, bool best_effort,
             bool nulls_clear, bool create_persons, TimeArg time, const py::object& progress) {
            BatchColumns b;
            RowKeys keys;
            size_t rows;
            std::string type_name;
            if (!ordinals.is_none()) {
              auto span = array_span<uint32_t>(b, ordinals, "keys", SIZE_MAX);
              keys = RowKeys::of(span);
              rows = span.size();
            } else {
              if (id_type.is_none()) throw py::value_error("identifier-keyed rows need identifier_type");
              type_name = id_type.cast<std::string>();
              auto& ids = strings_of(b, id_values.cast<py::sequence>(), nullptr);
              keys = RowKeys::of_identifiers(type_name, ids);
              rows = ids.size();
            }
            build_columns(b, columns, rows);
            ColumnInput time_col;
            if (!times.is_none()) {
              if (py::isinstance<py::tuple>(times)) {  // a column (int64 or ISO 8601 text)
                py::list one;
                one.append(times);
                BatchColumns& tb = b;
                size_t before = tb.inputs.size();
                build_columns(tb, one, rows);
                time_col = tb.inputs.back();
                tb.inputs.resize(before);
              } else {
                time_col = ColumnInput::of_timestamps("time", array_span<int64_t>(b, times, "times", rows));
              }
            }
            WriteOptions o = write_options(best_effort, nulls_clear, create_persons, time, progress);
            std::string type = event_type.is_none() ? std::string() : event_type.cast<std::string>();
            py::gil_scoped_release release;
            if (event_type.is_none()) return s.upsert_attributes(keys, b.inputs, o);
            return s.append_events(type, keys, time_col, b.inputs, o);
          },
          py::arg("event_type"), py::arg("ordinals"), py::arg("identifier_type"), py::arg("identifier_values"),
          py::arg("times"), py::arg("columns"), py::arg("best_effort") = false, py::arg("nulls_clear") = false,
          py::arg("create_persons") = true, py::arg("time") = 0, py::arg("progress") = py::none(),
          "Low-level batch write (see cdpcore.profile.ProfileStore.upsert / append_events).")
      .def(
          "load_csv",
          [](ProfileStore& s, const std::string& path, const std::string& event_type, const std::string& key,
             const std::string& identifier_type, const std::string& time_column, bool best_effort, bool nulls_clear,
             bool create_persons, const py::object& progress) {
            FileLoadOptions o;
            o.event_type = event_type;
            o.key_column = key;
            o.identifier_type = identifier_type;
            o.time_column = time_column;
            o.write = write_options(best_effort, nulls_clear, create_persons, 0, progress);
            py::gil_scoped_release release;
            return s.load_csv(path, o);
          },
          py::arg("path"), py::kw_only(), py::arg("event_type") = "", py::arg("key") = "person",
          py::arg("identifier_type") = "", py::arg("time") = "time", py::arg("best_effort") = false,
          py::arg("nulls_clear") = false, py::arg("create_persons") = true, py::arg("progress") = py::none(),
          "Load a CSV file (header row): attributes, or events of `event_type`.")
      .def(
          "load_jsonl",
          [](ProfileStore& s, const std::string& path, const std::string& event_type, const std::string& key,
             const std::string& identifier_type, const std::string& time_column, bool best_effort, bool nulls_clear,
             bool create_persons, const py::object& progress) {
            FileLoadOptions o;
            o.event_type = event_type;
            o.key_column = key;
            o.identifier_type = identifier_type;
            o.time_column = time_column;
            o.write = write_options(best_effort, nulls_clear, create_persons, 0, progress);
            py::gil_scoped_release release;
            return s.load_jsonl(path, o);
          },
          py::arg("path"), py::kw_only(), py::arg("event_type") = "", py::arg("key") = "person",
          py::arg("identifier_type") = "", py::arg("time") = "time", py::arg("best_effort") = false,
          py::arg("nulls_clear") = false, py::arg("create_persons") = true, py::arg("progress") = py::none(),
          "Load a JSON Lines file (one object per line).")
      .def_property_readonly("person_count", &ProfileStore::person_count,
                             "One more than the largest ordinal with data.")
      .def(
          "value", [](const ProfileStore& s, PersonOrdinal p, const std::string& a) { return to_py(s.value(p, a)); },
          py::arg("person"), py::arg("attribute"), "One attribute value (None when null).")
      .def(
          "column",
          [](const ProfileStore& s, const std::string& name) -> py::object {
            auto col = s.attribute(name);
            size_t n = s.person_count();
            auto valid = py::array_t<bool>(static_cast<py::ssize_t>(n));
            auto* vp = valid.mutable_data();
            for (size_t p = 0; p < n; ++p) vp[p] = !col.is_null(static_cast<PersonOrdinal>(p));
            py::object values;
            switch (col.def->type) {
              case ValueType::float64: {
                auto a = py::array_t<double>(static_cast<py::ssize_t>(n));
                for (size_t p = 0; p < n; ++p) a.mutable_data()[p] = vp[p] ? col.doubles[p] : std::nan("");
                values = a;
                break;
              }
              case ValueType::boolean: {
                auto a = py::array_t<bool>(static_cast<py::ssize_t>(n));
                for (size_t p = 0; p < n; ++p) a.mutable_data()[p] = vp[p] && col.int64s[p] != 0;
                values = a;
                break;
              }
              case ValueType::int64:
              case ValueType::timestamp: {
                auto a = py::array_t<int64_t>(static_cast<py::ssize_t>(n));
                for (size_t p = 0; p < n; ++p) a.mutable_data()[p] = vp[p] ? col.int64s[p] : 0;
                values = a;
                break;
              }
              case ValueType::string: {
                py::list l;
                for (size_t p = 0; p < n; ++p) {
                  if (vp[p]) l.append(py::str((*col.dictionary)[col.codes[p]]));
                  else l.append(py::none());
                }
                values = py::module_::import("numpy").attr("array")(l, "dtype"_a = "object");
                break;
              }
              default: {
                py::list l;
                for (size_t p = 0; p < n; ++p) l.append(to_py(s.value(static_cast<PersonOrdinal>(p), name)));
                values = py::module_::import("numpy").attr("array")(l, "dtype"_a = "object");
                break;
              }
            }
            return py::make_tuple(values, valid);
          },
          py::arg("name"),
          "An attribute for every person: (values, valid) NumPy arrays (copies). Strings and sets as object arrays.")
      .def(
          "read_doubles",
          [](const ProfileStore& s, const std::string& a, const py::object& ordinals) {
            auto o = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>::ensure(ordinals);
            if (!o) throw py::type_error("ordinals: expected an array of uint32");
            std::vector<double> v;
            {
              py::gil_scoped_release release;
              v = s.read_doubles(a, std::span<const uint32_t>(o.data(), static_cast<size_t>(o.size())));
            }
            return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
          },
          py::arg("attribute"), py::arg("ordinals"), "Doubles of a numeric attribute for the ordinals (NaN = null).")
      .def(
          "write_doubles",
          [](ProfileStore& s, const std::string& a, const py::object& ordinals, const py::object& values) {
            auto o = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>::ensure(ordinals);
            auto v = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(values);
            if (!o || !v) throw py::type_error("expected arrays of ordinals and values");
            py::gil_scoped_release release;
            return s.write_doubles(a, std::span<const uint32_t>(o.data(), static_cast<size_t>(o.size())),
                                   std::span<const double>(v.data(), static_cast<size_t>(v.size())));
          },
          py::arg("attribute"), py::arg("ordinals"), py::arg("values"),
          "Write a double attribute (a trait or model score; created when missing); NaN clears.")
      .def(
          "person_events",
          [](const ProfileStore& s, PersonOrdinal p, const std::string& type) {
            const auto* def = s.schema().event_type(type);
            py::list out;
            for (const auto& e : s.person_events(p, type)) {
              py::dict d;
              d["time"] = e.time;
              for (size_t i = 0; def && i < def->properties.size() && i < e.properties.size(); ++i)
                d[py::str(def->properties[i].name)] = to_py(e.properties[i]);
              out.append(d);
            }
            return out;
          },
          py::arg("person"), py::arg("event_type"), "A person's events of one type in time order, as dicts.")
      .def("event_count", &ProfileStore::event_count, py::arg("event_type"), "Events of a type.")
      .def("compact", &ProfileStore::compact, py::call_guard<py::gil_scoped_release>(),
           "Sort pending events into the logs (reads are fastest afterwards).")
      .def(
          "memory_usage",
          [](const ProfileStore& s) {
            auto m2 = s.memory_usage();
            py::dict d;
            d["attribute_bytes"] = m2.attribute_bytes;
            d["event_bytes"] = m2.event_bytes;
            d["events"] = m2.events;
            return d;
          },
          "Bytes used by attributes and events, and the number of events.")
      .def(
          "attach_identity",
          [](py::object self, const py::object& graph) {
            auto& s = self.cast<ProfileStore&>();
            if (graph.is_none()) {
              s.detach_identity();
            } else {
              s.attach_identity(graph.cast<IdentityGraph&>());
            }
            self.attr("_identity") = graph;  // keeps the graph alive while attached
          },
          py::arg("graph"),
          "Resolve identifier-keyed writes through an IdentityGraph and follow its merges, splits and erasures "
          "(None detaches).")
      .def("merge_persons", &ProfileStore::merge_persons, py::arg("survivor"), py::arg("absorbed"),
           "Merge `absorbed` into `survivor` (attributes by merge policy; events move).")
      .def("erase_person", &ProfileStore::erase_person, py::arg("person"), "Remove every value and event of a person.")
      .def("__repr__", [](const ProfileStore& s) {
        return "<cdpcore.ProfileStore persons=" + std::to_string(s.person_count()) +
               " attributes=" + std::to_string(s.schema().attributes.size()) +
               " event_types=" + std::to_string(s.schema().event_types.size()) + ">";
      });
}

CDPCORE_PY_REGISTER(30, "profile", init_profile);

}  // namespace
}  // namespace cdpcore::python
