// C ABI of the profile store: a thin layer over cdpcore::ProfileStore.
#include <cmath>
#include <nlohmann/json.hpp>

#include "capi/bitmap_handles.hpp"
#include "capi/capi_internal.hpp"
#include "capi/handles.hpp"
#include "capi/profile_handles.hpp"

using namespace cdpcore;
using nlohmann::json;

struct cdp_write_report {
  WriteReport r;
};

namespace {

ValueType value_type_of(cdp_value_type t) {
  switch (t) {
    case CDP_TYPE_BOOL: return ValueType::boolean;
    case CDP_TYPE_INT64: return ValueType::int64;
    case CDP_TYPE_DOUBLE: return ValueType::float64;
    case CDP_TYPE_STRING: return ValueType::string;
    case CDP_TYPE_TIMESTAMP: return ValueType::timestamp;
    case CDP_TYPE_STRING_SET: return ValueType::string_set;
    default: throw InvalidArgument("unknown cdp_value_type " + std::to_string(t));
  }
}

MergePolicy merge_of(cdp_merge_policy m) {
  if (m < CDP_MERGE_LATEST || m > CDP_MERGE_UNION) throw InvalidArgument("unknown cdp_merge_policy " + std::to_string(m));
  return static_cast<MergePolicy>(m);
}

/// Views of Arrow-layout strings: `count` values from offsets/data.
void string_views(const int64_t* offsets, const char* data, size_t count, std::vector<std::string_view>& out,
                   const char* what) {
  out.clear();
  if (count == 0) return;
  capi::arg_not_null(offsets, what);
  if (offsets[0] < 0) throw InvalidArgument(std::string(what) + ": offsets must start at 0 or more");
  if (offsets[count] > offsets[0] && !data) throw InvalidArgument(std::string(what) + ": data is NULL");
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (offsets[i + 1] < offsets[i]) throw InvalidArgument(std::string(what) + ": offsets decrease at " + std::to_string(i));
    out.emplace_back(data + offsets[i], static_cast<size_t>(offsets[i + 1] - offsets[i]));
  }
}

/// Owns the views a batch's columns need.
struct Columns {
  std::vector<ColumnInput> inputs;
  std::vector<std::vector<std::string_view>> strings;
};

void convert_columns(const cdp_column* cols, size_t n, size_t rows, Columns& out) {
  if (n && !cols) throw InvalidArgument("columns is NULL");
  out.inputs.resize(n);
  out.strings.resize(2 * n);
  for (size_t i = 0; i < n; ++i) {
    const cdp_column& c = cols[i];
    capi::check_struct_version(c.version, CDP_COLUMN_VERSION, "cdp_column");
    ColumnInput& in = out.inputs[i];
    in.name = std::string(capi::arg_string(c.name, c.name_len, "column name"));
    in.type = value_type_of(c.type);
    std::string what = "column \"" + in.name + "\"";
    if (c.valid) in.valid = std::span<const uint8_t>(c.valid, rows);
    switch (in.type) {
      case ValueType::boolean:
        in.bools = std::span<const uint8_t>(capi::arg_not_null(c.bools, (what + ": bools").c_str()), rows);
        break;
      case ValueType::int64:
        in.int64s = std::span<const int64_t>(capi::arg_not_null(c.int64s, (what + ": int64s").c_str()), rows);
        break;
      case ValueType::timestamp:
        if (c.int64s) {
          in.int64s = std::span<const int64_t>(c.int64s, rows);
        } else {
          in.type = ValueType::string;  // ISO 8601 text for a timestamp column
          string_views(c.string_offsets, c.string_data, rows, out.strings[2 * i], what.c_str());
          in.strings = out.strings[2 * i];
        }
        break;
      case ValueType::float64:
        if (c.doubles) in.doubles = std::span<const double>(c.doubles, rows);
        else {
          in.type = ValueType::int64;
          in.int64s = std::span<const int64_t>(capi::arg_not_null(c.int64s, (what + ": doubles").c_str()), rows);
        }
        break;
      case ValueType::string:
        if (c.codes) {
          in.codes = std::span<const int32_t>(c.codes, rows);
          string_views(c.dict_offsets, c.dict_data, c.dict_count, out.strings[2 * i + 1], (what + ": dictionary").c_str());
          in.dictionary = out.strings[2 * i + 1];
        } else {
          string_views(c.string_offsets, c.string_data, rows, out.strings[2 * i], what.c_str());
          in.strings = out.strings[2 * i];
        }
        break;
      case ValueType::string_set: {
        capi::arg_not_null(c.set_offsets, (what + ": set_offsets").c_str());
        in.set_offsets = std::span<const uint32_t>(c.set_offsets, rows + 1);
        size_t members = c.set_offsets[rows];
        string_views(c.string_offsets, c.string_data, members, out.strings[2 * i], what.c_str());
        in.strings = out.strings[2 * i];
        break;
      }
      case ValueType::null: break;
    }
  }
}

WriteOptions write_options(const cdp_write_options* o) {
  WriteOptions w;
  if (!o) return w;
  capi::check_struct_version(o->version, CDP_WRITE_OPTIONS_VERSION, "cdp_write_options");
  w.best_effort = o->best_effort != 0;
  w.nulls_clear = o->nulls_clear != 0;
  w.create_persons = o->create_persons != 0;
  w.time = o->time;
  w.progress = capi::progress_callback(o->progress, o->progress_user_data);
  return w;
}

/// Row keys with the views they need.
struct Keys {
  RowKeys keys;
  std::vector<std::string_view> ids;
};

void convert_keys(const cdp_row_keys* k, Keys& out) {
  capi::arg_not_null(k, "keys");
  if (k->ordinals) {
    out.keys = RowKeys::of(std::span<const PersonOrdinal>(k->ordinals, k->rows));
    return;
  }
  if (k->rows == 0 && !k->identifier_type) {
    out.keys = RowKeys::of(std::span<const PersonOrdinal>());
    return;
  }
  string_views(k->id_offsets, k->id_data, k->rows, out.ids, "identifier values");
  out.keys = RowKeys::of_identifiers(capi::arg_string(k->identifier_type, k->identifier_type_len, "identifier_type"),
                                     out.ids);
  if (out.ids.empty()) out.keys.identifier_values = {};
}

json value_json(const Value& v) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) return nullptr;
        else if constexpr (std::is_same_v<T, double>) return std::isfinite(x) ? json(x) : json(nullptr);
        else return json(x);
      },
      v);
}

cdp_status put_json(const json& j, char** out, size_t* out_len) {
  std::string s = j.dump();
  *out = capi::dup_string(s);
  if (out_len) *out_len = s.size();
  return CDP_OK;
}

void report_out(WriteReport&& r, cdp_write_report** out) {
  if (out) *out = new cdp_write_report{std::move(r)};
}

}  // namespace

extern "C" {

cdp_status cdp_profile_store_new(cdp_profile_store** out, cdp_workspace* ws) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  if (ws) *out = new cdp_profile_store{ws->ws, ProfileStore(ws->ws)};
  else *out = new cdp_profile_store{nullptr, ProfileStore()};
  CDP_API_END()
}

void cdp_profile_store_free(cdp_profile_store* s) { delete s; }

cdp_status cdp_profile_define_attribute(cdp_profile_store* s, const char* name, size_t name_len, cdp_value_type type,
                                        cdp_merge_policy merge) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  s->store.define_attribute(
      AttributeDef{std::string(capi::arg_string(name, name_len, "name")), value_type_of(type), merge_of(merge)});
  CDP_API_END()
}

cdp_status cdp_profile_define_event_type(cdp_profile_store* s, const char* name, size_t name_len,
                                         const cdp_property_def* properties, size_t count) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  EventTypeDef def;
  def.name = std::string(capi::arg_string(name, name_len, "name"));
  if (count) capi::arg_not_null(properties, "properties");
  for (size_t i = 0; i < count; ++i)
    def.properties.push_back(PropertyDef{std::string(capi::arg_string(properties[i].name, properties[i].name_len, "property name")),
                                         value_type_of(properties[i].type)});
  s->store.define_event_type(def);
  CDP_API_END()
}

cdp_status cdp_profile_schema_json(const cdp_profile_store* s, char** out, size_t* out_len) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  capi::arg_not_null(out, "out");
  const auto& sc = s->store.schema();
  json attrs = json::array(), events = json::array();
  for (const auto& a : sc.attributes)
    attrs.push_back({{"name", a.name}, {"type", value_type_name(a.type)}, {"merge", merge_policy_name(a.merge)}});
  for (const auto& e : sc.event_types) {
    json props = json::array();
    for (const auto& p : e.properties) props.push_back({{"name", p.name}, {"type", value_type_name(p.type)}});
    events.push_back({{"name", e.name}, {"properties", props}});
  }
  return put_json(json{{"attributes", attrs}, {"event_types", events}}, out, out_len);
  CDP_API_END()
}

CDP_DEFINE_OPTIONS_INIT(cdp_write_options, CDP_WRITE_OPTIONS)

cdp_status cdp_profile_upsert(cdp_profile_store* s, const cdp_row_keys* keys, const cdp_column* columns,
                              size_t column_count, const cdp_write_options* opts, cdp_write_report** out_report) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  if (out_report) *out_report = nullptr;
  Keys k;
  convert_keys(keys, k);
  Columns c;
  convert_columns(columns, column_count, keys->rows, c);
  report_out(s->store.upsert_attributes(k.keys, c.inputs, write_options(opts)), out_report);
  CDP_API_END()
}

cdp_status cdp_profile_append_events(cdp_profile_store* s, const char* event_type, size_t event_type_len,
                                     const cdp_row_keys* keys, const int64_t* times, const cdp_column* columns,
                                     size_t column_count, const cdp_write_options* opts,
                                     cdp_write_report** out_report) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  if (out_report) *out_report = nullptr;
  Keys k;
  convert_keys(keys, k);
  if (keys->rows) capi::arg_not_null(times, "times");
  Columns c;
  convert_columns(columns, column_count, keys->rows, c);
  report_out(s->store.append_events(capi::arg_string(event_type, event_type_len, "event_type"), k.keys,
                                    std::span<const Timestamp>(times, keys->rows), c.inputs, write_options(opts)),
             out_report);
  CDP_API_END()
}

namespace {
FileLoadOptions file_options(const cdp_file_load_options* o) {
  FileLoadOptions f;
  if (!o) return f;
  capi::check_struct_version(o->version, CDP_FILE_LOAD_OPTIONS_VERSION, "cdp_file_load_options");
  if (o->event_type) f.event_type = std::string(capi::arg_cstring(o->event_type, "event_type"));
  if (o->key_column) f.key_column = std::string(capi::arg_cstring(o->key_column, "key_column"));
  if (o->identifier_type) f.identifier_type = std::string(capi::arg_cstring(o->identifier_type, "identifier_type"));
  if (o->time_column) f.time_column = std::string(capi::arg_cstring(o->time_column, "time_column"));
  f.write = write_options(&o->write);
  return f;
}
}  // namespace

cdp_status cdp_profile_load_csv(cdp_profile_store* s, const char* path, size_t path_len,
                                const cdp_file_load_options* opts, cdp_write_report** out_report) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  if (out_report) *out_report = nullptr;
  report_out(s->store.load_csv(std::string(capi::arg_string(path, path_len, "path")), file_options(opts)), out_report);
  CDP_API_END()
}

cdp_status cdp_profile_load_jsonl(cdp_profile_store* s, const char* path, size_t path_len,
                                  const cdp_file_load_options* opts, cdp_write_report** out_report) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  if (out_report) *out_report = nullptr;
  report_out(s->store.load_jsonl(std::string(capi::arg_string(path, path_len, "path")), file_options(opts)), out_report);
  CDP_API_END()
}

uint64_t cdp_write_report_rows_applied(const cdp_write_report* r) { return r ? r->r.rows_applied : 0; }
size_t cdp_write_report_rejected_count(const cdp_write_report* r) { return r ? r->r.rejected.size() : 0; }

cdp_status cdp_write_report_rejected(const cdp_write_report* r, size_t i, uint64_t* out_index,
                                     const char** out_message) {
  CDP_API_BEGIN()
  capi::arg_not_null(r, "report");
  if (i >= r->r.rejected.size()) throw InvalidArgument("rejected row " + std::to_string(i) + " is out of range");
  if (out_index) *out_index = r->r.rejected[i].index;
  if (out_message) *out_message = r->r.rejected[i].message.c_str();
  CDP_API_END()
}

cdp_status cdp_write_report_touched(const cdp_write_report* r, cdp_bitmap** out) {
  CDP_API_BEGIN()
  capi::arg_not_null(r, "report");
  capi::arg_not_null(out, "out");
  *out = capi::new_bitmap(r->r.touched);
  CDP_API_END()
}

void cdp_write_report_free(cdp_write_report* r) { delete r; }

cdp_status cdp_profile_write_doubles(cdp_profile_store* s, const char* attribute, size_t attribute_len,
                                     const uint32_t* ordinals, const double* values, size_t count) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  if (count) {
    capi::arg_not_null(ordinals, "ordinals");
    capi::arg_not_null(values, "values");
  }
  s->store.write_doubles(capi::arg_string(attribute, attribute_len, "attribute"),
                         std::span<const PersonOrdinal>(ordinals, count), std::span<const double>(values, count));
  CDP_API_END()
}

cdp_status cdp_profile_person_count(const cdp_profile_store* s, size_t* out) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  capi::arg_not_null(out, "out");
  *out = s->store.person_count();
  CDP_API_END()
}

cdp_status cdp_profile_read_doubles(const cdp_profile_store* s, const char* attribute, size_t attribute_len,
                                    const uint32_t* ordinals, size_t count, double* out) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  if (count) {
    capi::arg_not_null(ordinals, "ordinals");
    capi::arg_not_null(out, "out");
  }
  auto v = s->store.read_doubles(capi::arg_string(attribute, attribute_len, "attribute"),
                                 std::span<const PersonOrdinal>(ordinals, count));
  std::copy(v.begin(), v.end(), out);
  CDP_API_END()
}

cdp_status cdp_profile_value_json(const cdp_profile_store* s, uint32_t person, const char* attribute,
                                  size_t attribute_len, char** out, size_t* out_len) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  capi::arg_not_null(out, "out");
  return put_json(value_json(s->store.value(person, capi::arg_string(attribute, attribute_len, "attribute"))), out,
                  out_len);
  CDP_API_END()
}

cdp_status cdp_profile_person_events_json(const cdp_profile_store* s, uint32_t person, const char* event_type,
                                          size_t event_type_len, char** out, size_t* out_len) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  capi::arg_not_null(out, "out");
  std::string_view type = capi::arg_string(event_type, event_type_len, "event_type");
  const auto* def = s->store.schema().event_type(type);
  auto events = s->store.person_events(person, type);
  json a = json::array();
  for (const auto& e : events) {
    json o{{"time", e.time}};
    for (size_t i = 0; i < e.properties.size() && def && i < def->properties.size(); ++i)
      o[def->properties[i].name] = value_json(e.properties[i]);
    a.push_back(std::move(o));
  }
  return put_json(a, out, out_len);
  CDP_API_END()
}

cdp_status cdp_profile_event_count(const cdp_profile_store* s, const char* event_type, size_t event_type_len,
                                   uint64_t* out) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  capi::arg_not_null(out, "out");
  *out = s->store.event_count(capi::arg_string(event_type, event_type_len, "event_type"));
  CDP_API_END()
}

cdp_status cdp_profile_compact(cdp_profile_store* s) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  s->store.compact();
  CDP_API_END()
}

cdp_status cdp_profile_memory_usage(const cdp_profile_store* s, uint64_t* attribute_bytes, uint64_t* event_bytes,
                                    uint64_t* events) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  auto m = s->store.memory_usage();
  if (attribute_bytes) *attribute_bytes = m.attribute_bytes;
  if (event_bytes) *event_bytes = m.event_bytes;
  if (events) *events = m.events;
  CDP_API_END()
}

cdp_status cdp_profile_merge_persons(cdp_profile_store* s, uint32_t survivor, uint32_t absorbed) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  s->store.merge_persons(survivor, absorbed);
  CDP_API_END()
}

cdp_status cdp_profile_erase_person(cdp_profile_store* s, uint32_t person) {
  CDP_API_BEGIN()
  capi::arg_not_null(s, "store");
  s->store.erase_person(person);
  CDP_API_END()
}

}  // extern "C"
