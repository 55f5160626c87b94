// The profile store's tables: schema, attribute values, identifiers events
// arrived with, the event log and retired ordinals.
#include "profile/persist.hpp"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cdpcore/error.hpp"
#include "profile/store_impl.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

namespace cdpcore::profile_detail::persist {

namespace {

constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE profile_attributes (
  id    INTEGER PRIMARY KEY,
  name  TEXT NOT NULL UNIQUE,
  type  TEXT NOT NULL,
  merge TEXT NOT NULL
);
CREATE TABLE profile_event_types (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE profile_event_properties (
  event_type INTEGER NOT NULL REFERENCES profile_event_types(id),
  position   INTEGER NOT NULL,
  name       TEXT NOT NULL,
  type       TEXT NOT NULL,
  PRIMARY KEY (event_type, position)
) WITHOUT ROWID;
CREATE TABLE profile_values (
  attribute INTEGER NOT NULL,
  person    INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  source    INTEGER NOT NULL,
  value,
  PRIMARY KEY (attribute, person)
) WITHOUT ROWID;
CREATE TABLE profile_sources (
  id    INTEGER PRIMARY KEY,
  type  TEXT NOT NULL,
  value TEXT NOT NULL,
  UNIQUE (type, value)
);
CREATE TABLE profile_events (
  id         INTEGER PRIMARY KEY,
  event_type INTEGER NOT NULL,
  person     INTEGER NOT NULL,
  time       INTEGER NOT NULL,
  source     INTEGER NOT NULL,
  props      BLOB NOT NULL
);
CREATE INDEX profile_events_person ON profile_events(person);
CREATE TABLE profile_retired (
  person INTEGER PRIMARY KEY
);
CREATE TABLE profile_meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
)sql";

void put_u64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.append(b, 8);
}

uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

[[noreturn]] void corrupt(std::string_view what, int64_t row) {
  throw CorruptError("profile_events row " + std::to_string(row) + ": " + std::string(what));
}

}  // namespace

void ensure_tables(Workspace& ws) {
  static const Migration kMigrations[] = {{1, kMigration1}};
  ws.ensure_schema("profile", kMigrations);
}

int64_t insert_attribute(Workspace& ws, const AttributeDef& def) {
  auto& db = database_of(ws);
  auto& st = db.cached("INSERT INTO profile_attributes(name, type, merge) VALUES (?, ?, ?)");
  st.bind_all(def.name, value_type_name(def.type), merge_policy_name(def.merge));
  st.run();
  return db.last_insert_rowid();
}

int64_t save_event_type(Workspace& ws, int64_t id, std::string_view name, size_t first_position,
                        std::span<const PropertyDef> added) {
  auto& db = database_of(ws);
  sql::Transaction tx(db);
  if (id == 0) {
    auto& st = db.cached("INSERT INTO profile_event_types(name) VALUES (?)");
    st.bind(1, name);
    st.run();
    id = db.last_insert_rowid();
  }
  auto& st = db.cached("INSERT INTO profile_event_properties(event_type, position, name, type) VALUES (?, ?, ?, ?)");
  for (size_t i = 0; i < added.size(); ++i) {
    st.bind_all(id, static_cast<int64_t>(first_position + i), added[i].name, value_type_name(added[i].type));
    st.run();
  }
  tx.commit();
  return id;
}

void encode_null(std::string& out) { out.push_back('\0'); }
void encode_int(std::string& out, int64_t v) {
  out.push_back('\1');
  put_u64(out, static_cast<uint64_t>(v));
}
void encode_double(std::string& out, double v) {
  out.push_back('\2');
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  put_u64(out, bits);
}
void encode_string(std::string& out, std::string_view s) {
  out.push_back('\3');
  uint64_t n = s.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7F) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  out.append(s);
}

std::string encode_set(const std::vector<std::string_view>& members) {
  nlohmann::json a = nlohmann::json::array();
  for (auto m : members) a.push_back(std::string(m));
  return a.dump();
}

std::vector<std::string> decode_set(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) throw CorruptError("profile_values: a set value is not a JSON array");
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) throw CorruptError("profile_values: a set member is not a string");
    out.push_back(e.get<std::string>());
  }
  return out;
}

void load(Workspace& ws, ProfileStore::Impl& im) {
  auto& db = database_of(ws);
  sql::ReadSnapshot snapshot(db);  // one view of every table, whatever other connections commit
  // schema
  {
    auto st = db.prepare("SELECT id, name, type, merge FROM profile_attributes ORDER BY id");
    while (st.step()) {
      auto col = std::make_unique<AttrColumn>();
      col->id = st.column_int64(0);
      col->def.name = std::string(st.column_text(1));
      col->def.type = parse_value_type(st.column_text(2));
      col->def.merge = parse_merge_policy(st.column_text(3));
      im.schema.attributes.push_back(col->def);
      im.attr_index.emplace(col->def.name, im.attrs.size());
      im.attrs.push_back(std::move(col));
    }
  }
  std::unordered_map<int64_t, size_t> event_by_id;
  {
    auto st = db.prepare("SELECT id, name FROM profile_event_types ORDER BY id");
    while (st.step()) {
      auto t = std::make_unique<EventTable>();
      t->id = st.column_int64(0);
      t->def.name = std::string(st.column_text(1));
      event_by_id[t->id] = im.events.size();
      im.event_index.emplace(t->def.name, im.events.size());
      im.events.push_back(std::move(t));
    }
    auto ps = db.prepare("SELECT event_type, name, type FROM profile_event_properties ORDER BY event_type, position");
    while (ps.step()) {
      auto it = event_by_id.find(ps.column_int64(0));
      if (it == event_by_id.end()) throw CorruptError("profile_event_properties: unknown event type id");
      im.events[it->second]->def.properties.push_back(
          PropertyDef{std::string(ps.column_text(1)), parse_value_type(ps.column_text(2))});
    }
    for (auto& t : im.events) {
      t->add_prop_columns();
      im.schema.event_types.push_back(t->def);
    }
  }
  std::unordered_map<int64_t, size_t> attr_by_id;
  for (size_t i = 0; i < im.attrs.size(); ++i) attr_by_id[im.attrs[i]->id] = i;
  // sources
  {
    auto st = db.prepare("SELECT id, type, value FROM profile_sources ORDER BY id");
    while (st.step()) {
      auto id = st.column_int64(0);
      if (id != static_cast<int64_t>(im.sources.size()) + 1) throw CorruptError("profile_sources: ids are not dense");
      im.sources.emplace_back(std::string(st.column_text(1)), std::string(st.column_text(2)));
      std::string key = im.sources.back().first + '\x1f' + im.sources.back().second;
      im.source_index.emplace(std::move(key), static_cast<uint32_t>(id));
    }
  }
  // retired ordinals
  {
    auto st = db.prepare("SELECT person FROM profile_retired");
    while (st.step()) im.retired.add(static_cast<uint32_t>(st.column_int64(0)));
  }
  // attribute values
  {
    uint64_t max_seq = 0;
    auto st = db.prepare("SELECT attribute, person, seq, source, value FROM profile_values ORDER BY attribute, person");
    while (st.step()) {
      auto it = attr_by_id.find(st.column_int64(0));
      if (it == attr_by_id.end()) throw CorruptError("profile_values: unknown attribute id");
      auto& col = *im.attrs[it->second];
      auto p = static_cast<PersonOrdinal>(st.column_int64(1));
      im.note_person(p);
      col.ensure_size(static_cast<size_t>(p) + 1);
      col.seq[p] = static_cast<uint64_t>(st.column_int64(2));
      if (col.seq[p] > max_seq) max_seq = col.seq[p];
      col.valid[p] = 1;
      col.source[p] = static_cast<uint32_t>(st.column_int64(3));
      switch (col.def.type) {
        case ValueType::boolean:
        case ValueType::int64:
        case ValueType::timestamp: col.ints[p] = st.column_int64(4); break;
        case ValueType::float64: col.doubles[p] = st.column_double(4); break;
        case ValueType::string: col.codes[p] = col.dict.intern(st.column_text(4)); break;
        case ValueType::string_set: {
          std::vector<uint32_t> codes;
          for (const auto& m : decode_set(st.column_text(4))) codes.push_back(col.dict.intern(m));
          std::sort(codes.begin(), codes.end());
          col.sets[p] = std::move(codes);
          break;
        }
        case ValueType::null: break;
      }
    }
    im.next_seq = max_seq + 1;
  }
  // events
  {
    std::vector<std::vector<uint8_t>> tracking;  // per table, per property: has a validity column
    for (const auto& t : im.events) tracking.emplace_back(t->def.properties.size(), 0);
    auto st = db.prepare("SELECT id, event_type, person, time, source, props FROM profile_events ORDER BY id");
    while (st.step()) {
      int64_t row = st.column_int64(0);
      auto it = event_by_id.find(st.column_int64(1));
      if (it == event_by_id.end()) corrupt("unknown event type id", row);
      auto& t = *im.events[it->second];
      auto p = static_cast<PersonOrdinal>(st.column_int64(2));
      im.note_person(p);
      auto& c = t.pending;
      size_t r = c.size();
      c.person.push_back(p);
      c.time.push_back(st.column_int64(3));
      c.source.push_back(static_cast<uint32_t>(st.column_int64(4)));
      auto blob = st.column_blob(5);
      size_t pos = 0;
      for (size_t i = 0; i < t.def.properties.size(); ++i) {
        auto& prop = c.props[i];
        auto type = t.def.properties[i].type;
        uint8_t tag = pos < blob.size() ? blob[pos++] : 0;
        bool is_null = tag == 0;
        if (tag == 1 || tag == 2) {
          if (pos + 8 > blob.size()) corrupt("truncated property value", row);
          uint64_t bits = get_u64(blob.data() + pos);
          pos += 8;
          if (type == ValueType::float64) {
            double d;
            if (tag == 2) std::memcpy(&d, &bits, 8);
            else d = static_cast<double>(static_cast<int64_t>(bits));
            prop.doubles.push_back(d);
          } else if (type == ValueType::string) {
            corrupt("a number where a string was expected", row);
          } else {
            prop.ints.push_back(static_cast<int64_t>(bits));
          }
        } else if (tag == 3) {
          uint64_t n = 0;
          int shift = 0;
          while (true) {
            if (pos >= blob.size() || shift > 56) corrupt("bad string length", row);
            uint8_t b = blob[pos++];
            n |= static_cast<uint64_t>(b & 0x7F) << shift;
            if (!(b & 0x80)) break;
            shift += 7;
          }
          if (n > blob.size() - pos) corrupt("truncated string", row);
          if (type != ValueType::string) corrupt("a string where a number was expected", row);
          prop.codes.push_back(
              t.dicts[i].intern(std::string_view(reinterpret_cast<const char*>(blob.data() + pos), n)));
          pos += n;
        } else if (tag != 0) {
          corrupt("unknown value tag", row);
        }
        if (is_null) {
          switch (type) {
            case ValueType::float64: prop.doubles.push_back(std::nan("")); break;
            case ValueType::string: prop.codes.push_back(kNoCode); break;
            default: prop.ints.push_back(0); break;
          }
          if (!tracking[it->second][i]) {
            prop.valid.assign(r, 1);
            tracking[it->second][i] = 1;
          }
        }
        if (tracking[it->second][i]) prop.valid.push_back(is_null ? 0 : 1);
      }
    }
  }
  for (auto& a : im.attrs) a->ensure_size(im.person_count);
  for (auto& t : im.events) t->compact(im.person_count);
}

}  // namespace cdpcore::profile_detail::persist
