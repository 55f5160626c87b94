// Bindings of the sample-data generator. The native layer hands out NumPy
// views of the C++ columns (kept alive by the _DatagenSample object) and
// string columns as (offsets, bytes) arrays; cdpcore/datagen.py builds the
// pandas and Arrow tables over them.
#include "cdpcore/datagen.hpp"

#include <memory>

#include "cdpcore/error.hpp"
#include "common.hpp"

namespace cdpcore::python {
namespace {

namespace dg = cdpcore::datagen;

struct Sample {
  dg::SampleData data;
};

template <typename T>
py::array view(const std::vector<T>& v, py::handle base) {
  py::array_t<T> a({static_cast<py::ssize_t>(v.size())}, {static_cast<py::ssize_t>(sizeof(T))}, v.data(), base);
  a.attr("setflags")(false);  // write=False: the C++ data is immutable
  return a;
}

py::array view_bytes(const std::string& s, py::handle base) {
  py::array_t<uint8_t> a({static_cast<py::ssize_t>(s.size())}, {static_cast<py::ssize_t>(1)},
                         reinterpret_cast<const uint8_t*>(s.data()), base);
  a.attr("setflags")(false);
  return a;
}

py::tuple view(const dg::StringColumn& c, py::handle base) {
  return py::make_tuple(view(c.offsets, base), view_bytes(c.bytes, base));
}

// Columns of one table in their documented order: name -> ndarray, or
// name -> (offsets, bytes) for strings.
py::dict table(const Sample& s, py::handle base, const std::string& name) {
  const dg::SampleData& d = s.data;
  py::dict out;
  auto put = [&](const char* col, auto&& v) { out[col] = view(v, base); };
  if (name == "links") {
    put("record", d.links.record);
    put("type", d.links.type);
    put("value", d.links.value);
    put("canonical", d.links.canonical);
    put("flags", d.links.flags);
  } else if (name == "records") {
    put("time", d.records.time);
    put("source", d.records.source);
    put("true_person", d.records.true_person);
    put("link_offsets", d.records.link_offsets);
  } else if (name == "persons") {
    put("is_anonymous", d.persons.is_anonymous);
    put("member_level", d.persons.member_level);
    put("signup_at", d.persons.signup_at);
    put("birthday", d.persons.birthday);
    put("city", d.persons.city);
    put("gender", d.persons.gender);
    put("crm_id", d.persons.crm_id);
    put("phone", d.persons.phone);
    put("email", d.persons.email);
    put("unionid", d.persons.unionid);
    put("household", d.persons.household);
  } else if (name == "profiles") {
    put("key_type", d.profiles.key_type);
    put("key_value", d.profiles.key_value);
    put("member_level", d.profiles.member_level);
    put("signup_at", d.profiles.signup_at);
    put("birthday", d.profiles.birthday);
    put("city", d.profiles.city);
    put("gender", d.profiles.gender);
    put("true_person", d.profiles.true_person);
  } else if (name == "events") {
    put("time", d.events.time);
    put("type", d.events.type);
    put("id_type", d.events.id_type);
    put("id_value", d.events.id_value);
    put("amount", d.events.amount);
    put("sku", d.events.sku);
    put("category", d.events.category);
    put("store", d.events.store);
    put("campaign", d.events.campaign);
    put("true_person", d.events.true_person);
  } else if (name == "consent") {
    put("time", d.consent.time);
    put("subject_type", d.consent.subject_type);
    put("subject_value", d.consent.subject_value);
    put("purpose", d.consent.purpose);
    put("channel", d.consent.channel);
    put("decision", d.consent.decision);
    put("expiry", d.consent.expiry);
    put("source", d.consent.source);
    put("legal_basis", d.consent.legal_basis);
    put("policy_version", d.consent.policy_version);
    put("true_person", d.consent.true_person);
  } else if (name == "dicts") {
    put("cities", d.dicts.cities);
    put("categories", d.dicts.categories);
    put("stores", d.dicts.stores);
    put("store_city", d.dicts.store_city);
    put("skus", d.dicts.skus);
    put("sku_category", d.dicts.sku_category);
    put("sku_price", d.dicts.sku_price);
    put("campaigns", d.dicts.campaigns);
    put("campaign_time", d.dicts.campaign_time);
    put("policy_versions", d.dicts.policy_versions);
  } else {
    throw NotFound("sample data has no table \"" + name + "\"");
  }
  return out;
}

py::list names_of(std::span<const char* const> names) {
  py::list l;
  for (const char* n : names) l.append(n);
  return l;
}

void init_datagen(py::module_& m) {
  py::class_<Sample, std::shared_ptr<Sample>>(m, "_DatagenSample",
                                              "Generated sample data (use cdpcore.datagen.generate). Immutable.")
      .def(
          "table", [](py::object self, const std::string& name) { return table(self.cast<const Sample&>(), self, name); },
          py::arg("name"),
          "Columns of a table as read-only NumPy views (strings as (offsets, bytes)).")
      .def_property_readonly("options",
                             [](const Sample& s) {
                               const dg::Options& o = s.data.options;
                               py::dict d;
                               d["seed"] = o.seed;
                               d["persons"] = o.persons;
                               d["end"] = o.end;
                               d["days"] = o.days;
                               d["anonymous_ratio"] = o.anonymous_ratio;
                               d["records_per_person"] = o.records_per_person;
                               d["events_per_person"] = o.events_per_person;
                               d["with_events"] = o.with_events;
                               d["with_consent"] = o.with_consent;
                               d["identity_only"] = o.identity_only;
                               d["with_canonical"] = o.with_canonical;
                               d["noise"] = o.noise;
                               return d;
                             })
      .def(
          "column_digests",
          [](const Sample& s) {
            py::list out;
            for (const auto& c : dg::column_digests(s.data)) out.append(py::make_tuple(c.table, c.column, c.sha256));
            return out;
          },
          "(table, column, sha256 hex) of every column, computed in C++.")
      .def(
          "digest", [](const Sample& s) { return dg::data_digest(s.data); }, py::call_guard<py::gil_scoped_release>(),
          "SHA-256 over all column digests.")
      .def(
          "write_to_workspace", [](const Sample& s, Workspace& ws) { dg::write_to_workspace(ws, s.data); },
          py::arg("workspace"), py::call_guard<py::gil_scoped_release>(),
          "Write the sample_* tables into a workspace in one transaction.")
      .def(
          "write_csv", [](const Sample& s, const std::string& dir) { dg::write_csv(s.data, dir); }, py::arg("dir"),
          py::call_guard<py::gil_scoped_release>(), "Write <table>.csv files into dir.")
      .def(
          "write_jsonl", [](const Sample& s, const std::string& dir) { dg::write_jsonl(s.data, dir); }, py::arg("dir"),
          py::call_guard<py::gil_scoped_release>(), "Write <table>.jsonl files into dir.");

  m.def(
      "_datagen_generate",
      [](uint64_t seed, uint32_t persons, int64_t end, int32_t days, double anonymous_ratio, double records_per_person,
         double events_per_person, bool with_events, bool with_consent, bool identity_only, bool with_canonical,
         double noise) {
        dg::Options o;
        o.seed = seed;
        o.persons = persons;
        o.end = end;
        o.days = days;
        o.anonymous_ratio = anonymous_ratio;
        o.records_per_person = records_per_person;
        o.events_per_person = events_per_person;
        o.with_events = with_events;
        o.with_consent = with_consent;
        o.identity_only = identity_only;
        o.with_canonical = with_canonical;
        o.noise = noise;
        auto s = std::make_shared<Sample>();
        s->data = dg::generate(o);
        return s;
      },
      py::arg("seed"), py::arg("persons"), py::arg("end"), py::arg("days"), py::arg("anonymous_ratio"),
      py::arg("records_per_person"), py::arg("events_per_person"), py::arg("with_events"), py::arg("with_consent"),
      py::arg("identity_only"), py::arg("with_canonical"), py::arg("noise"), py::call_guard<py::gil_scoped_release>(),
      "Generate sample data (see cdpcore.datagen.generate).");

  m.def("_datagen_names", []() {
    py::dict d;
    d["identifier_type"] = names_of(dg::identifier_type_names());
    d["record_source"] = names_of(dg::record_source_names());
    d["event_type"] = names_of(dg::event_type_names());
    d["member_level"] = names_of(dg::member_level_names());
    d["gender"] = names_of(dg::gender_names());
    d["purpose"] = names_of(dg::purpose_names());
    d["channel"] = names_of(dg::channel_names());
    d["decision"] = names_of(dg::decision_names());
    d["consent_source"] = names_of(dg::consent_source_names());
    d["legal_basis"] = names_of(dg::legal_basis_names());
    return d;
  }, "Names of the generator's code columns, by code.");
}

CDPCORE_PY_REGISTER(80, "datagen", init_datagen);

}  // namespace
}  // namespace cdpcore::python
