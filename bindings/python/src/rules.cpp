// cdpcore.RuleSet, cdpcore.TagResults, cdpcore.Expression and the rule
// language's parser / printer; results as NumPy arrays (pandas helpers in
// cdpcore/rules.py).
#include <cmath>

#include "cdpcore/error.hpp"
#include "cdpcore/rules.hpp"
#include "cdpcore/time.hpp"
#include "cdpcore/workspace.hpp"
#include "common.hpp"
#include "time_arg.hpp"

namespace cdpcore::python {
namespace {

using namespace pybind11::literals;

py::object json_to_py(const std::string& s) { return py::module_::import("json").attr("loads")(s); }
std::string py_to_json(const py::object& o) {
  if (py::isinstance<py::str>(o)) return o.cast<std::string>();
  return py::module_::import("json").attr("dumps")(o).cast<std::string>();
}

CompileOptions compile_options(const std::optional<std::string>& time_zone, const py::object& limits,
                               const py::object& resolver) {
  CompileOptions c;
  if (time_zone) c.time_zone = *time_zone;
  if (!limits.is_none()) {
    auto d = limits.cast<py::dict>();
    for (auto kv : d) {
      std::string k = kv.first.cast<std::string>();
      if (k == "max_depth") c.limits.max_depth = kv.second.cast<uint32_t>();
      else if (k == "max_nodes") c.limits.max_nodes = kv.second.cast<uint32_t>();
      else if (k == "max_rules") c.limits.max_rules = kv.second.cast<uint32_t>();
      else if (k == "max_text_bytes") c.limits.max_text_bytes = kv.second.cast<size_t>();
      else if (k == "max_cost") c.limits.max_cost = kv.second.cast<uint64_t>();
      else throw py::value_error("unknown limit '" + k + "' (max_depth, max_nodes, max_rules, max_text_bytes, max_cost)");
    }
  }
  if (!resolver.is_none()) {
    // resolver(name) -> None, or (type, fetch) with fetch(ordinals: np.ndarray) -> array of floats (NaN = null)
    c.resolver = [resolver](std::string_view name) -> std::optional<ExternalName> {
      py::gil_scoped_acquire gil;
      py::object r = resolver(std::string(name));
      if (r.is_none()) return std::nullopt;
      auto t = r.cast<py::tuple>();
      ExternalName e;
      e.type = parse_value_type(t[0].cast<std::string>());
      py::object fetch = t[1];
      e.fetch = [fetch](std::span<const PersonOrdinal> persons, std::span<double> values, std::span<uint8_t> valid) {
        py::gil_scoped_acquire gil2;
        py::array_t<uint32_t> ps(static_cast<py::ssize_t>(persons.size()), persons.data());
        auto out = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(fetch(ps));
        if (!out || static_cast<size_t>(out.size()) != persons.size())
          throw InvalidArgument("an external name's fetch must return one number per ordinal");
        for (size_t i = 0; i < persons.size(); ++i) {
          values[i] = out.data()[i];
          valid[i] = !std::isnan(values[i]);
        }
      };
      return e;
    };
  }
  return c;
}

py::object person_tag(const PersonTag& t) {
  switch (t.kind) {
    case TagKind::boolean: return py::bool_(t.member);
    case TagKind::value: return t.member ? py::object(py::str(t.label)) : py::object(py::none());
    case TagKind::trait: return t.member ? py::object(py::float_(t.value)) : py::object(py::none());
  }
  return py::none();
}

const TagColumn& column(const TagResults& r, const std::string& name) { return r[name]; }

void init_rules(py::module_& m) {
  m.def(
      "parse_expression", [](const std::string& text) { return json_to_py(rules::to_json(rules::parse_expression(text))); },
      py::arg("text"),
      "Parse one rule expression into its JSON tree (a dict). Raises ParseError with line, column, the token and what "
      "was expected.");
  m.def(
      "expression_text", [](const py::object& tree) { return rules::to_text(rules::from_json(py_to_json(tree))); },
      py::arg("tree"), "The text of a JSON expression tree (dict or JSON text).");
  m.def(
      "parse_rules", [](const std::string& text) { return json_to_py(rules::rules_to_json(rules::parse_rules(text))); },
      py::arg("text"), "Parse a rule set's text into its JSON form {'rules': [...]}.");
  m.def(
      "rules_text", [](const py::object& j) { return rules::rules_to_text(rules::rules_from_json(py_to_json(j))); },
      py::arg("rules"), "The text of a rule set's JSON form.");

  py::class_<TagResults>(m, "TagResults", R"doc(
Every rule's result for every person (index = person ordinal). Boolean tags
are Bitmaps of the persons for whom the rule is TRUE; value tags a label per
person plus a Bitmap per label; traits a float per person (NaN = null).)doc")
      .def_readonly("as_of", &TagResults::as_of, "The evaluation time (UTC microseconds).")
      .def_readonly("person_count", &TagResults::person_count, "Length of the per-person columns.")
      .def_property_readonly(
          "names",
          [](const TagResults& r) {
            py::list l;
            for (const auto& t : r.tags) l.append(t.name);
            return l;
          },
          "Rule names, in rule order.")
      .def(
          "kind", [](const TagResults& r, const std::string& n) { return tag_kind_name(column(r, n).kind); },
          py::arg("name"), "'boolean', 'value' or 'trait'.")
      .def(
          "members", [](const TagResults& r, const std::string& n) { return column(r, n).members; }, py::arg("name"),
          "A Bitmap: TRUE (boolean), with a label (value), non-null (trait).")
      .def(
          "labels", [](const TagResults& r, const std::string& n) { return column(r, n).labels; }, py::arg("name"),
          "A value tag's distinct labels.")
      .def(
          "label_members",
          [](const TagResults& r, const std::string& n) {
            const auto& c = column(r, n);
            py::dict d;
            for (size_t i = 0; i < c.labels.size(); ++i) d[py::str(c.labels[i])] = c.label_members[i];
            return d;
          },
          py::arg("name"), "A value tag's {label: Bitmap}.")
      .def(
          "codes",
          [](const TagResults& r, const std::string& n) {
            const auto& c = column(r, n);
            if (c.kind != TagKind::value) throw py::type_error("'" + n + "' is not a value tag");
            return py::array_t<int32_t>(static_cast<py::ssize_t>(c.codes.size()), c.codes.data());
          },
          py::arg("name"), "A value tag's label index per person (-1 = none), int32 array.")
      .def(
          "values",
          [](const TagResults& r, const std::string& n) {
            const auto& c = column(r, n);
            if (c.kind != TagKind::trait) throw py::type_error("'" + n + "' is not a trait");
            return py::array_t<double>(static_cast<py::ssize_t>(c.values.size()), c.values.data());
          },
          py::arg("name"), "A trait's value per person (NaN = null), float64 array.")
      .def(
          "column",
          [](const TagResults& r, const std::string& n) -> py::object {
            const auto& c = column(r, n);
            const size_t count = r.person_count;
            if (c.kind == TagKind::boolean) {
              py::array_t<bool> a(static_cast<py::ssize_t>(count));
              std::fill(a.mutable_data(), a.mutable_data() + count, false);
              c.members.for_each([&](uint32_t p) {
                if (p < count) a.mutable_data()[p] = true;
                return true;
              });
              return a;
            }
            if (c.kind == TagKind::trait) return py::array_t<double>(static_cast<py::ssize_t>(c.values.size()), c.values.data());
            py::list l;
            std::vector<py::object> labels;
            for (const auto& s : c.labels) labels.push_back(py::str(s));
            for (size_t p = 0; p < count; ++p) l.append(c.codes[p] < 0 ? py::object(py::none()) : labels[static_cast<size_t>(c.codes[p])]);
            return py::module_::import("numpy").attr("array")(l, "dtype"_a = "object");
          },
          py::arg("name"), "One rule per person as a NumPy array: bool, object (labels, None) or float64.")
      .def("__repr__", [](const TagResults& r) {
        return "<cdpcore.TagResults tags=" + std::to_string(r.tags.size()) + " persons=" + std::to_string(r.person_count) + ">";
      });

  py::class_<RuleSet, std::shared_ptr<RuleSet>>(m, "RuleSet", py::dynamic_attr(), R"doc(
A compiled rule set: `tag name = …` and `trait name = …` definitions in the
rule language (README.md, "Tag rules"), compiled once against a ProfileStore and
evaluated many times: for everyone (evaluate), for one person (evaluate_person)
and for the persons a batch touched (update). Immutable; share freely.)doc")
      .def(py::init([](const ProfileStore& store, const std::string& text, const std::optional<std::string>& tz,
                       const py::object& limits, const py::object& resolver) {
             return std::make_shared<RuleSet>(RuleSet::compile(store, text, compile_options(tz, limits, resolver)));
           }),
           py::arg("store"), py::arg("text"), py::kw_only(), py::arg("time_zone") = py::none(),
           py::arg("limits") = py::none(), py::arg("resolver") = py::none(),
           "Parse and compile. Raises ParseError, TypeError (cdpcore), NotFound or LimitError with the position.")
      .def_static(
          "from_json",
          [](const ProfileStore& store, const py::object& j, const std::optional<std::string>& tz, const py::object& limits) {
            return std::make_shared<RuleSet>(RuleSet::compile_json(store, py_to_json(j), compile_options(tz, limits, py::none())));
          },
          py::arg("store"), py::arg("rules"), py::kw_only(), py::arg("time_zone") = py::none(),
          py::arg("limits") = py::none(), "Compile the JSON form {'rules': [...]} (dict or JSON text).")
      .def_static(
          "load",
          [](const ProfileStore& store, Workspace& ws, const std::string& name, int64_t version) {
            return std::make_shared<RuleSet>(RuleSet::load(store, ws, name, version));
          },
          py::arg("store"), py::arg("workspace"), py::arg("name"), py::arg("version") = 0,
          "Load and compile a stored version (0 = the latest).")
      .def_static("versions", &RuleSet::versions, py::arg("workspace"), py::arg("name"), "Stored versions of a rule set.")
      .def("save", &RuleSet::save, py::arg("workspace"), py::arg("name"), "Store as a new version; returns it.")
      .def_property_readonly(
          "names",
          [](const RuleSet& rs) {
            py::list l;
            for (const auto& r : rs.rules()) l.append(r.name);
            return l;
          },
          "Rule names in order.")
      .def_property_readonly(
          "kinds",
          [](const RuleSet& rs) {
            py::dict d;
            for (size_t i = 0; i < rs.size(); ++i) d[py::str(rs.rules()[i].name)] = tag_kind_name(rs.kind(i));
            return d;
          },
          "{name: 'boolean' | 'value' | 'trait'}.")
      .def("__len__", &RuleSet::size)
      .def("to_text", &RuleSet::to_text, "The rule set as text.")
      .def("to_json", [](const RuleSet& rs) { return json_to_py(rs.to_json()); }, "The JSON form as a dict.")
      .def_property_readonly("estimated_cost", &RuleSet::estimated_cost)
      .def(
          "evaluate",
          [](const RuleSet& rs, const ProfileStore& store, TimeArg as_of, unsigned threads,
             const py::object& progress) {
            EvalOptions o;
            o.threads = threads;
            if (!progress.is_none()) o.progress = [progress](uint64_t d, uint64_t t) { return call_progress(progress, d, t); };
            Timestamp t = as_of;
            py::gil_scoped_release release;
            return rs.evaluate_all(store, t, o);
          },
          py::arg("store"), py::arg("as_of"), py::kw_only(), py::arg("threads") = 0, py::arg("progress") = py::none(),
          "Every rule for every person at as_of (int microseconds, ISO text or datetime). threads: 0 = every\n"
          "hardware thread.")
      .def(
          "evaluate_person",
          [](const RuleSet& rs, const ProfileStore& store, PersonOrdinal p, TimeArg as_of) {
            auto tags = rs.evaluate_person(store, p, as_of);
            py::dict d;
            for (size_t i = 0; i < tags.size(); ++i) d[py::str(rs.rules()[i].name)] = person_tag(tags[i]);
            return d;
          },
          py::arg("store"), py::arg("person"), py::arg("as_of"),
          "Every rule for one person: {name: bool | label or None | float or None}.")
      .def(
          "update",
          [](const RuleSet& rs, TagResults& results, const ProfileStore& store, const Bitmap& persons,
             TimeArg as_of) {
            Timestamp t = as_of;
            py::gil_scoped_release release;
            rs.update(results, store, persons, t);
          },
          py::arg("results"), py::arg("store"), py::arg("persons"), py::arg("as_of"),
          "Re-evaluate `persons` (a Bitmap, e.g. WriteReport.touched) and update `results` in place.")
      .def("store_traits", &RuleSet::store_traits, py::arg("results"), py::arg("store"),
           "Write every trait into the store as a double attribute of the same name.")
      .def("__repr__", [](const RuleSet& rs) { return "<cdpcore.RuleSet rules=" + std::to_string(rs.size()) + ">"; });

  py::class_<CompiledExpression, std::shared_ptr<CompiledExpression>>(m, "Expression", R"doc(
One compiled expression (for segments and model features): boolean ones give
the persons for whom it is TRUE, numeric ones a value per person.)doc")
      .def(py::init([](const ProfileStore& store, const py::object& expr, const std::optional<std::string>& tz,
                       const py::object& limits, const py::object& resolver) {
             CompileOptions o = compile_options(tz, limits, resolver);
             if (py::isinstance<py::str>(expr))
               return std::make_shared<CompiledExpression>(CompiledExpression::compile(store, expr.cast<std::string>(), o));
             return std::make_shared<CompiledExpression>(
                 CompiledExpression::compile(store, rules::from_json(py_to_json(expr), o.limits), o));
           }),
           py::arg("store"), py::arg("expression"), py::kw_only(), py::arg("time_zone") = py::none(),
           py::arg("limits") = py::none(), py::arg("resolver") = py::none(),
           "Compile text or a JSON tree (dict).")
      .def_property_readonly("type", [](const CompiledExpression& e) { return value_type_name(e.type()); })
      .def(
          "evaluate",
          [](const CompiledExpression& e, const ProfileStore& store, TimeArg as_of, unsigned threads) {
            EvalOptions o;
            o.threads = threads;
            Timestamp t = as_of;
            py::gil_scoped_release release;
            return e.evaluate_all(store, t, o);
          },
          py::arg("store"), py::arg("as_of"), py::kw_only(), py::arg("threads") = 0,
          "A boolean expression: the Bitmap of persons for whom it is TRUE. threads: 0 = every hardware thread.")
      .def(
          "evaluate_numeric",
          [](const CompiledExpression& e, const ProfileStore& store, TimeArg as_of, unsigned threads) {
            EvalOptions o;
            o.threads = threads;
            Timestamp t = as_of;
            NumericColumn c;
            {
              py::gil_scoped_release release;
              c = e.evaluate_numeric(store, t, o);
            }
            return py::array_t<double>(static_cast<py::ssize_t>(c.values.size()), c.values.data());
          },
          py::arg("store"), py::arg("as_of"), py::kw_only(), py::arg("threads") = 0,
          "A numeric expression for every person (float64, NaN = null). threads: 0 = every hardware thread.")
      .def(
          "evaluate_one",
          [](const CompiledExpression& e, const ProfileStore& store, PersonOrdinal p, TimeArg as_of) {
            Value v = e.evaluate_value(store, p, as_of);
            return std::visit(
                [](const auto& x) -> py::object {
                  using T = std::decay_t<decltype(x)>;
                  if constexpr (std::is_same_v<T, std::monostate>) return py::none();
                  else return py::cast(x);
                },
                v);
          },
          py::arg("store"), py::arg("person"), py::arg("as_of"), "The value for one person (None = null).");
}

CDPCORE_PY_REGISTER(40, "rules", init_rules);

}  // namespace
}  // namespace cdpcore::python
