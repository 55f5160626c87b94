// cdpcore.Consent: the consent ledger, preferences and checks; and the
// privacy signal decoders (TC strings, US Privacy, GPP, GPC).
#include "cdpcore/consent.hpp"

#include <memory>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/tcf.hpp"
#include "cdpcore/workspace.hpp"
#include "common.hpp"
#include "time_arg.hpp"

namespace cdpcore::python {
namespace {

/// The Python object: the Consent plus what it must keep alive.
struct PyConsent {
  std::shared_ptr<Workspace> ws;
  std::shared_ptr<IdentityGraph> graph;
  std::unique_ptr<Consent> c;
};

std::optional<Jurisdiction> jurisdiction_arg(const std::optional<std::string>& j) {
  if (!j) return std::nullopt;
  return parse_jurisdiction(*j);
}

uint8_t jurisdiction_mask(const std::vector<std::string>& names) {
  uint8_t m = 0;
  for (const auto& n : names) m |= jurisdiction_bit(parse_jurisdiction(n));
  return m;
}

std::vector<std::string> mask_names(uint8_t m) {
  std::vector<std::string> out;
  for (int j = 1; j <= 3; ++j) {
    if (m & jurisdiction_bit(static_cast<Jurisdiction>(j))) out.push_back(jurisdiction_name(static_cast<Jurisdiction>(j)));
  }
  return out;
}

PersonRule person_rule_arg(const std::string& s) {
  if (s == "strict") return PersonRule::strict;
  if (s == "any_identifier") return PersonRule::any_identifier;
  if (s == "pooled") return PersonRule::pooled;
  throw InvalidArgument("unknown person rule \"" + s + "\" (expected strict, any_identifier or pooled)");
}

CheckOptions check_options(const std::optional<std::string>& jurisdiction, bool contact_rules, const std::string& topic) {
  CheckOptions o;
  o.jurisdiction = jurisdiction_arg(jurisdiction);
  o.contact_rules = contact_rules;
  o.topic = topic;
  return o;
}

py::dict record_dict(const StoredConsentRecord& r) {
  py::dict d;
  d["seq"] = r.seq;
  d["hash"] = r.hash;
  d["erased_by"] = r.erased_by;
  d["erasure_entry"] = r.is_erasure_entry;
  d["subject_type"] = r.record.subject.type;
  d["subject_value"] = r.record.subject.value;
  d["purpose"] = r.record.purpose;
  d["channel"] = r.record.channel;
  d["decision"] = (r.erased_by || r.is_erasure_entry) ? py::object(py::none())
                                                     : py::object(py::str(consent_decision_name(r.record.decision)));
  d["time"] = r.record.time;
  d["expiry"] = r.record.expiry == kNoExpiry ? py::object(py::none()) : py::object(py::int_(r.record.expiry));
  d["source"] = r.record.source;
  d["legal_basis"] = (r.erased_by || r.is_erasure_entry) ? py::object(py::none())
                                                        : py::object(py::str(legal_basis_name(r.record.legal_basis)));
  d["policy_version"] = r.record.policy_version;
  d["proof_method"] = r.record.proof.method;
  d["proof_location"] = r.record.proof.location;
  d["proof_reference"] = r.record.proof.reference;
  d["recorded_at"] = r.recorded_at;
  return d;
}

ContactPreferences prefs_from_dict(const py::dict& d) {
  ContactPreferences p;
  if (d.contains("preferred_channels")) p.preferred_channels = d["preferred_channels"].cast<std::vector<std::string>>();
  if (d.contains("topics")) p.topics = d["topics"].cast<std::vector<std::string>>();
  if (d.contains("time_zone") && !d["time_zone"].is_none()) p.time_zone = d["time_zone"].cast<std::string>();
  if (d.contains("quiet_hours") && !d["quiet_hours"].is_none()) {
    auto q = d["quiet_hours"].cast<std::pair<uint16_t, uint16_t>>();
    p.quiet_hours = QuietHours{q.first, q.second};
  }
  if (d.contains("caps")) {
    for (const py::handle& c : d["caps"]) {
      auto cd = c.cast<py::dict>();
      p.caps.push_back({cd.contains("channel") ? cd["channel"].cast<std::string>() : std::string("*"),
                        cd["max_contacts"].cast<uint32_t>(), cd["period"].cast<Timestamp>()});
    }
  }
  return p;
}

py::dict prefs_to_dict(const ContactPreferences& p) {
  py::dict d;
  d["preferred_channels"] = p.preferred_channels;
  d["topics"] = p.topics;
  d["time_zone"] = p.time_zone;
  if (p.quiet_hours) {
    d["quiet_hours"] = py::make_tuple(p.quiet_hours->start_minute, p.quiet_hours->end_minute);
  } else {
    d["quiet_hours"] = py::none();
  }
  py::list caps;
  for (const auto& c : p.caps) {
    py::dict cd;
    cd["channel"] = c.channel;
    cd["max_contacts"] = c.max_contacts;
    cd["period"] = c.period;
    caps.append(cd);
  }
  d["caps"] = caps;
  return d;
}

// Reads column `name` of a dict of columns as strings (None → default).
std::vector<std::string> str_column(const py::dict& cols, const char* name, size_t n, const std::string& dflt,
                                    bool required) {
  std::vector<std::string> out;
  if (!cols.contains(name) || cols[name].is_none()) {
    if (required) throw InvalidArgument(std::string("records: column \"") + name + "\" is missing");
    out.assign(n, dflt);
    return out;
  }
  py::sequence seq = py::reinterpret_borrow<py::sequence>(cols[name]);
  if (static_cast<size_t>(py::len(seq)) != n) {
    throw InvalidArgument(std::string("records: column \"") + name + "\" has " + std::to_string(py::len(seq)) +
                          " rows, expected " + std::to_string(n));
  }
  out.reserve(n);
  size_t i = 0;
  for (const py::handle& x : seq) {
    if (x.is_none()) {
      if (required) throw InvalidArgument("record " + std::to_string(i) + ": " + name + " is missing");
      out.push_back(dflt);
    } else {
      out.push_back(py::str(x).cast<std::string>());
    }
    ++i;
  }
  return out;
}

std::vector<int64_t> time_column(const py::dict& cols, const char* name, size_t n, int64_t dflt, bool required) {
  std::vector<int64_t> out;
  if (!cols.contains(name) || cols[name].is_none()) {
    if (required) throw InvalidArgument(std::string("records: column \"") + name + "\" is missing");
    out.assign(n, dflt);
    return out;
  }
  py::sequence seq = py::reinterpret_borrow<py::sequence>(cols[name]);
  if (static_cast<size_t>(py::len(seq)) != n) {
    throw InvalidArgument(std::string("records: column \"") + name + "\" has the wrong length");
  }
  out.reserve(n);
  size_t i = 0;
  for (const py::handle& x : seq) {
    if (x.is_none()) {
      if (required) throw InvalidArgument("record " + std::to_string(i) + ": " + name + " is missing");
      out.push_back(dflt);
    } else {
      out.push_back(to_timestamp(x));
    }
    ++i;
  }
  return out;
}

void init_consent(py::module_& m) {
  py::class_<ConsentCheck>(m, "ConsentCheck", "The answer of a consent check.")
      .def_readonly("allowed", &ConsentCheck::allowed)
      .def_property_readonly("reason", [](const ConsentCheck& c) { return consent_reason_name(c.reason); },
                             "Reason code name (\"granted\", \"withdrawn\", …).")
      .def_property_readonly("reason_code", [](const ConsentCheck& c) { return static_cast<int>(c.reason); })
      .def_readonly("record", &ConsentCheck::record, "Seq of the deciding ledger record (0 when none).")
      .def("__bool__", [](const ConsentCheck& c) { return c.allowed; })
      .def("__repr__", [](const ConsentCheck& c) {
        return std::string("<ConsentCheck ") + (c.allowed ? "allowed" : "denied") + " reason=" +
               consent_reason_name(c.reason) + " record=" + std::to_string(c.record) + ">";
      });

  py::class_<PyConsent, std::shared_ptr<PyConsent>> c(m, "Consent", R"doc(
The consent ledger, contact preferences and checks of a workspace.

    consent = cdpcore.Consent(ws)                      # jurisdiction="pipl"
    consent.append("phone", "+8613800138000", "marketing.sms", "sms", "granted",
                   time=t, now=now, source="form")
    consent.check("phone", "+8613800138000", "marketing.sms", "sms", at=now)

Records are append-only and hash-chained; checks follow the table in the
README (reason codes). Times are UTC microseconds. Use from one thread at a
time.)doc");
  c.def(py::init([](const std::shared_ptr<Workspace>& ws, const std::string& jurisdiction,
                    const std::string& person_rule, int64_t future_tolerance, const std::optional<std::string>& key) {
          if (!ws) throw InvalidArgument("Consent: workspace is None");
          ConsentOptions o;
          o.jurisdiction = parse_jurisdiction(jurisdiction);
          o.person_rule = person_rule_arg(person_rule);
          o.future_tolerance = future_tolerance;
          if (key) o.hmac_key = *key;
          auto p = std::make_shared<PyConsent>();
          p->ws = ws;
          py::gil_scoped_release nogil;
          p->c = std::make_unique<Consent>(ws, o);
          return p;
        }),
        py::arg("workspace"), py::kw_only(), py::arg("jurisdiction") = "pipl", py::arg("person_rule") = "strict",
        py::arg("future_tolerance") = int64_t{300'000'000}, py::arg("hmac_key") = py::none(),
        "Bind to a workspace and load its ledger. person_rule: strict, any_identifier or pooled.")
      .def(
          "attach_identity",
          [](PyConsent& self, const std::shared_ptr<IdentityGraph>& g) {
            if (!g) throw InvalidArgument("attach_identity: graph is None");
            self.c->attach_identity(*g);
            self.graph = g;
          },
          py::arg("graph"), "Use the identity graph for person-level checks, filters and normalisation.")
      .def(
          "detach_identity",
          [](PyConsent& self) {
            self.c->detach_identity();
            self.graph.reset();
          })
      .def(
          "define_purpose",
          [](PyConsent& self, const std::string& name, const std::string& description, bool separate_consent,
             bool direct_marketing, const std::vector<std::string>& opt_out_jurisdictions) {
            self.c->define_purpose(
                {name, description, separate_consent, direct_marketing, jurisdiction_mask(opt_out_jurisdictions)});
          },
          py::arg("name"), py::kw_only(), py::arg("description") = "", py::arg("separate_consent") = false,
          py::arg("direct_marketing") = false, py::arg("opt_out_jurisdictions") = std::vector<std::string>{},
          "Define or update a purpose (a dotted name whose parent exists).")
      .def(
          "define_channel",
          [](PyConsent& self, const std::string& name, const std::vector<std::string>& identifier_types,
             const std::vector<std::string>& opt_in_jurisdictions) {
            self.c->define_channel({name, identifier_types, jurisdiction_mask(opt_in_jurisdictions)});
          },
          py::arg("name"), py::arg("identifier_types") = std::vector<std::string>{}, py::kw_only(),
          py::arg("opt_in_jurisdictions") = std::vector<std::string>{}, "Define or update a channel.")
      .def("purposes",
           [](const PyConsent& self) {
             py::list out;
             for (const auto& p : self.c->purposes()) {
               py::dict d;
               d["name"] = p.name;
               d["description"] = p.description;
               d["separate_consent"] = p.separate_consent;
               d["direct_marketing"] = p.direct_marketing;
               d["opt_out_jurisdictions"] = mask_names(p.opt_out_jurisdictions);
               out.append(d);
             }
             return out;
           })
      .def("channels",
           [](const PyConsent& self) {
             py::list out;
             for (const auto& ch : self.c->channels()) {
               py::dict d;
               d["name"] = ch.name;
               d["identifier_types"] = ch.identifier_types;
               d["opt_in_jurisdictions"] = mask_names(ch.opt_in_jurisdictions);
               out.append(d);
             }
             return out;
           })
      .def(
          "append",
          [](PyConsent& self, const std::string& type, const std::string& value, const std::string& purpose,
             const std::string& channel, const std::string& decision, TimeArg time, TimeArg now,
             const std::optional<TimeArg>& expiry, const std::string& source, const std::string& legal_basis,
             const std::string& policy_version, const std::string& proof_method, const std::string& proof_location,
             const std::string& proof_reference) {
            ConsentRecord r;
            r.subject = {type, value};
            r.purpose = purpose;
            r.channel = channel;
            r.decision = parse_consent_decision(decision);
            r.time = time;
            r.expiry = expiry ? expiry->micros : kNoExpiry;
            r.source = source;
            r.legal_basis = parse_legal_basis(legal_basis);
            r.policy_version = policy_version;
            r.proof = {proof_method, proof_location, proof_reference};
            return self.c->append(r, now);
          },
          py::arg("subject_type"), py::arg("subject_value"), py::arg("purpose"), py::arg("channel"),
          py::arg("decision"), py::kw_only(), py::arg("time"), py::arg("now"), py::arg("expiry") = py::none(),
          py::arg("source") = "import", py::arg("legal_basis") = "consent", py::arg("policy_version") = "",
          py::arg("proof_method") = "", py::arg("proof_location") = "", py::arg("proof_reference") = "",
          "Append one record; returns its seq (0 when the subject is suppressed).")
      .def(
          "import_columns",
          [](PyConsent& self, const py::dict& cols, TimeArg now, bool skip_suppressed, bool skip_invalid,
             const py::object& progress) {
            if (!cols.contains("subject_value")) throw InvalidArgument("records: column \"subject_value\" is missing");
            const size_t n = static_cast<size_t>(py::len(cols["subject_value"]));
            auto type = str_column(cols, "subject_type", n, "", true);
            auto value = str_column(cols, "subject_value", n, "", true);
            auto purpose = str_column(cols, "purpose", n, "", true);
            auto channel = str_column(cols, "channel", n, "*", false);
            auto decision = str_column(cols, "decision", n, "", true);
            auto time = time_column(cols, "time", n, 0, true);
            auto expiry = time_column(cols, "expiry", n, kNoExpiry, false);
            auto source = str_column(cols, "source", n, "import", false);
            auto basis = str_column(cols, "legal_basis", n, "consent", false);
            auto policy = str_column(cols, "policy_version", n, "", false);
            auto pm = str_column(cols, "proof_method", n, "", false);
            auto pl = str_column(cols, "proof_location", n, "", false);
            auto pr = str_column(cols, "proof_reference", n, "", false);
            std::vector<ConsentRecord> rs(n);
            for (size_t i = 0; i < n; ++i) {
              ConsentRecord& r = rs[i];
              r.subject = {std::move(type[i]), std::move(value[i])};
              r.purpose = std::move(purpose[i]);
              r.channel = std::move(channel[i]);
              try {
                r.decision = parse_consent_decision(decision[i]);
                r.legal_basis = parse_legal_basis(basis[i]);
              } catch (const Error& e) {
                throw InvalidArgument("record " + std::to_string(i) + ": " + e.what());
              }
              r.time = time[i];
              r.expiry = expiry[i];
              r.source = std::move(source[i]);
              r.policy_version = std::move(policy[i]);
              r.proof = {std::move(pm[i]), std::move(pl[i]), std::move(pr[i])};
            }
            ImportOptions o;
            o.skip_suppressed = skip_suppressed;
            o.skip_invalid_subjects = skip_invalid;
            if (!progress.is_none()) o.progress = [progress](uint64_t d, uint64_t t) { return call_progress(progress, d, t); };
            ImportReport rep;
            {
              py::gil_scoped_release nogil;
              rep = self.c->import(rs, now, o);
            }
            py::dict d;
            d["appended"] = rep.appended;
            d["suppressed"] = rep.suppressed;
            d["invalid"] = rep.invalid;
            d["first_seq"] = rep.first_seq;
            d["last_seq"] = rep.last_seq;
            return d;
          },
          py::arg("columns"), py::kw_only(), py::arg("now"), py::arg("skip_suppressed") = true,
          py::arg("skip_invalid") = false, py::arg("progress") = py::none(),
          "Append records given as a dict of equal-length columns (subject_type, subject_value, purpose, channel, "
          "decision, time, expiry, source, legal_basis, policy_version, proof_*) in one transaction; on error "
          "nothing is applied. See cdpcore.consent.import_frame for pandas.")
      .def(
          "record_gpc",
          [](PyConsent& self, const std::string& type, const std::string& value, TimeArg at, TimeArg now) {
            return self.c->record_gpc({type, value}, at, now);
          },
          py::arg("subject_type"), py::arg("subject_value"), py::kw_only(), py::arg("at"), py::arg("now"),
          "Record a Global Privacy Control signal (opt-out of sale/sharing).")
      .def_property_readonly("size", [](const PyConsent& self) { return self.c->size(); })
      .def("__len__", [](const PyConsent& self) { return self.c->size(); })
      .def(
          "get",
          [](const PyConsent& self, uint64_t seq) -> py::object {
            auto r = self.c->get(seq);
            if (!r) return py::none();
            return record_dict(*r);
          },
          py::arg("seq"))
      .def(
          "history",
          [](const PyConsent& self, const std::string& type, const std::string& value) {
            py::list out;
            for (const auto& r : self.c->history({type, value})) out.append(record_dict(r));
            return out;
          },
          py::arg("subject_type"), py::arg("subject_value"))
      .def(
          "verify_chain",
          [](const PyConsent& self) {
            ChainVerification v;
            {
              py::gil_scoped_release nogil;
              v = self.c->verify_chain();
            }
            py::dict d;
            d["ok"] = v.ok;
            d["records"] = v.records;
            d["first_bad"] = v.first_bad;
            d["problem"] = v.problem;
            return d;
          },
          "Recompute the hash chain: {ok, records, first_bad, problem}.")
      .def("reload", [](PyConsent& self) { self.c->reload(); })
      .def(
          "set_preferences",
          [](PyConsent& self, const std::string& type, const std::string& value, const py::dict& prefs, TimeArg at) {
            self.c->set_preferences({type, value}, prefs_from_dict(prefs), at);
          },
          py::arg("subject_type"), py::arg("subject_value"), py::arg("preferences"), py::kw_only(), py::arg("at"),
          "Replace the subject's preferences: {preferred_channels, topics, time_zone, quiet_hours=(start_minute, "
          "end_minute), caps=[{channel, max_contacts, period}]}.")
      .def(
          "preferences",
          [](const PyConsent& self, const std::string& type, const std::string& value) -> py::object {
            auto p = self.c->preferences({type, value});
            if (!p) return py::none();
            return prefs_to_dict(*p);
          },
          py::arg("subject_type"), py::arg("subject_value"))
      .def(
          "set_default_preferences",
          [](PyConsent& self, const py::dict& prefs) { self.c->set_default_preferences(prefs_from_dict(prefs)); },
          py::arg("preferences"), "Workspace-wide quiet hours and frequency caps.")
      .def(
          "log_contact",
          [](PyConsent& self, const std::string& type, const std::string& value, const std::string& channel,
             TimeArg at) { self.c->log_contact({type, value}, channel, at); },
          py::arg("subject_type"), py::arg("subject_value"), py::arg("channel"), py::kw_only(), py::arg("at"))
      .def(
          "contacts",
          [](const PyConsent& self, const std::string& type, const std::string& value, const std::string& channel,
             TimeArg start, TimeArg end) { return self.c->contacts({type, value}, channel, start, end); },
          py::arg("subject_type"), py::arg("subject_value"), py::arg("channel"), py::kw_only(), py::arg("start"),
          py::arg("end"))
      .def(
          "check",
          [](const PyConsent& self, const std::string& type, const std::string& value, const std::string& purpose,
             const std::string& channel, TimeArg at, const std::optional<std::string>& jurisdiction,
             bool contact_rules, const std::string& topic) {
            return self.c->check({type, value}, purpose, channel, at, check_options(jurisdiction, contact_rules, topic));
          },
          py::arg("subject_type"), py::arg("subject_value"), py::arg("purpose"), py::arg("channel"), py::kw_only(),
          py::arg("at"), py::arg("jurisdiction") = py::none(), py::arg("contact_rules") = true, py::arg("topic") = "",
          "May the subject be contacted for the purpose on the channel at `at`?")
      .def(
          "check_many",
          [](const PyConsent& self, const std::string& type, const py::iterable& values, const std::string& purpose,
             const std::string& channel, TimeArg at, const std::optional<std::string>& jurisdiction,
             bool contact_rules, const std::string& topic) {
            std::vector<std::string> vs;
            for (const py::handle& v : values) vs.push_back(py::str(v).cast<std::string>());
            const auto n = static_cast<py::ssize_t>(vs.size());
            py::array_t<bool> allowed(n);
            py::array_t<int32_t> reasons(n);
            py::array_t<uint64_t> records(n);
            bool* a = allowed.mutable_data();
            int32_t* r = reasons.mutable_data();
            uint64_t* s = records.mutable_data();
            ConsentQuery q = self.c->prepare(purpose, channel, check_options(jurisdiction, contact_rules, topic));
            {
              py::gil_scoped_release nogil;
              std::vector<std::string_view> views(vs.begin(), vs.end());
              std::vector<ConsentCheck> checks(vs.size());
              self.c->check_many(q, type, views, at, checks.data());
              for (size_t i = 0; i < checks.size(); ++i) {
                a[i] = checks[i].allowed;
                r[i] = static_cast<int32_t>(checks[i].reason);
                s[i] = checks[i].record;
              }
            }
            py::dict d;
            d["allowed"] = allowed;
            d["reason"] = reasons;
            d["record"] = records;
            return d;
          },
          py::arg("subject_type"), py::arg("values"), py::arg("purpose"), py::arg("channel"), py::kw_only(),
          py::arg("at"), py::arg("jurisdiction") = py::none(), py::arg("contact_rules") = true, py::arg("topic") = "",
          "Vectorised check over many values of one type: {allowed: bool[], reason: int32[] (reason codes), "
          "record: uint64[]}. The GIL is released during the checks.")
      .def(
          "check_person",
          [](const PyConsent& self, uint32_t person, const std::string& purpose, const std::string& channel, TimeArg at,
             const std::optional<std::string>& jurisdiction, bool contact_rules, const std::string& topic) {
            PersonConsentCheck r;
            {
              py::gil_scoped_release nogil;
              r = self.c->check_person(person, purpose, channel, at, check_options(jurisdiction, contact_rules, topic));
            }
            py::dict d;
            d["allowed"] = r.allowed;
            d["reason"] = consent_reason_name(r.reason);
            d["reason_code"] = static_cast<int>(r.reason);
            d["record"] = r.record;
            py::list ids;
            for (const auto& s : r.contactable) ids.append(py::make_tuple(s.type, s.value));
            d["contactable"] = ids;
            return d;
          },
          py::arg("person"), py::arg("purpose"), py::arg("channel"), py::kw_only(), py::arg("at"),
          py::arg("jurisdiction") = py::none(), py::arg("contact_rules") = true, py::arg("topic") = "",
          "Person-level check through the attached identity graph.")
      .def(
          "filter",
          [](const PyConsent& self, const Bitmap& persons, const std::string& purpose, const std::string& channel,
             TimeArg at, const std::optional<std::string>& jurisdiction, bool contact_rules, const std::string& topic,
             bool with_identifiers, unsigned threads) {
            FilterOptions o;
            o.threads = threads;
            o.jurisdiction = jurisdiction_arg(jurisdiction);
            o.contact_rules = contact_rules;
            o.topic = topic;
            o.with_identifiers = with_identifiers;
            ConsentFilterResult r;
            {
              py::gil_scoped_release nogil;
              r = self.c->filter(persons, purpose, channel, at, o);
            }
            py::dict d;
            d["allowed"] = py::cast(std::move(r.allowed));
            d["input"] = r.input;
            py::dict dropped;
            for (const auto& [reason, n] : r.dropped) dropped[py::str(consent_reason_name(reason))] = n;
            d["dropped"] = dropped;
            if (with_identifiers) {
              py::array_t<uint32_t> persons_out(static_cast<py::ssize_t>(r.contact_person.size()));
              std::copy(r.contact_person.begin(), r.contact_person.end(), persons_out.mutable_data());
              py::list types, values;
              for (const auto& s : r.contact_identifier) {
                types.append(s.type);
                values.append(s.value);
              }
              d["contact_person"] = persons_out;
              d["contact_type"] = types;
              d["contact_value"] = values;
            }
            return d;
          },
          py::arg("persons"), py::arg("purpose"), py::arg("channel"), py::kw_only(), py::arg("at"),
          py::arg("jurisdiction") = py::none(), py::arg("contact_rules") = true, py::arg("topic") = "",
          py::arg("with_identifiers") = false, py::arg("threads") = 0u,
          "Filter a segment (Bitmap of person ordinals): {allowed: Bitmap, input, dropped: {reason: count}, and "
          "with_identifiers: contact_person, contact_type, contact_value}. threads: 0 = every hardware thread.")
      .def(
          "export_subject",
          [](const PyConsent& self, const std::string& type, const std::string& value) {
            return self.c->export_subject({type, value});
          },
          py::arg("subject_type"), py::arg("subject_value"), "Everything held about the subject, as JSON text.")
      .def(
          "erase",
          [](PyConsent& self, const std::string& type, const std::string& value, TimeArg at) {
            ErasureReport r;
            {
              py::gil_scoped_release nogil;
              r = self.c->erase({type, value}, at);
            }
            py::dict d;
            d["subjects"] = r.subjects;
            d["records"] = r.records;
            d["erasure_seq"] = r.erasure_seq;
            return d;
          },
          py::arg("subject_type"), py::arg("subject_value"), py::kw_only(), py::arg("at"),
          "Erase the subject (a person: all its identifiers), keeping a keyed-hash suppression entry.")
      .def(
          "is_suppressed",
          [](const PyConsent& self, const std::string& type, const std::string& value) {
            return self.c->is_suppressed({type, value});
          },
          py::arg("subject_type"), py::arg("subject_value"));

  m.def("consent_reason_name", [](int code) { return consent_reason_name(static_cast<ConsentReason>(code)); },
        py::arg("code"), "Name of a consent reason code.");

  m.def(
      "decode_tc_string",
      [](const std::string& s, bool lenient) {
        tcf::TCString t;
        {
          py::gil_scoped_release nogil;
          t = tcf::decode_tc_string(s, lenient ? tcf::Mode::lenient : tcf::Mode::strict);
        }
        py::dict d;
        d["version"] = t.version;
        d["created"] = t.created;
        d["last_updated"] = t.last_updated;
        d["cmp_id"] = t.cmp_id;
        d["cmp_version"] = t.cmp_version;
        d["consent_screen"] = t.consent_screen;
        d["consent_language"] = t.consent_language;
        d["vendor_list_version"] = t.vendor_list_version;
        d["tcf_policy_version"] = t.tcf_policy_version;
        d["is_service_specific"] = t.is_service_specific;
        d["use_non_standard_texts"] = t.use_non_standard_texts;
        d["purpose_one_treatment"] = t.purpose_one_treatment;
        d["publisher_cc"] = t.publisher_cc;
        d["special_feature_opt_ins"] = std::vector<int>(t.special_feature_opt_ins.begin(), t.special_feature_opt_ins.end());
        d["purposes_consent"] = std::vector<int>(t.purposes_consent.begin(), t.purposes_consent.end());
        d["purposes_li_transparency"] =
            std::vector<int>(t.purposes_li_transparency.begin(), t.purposes_li_transparency.end());
        d["vendor_consents"] = t.vendor_consents;
        d["vendor_legitimate_interests"] = t.vendor_legitimate_interests;
        py::list restrictions;
        for (const auto& r : t.publisher_restrictions) {
          py::dict rd;
          rd["purpose_id"] = r.purpose_id;
          rd["restriction_type"] = static_cast<int>(r.type);
          rd["vendors"] = r.vendors();
          restrictions.append(rd);
        }
        d["publisher_restrictions"] = restrictions;
        d["disclosed_vendors"] = t.has_disclosed_vendors ? py::object(py::cast(t.disclosed_vendors)) : py::object(py::none());
        d["allowed_vendors"] = t.has_allowed_vendors ? py::object(py::cast(t.allowed_vendors)) : py::object(py::none());
        if (t.has_publisher_tc) {
          py::dict p;
          p["purposes_consent"] = std::vector<int>(t.pub_purposes_consent.begin(), t.pub_purposes_consent.end());
          p["purposes_li_transparency"] =
              std::vector<int>(t.pub_purposes_li_transparency.begin(), t.pub_purposes_li_transparency.end());
          p["custom_purposes_consent"] =
              std::vector<int>(t.custom_purposes_consent.begin(), t.custom_purposes_consent.end());
          p["custom_purposes_li_transparency"] =
              std::vector<int>(t.custom_purposes_li_transparency.begin(), t.custom_purposes_li_transparency.end());
          d["publisher_tc"] = p;
        } else {
          d["publisher_tc"] = py::none();
        }
        d["warnings"] = t.warnings;
        return d;
      },
      py::arg("tc_string"), py::kw_only(), py::arg("lenient") = false,
      "Decode an IAB TCF v2.2/v2.3 TC string to a dict. Raises ParseError (with offset) for malformed strings.");
  m.def(
      "decode_us_privacy",
      [](const std::string& s) {
        auto u = tcf::decode_us_privacy(s);
        py::dict d;
        d["version"] = u.version;
        d["notice_given"] = std::string(1, u.notice_given);
        d["opted_out_of_sale"] = std::string(1, u.opted_out_of_sale);
        d["lspa_covered"] = std::string(1, u.lspa_covered);
        d["opted_out"] = u.opted_out();
        return d;
      },
      py::arg("us_privacy"), "Decode an IAB US Privacy string (\"1YNN\").");
  m.def(
      "decode_gpp",
      [](const std::string& s) {
        auto g = tcf::decode_gpp(s);
        py::dict d;
        d["version"] = g.version;
        d["section_ids"] = g.section_ids;
        py::list secs;
        for (const auto& x : g.sections) {
          py::dict sd;
          sd["id"] = x.id;
          sd["name"] = x.name;
          sd["data"] = x.data;
          secs.append(sd);
        }
        d["sections"] = secs;
        return d;
      },
      py::arg("gpp_string"), "Decode a GPP string's header and split its sections.");
  m.def("parse_gpc_header", &tcf::parse_gpc_header, py::arg("value"), "True when a Sec-GPC header value is \"1\".");
}

CDPCORE_PY_REGISTER(60, "consent", init_consent);

}  // namespace
}  // namespace cdpcore::python
