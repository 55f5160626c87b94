// Persistence of the identity graph in the workspace's SQLite file.
//
// Tables (component "identity", schema version 1):
//   identity_types        id, name, config (JSON of the options; no callbacks, no keys)
//   identity_sources      id, name
//   identity_identifiers  id, type, value (stored form), flags, seen (auto-block count), blocked_at
//   identity_records      id, time, source, members (uint32 LE per occurrence: id | linked bit | removed bit)
//   identity_persons      key, ordinal, rep (a member), merged_into, state (0 alive, 1 merged, 2 erased)
//   identity_log          seq, kind, cause, time, source, record, ordinal, key, absorbed, absorbed_key, parts (JSON)
//   identity_conflicts    id, record, time, source, identifier, limited_type, reason, kept_in, refused
//   identity_suppressed   type, digest (HMAC-SHA256 of the erased value), time
//   identity_state        key, value (next_key)
// Persons are not stored member by member: loading recomputes the connected
// components of the linked occurrences and names each by the person whose
// `rep` it contains.
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cdpcore/hash.hpp"
#include "identity/graph_impl.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

namespace cdpcore::idg {

namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE identity_types (
  id     INTEGER PRIMARY KEY,
  name   TEXT NOT NULL UNIQUE,
  config TEXT NOT NULL
);
CREATE TABLE identity_sources (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE identity_identifiers (
  id         INTEGER PRIMARY KEY,
  type       INTEGER NOT NULL,
  value      BLOB NOT NULL,
  flags      INTEGER NOT NULL DEFAULT 0,
  seen       INTEGER NOT NULL DEFAULT 0,
  blocked_at INTEGER
);
CREATE TABLE identity_records (
  id      INTEGER PRIMARY KEY,
  time    INTEGER NOT NULL,
  source  INTEGER NOT NULL,
  members BLOB NOT NULL
);
CREATE TABLE identity_persons (
  key         INTEGER PRIMARY KEY,
  ordinal     INTEGER,
  rep         INTEGER,
  merged_into INTEGER,
  state       INTEGER NOT NULL
);
CREATE TABLE identity_log (
  seq          INTEGER PRIMARY KEY,
  kind         INTEGER NOT NULL,
  cause        INTEGER NOT NULL,
  time         INTEGER NOT NULL,
  source       TEXT NOT NULL,
  record       INTEGER,
  ordinal      INTEGER,
  key          INTEGER,
  absorbed     INTEGER,
  absorbed_key INTEGER,
  parts        TEXT
);
CREATE TABLE identity_conflicts (
  id           INTEGER PRIMARY KEY,
  record       INTEGER,
  time         INTEGER NOT NULL,
  source       TEXT NOT NULL,
  identifier   INTEGER NOT NULL,
  limited_type INTEGER,
  reason       INTEGER NOT NULL,
  kept_in      INTEGER,
  refused      INTEGER
);
CREATE TABLE identity_suppressed (
  type   INTEGER NOT NULL,
  digest BLOB NOT NULL,
  time   INTEGER NOT NULL,
  PRIMARY KEY (type, digest)
) WITHOUT ROWID;
CREATE TABLE identity_state (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
)sql";

constexpr Migration kMigrations[] = {{1, kSchemaV1}};

std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void bind_opt(sql::Statement& st, int idx, uint64_t v, uint64_t none) {
  if (v == none) st.bind_null(idx);
  else st.bind(idx, static_cast<int64_t>(v));
}

}  // namespace

void GraphState::open_schema() {
  ws->ensure_schema("identity", kMigrations);
  db = &database_of(*ws);
  if (!options.suppression_key.empty()) {
    suppression_key = options.suppression_key;
  } else if (auto k = ws->setting("identity.suppression_key")) {
    suppression_key = *k;
  } else {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) throw Error(ErrorCode::error, "identity graph: no random bytes for a key");
    suppression_key = to_hex_bytes(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
    if (!ws->read_only()) ws->set_setting("identity.suppression_key", suppression_key);
  }
}

void GraphState::write_type(const TypeState& t) {
  if (!db) return;
  db->cached("INSERT INTO identity_types(id, name, config) VALUES(?, ?, ?) "
             "ON CONFLICT(id) DO UPDATE SET config = excluded.config")
      .bind_all(static_cast<int64_t>(t.id), t.name, type_config_json(t))
      .run();
}

void GraphState::checkpoint_wal() {
  if (!db || ws->path() == ":memory:") return;
  // Old page images of erased rows must not survive in the write-ahead log.
  sqlite3_exec(db->handle(), "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
}

void GraphState::persist_batch() {
  sql::Database& D = *db;
  for (size_t i = mark.sources; i < sources.size(); ++i) {
    D.cached("INSERT INTO identity_sources(id, name) VALUES(?, ?)").bind_all(static_cast<int64_t>(i), sources[i]).run();
  }

  // Identifiers.
  {
    sql::Statement& ins = D.cached(
        "INSERT INTO identity_identifiers(id, type, value, flags, seen, blocked_at) VALUES(?, ?, ?, ?, ?, ?)");
    auto bind_row = [&](sql::Statement& st, uint32_t id) {
      st.bind(1, static_cast<int64_t>(id));
      st.bind(2, static_cast<int64_t>(type_of(id)));
      st.bind_blob(3, as_bytes(value_of(id)));
      st.bind(4, static_cast<int64_t>(flags_of(id) & (kFlagBlocked | kFlagBlocklist)));
      st.bind(5, static_cast<int64_t>(seen[id]));
      auto it = block_meta.find(id);
      if (it != block_meta.end()) st.bind(6, it->second.time);
      else st.bind_null(6);
    };
    for (uint32_t id = mark.ids; id < id_count(); ++id) {
      if (is_deleted(id)) continue;
      bind_row(ins, id);
      ins.run();
    }
    std::sort(dirty_ids.begin(), dirty_ids.end());
    dirty_ids.erase(std::unique(dirty_ids.begin(), dirty_ids.end()), dirty_ids.end());
    for (uint32_t id : dirty_ids) {
      if (is_deleted(id)) {
        D.cached("DELETE FROM identity_identifiers WHERE id = ?").bind(1, static_cast<int64_t>(id)).run();
        continue;
      }
      sql::Statement& up =
          D.cached("UPDATE identity_identifiers SET flags = ?, seen = ?, blocked_at = ? WHERE id = ?");
      up.bind(1, static_cast<int64_t>(flags_of(id) & (kFlagBlocked | kFlagBlocklist)));
      up.bind(2, static_cast<int64_t>(seen[id]));
      auto it = block_meta.find(id);
      if (it != block_meta.end()) up.bind(3, it->second.time);
      else up.bind_null(3);
      up.bind(4, static_cast<int64_t>(id));
      up.run();
    }
  }

  // Records.
  {
    std::vector<uint32_t> members;
    auto blob_of = [&](uint32_t r) {
      members.clear();
      const uint32_t b = rec_begin[r];
      const uint32_t e = r + 1 < rec_begin.size() ? rec_begin[r + 1] : static_cast<uint32_t>(occ.size());
      for (uint32_t o = b; o < e; ++o) members.push_back(occ[o]);
      return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(members.data()), members.size() * 4);
    };
    sql::Statement& ins = D.cached("INSERT INTO identity_records(id, time, source, members) VALUES(?, ?, ?, ?)");
    for (uint64_t r = mark.recs; r < record_count(); ++r) {
      if (rec_src[r] & kRecRemoved) continue;
      ins.bind(1, static_cast<int64_t>(r));
      ins.bind(2, rec_time[r]);
      ins.bind(3, static_cast<int64_t>(rec_src[r]));
      ins.bind_blob(4, blob_of(static_cast<uint32_t>(r)));
      ins.run();
    }
    std::sort(dirty_recs.begin(), dirty_recs.end());
    dirty_recs.erase(std::unique(dirty_recs.begin(), dirty_recs.end()), dirty_recs.end());
    for (uint32_t r : dirty_recs) {
      if (rec_src[r] & kRecRemoved) {
        D.cached("DELETE FROM identity_records WHERE id = ?").bind(1, static_cast<int64_t>(r)).run();
        continue;
      }
      sql::Statement& up = D.cached("UPDATE identity_records SET members = ? WHERE id = ?");
      up.bind_blob(1, blob_of(r));
      up.bind(2, static_cast<int64_t>(r));
      up.run();
    }
  }

  // Persons: new keys and changed ones.
  {
    for (PersonKey k = mark.next_key; k < next_key; ++k) dirty_keys.push_back(k);
    std::sort(dirty_keys.begin(), dirty_keys.end());
    dirty_keys.erase(std::unique(dirty_keys.begin(), dirty_keys.end()), dirty_keys.end());
    sql::Statement& up = D.cached(
        "INSERT INTO identity_persons(key, ordinal, rep, merged_into, state) VALUES(?, ?, ?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET ordinal = excluded.ordinal, rep = excluded.rep, "
        "merged_into = excluded.merged_into, state = excluded.state");
    for (PersonKey k : dirty_keys) {
      const uint64_t s = key_state[k];
      up.bind(1, static_cast<int64_t>(k));
      if (s & kKeyAlive) {
        const uint32_t ord = static_cast<uint32_t>(s & ~kKeyAlive);
        up.bind(2, static_cast<int64_t>(ord));
        up.bind(3, static_cast<int64_t>(persons[ord].root));  // any member names the component
        up.bind_null(4);
        up.bind(5, int64_t{0});
      } else if (s != 0) {
        up.bind_null(2);
        up.bind_null(3);
        up.bind(4, static_cast<int64_t>(s));
        up.bind(5, int64_t{1});
      } else {
        up.bind_null(2);
        up.bind_null(3);
        up.bind_null(4);
        up.bind(5, int64_t{2});
      }
      up.run();
    }
  }

  // Change log and conflicts.
  if (!pending.empty()) {
    sql::Statement& ins = D.cached(
        "INSERT INTO identity_log(seq, kind, cause, time, source, record, ordinal, key, absorbed, absorbed_key, parts) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (size_t i = 0; i < pending.size(); ++i) {
      const PendingChange& p = pending[i];
      ins.bind(1, static_cast<int64_t>(mark.last_seq + i + 1));
      ins.bind(2, static_cast<int64_t>(p.kind));
      ins.bind(3, static_cast<int64_t>(p.cause));
      ins.bind(4, p.time);
      ins.bind(5, p.source == kNone ? std::string_view(pending_note) : std::string_view(sources[p.source]));
      bind_opt(ins, 6, p.record, kNoRecord);
      bind_opt(ins, 7, p.ordinal, kNoPerson);
      bind_opt(ins, 8, p.key, kNoKey);
      bind_opt(ins, 9, p.absorbed, kNoPerson);
      bind_opt(ins, 10, p.absorbed_key, kNoKey);
      if (p.parts_end > p.parts_begin) {
        nlohmann::json parts = nlohmann::json::array();
        for (uint32_t k = p.parts_begin; k < p.parts_end; ++k) {
          const PendingPart& pp = pending_parts[k];
          nlohmann::json ids = nlohmann::json::array();
          for (uint32_t j = pp.ids_begin; j < pp.ids_end; ++j) ids.push_back(pending_part_ids[j]);
          parts.push_back({{"ordinal", pp.ordinal}, {"key", pp.key}, {"ids", std::move(ids)}});
        }
        ins.bind(11, parts.dump());
      } else {
        ins.bind_null(11);
      }
      ins.run();
    }
  }
  if (!pending_conflicts.empty()) {
    sql::Statement& ins = D.cached(
        "INSERT INTO identity_conflicts(id, record, time, source, identifier, limited_type, reason, kept_in, refused) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const LinkConflict& c : pending_conflicts) {
      ins.bind(1, static_cast<int64_t>(c.id));
      bind_opt(ins, 2, c.record, kNoRecord);
      ins.bind(3, c.time);
      ins.bind(4, c.source);
      ins.bind(5, static_cast<int64_t>(c.identifier));
      bind_opt(ins, 6, c.limited_type, kNoType);
      ins.bind(7, static_cast<int64_t>(c.reason));
      bind_opt(ins, 8, c.kept_in, kNoKey);
      bind_opt(ins, 9, c.refused, kNoKey);
      ins.run();
    }
  }
  for (const auto& [type, digest] : pending_suppress) {
    D.cached("INSERT OR IGNORE INTO identity_suppressed(type, digest, time) VALUES(?, ?, ?)")
        .bind(1, static_cast<int64_t>(type))
        .bind_blob(2, as_bytes(digest))
        .bind(3, pending_suppress_time)
        .run();
  }
  if (next_key != mark.next_key) {
    D.cached("INSERT INTO identity_state(key, value) VALUES('next_key', ?) "
             "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .bind(1, static_cast<int64_t>(next_key))
        .run();
  }
}

void GraphState::load() {
  sql::Database& D = *db;
  sql::ReadSnapshot snapshot(D);  // one view of every table, whatever other connections commit
  // Types.
  {
    sql::Statement st = D.prepare("SELECT id, name, config FROM identity_types ORDER BY id");
    while (st.step()) {
      const int64_t id = st.column_int64(0);
      if (id != static_cast<int64_t>(types.size())) {
        throw CorruptError("identity_types: type ids are not dense (found " + std::to_string(id) + ", expected " +
                           std::to_string(types.size()) + ")");
      }
      auto t = std::make_unique<TypeState>();
      t->id = static_cast<TypeId>(id);
      t->name = std::string(st.column_text(1));
      type_config_from_json(st.column_text(2), *t);
      const std::string key_check = t->key_check;
      finish_type(*t, options);
      t->key_check = key_check;
      type_by_name[t->name] = t->id;
      types.push_back(std::move(t));
    }
    if (types.size() > kMaxIdentifierTypes) throw CorruptError("identity_types: too many types");
    limited_types.clear();
    for (auto& t : types) {
      t->limited = -1;
      if (t->opt.limit > 0) {
        t->limited = static_cast<int32_t>(limited_types.size());
        limited_types.push_back(t->id);
      }
    }
  }
  // Sources.
  {
    sql::Statement st = D.prepare("SELECT id, name FROM identity_sources ORDER BY id");
    while (st.step()) {
      if (st.column_int64(0) != static_cast<int64_t>(sources.size())) throw CorruptError("identity_sources: ids are not dense");
      sources.emplace_back(st.column_text(1));
      source_by_name.emplace(sources.back(), static_cast<uint32_t>(sources.size() - 1));
    }
  }
  // Identifiers.
  {
    const int64_t n = D.query_int64("SELECT count(*) FROM identity_identifiers");
    const int64_t maxid = D.query_int64("SELECT max(id) FROM identity_identifiers", -1);
    if (maxid >= static_cast<int64_t>(kMaxIds)) throw CorruptError("identity_identifiers: id out of range");
    ids.reserve(static_cast<size_t>(maxid + 1));
    seen.reserve(static_cast<size_t>(maxid + 1));
    size_t cap = 1024;
    while (cap * 3 < static_cast<size_t>(n) * 4 + 4) cap *= 2;
    table.reset(cap);
    sql::Statement st = D.prepare("SELECT id, type, value, flags, seen, blocked_at FROM identity_identifiers ORDER BY id");
    auto push_tomb = [&]() {
      const uint32_t tid = id_count();
      ids.push_back({pack_meta(0, 0, 0, kFlagDeleted), kNone, tid, kNone, INT32_MIN + 1});
      seen.push_back(0);
    };
    while (st.step()) {
      const int64_t id = st.column_int64(0);
      while (static_cast<int64_t>(id_count()) < id) push_tomb();
      const int64_t type = st.column_int64(1);
      if (type < 0 || type >= static_cast<int64_t>(types.size())) {
        throw CorruptError("identity_identifiers: identifier " + std::to_string(id) + " has unknown type " +
                           std::to_string(type));
      }
      auto v = st.column_blob(2);
      if (v.size() > kMaxIdentifierLength) throw CorruptError("identity_identifiers: value too long");
      const std::string_view sv(reinterpret_cast<const char*>(v.data()), v.size());
      const uint8_t flags = static_cast<uint8_t>(st.column_int64(3) & (kFlagBlocked | kFlagBlocklist));
      const uint32_t nid = id_count();
      ids.push_back({store_value(sv, static_cast<uint32_t>(type), flags), kNone, nid, kNone, INT32_MIN + 1});
      seen.push_back(static_cast<uint8_t>(std::clamp<int64_t>(st.column_int64(4), 0, 255)));
      if (table.full()) grow_table();
      table.insert(hash_identifier(static_cast<uint32_t>(type), sv), nid);
      ++live_ids;
      if (flags & kFlagBlocked) {
        ++blocked_count;
        block_meta[nid] = BlockMeta{st.is_null(5) ? 0 : st.column_int64(5),
                                    static_cast<uint8_t>((flags & kFlagBlocklist) ? BlockReason::blocklist
                                                                                  : BlockReason::threshold)};
      }
    }
  }
  // Records.
  {
    sql::Statement st = D.prepare("SELECT id, time, source, members FROM identity_records ORDER BY id");
    auto& rb = rec_begin.raw();
    while (st.step()) {
      const int64_t id = st.column_int64(0);
      while (static_cast<int64_t>(rec_time.size()) < id) {  // removed records
        rec_time.push_back(0);
        rec_src.push_back(kRecRemoved);
        rb.push_back(static_cast<uint32_t>(occ.size()));
      }
      const Timestamp t = st.column_int64(1);
      const int64_t src = st.column_int64(2);
      if (src < 0 || src >= static_cast<int64_t>(sources.size())) throw CorruptError("identity_records: bad source");
      auto blob = st.column_blob(3);
      if (blob.size() % 4) throw CorruptError("identity_records: record " + std::to_string(id) + " has a bad member list");
      rec_time.push_back(t);
      rec_src.push_back(static_cast<uint16_t>(src));
      const int32_t tmin = to_minutes(t);
      for (size_t i = 0; i < blob.size(); i += 4) {
        uint32_t v;
        std::memcpy(&v, blob.data() + i, 4);
        const uint32_t idv = v & kIdMask;
        if (idv >= id_count() || is_deleted(idv)) {
          if (v & kOccRemoved) {
            v = kOccRemoved;  // a removed occurrence of an identifier that is gone
          } else {
            throw CorruptError("identity_records: record " + std::to_string(id) + " names unknown identifier " +
                               std::to_string(idv));
          }
        }
        const uint32_t o = static_cast<uint32_t>(occ.size());
        occ.push_back(v);
        if (v & kOccRemoved) {
          occ_next.push_back(kNone);
          continue;
        }
        IdRec& x = ids.raw()[idv];
        occ_next.push_back(x.occ_head);
        x.occ_head = o;
        ++live_occ;
        if (x.last_seen < tmin) x.last_seen = tmin;
      }
      rb.push_back(static_cast<uint32_t>(occ.size()));
      ++live_records;
    }
  }
  // Components of the linked occurrences.
  const uint32_t n = id_count();
  std::vector<uint32_t> up(n);
  std::iota(up.begin(), up.end(), 0u);
  auto findu = [&](uint32_t x) {
    while (up[x] != x) {
      up[x] = up[up[x]];
      x = up[x];
    }
    return x;
  };
  auto usable = [&](uint32_t id) { return !(flags_of(id) & (kFlagBlocked | kFlagDeleted)); };
  for (uint64_t r = 0; r < record_count(); ++r) {
    const uint32_t b = rec_begin[r], e = rec_begin[r + 1];
    uint32_t first = kNone;
    for (uint32_t o = b; o < e; ++o) {
      const uint32_t v = occ[o];
      if ((v & kOccRemoved) || !(v & kOccLinked)) continue;
      const uint32_t id = v & kIdMask;
      if (!usable(id)) continue;
      if (first == kNone) {
        first = findu(id);
      } else {
        const uint32_t a = findu(id);
        if (a != first) {
          if (a < first) {
            up[first] = a;
            first = a;
          } else {
            up[a] = first;
          }
        }
      }
    }
  }
  // Persons.
  std::vector<uint32_t> root_ord(n, kNone);
  PersonKey max_key = 0;
  {
    sql::Statement st = D.prepare("SELECT key, ordinal, rep, merged_into, state FROM identity_persons ORDER BY key");
    auto& ks = key_state.raw();
    while (st.step()) {
      const int64_t key = st.column_int64(0);
      if (key <= 0) throw CorruptError("identity_persons: bad key");
      max_key = std::max<PersonKey>(max_key, static_cast<PersonKey>(key));
      if (ks.size() <= static_cast<size_t>(key)) ks.resize(static_cast<size_t>(key) + 1, 0);
      const int64_t state = st.column_int64(4);
      if (state == 0) {
        const int64_t ord = st.column_int64(1), rep = st.column_int64(2);
        if (ord < 0 || ord >= static_cast<int64_t>(kRootBit) - 1 || rep < 0 || rep >= static_cast<int64_t>(n) ||
            !usable(static_cast<uint32_t>(rep))) {
          throw CorruptError("identity_persons: person " + std::to_string(key) + " has a bad ordinal or member");
        }
        const uint32_t o = static_cast<uint32_t>(ord);
        while (capacity() <= o) persons.push_back({0, kNone, 0});
        if (persons[o].key != 0) throw CorruptError("identity_persons: ordinal " + std::to_string(o) + " used twice");
        const uint32_t r = findu(static_cast<uint32_t>(rep));
        if (root_ord[r] != kNone) {
          throw CorruptError("identity_persons: persons " + std::to_string(persons[root_ord[r]].key) + " and " +
                             std::to_string(key) + " share one component");
        }
        root_ord[r] = o;
        persons.raw()[o].key = static_cast<PersonKey>(key);
        ks[static_cast<size_t>(key)] = kKeyAlive | o;
      } else if (state == 1) {
        ks[static_cast<size_t>(key)] = static_cast<uint64_t>(st.column_int64(3));
      } else {
        ks[static_cast<size_t>(key)] = 0;
      }
    }
  }
  next_key = std::max<PersonKey>(max_key + 1,
                                 static_cast<PersonKey>(D.query_int64("SELECT value FROM identity_state WHERE key = 'next_key'", 1)));
  key_state.raw().resize(next_key, 0);
  p_counts.raw().assign(static_cast<size_t>(capacity()) * limited_types.size(), 0);
  const size_t L = limited_types.size();
  for (uint32_t id = 0; id < n; ++id) {
    if (!usable(id)) continue;
    const uint32_t r = findu(id);
    const uint32_t o = root_ord[r];
    if (o == kNone) {
      throw CorruptError("identity_persons: identifier " + std::to_string(id) + " belongs to no person");
    }
    auto& I = ids.raw();
    if (id == r) {
      I[id].parent = kRootBit | o;
      persons.raw()[o].root = id;
    } else {
      I[id].parent = r;
      I[id].next = I[r].next;
      I[r].next = id;
    }
    ++persons.raw()[o].size;
    const int32_t li = types[type_of(id)]->limited;
    if (li >= 0 && p_counts[o * L + li] < UINT16_MAX) ++p_counts.raw()[o * L + li];
  }
  for (uint32_t o = 0; o < capacity(); ++o) {
    if (persons[o].key != 0 && persons[o].root == kNone) {
      throw CorruptError("identity_persons: person " + std::to_string(persons[o].key) + " has no identifiers");
    }
    if (persons[o].root == kNone) free_ordinals.push_back(o);
    else ++live_persons;
  }
  std::reverse(free_ordinals.begin(), free_ordinals.end());  // lowest reused first
  last_seq = static_cast<uint64_t>(D.query_int64("SELECT max(seq) FROM identity_log", 0));
  last_conflict = static_cast<uint64_t>(D.query_int64("SELECT max(id) FROM identity_conflicts", 0));
  {
    sql::Statement st = D.prepare("SELECT type, digest FROM identity_suppressed");
    while (st.step()) {
      auto d = st.column_blob(1);
      suppressed.emplace(static_cast<uint32_t>(st.column_int64(0)),
                         std::string(reinterpret_cast<const char*>(d.data()), d.size()));
    }
  }
}

}  // namespace cdpcore::idg
