// cdpcore.SegmentEngine: segments as compressed bitmaps, members as NumPy
// arrays; cdpcore/segment.py adds cdpcore.Segment and the pandas/Arrow export.
#include "cdpcore/segment.hpp"

#include "cdpcore/identity.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/rules.hpp"
#include "cdpcore/workspace.hpp"
#include "common.hpp"
#include "time_arg.hpp"

namespace cdpcore::python {
namespace {

using U32Array = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>;

// A Bitmap from a Bitmap or anything cdpcore.Bitmap() accepts.
Bitmap as_bitmap(const py::object& o) {
  if (py::isinstance<Bitmap>(o)) return o.cast<const Bitmap&>();
  return py::type::of<Bitmap>()(o).cast<Bitmap>();
}

py::dict info_dict(const SegmentInfo& i) {
  py::dict d;
  d["name"] = i.name;
  d["kind"] = segment_kind_name(i.kind);
  d["definition"] = i.definition;
  d["description"] = i.description;
  d["version"] = i.version;
  d["evaluated"] = i.evaluated;
  d["as_of"] = i.as_of;
  d["size"] = i.size;
  d["time_relative"] = i.time_relative;
  d["segments"] = i.segments;
  d["tags"] = i.tags;
  d["columns"] = i.columns;
  return d;
}

py::dict event_dict(const MembershipEvent& e) {
  py::dict d;
  d["seq"] = e.seq;
  d["segment"] = e.segment;
  d["person"] = e.person;
  d["entered"] = e.entered;
  d["at"] = e.at;
  return d;
}

py::dict report_dict(const ExportReport& r) {
  py::dict d;
  d["members"] = r.members;
  d["exported"] = r.exported;
  d["not_allowed"] = r.not_allowed;
  d["unreachable"] = r.unreachable;
  return d;
}

ExportOptions export_options(const std::optional<std::vector<std::string>>& types, const Bitmap* allowed,
                             size_t batch_size, const py::object& allow_identifier) {
  ExportOptions o;
  if (types) o.identifier_types = *types;
  o.allowed = allowed;
  o.batch_size = batch_size;
  if (!allow_identifier.is_none()) {
    // Called on the exporting thread, which runs without the GIL.
    o.allow_identifier = [allow_identifier](PersonOrdinal p, std::string_view type, std::string_view value) {
      py::gil_scoped_acquire gil;
      return allow_identifier(p, py::str(type.data(), type.size()), py::str(value.data(), value.size()))
          .cast<bool>();
    };
  }
  return o;
}

void init_segment(py::module_& m) {
  py::class_<SegmentEngine> c(m, "SegmentEngine", py::dynamic_attr(), R"doc(
Segments (audiences) as compressed bitmaps over person ordinals: definitions
in the rule language compiled into bitmap algebra, counts, overlaps,
snapshots with entered/exited diffs, holdout splits and activation export.
In memory, or bound to a Workspace (definitions, members and snapshots
persist). Use from one thread at a time.)doc");
  c.def(py::init([](const std::shared_ptr<Workspace>& ws) {
          return ws ? std::make_unique<SegmentEngine>(ws) : std::make_unique<SegmentEngine>();
        }),
        py::arg("workspace") = nullptr, "Segments in memory, or bound to a workspace (loads what it holds).")
      .def(
          "attach_store",
          [](py::object self, const py::object& store) {
            SegmentEngine& e = self.cast<SegmentEngine&>();
            e.attach_store(store.is_none() ? nullptr : &store.cast<const ProfileStore&>());
            self.attr("_store") = store;  // keeps the store alive while attached
          },
          py::arg("store"), "Read attribute, trait and event conditions from a ProfileStore (None detaches).")
      .def(
          "attach_identity",
          [](py::object self, const py::object& graph) {
            SegmentEngine& e = self.cast<SegmentEngine&>();
            e.attach_identity(graph.is_none() ? nullptr : &graph.cast<const IdentityGraph&>());
            self.attr("_identity") = graph;
          },
          py::arg("graph"), "Resolve lists, person keys and export identifiers through an IdentityGraph.")
      .def(
          "set_universe", [](SegmentEngine& e, const py::object& persons) {
            e.set_universe(as_bitmap(persons));
          },
          py::arg("persons"), "The persons `not` ranges over.")
      .def(
          "set_tags", [](SegmentEngine& e, const py::object& results) { e.set_tags(results.cast<const TagResults&>()); },
          py::arg("results"), "Replace every tag with a TagResults (tags missing from it are deleted).")
      .def(
          "set_tag",
          [](SegmentEngine& e, const std::string& name, const py::object& members) {
            e.set_tag(name, as_bitmap(members));
          },
          py::arg("name"), py::arg("members"), "Add or replace a boolean tag.")
      .def(
          "set_value_tag",
          [](SegmentEngine& e, const std::string& name, const py::dict& labels) {
            std::vector<std::string> ls;
            std::vector<Bitmap> bs;
            for (const auto& [k, v] : labels) {
              ls.push_back(k.cast<std::string>());
              bs.push_back(as_bitmap(py::reinterpret_borrow<py::object>(v)));
            }
            e.set_value_tag(name, std::move(ls), std::move(bs));
          },
          py::arg("name"), py::arg("labels"),
          "Add or replace a value tag from {label: members}.")
      .def(
          "set_trait",
          [](SegmentEngine& e, const std::string& name,
             const py::array_t<double, py::array::c_style | py::array::forcecast>& values) {
            e.set_trait(name, std::vector<double>(values.data(), values.data() + values.size()));
          },
          py::arg("name"), py::arg("values"), "Add or replace a trait: a float per ordinal, NaN for null.")
      .def("set_person_tag", &SegmentEngine::set_person_tag, py::arg("person"), py::arg("tag"), py::arg("member"))
      .def("set_person_label", &SegmentEngine::set_person_label, py::arg("person"), py::arg("tag"), py::arg("label"))
      .def("remove_tag", &SegmentEngine::remove_tag, py::arg("name"))
      .def("tag", [](const SegmentEngine& e, const std::string& n) { return Bitmap(e.tag(n)); }, py::arg("name"))
      .def("tag_names", &SegmentEngine::tag_names)
      .def(
          "define",
          [](SegmentEngine& e, const std::string& name, const std::string& definition, const std::string& description,
             bool replace) {
            DefineOptions o;
            o.description = description;
            o.replace = replace;
            return info_dict(e.define(name, definition, o));
          },
          py::arg("name"), py::arg("definition"), py::kw_only(), py::arg("description") = "",
          py::arg("replace") = false,
          R"doc(Define a segment in the rule language, e.g. "(vip or repeat_buyer) and
not lapsed and city == \"Shanghai\"". Raises ParseError, NotFound (unknown
name), TypeError or InvalidArgument (cycle) with the line and column.)doc")
      .def(
          "define_fixed",
          [](SegmentEngine& e, const std::string& name, const py::object& members, const std::string& description,
             bool replace) {
            DefineOptions o;
            o.description = description;
            o.replace = replace;
            return info_dict(e.define_fixed(name, as_bitmap(members), o));
          },
          py::arg("name"), py::arg("members"), py::kw_only(), py::arg("description") = "", py::arg("replace") = false,
          "Define a segment with fixed members (Bitmap or array of ordinals).")
      .def(
          "define_list",
          [](SegmentEngine& e, const std::string& name, const std::string& identifier_type,
             const std::vector<std::string>& values, const std::string& description, bool replace) {
            std::vector<std::string_view> views(values.begin(), values.end());
            DefineOptions o;
            o.description = description;
            o.replace = replace;
            ListReport r;
            {
              py::gil_scoped_release nogil;
              r = e.define_list(name, identifier_type, views, o);
            }
            py::dict d;
            d["rows"] = r.rows;
            d["matched"] = r.matched;
            d["unmatched"] = r.unmatched;
            d["invalid"] = r.invalid;
            d["persons"] = r.persons;
            d["rejected_rows"] = r.rejected_rows;
            return d;
          },
          py::arg("name"), py::arg("identifier_type"), py::arg("values"), py::kw_only(), py::arg("description") = "",
          py::arg("replace") = false, "Define a fixed segment from an uploaded list of identifiers.")
      .def("remove", &SegmentEngine::remove, py::arg("name"))
      .def("__contains__", &SegmentEngine::contains, py::arg("name"))
      .def("names", &SegmentEngine::names)
      .def("info", [](const SegmentEngine& e, const std::string& n) { return info_dict(e.info(n)); }, py::arg("name"))
      .def(
          "evaluate", [](SegmentEngine& e, const std::string& n, TimeArg as_of) { return Bitmap(e.evaluate(n, as_of)); },
          py::arg("name"), py::arg("as_of"), py::call_guard<py::gil_scoped_release>(),
          "Evaluate at as_of (UTC microseconds), store and return the members.")
      .def(
          "refresh",
          [](SegmentEngine& e, TimeArg as_of) {
            std::vector<SegmentChange> ch;
            {
              py::gil_scoped_release nogil;
              ch = e.refresh(as_of);
            }
            py::list out;
            for (auto& c : ch) {
              py::dict d;
              d["segment"] = c.segment;
              d["entered"] = std::move(c.entered);
              d["exited"] = std::move(c.exited);
              out.append(d);
            }
            return out;
          },
          py::arg("as_of"), "Evaluate every dynamic segment; a list of {segment, entered, exited}.")
      .def(
          "preview",
          [](SegmentEngine& e, const std::string& definition, TimeArg as_of) { return e.preview(definition, as_of); },
          py::arg("definition"), py::arg("as_of"),
           py::call_guard<py::gil_scoped_release>(), "Evaluate a definition without storing it.")
      .def(
          "count_with",
          [](SegmentEngine& e, const std::string& name, const std::string& condition, TimeArg as_of) {
            return e.count_with(name, condition, as_of);
          },
          py::arg("name"), py::arg("condition"), py::arg("as_of"),
           py::call_guard<py::gil_scoped_release>(), "The size of a segment with an extra condition.")
      .def(
          "update_person",
          [](SegmentEngine& e, uint32_t person, const std::vector<std::string>& changed, TimeArg as_of) {
            py::list out;
            for (const auto& ev : e.update_person(person, changed, as_of)) out.append(event_dict(ev));
            return out;
          },
          py::arg("person"), py::arg("changed"), py::arg("as_of"),
          "Re-evaluate one person's segments that read the changed names; enter/exit events.")
      .def("members", [](const SegmentEngine& e, const std::string& n) { return Bitmap(e.members(n)); }, py::arg("name"))
      .def("count", &SegmentEngine::count, py::arg("name"))
      .def("segments_of", &SegmentEngine::segments_of, py::arg("person"), "Which segments a person is in.")
      .def(
          "overlap",
          [](const SegmentEngine& e, const std::vector<std::string>& names) {
            OverlapMatrix mx;
            {
              py::gil_scoped_release nogil;
              mx = e.overlap(names);
            }
            py::array_t<uint64_t> a({static_cast<py::ssize_t>(names.size()), static_cast<py::ssize_t>(names.size())});
            std::copy(mx.counts.begin(), mx.counts.end(), a.mutable_data());
            return a;
          },
          py::arg("names"), "The N x N intersection sizes (diagonal: sizes) as a uint64 array.")
      .def(
          "breakdown",
          [](const SegmentEngine& e, const std::string& n, const std::string& tag) {
            Breakdown b = e.breakdown(n, tag);
            py::dict d;
            for (size_t i = 0; i < b.labels.size(); ++i) d[py::str(b.labels[i])] = b.counts[i];
            d[py::none()] = b.unlabelled;
            return d;
          },
          py::arg("name"), py::arg("value_tag"), "{label: members with it, None: members without a label}.")
      .def_static(
          "sample",
          [](const py::object& members, uint64_t k, uint64_t seed) {
            Bitmap b = as_bitmap(members);
            py::gil_scoped_release nogil;
            return SegmentEngine::sample(b, k, seed);
          },
          py::arg("members"), py::arg("k"), py::arg("seed"),
          "k members chosen deterministically by seed.")
      .def(
          "split",
          [](const SegmentEngine& e, const py::object& members, const std::string& salt,
             const std::vector<double>& proportions) {
            Bitmap b = as_bitmap(members);
            SplitOptions o;
            o.salt = salt;
            o.proportions = proportions;
            py::gil_scoped_release nogil;
            return e.split(b, o);
          },
          py::arg("members"), py::arg("salt"), py::arg("proportions") = std::vector<double>{0.1, 0.9},
          "Groups by a stable hash of the person key and salt (control first).")
      .def(
          "snapshot",
          [](SegmentEngine& e, const std::string& name, TimeArg at, const std::string& label) {
            return e.snapshot(name, at, label);
          },
          py::arg("name"), py::arg("at"), py::arg("label") = "")
      .def(
          "snapshots",
          [](const SegmentEngine& e, const std::string& n) {
            py::list out;
            for (const auto& s : e.snapshots(n)) {
              py::dict d;
              d["id"] = s.id;
              d["segment"] = s.segment;
              d["at"] = s.at;
              d["size"] = s.size;
              d["label"] = s.label;
              out.append(d);
            }
            return out;
          },
          py::arg("name"))
      .def("snapshot_members", &SegmentEngine::snapshot_members, py::arg("id"))
      .def(
          "diff",
          [](const SegmentEngine& e, int64_t from, int64_t to) {
            SnapshotDiff d = e.diff(from, to);
            return py::make_tuple(std::move(d.entered), std::move(d.exited));
          },
          py::arg("from_id"), py::arg("to_id"), "(entered, exited) between two snapshots.")
      .def("drop_snapshot", &SegmentEngine::drop_snapshot, py::arg("id"))
      .def(
          "changes_since",
          [](const SegmentEngine& e, uint64_t cursor, size_t limit) {
            py::list out;
            for (const auto& ev : e.changes_since(cursor, limit)) out.append(event_dict(ev));
            return out;
          },
          py::arg("cursor") = 0, py::arg("limit") = 10000, "Enter/exit events with seq > cursor.")
      .def(
          "export",
          [](const SegmentEngine& e, const Bitmap& members, const py::function& callback,
             const std::optional<std::vector<std::string>>& identifier_types, const Bitmap* allowed,
             size_t batch_size, const py::object& allow_identifier) {
            ExportOptions o = export_options(identifier_types, allowed, batch_size, allow_identifier);
            ExportReport r;
            {
              py::gil_scoped_release nogil;
              r = e.export_members(members, o, [&](const ExportBatch& b) {
                py::gil_scoped_acquire gil;
                py::dict d;
                d["person"] = py::array_t<uint32_t>(static_cast<py::ssize_t>(b.persons.size()), b.persons.data());
                if (!b.keys.empty())
                  d["person_key"] = py::array_t<uint64_t>(static_cast<py::ssize_t>(b.keys.size()), b.keys.data());
                if (!b.identifiers.empty()) {
                  d["identifier_type"] = py::cast(std::vector<std::string>(b.identifier_types.begin(), b.identifier_types.end()));
                  d["identifier"] = py::cast(std::vector<std::string>(b.identifiers.begin(), b.identifiers.end()));
                }
                py::object rv = callback(d);
                return rv.is_none() || rv.cast<bool>();
              });
            }
            return report_dict(r);
          },
          py::arg("members"), py::arg("callback"), py::kw_only(), py::arg("identifier_types") = py::none(),
          py::arg("allowed") = nullptr, py::arg("batch_size") = 10000, py::arg("allow_identifier") = py::none(),
          R"doc(Stream members to callback(batch) in batches: batch is a dict of NumPy
arrays ("person", "person_key" with an identity graph) and, with
identifier_types (priority order), lists "identifier_type" and "identifier".
Return False to stop. `allowed` (a Bitmap, e.g. a consent filter) restricts
the export; allow_identifier(person, type, value) -> bool, when given, may
refuse one identifier (the next one of lower priority is tried). Returns the
counts.)doc")
      .def(
          "export_csv",
          [](const SegmentEngine& e, const Bitmap& members, const std::string& path,
             const std::optional<std::vector<std::string>>& identifier_types, const Bitmap* allowed) {
            ExportOptions o = export_options(identifier_types, allowed, 10000, py::none());
            py::gil_scoped_release nogil;
            return e.export_csv(members, path, o);
          },
          py::arg("members"), py::arg("path"), py::kw_only(), py::arg("identifier_types") = py::none(),
          py::arg("allowed") = nullptr, "Write members to a CSV file.")
      .def("memory_bytes", &SegmentEngine::memory_bytes);

  py::class_<ExportReport>(m, "ExportReport", "Counts of an export.")
      .def_readonly("members", &ExportReport::members)
      .def_readonly("exported", &ExportReport::exported)
      .def_readonly("not_allowed", &ExportReport::not_allowed)
      .def_readonly("unreachable", &ExportReport::unreachable)
      .def("__repr__", [](const ExportReport& r) {
        return "<cdpcore.ExportReport exported=" + std::to_string(r.exported) + " of " + std::to_string(r.members) + ">";
      });
}

CDPCORE_PY_REGISTER(50, "segment", init_segment);

}  // namespace
}  // namespace cdpcore::python
