// cdpcore.IdentityGraph: the identity graph (OneID) with NumPy/Arrow-friendly
// batch linking and lookups. Conveniences for pandas/Arrow tables are in
// cdpcore/identity.py.
#include "cdpcore/identity.hpp"

#include <memory>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/workspace.hpp"
#include "common.hpp"
#include "time_arg.hpp"

namespace cdpcore::python {
namespace {

/// A Python object that may be copied and destroyed without the GIL.
using PyRef = std::shared_ptr<py::object>;
PyRef hold(const py::object& o) {
  return PyRef(new py::object(o), [](py::object* p) {
    py::gil_scoped_acquire gil;
    delete p;
  });
}

class PyListener final : public IdentityListener {
 public:
  explicit PyListener(const py::object& o) : obj_(hold(o)) {}
  const py::object& object() const { return *obj_; }
  void on_merged(const ChangeEvent& e) override { call("on_merged", e); }
  void on_split(const ChangeEvent& e) override { call("on_split", e); }
  void on_erased(const ChangeEvent& e) override { call("on_erased", e); }
  void on_rolled_back() override {
    py::gil_scoped_acquire gil;
    try {
      if (py::hasattr(*obj_, "on_rolled_back")) obj_->attr("on_rolled_back")();
    } catch (py::error_already_set&) {
    }
  }

 private:
  void call(const char* name, const ChangeEvent& e) {
    py::gil_scoped_acquire gil;
    if (!py::hasattr(*obj_, name)) return;
    try {
      obj_->attr(name)(e);
    } catch (py::error_already_set& ex) {
      // The batch is rolled back and the caller gets cdpcore.Cancelled with this text.
      throw Cancelled(std::string("identity listener ") + name + " raised " + ex.what());
    }
  }
  PyRef obj_;
};

/// The graph as Python holds it: the C++ graph plus the Python listeners it calls.
class PyGraph : public IdentityGraph {
 public:
  using IdentityGraph::IdentityGraph;
  std::vector<std::unique_ptr<PyListener>> py_listeners;
};

PyGraph& pyg(IdentityGraph& g) { return static_cast<PyGraph&>(g); }

NormalizeFn py_normalizer(const py::object& fn) {
  PyRef f = hold(fn);
  return [f](std::string_view raw) -> std::string {
    py::gil_scoped_acquire gil;
    try {
      py::object r = (*f)(py::str(raw.data(), raw.size()));
      if (r.is_none()) throw InvalidArgument("the normaliser returned None");
      return r.cast<std::string>();
    } catch (py::error_already_set& e) {
      throw InvalidArgument(e.what());
    } catch (const py::cast_error&) {
      throw InvalidArgument("the normaliser did not return a str");
    }
  };
}

TypeId type_arg(const IdentityGraph& g, const py::handle& t) {
  if (py::isinstance<py::str>(t)) {
    const std::string name = t.cast<std::string>();
    const TypeId id = g.type_id(name);
    if (id == kNoType) throw NotFound("unknown identifier type \"" + name + "\"");
    return id;
  }
  return t.cast<TypeId>();
}

Normalizer normalizer_arg(const std::string& s) { return parse_normalizer(s); }

RemoveOptions remove_opts(bool dry_run, bool suppress, Timestamp time, const std::string& note) {
  RemoveOptions o;
  o.dry_run = dry_run;
  o.suppress = suppress;
  o.time = time;
  o.note = note;
  return o;
}

template <typename T>
py::array_t<T> to_array(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(static_cast<py::ssize_t>(heap->size()), heap->data(), owner);
}

void init_identity(py::module_& m) {
  m.attr("NO_PERSON") = py::int_(kNoPerson);

  py::class_<IdentifierInfo>(m, "Identifier", "One identifier: its id, type, stored value and activity.")
      .def_readonly("id", &IdentifierInfo::id)
      .def_readonly("type", &IdentifierInfo::type)
      .def_readonly("type_name", &IdentifierInfo::type_name)
      .def_readonly("value", &IdentifierInfo::value, "Normalised value (lowercase hex for hashed types).")
      .def_readonly("last_seen", &IdentifierInfo::last_seen, "UTC microseconds (minute precision).")
      .def_readonly("records", &IdentifierInfo::records)
      .def_readonly("blocked", &IdentifierInfo::blocked)
      .def("__repr__", [](const IdentifierInfo& i) {
        return "<Identifier " + i.type_name + ":" + i.value + " id=" + std::to_string(i.id) + ">";
      });

  py::class_<RecordError>(m, "RecordError", "Why a record (or one of its identifiers) was rejected.")
      .def_readonly("record", &RecordError::record, "Index of the record in the batch.")
      .def_property_readonly("identifier",
                             [](const RecordError& e) -> py::object {
                               if (e.identifier == SIZE_MAX) return py::none();
                               return py::int_(e.identifier);
                             })
      .def_property_readonly("code", [](const RecordError& e) { return static_cast<int>(e.code); })
      .def_property_readonly("code_name", [](const RecordError& e) { return error_code_name(e.code); })
      .def_readonly("message", &RecordError::message)
      .def("__repr__", [](const RecordError& e) { return "<RecordError " + e.message + ">"; });

  py::class_<BatchResult>(m, "LinkResult", "What a link or link batch did.")
      .def_readonly("records", &BatchResult::records)
      .def_readonly("rejected", &BatchResult::rejected)
      .def_readonly("identifiers", &BatchResult::identifiers)
      .def_readonly("new_identifiers", &BatchResult::new_identifiers)
      .def_readonly("new_persons", &BatchResult::new_persons)
      .def_readonly("merges", &BatchResult::merges)
      .def_readonly("splits", &BatchResult::splits)
      .def_readonly("conflicts", &BatchResult::conflicts)
      .def_readonly("blocked", &BatchResult::blocked)
      .def_readonly("newly_blocked", &BatchResult::newly_blocked)
      .def_readonly("suppressed", &BatchResult::suppressed)
      .def_readonly("expired", &BatchResult::expired)
      .def_readonly("errors", &BatchResult::errors)
      .def_property_readonly("record_ids",
                             [](const BatchResult& r) {
                               return py::array_t<uint64_t>(static_cast<py::ssize_t>(r.record_ids.size()),
                                                            r.record_ids.data());
                             })
      .def_readonly("first_change", &BatchResult::first_change)
      .def_readonly("last_change", &BatchResult::last_change)
      .def("__repr__", [](const BatchResult& r) {
        return "<LinkResult records=" + std::to_string(r.records) + " rejected=" + std::to_string(r.rejected) +
               " merges=" + std::to_string(r.merges) + " conflicts=" + std::to_string(r.conflicts) + ">";
      });

  py::class_<SplitPart>(m, "SplitPart", "One part of a split person.")
      .def_readonly("ordinal", &SplitPart::ordinal)
      .def_readonly("key", &SplitPart::key)
      .def_readonly("identifiers", &SplitPart::identifiers)
      .def_readonly("values", &SplitPart::values, "(type name, value) pairs; only in events given to listeners.");

  py::class_<ChangeEvent>(m, "ChangeEvent", "A merge, split or erasure in the change log.")
      .def_readonly("seq", &ChangeEvent::seq)
      .def_property_readonly("kind", [](const ChangeEvent& e) { return change_kind_name(e.kind); })
      .def_property_readonly("cause", [](const ChangeEvent& e) { return change_cause_name(e.cause); })
      .def_readonly("time", &ChangeEvent::time)
      .def_readonly("source", &ChangeEvent::source)
      .def_property_readonly("record",
                             [](const ChangeEvent& e) -> py::object {
                               return e.record == kNoRecord ? py::object(py::none()) : py::object(py::int_(e.record));
                             })
      .def_readonly("ordinal", &ChangeEvent::ordinal)
      .def_readonly("key", &ChangeEvent::key)
      .def_readonly("absorbed", &ChangeEvent::absorbed)
      .def_readonly("absorbed_key", &ChangeEvent::absorbed_key)
      .def_readonly("parts", &ChangeEvent::parts)
      .def("__repr__", [](const ChangeEvent& e) {
        std::string s = "<ChangeEvent " + std::to_string(e.seq) + " " + change_kind_name(e.kind) + " key=" +
                        std::to_string(e.key);
        if (e.kind == ChangeKind::merged) s += " absorbed_key=" + std::to_string(e.absorbed_key);
        return s + " cause=" + change_cause_name(e.cause) + ">";
      });

  py::class_<LinkConflict>(m, "LinkConflict", "A link that merge protection refused.")
      .def_readonly("id", &LinkConflict::id)
      .def_readonly("record", &LinkConflict::record)
      .def_readonly("time", &LinkConflict::time)
      .def_readonly("source", &LinkConflict::source)
      .def_readonly("identifier", &LinkConflict::identifier)
      .def_property_readonly("limited_type",
                             [](const LinkConflict& c) -> py::object {
                               return c.limited_type == kNoType ? py::object(py::none()) : py::object(py::int_(c.limited_type));
                             })
      .def_property_readonly("reason", [](const LinkConflict& c) { return conflict_reason_name(c.reason); })
      .def_readonly("kept_in", &LinkConflict::kept_in)
      .def_readonly("refused", &LinkConflict::refused);

  py::class_<BlockedIdentifier>(m, "BlockedIdentifier", "A value that no longer links.")
      .def_readonly("identifier", &BlockedIdentifier::identifier)
      .def_readonly("type", &BlockedIdentifier::type)
      .def_readonly("type_name", &BlockedIdentifier::type_name)
      .def_readonly("value", &BlockedIdentifier::value)
      .def_property_readonly("reason", [](const BlockedIdentifier& b) { return block_reason_name(b.reason); })
      .def_readonly("time", &BlockedIdentifier::time)
      .def_readonly("persons_seen", &BlockedIdentifier::persons_seen);

  py::class_<ExplainStep>(m, "ExplainStep", "One record on the chain linking two identifiers.")
      .def_readonly("record", &ExplainStep::record)
      .def_readonly("time", &ExplainStep::time)
      .def_readonly("source", &ExplainStep::source)
      .def_readonly("from_", &ExplainStep::from)
      .def_readonly("to", &ExplainStep::to);

  py::class_<Explanation>(m, "Explanation", "Why two identifiers are (or are not) the same person.")
      .def_readonly("same_person", &Explanation::same_person)
      .def_readonly("steps", &Explanation::steps)
      .def("__bool__", [](const Explanation& e) { return e.same_person; });

  py::class_<RemovalReport>(m, "RemovalReport", "What a removal, block or erasure changed (or would change).")
      .def_readonly("dry_run", &RemovalReport::dry_run)
      .def_readonly("removed_identifiers", &RemovalReport::removed_identifiers, "Values masked.")
      .def_readonly("records_removed", &RemovalReport::records_removed)
      .def_readonly("occurrences_removed", &RemovalReport::occurrences_removed)
      .def_readonly("erased_persons", &RemovalReport::erased_persons)
      .def_readonly("splits", &RemovalReport::splits)
      .def_readonly("first_change", &RemovalReport::first_change)
      .def_readonly("last_change", &RemovalReport::last_change);

  py::class_<IdentityGraph::RecordInfo>(m, "IdentityRecord", "A linked record.")
      .def_readonly("id", &IdentityGraph::RecordInfo::id)
      .def_readonly("time", &IdentityGraph::RecordInfo::time)
      .def_readonly("source", &IdentityGraph::RecordInfo::source)
      .def_readonly("identifiers", &IdentityGraph::RecordInfo::identifiers)
      .def_readonly("linked", &IdentityGraph::RecordInfo::linked);

  py::class_<IdentityGraph, std::shared_ptr<IdentityGraph>> c(m, "IdentityGraph", R"doc(
The identity graph (OneID): links identifiers seen together into persons.

    g = cdpcore.IdentityGraph(ws)          # or IdentityGraph() in memory
    g.register_default_types()
    g.link({"phone": "138 0013 8000", "crm_id": "M1"}, time=t, source="crm")
    g.ordinal_of("phone", "+8613800138000")

Persons have a stable key (oldest survives merges) and a dense ordinal for
bitmaps. Use from one thread at a time.)doc");
  c.def(py::init([](const std::shared_ptr<Workspace>& ws, uint32_t max_identifiers, uint32_t auto_block_threshold,
                    bool reuse_ordinals, bool drop_suppressed, const std::optional<std::string>& suppression_key,
                    size_t memory_log_limit) -> std::shared_ptr<IdentityGraph> {
          IdentityOptions o;
          o.max_identifiers = max_identifiers;
          o.auto_block_threshold = auto_block_threshold;
          o.reuse_ordinals = reuse_ordinals;
          o.drop_suppressed = drop_suppressed;
          if (suppression_key) o.suppression_key = *suppression_key;
          o.memory_log_limit = memory_log_limit;
          py::gil_scoped_release nogil;
          if (ws) return std::make_shared<PyGraph>(ws, o);
          return std::make_shared<PyGraph>(o);
        }),
        py::arg("workspace") = nullptr, py::kw_only(), py::arg("max_identifiers") = 1000,
        py::arg("auto_block_threshold") = 0, py::arg("reuse_ordinals") = true, py::arg("drop_suppressed") = true,
        py::arg("suppression_key") = py::none(), py::arg("memory_log_limit") = size_t{1} << 20,
        "A graph bound to a Workspace (loaded from and written to its file) or, without one, in memory.")
      .def_property_readonly("workspace", &IdentityGraph::workspace)
      .def(
          "register_type",
          [](IdentityGraph& g, const std::string& name, const std::string& normalizer, const py::object& normalize,
             bool thread_safe, const std::string& phone_region, bool email_fold_providers, uint32_t limit,
             const py::object& limit_window, int32_t priority, const py::object& ttl, const std::string& storage,
             const std::optional<std::string>& hash_key, const std::string& input, uint32_t max_length,
             uint32_t auto_block_threshold, bool never_auto_block) {
            IdentifierTypeOptions o;
            o.normalizer = normalize.is_none() ? normalizer_arg(normalizer) : Normalizer::custom;
            if (!normalize.is_none()) {
              o.custom_normalizer = py_normalizer(normalize);
              o.custom_thread_safe = thread_safe;
            }
            o.phone_region = phone_region;
            o.email_fold_providers = email_fold_providers;
            o.limit = limit;
            o.limit_window = to_duration(limit_window);
            o.priority = priority;
            o.ttl = to_duration(ttl);
            if (storage == "clear") o.storage = Storage::clear;
            else if (storage == "keyed_hash") o.storage = Storage::keyed_hash;
            else throw InvalidArgument("storage must be \"clear\" or \"keyed_hash\", got \"" + storage + "\"");
            if (hash_key) o.hash_key = *hash_key;
            if (input == "raw") o.input = InputKind::raw;
            else if (input == "sha256") o.input = InputKind::sha256;
            else throw InvalidArgument("input must be \"raw\" or \"sha256\", got \"" + input + "\"");
            o.max_length = max_length;
            o.auto_block_threshold = auto_block_threshold;
            o.never_auto_block = never_auto_block;
            return g.register_type(name, o);
          },
          py::arg("name"), py::kw_only(), py::arg("normalizer") = "trim", py::arg("normalize") = py::none(),
          py::arg("thread_safe") = false, py::arg("phone_region") = "CN", py::arg("email_fold_providers") = false,
          py::arg("limit") = 0, py::arg("limit_window") = py::none(), py::arg("priority") = 0,
          py::arg("ttl") = py::none(), py::arg("storage") = "clear", py::arg("hash_key") = py::none(),
          py::arg("input") = "raw", py::arg("max_length") = 256, py::arg("auto_block_threshold") = 0,
          py::arg("never_auto_block") = false,
          R"doc(Register an identifier type and return its id. normalizer: "none", "trim",
"lower", "email", "phone" (libphonenumber, phone_region), or pass normalize=
a callable str -> str (raise to reject). limit per person, optionally within
limit_window (timedelta or microseconds); priority (higher gives way later);
ttl; storage "clear" or "keyed_hash" (HMAC-SHA256 with hash_key); input
"raw" or "sha256" (hex digests).)doc")
      .def("register_default_types", &IdentityGraph::register_default_types,
           "Register phone, email, unionid, openid_mp, openid_oa, device_id, crm_id, cookie.")
      .def(
          "type_id",
          [](const IdentityGraph& g, const std::string& name) -> py::object {
            const TypeId t = g.type_id(name);
            return t == kNoType ? py::object(py::none()) : py::object(py::int_(t));
          },
          py::arg("name"), "The id of a type, or None.")
      .def(
          "types",
          [](const IdentityGraph& g) {
            py::list out;
            for (const auto& t : g.types()) {
              py::dict d;
              d["id"] = t.id;
              d["name"] = t.name;
              d["normalizer"] = normalizer_name(t.options.normalizer);
              d["limit"] = t.options.limit;
              d["limit_window"] = t.options.limit_window;
              d["priority"] = t.options.priority;
              d["ttl"] = t.options.ttl;
              d["storage"] = t.options.storage == Storage::keyed_hash ? "keyed_hash" : "clear";
              d["input"] = t.options.input == InputKind::sha256 ? "sha256" : "raw";
              d["max_length"] = t.options.max_length;
              d["auto_block_threshold"] = t.options.auto_block_threshold;
              d["ready"] = t.ready;
              out.append(d);
            }
            return out;
          },
          "The registered types as dicts.")
      .def(
          "set_custom_normalizer",
          [](IdentityGraph& g, const py::object& type, const py::object& fn, bool thread_safe) {
            g.set_custom_normalizer(type_arg(g, type), py_normalizer(fn), thread_safe);
          },
          py::arg("type"), py::arg("fn"), py::arg("thread_safe") = false,
          "Supply a custom normaliser (after reopening a workspace).")
      .def(
          "set_hash_key", [](IdentityGraph& g, const py::object& type, const std::string& key) { g.set_hash_key(type_arg(g, type), key); },
          py::arg("type"), py::arg("key"), "Supply the HMAC key of a keyed-hash type after reopening.")
      .def(
          "normalize",
          [](const IdentityGraph& g, const py::object& type, const std::string& value) {
            return g.normalize(type_arg(g, type), value);
          },
          py::arg("type"), py::arg("value"), "The stored form of a value; raises with the reason when invalid.")
      .def(
          "sha256_of",
          [](const IdentityGraph& g, const py::object& type, const std::string& value) {
            return g.sha256_of(type_arg(g, type), value);
          },
          py::arg("type"), py::arg("value"), "SHA-256 hex of the normalised value (the form ad platforms exchange).")
      .def(
          "link",
          [](IdentityGraph& g, const py::object& identifiers, TimeArg time, const std::string& source) {
            Record r;
            r.time = time;
            r.source = source;
            std::vector<std::pair<TypeId, std::string>> items;
            py::object pairs = py::isinstance<py::dict>(identifiers) ? identifiers.attr("items")() : identifiers;
            for (const py::handle& p : pairs) {
              py::tuple t = py::reinterpret_borrow<py::object>(p).cast<py::tuple>();
              if (t.size() != 2) throw InvalidArgument("identifiers must be (type, value) pairs");
              if (t[1].is_none()) continue;
              items.emplace_back(type_arg(g, t[0]), t[1].cast<std::string>());
            }
            for (const auto& [t, v] : items) r.identifiers.emplace_back(t, v);
            py::gil_scoped_release nogil;
            return g.link(r);
          },
          py::arg("identifiers"), py::kw_only(), py::arg("time") = 0, py::arg("source") = "",
          R"doc(Link one record: identifiers as {type: value} or [(type, value), ...] (None
values are skipped). Raises with the reason when the record is invalid.)doc")
      .def(
          "_link_arrays",
          [](IdentityGraph& g, py::array_t<uint64_t, py::array::c_style | py::array::forcecast> record_offsets,
             py::array_t<uint32_t, py::array::c_style | py::array::forcecast> types,
             py::array_t<int64_t, py::array::c_style | py::array::forcecast> value_offsets, const py::buffer& data,
             py::array_t<int64_t, py::array::c_style | py::array::forcecast> times,
             py::array_t<uint32_t, py::array::c_style | py::array::forcecast> source_codes,
             const std::vector<std::string>& source_names, bool best_effort, bool skip_invalid,
             bool return_record_ids, const py::object& progress) {
            const size_t n = static_cast<size_t>(times.size());
            if (static_cast<size_t>(record_offsets.size()) != n + 1) {
              throw InvalidArgument("record_offsets needs len(times) + 1 entries");
            }
            const size_t m = static_cast<size_t>(types.size());
            if (static_cast<size_t>(value_offsets.size()) != m + 1) {
              throw InvalidArgument("value_offsets needs len(types) + 1 entries");
            }
            if (source_codes.size() != 0 && static_cast<size_t>(source_codes.size()) != n) {
              throw InvalidArgument("source_codes needs one entry per record (or none)");
            }
            if (source_names.empty()) throw InvalidArgument("source_names must name at least one source");
            py::buffer_info bi = data.request();
            const char* bytes = static_cast<const char*>(bi.ptr);
            const size_t nbytes = static_cast<size_t>(bi.size * bi.itemsize);
            const uint64_t* ro = record_offsets.data();
            const uint32_t* ty = types.data();
            const int64_t* vo = value_offsets.data();
            const int64_t* tm = times.data();
            const uint32_t* sc = source_codes.size() ? source_codes.data() : nullptr;
            BatchOptions o;
            o.mode = best_effort ? BatchMode::best_effort : BatchMode::all_or_nothing;
            o.skip_invalid_identifiers = skip_invalid;
            o.return_record_ids = return_record_ids;
            if (!progress.is_none()) {
              PyRef cb = hold(progress);
              o.progress = [cb](uint64_t done, uint64_t total) { return call_progress(*cb, done, total); };
            }
            py::gil_scoped_release nogil;
            if (ro[0] != 0 || ro[n] != m) throw InvalidArgument("record_offsets must run from 0 to len(types)");
            RecordBatch b;
            b.reserve(n, m, nbytes);
            for (size_t r = 0; r < n; ++r) {
              if (ro[r + 1] < ro[r]) throw InvalidArgument("record_offsets must not decrease (at " + std::to_string(r) + ")");
              const uint32_t s = sc ? sc[r] : 0;
              if (s >= source_names.size()) throw InvalidArgument("source code " + std::to_string(s) + " has no name");
              b.begin_record(tm[r], source_names[s]);
              for (uint64_t k = ro[r]; k < ro[r + 1]; ++k) {
                const int64_t a = vo[k], e = vo[k + 1];
                if (a < 0 || e < a || static_cast<size_t>(e) > nbytes) {
                  throw InvalidArgument("value_offsets out of range at " + std::to_string(k));
                }
                b.add(ty[k], std::string_view(bytes + a, static_cast<size_t>(e - a)));
              }
            }
            return g.link_batch(b, o);
          },
          py::arg("record_offsets"), py::arg("types"), py::arg("value_offsets"), py::arg("data"), py::arg("times"),
          py::arg("source_codes"), py::arg("source_names"), py::arg("best_effort") = false,
          py::arg("skip_invalid") = false, py::arg("return_record_ids") = false, py::arg("progress") = py::none(),
          "Batch linking from flat arrays (used by cdpcore.identity.link_frame / link_long).")
      .def(
          "ordinal_of",
          [](const IdentityGraph& g, const py::object& type, const std::string& value) -> py::object {
            auto o = g.ordinal_of(type_arg(g, type), value);
            return o ? py::object(py::int_(*o)) : py::object(py::none());
          },
          py::arg("type"), py::arg("value"), "The person ordinal of a value (normalised first), or None.")
      .def(
          "ordinals_of",
          [](const IdentityGraph& g, const py::object& type, const py::object& values) {
            const TypeId t = type_arg(g, type);
            std::vector<std::string> owned;
            for (const py::handle& v : values) {
              if (v.is_none()) owned.emplace_back();
              else owned.push_back(py::str(v).cast<std::string>());
            }
            std::vector<std::string_view> views(owned.begin(), owned.end());
            std::vector<PersonOrdinal> out(views.size());
            {
              py::gil_scoped_release nogil;
              g.ordinals_of(t, views, out);
            }
            return to_array(std::move(out));
          },
          py::arg("type"), py::arg("values"),
          "Ordinals of many values as a uint32 NumPy array (NO_PERSON when unknown, invalid or blocked).")
      .def(
          "_ordinals_of_arrow",
          [](const IdentityGraph& g, const py::object& type, py::array_t<int64_t, py::array::c_style | py::array::forcecast> offsets,
             const py::buffer& data) {
            const TypeId t = type_arg(g, type);
            py::buffer_info bi = data.request();
            const char* bytes = static_cast<const char*>(bi.ptr);
            const size_t nbytes = static_cast<size_t>(bi.size * bi.itemsize);
            const size_t n = offsets.size() ? static_cast<size_t>(offsets.size()) - 1 : 0;
            const int64_t* off = offsets.data();
            std::vector<std::string_view> views(n);
            for (size_t i = 0; i < n; ++i) {
              if (off[i] < 0 || off[i + 1] < off[i] || static_cast<size_t>(off[i + 1]) > nbytes)
                throw InvalidArgument("offsets out of range at " + std::to_string(i));
              views[i] = std::string_view(bytes + off[i], static_cast<size_t>(off[i + 1] - off[i]));
            }
            std::vector<PersonOrdinal> out(n);
            {
              py::gil_scoped_release nogil;
              g.ordinals_of(t, views, out);
            }
            return to_array(std::move(out));
          },
          py::arg("type"), py::arg("offsets"), py::arg("data"), "ordinals_of over Arrow string buffers.")
      .def(
          "key_of",
          [](const IdentityGraph& g, PersonOrdinal o) -> py::object {
            auto k = g.key_of(o);
            return k ? py::object(py::int_(*k)) : py::object(py::none());
          },
          py::arg("ordinal"), "The stable key of a person, or None for a free ordinal.")
      .def(
          "keys_of",
          [](const IdentityGraph& g, py::array_t<uint32_t, py::array::c_style | py::array::forcecast> ordinals) {
            std::vector<PersonKey> out(static_cast<size_t>(ordinals.size()));
            g.keys_of(std::span<const PersonOrdinal>(ordinals.data(), out.size()), out);
            return to_array(std::move(out));
          },
          py::arg("ordinals"), "Keys of many ordinals as uint64 (0 for free ordinals).")
      .def(
          "ordinal_of_key",
          [](const IdentityGraph& g, PersonKey k) -> py::object {
            auto o = g.ordinal_of_key(k);
            return o ? py::object(py::int_(*o)) : py::object(py::none());
          },
          py::arg("key"), "The live ordinal of a key, following merges; None when erased or unknown.")
      .def(
          "resolve_key",
          [](const IdentityGraph& g, PersonKey k) -> py::object {
            auto o = g.resolve_key(k);
            return o ? py::object(py::int_(*o)) : py::object(py::none());
          },
          py::arg("key"), "The current key (the survivor's after merges); None when erased or unknown.")
      .def(
          "identifier_id",
          [](const IdentityGraph& g, const py::object& type, const std::string& value) -> py::object {
            auto o = g.identifier_id(type_arg(g, type), value);
            return o ? py::object(py::int_(*o)) : py::object(py::none());
          },
          py::arg("type"), py::arg("value"))
      .def("identifier", &IdentityGraph::identifier, py::arg("id"))
      .def(
          "identifiers_of",
          [](const IdentityGraph& g, PersonOrdinal o, const py::object& type) {
            return type.is_none() ? g.identifiers_of(o) : g.identifiers_of(o, type_arg(g, type));
          },
          py::arg("ordinal"), py::arg("type") = py::none(), "A person's identifiers (all or of one type), oldest first.")
      .def(
          "latest_identifier",
          [](const IdentityGraph& g, PersonOrdinal o, const py::object& type) {
            return g.latest_identifier(o, type_arg(g, type));
          },
          py::arg("ordinal"), py::arg("type"), "The identifier of a type seen most recently (to contact), or None.")
      .def("identifier_count", &IdentityGraph::identifier_count, py::arg("ordinal"))
      .def("persons", &IdentityGraph::persons, py::call_guard<py::gil_scoped_release>(), "The live persons (a Bitmap).")
      .def_property_readonly("ordinal_capacity", &IdentityGraph::ordinal_capacity,
                             "One more than the largest ordinal ever used.")
      .def(
          "stats",
          [](const IdentityGraph& g) {
            const IdentityStats s = g.stats();
            py::dict d;
            d["identifiers"] = s.identifiers;
            d["persons"] = s.persons;
            d["records"] = s.records;
            d["occurrences"] = s.occurrences;
            d["blocked"] = s.blocked;
            d["memory_bytes"] = s.memory_bytes;
            return d;
          },
          "Counts and memory in use.")
      .def(
          "partition", [](const IdentityGraph& g) { return to_array(g.partition()); },
          "Person ordinal of every identifier id (NO_PERSON for blocked or removed).")
      .def("changes_since", &IdentityGraph::changes_since, py::arg("cursor") = 0, py::arg("limit") = 10000,
           "Change-log entries with seq > cursor.")
      .def_property_readonly("last_change", &IdentityGraph::last_change)
      .def(
          "add_listener",
          [](IdentityGraph& g, const py::object& l) {
            auto pl = std::make_unique<PyListener>(l);
            g.add_listener(pl.get());
            pyg(g).py_listeners.push_back(std::move(pl));
          },
          py::arg("listener"),
          R"doc(Follow changes: `listener` may define on_merged(event), on_split(event),
on_erased(event) and on_rolled_back(). Called inside the batch's
transaction; an exception aborts the batch (raised as cdpcore.Cancelled).)doc")
      .def(
          "remove_listener",
          [](IdentityGraph& g, const py::object& l) {
            auto& v = pyg(g).py_listeners;
            for (size_t i = 0; i < v.size(); ++i) {
              if (v[i]->object().is(l)) {
                g.remove_listener(v[i].get());
                v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
                return true;
              }
            }
            return false;
          },
          py::arg("listener"))
      .def("conflicts", &IdentityGraph::conflicts, py::arg("cursor") = 0, py::arg("limit") = 10000,
           "Refused links with id > cursor.")
      .def_property_readonly("conflict_count", &IdentityGraph::conflict_count)
      .def("blocked", &IdentityGraph::blocked, "Values that no longer link.")
      .def(
          "block",
          [](IdentityGraph& g, const py::object& type, const std::string& value, bool dry_run, TimeArg time,
             const std::string& note) {
            const TypeId t = type_arg(g, type);
            RemoveOptions o = remove_opts(dry_run, false, time, note);
            py::gil_scoped_release nogil;
            return g.block(t, value, o);
          },
          py::arg("type"), py::arg("value"), py::kw_only(), py::arg("dry_run") = false, py::arg("time") = 0,
          py::arg("note") = "", "Put a value on the blocklist (its links are dropped now).")
      .def(
          "unblock",
          [](IdentityGraph& g, const py::object& type, const std::string& value) {
            return g.unblock(type_arg(g, type), value);
          },
          py::arg("type"), py::arg("value"))
      .def(
          "remove_identifier",
          [](IdentityGraph& g, const py::object& type, const std::string& value, bool dry_run, bool suppress,
             TimeArg time, const std::string& note) {
            const TypeId t = type_arg(g, type);
            RemoveOptions o = remove_opts(dry_run, suppress, time, note);
            py::gil_scoped_release nogil;
            return g.remove_identifier(t, value, o);
          },
          py::arg("type"), py::arg("value"), py::kw_only(), py::arg("dry_run") = false, py::arg("suppress") = false,
          py::arg("time") = 0, py::arg("note") = "")
      .def(
          "remove_record",
          [](IdentityGraph& g, RecordId rid, bool dry_run, bool suppress, TimeArg time,
             const std::string& note) {
            RemoveOptions o = remove_opts(dry_run, suppress, time, note);
            py::gil_scoped_release nogil;
            return g.remove_record(rid, o);
          },
          py::arg("record"), py::kw_only(), py::arg("dry_run") = false, py::arg("suppress") = false,
          py::arg("time") = 0, py::arg("note") = "")
      .def(
          "erase_person",
          [](IdentityGraph& g, PersonOrdinal ord, bool dry_run, bool suppress, TimeArg time,
             const std::string& note) {
            RemoveOptions o = remove_opts(dry_run, suppress, time, note);
            py::gil_scoped_release nogil;
            return g.erase_person(ord, o);
          },
          py::arg("ordinal"), py::kw_only(), py::arg("dry_run") = false, py::arg("suppress") = false,
          py::arg("time") = 0, py::arg("note") = "",
          "Right to erasure: no raw value of the person's identifiers remains in memory or in the file. "
          "suppress=True keeps a keyed hash of each value so that it is dropped when seen again "
          "(default False, as in C++ and C).")
      .def(
          "expire",
          [](IdentityGraph& g, TimeArg as_of, bool dry_run, const std::string& note) {
            RemoveOptions o = remove_opts(dry_run, false, as_of, note);
            const Timestamp t = o.time;
            py::gil_scoped_release nogil;
            return g.expire(t, o);
          },
          py::arg("as_of"), py::kw_only(), py::arg("dry_run") = false, py::arg("note") = "")
      .def(
          "is_suppressed",
          [](const IdentityGraph& g, const py::object& type, const std::string& value) {
            return g.is_suppressed(type_arg(g, type), value);
          },
          py::arg("type"), py::arg("value"))
      .def(
          "explain",
          [](const IdentityGraph& g, const py::object& type_a, const std::string& a, const py::object& type_b,
             const std::string& b) { return g.explain(type_arg(g, type_a), a, type_arg(g, type_b), b); },
          py::arg("type_a"), py::arg("a"), py::arg("type_b"), py::arg("b"),
          "The chain of records that makes two values the same person.")
      .def("records_of", &IdentityGraph::records_of, py::arg("identifier"), py::arg("limit") = 100)
      .def("record", &IdentityGraph::record, py::arg("record"))
      .def(
          "to_dot",
          [](const IdentityGraph& g, PersonOrdinal o, bool mask_values, bool show_conflicts) {
            DotOptions d;
            d.mask_values = mask_values;
            d.show_conflicts = show_conflicts;
            return g.to_dot(o, d);
          },
          py::arg("ordinal"), py::kw_only(), py::arg("mask_values") = true, py::arg("show_conflicts") = true,
          "Graphviz DOT of one person's identity cluster.")
      .def("__repr__", [](const IdentityGraph& g) {
        const IdentityStats s = g.stats();
        return "<cdpcore.IdentityGraph persons=" + std::to_string(s.persons) +
               " identifiers=" + std::to_string(s.identifiers) + ">";
      });
}

CDPCORE_PY_REGISTER(20, "identity", init_identity);

}  // namespace
}  // namespace cdpcore::python
