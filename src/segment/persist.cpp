// Segments in the workspace: definitions, members (Roaring's portable
// format), snapshots and the membership change log. Every write is one
// transaction; memory is changed only after it commits.
#include <nlohmann/json.hpp>

#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"
#include "cdpcore/workspace.hpp"
#include "segment/engine_impl.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

namespace cdpcore {

namespace segment_detail {

namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE segment_defs(
  name TEXT PRIMARY KEY,
  kind INTEGER NOT NULL,            -- 0 dynamic, 1 fixed
  definition TEXT NOT NULL,
  description TEXT NOT NULL,
  version INTEGER NOT NULL,
  names TEXT NOT NULL,              -- JSON: what each name meant when defined
  evaluated INTEGER NOT NULL,
  as_of INTEGER NOT NULL,
  members BLOB,                     -- Roaring portable serialisation
  log_seq INTEGER NOT NULL          -- change-log entries up to here are in members
);
CREATE TABLE segment_snapshots(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  segment TEXT NOT NULL,
  at INTEGER NOT NULL,
  label TEXT NOT NULL,
  size INTEGER NOT NULL,
  members BLOB NOT NULL
);
CREATE INDEX segment_snapshots_by_segment ON segment_snapshots(segment, at);
CREATE TABLE segment_log(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  segment TEXT NOT NULL,
  person INTEGER NOT NULL,
  entered INTEGER NOT NULL,
  at INTEGER NOT NULL
);
)sql";

const Migration kMigrations[] = {{1, kSchemaV1}};

Bitmap read_members(std::span<const uint8_t> blob, std::string_view what) {
  try {
    return Bitmap::deserialize(blob);
  } catch (const ParseError& e) {
    throw CorruptError(std::string(what) + ": stored members are not a valid bitmap: " + e.what());
  }
}

/// Numbers `events` after the last logged one and keeps them. A bound engine
/// writes them to segment_log in one transaction with what `also` writes
/// (given the last number).
template <typename F>
void log_events(Impl& im, std::vector<MembershipEvent>& events, F&& also) {
  uint64_t seq = im.last_seq;
  if (im.ws) {
    sql::Database& db = database_of(*im.ws);
    sql::Transaction tx(db);
    auto& ins = db.cached("INSERT INTO segment_log(segment, person, entered, at) VALUES(?, ?, ?, ?)");
    for (MembershipEvent& e : events) {
      ins.bind(1, e.segment).bind(2, e.person).bind(3, static_cast<int64_t>(e.entered ? 1 : 0)).bind(4, e.at).run();
      e.seq = static_cast<uint64_t>(db.last_insert_rowid());
      seq = e.seq;
    }
    also(db, seq);
    tx.commit();
  } else {
    for (MembershipEvent& e : events) e.seq = ++seq;
  }
  im.remember_events(events, seq);
}

}  // namespace

void Impl::ensure_schema() { ws->ensure_schema("segment", kMigrations); }

std::string Impl::names_json(const Segment& s) const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [n, k] : s.names) j[n] = name_kind_text(k);
  return j.dump();
}

void Impl::load() {
  sql::Database& db = database_of(*ws);
  sql::ReadSnapshot snapshot(db);  // one view of every table, whatever other connections commit
  sql::Statement st = db.prepare(
      "SELECT name, kind, definition, description, version, names, evaluated, as_of, members, log_seq "
      "FROM segment_defs ORDER BY name");
  std::map<std::string, int64_t, std::less<>> log_seq;
  while (st.step()) {
    auto s = std::make_unique<Segment>();
    s->name = std::string(st.column_text(0));
    int64_t kind = st.column_int64(1);
    if (kind != 0 && kind != 1) throw CorruptError("segment '" + s->name + "': unknown kind " + std::to_string(kind));
    s->kind = kind == 0 ? SegmentKind::dynamic : SegmentKind::fixed;
    s->definition = std::string(st.column_text(2));
    s->description = std::string(st.column_text(3));
    s->version = st.column_int64(4);
    s->evaluated = st.column_int64(6) != 0;
    s->as_of = st.column_int64(7);
    if (!st.is_null(8)) s->members = read_members(st.column_blob(8), "segment '" + s->name + "'");
    log_seq[s->name] = st.column_int64(9);
    nlohmann::json names = nlohmann::json::parse(st.column_text(5), nullptr, false);
    if (names.is_discarded() || !names.is_object()) throw CorruptError("segment '" + s->name + "': bad names record");
    if (s->kind == SegmentKind::dynamic) {
      // The stored meanings are kept: a tag deleted since is reported on evaluation.
      parse_definition(*s, s->definition);
      s->names.clear();
      for (auto it = names.begin(); it != names.end(); ++it) {
        auto k = it.value().is_string() ? parse_name_kind(it.value().get<std::string>()) : std::nullopt;
        if (!k) throw CorruptError("segment '" + s->name + "': bad names record");
        s->names[it.key()] = *k;
      }
    }
    s->id = static_cast<uint32_t>(by_id.size());
    by_id.push_back(s.get());
    segments[s->name] = std::move(s);
  }
  // A segment over a time-relative segment is time-relative too.
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& [n, seg] : segments) {
      if (seg->time_relative) continue;
      for (const auto& [ref, kind] : seg->names) {
        auto it = segments.find(ref);
        if (kind == NameKind::segment && it != segments.end() && it->second->time_relative) {
          seg->time_relative = changed = true;
          break;
        }
      }
    }
  }
  // Replay the change log past what each segment's stored members hold.
  sql::Statement lg = db.prepare("SELECT seq, segment, person, entered FROM segment_log ORDER BY seq");
  while (lg.step()) {
    uint64_t seq = static_cast<uint64_t>(lg.column_int64(0));
    last_seq = std::max(last_seq, seq);
    std::string_view name = lg.column_text(1);
    auto it = segments.find(name);
    if (it == segments.end()) continue;
    if (static_cast<int64_t>(seq) <= log_seq[std::string(name)]) continue;
    uint32_t p = static_cast<uint32_t>(lg.column_int64(2));
    if (lg.column_int64(3)) it->second->members.add(p);
    else it->second->members.remove(p);
  }
}

void Impl::save_definition(const Segment& s) {
  if (!ws) return;
  sql::Database& db = database_of(*ws);
  sql::Transaction tx(db);
  std::vector<uint8_t> blob;
  bool with_members = s.kind == SegmentKind::fixed || s.evaluated;
  if (with_members) blob = s.members.serialize();
  auto& st = db.cached(
      "INSERT INTO segment_defs(name, kind, definition, description, version, names, evaluated, as_of, members, "
      "log_seq) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, "
      "definition = excluded.definition, description = excluded.description, version = excluded.version, "
      "names = excluded.names, evaluated = excluded.evaluated, as_of = excluded.as_of, members = excluded.members, "
      "log_seq = excluded.log_seq");
  st.bind(1, s.name)
      .bind(2, static_cast<int64_t>(s.kind == SegmentKind::dynamic ? 0 : 1))
      .bind(3, s.definition)
      .bind(4, s.description)
      .bind(5, s.version)
      .bind(6, names_json(s))
      .bind(7, static_cast<int64_t>(s.evaluated ? 1 : 0))
      .bind(8, s.as_of);
  if (with_members) st.bind_blob(9, blob);
  else st.bind_null(9);
  st.bind(10, static_cast<int64_t>(last_seq));
  st.run();
  tx.commit();
}

void Impl::save_members(const Segment& s, const Bitmap& members, Timestamp as_of,
                        std::vector<MembershipEvent>& events) {
  log_events(*this, events, [&](sql::Database& db, uint64_t seq) {
    std::vector<uint8_t> blob = members.serialize();
    db.cached("UPDATE segment_defs SET members = ?, evaluated = 1, as_of = ?, log_seq = ? WHERE name = ?")
        .bind_blob(1, blob)
        .bind(2, as_of)
        .bind(3, static_cast<int64_t>(seq))
        .bind(4, s.name)
        .run();
  });
}

void Impl::save_person_events(std::vector<MembershipEvent>& events) {
  if (events.empty()) return;
  log_events(*this, events, [](sql::Database&, uint64_t) {});
}

void Impl::remember_events(const std::vector<MembershipEvent>& events, uint64_t seq) {
  last_seq = seq;
  if (ws) return;  // a bound engine reads the log from the file
  for (const MembershipEvent& e : events) {
    mem_log.push_back(e);
    if (mem_log.size() > kMemLogLimit) mem_log.pop_front();
  }
}

void Impl::delete_segment(std::string_view name) {
  if (!ws) return;
  sql::Database& db = database_of(*ws);
  sql::Transaction tx(db);
  db.cached("DELETE FROM segment_defs WHERE name = ?").bind(1, name).run();
  db.cached("DELETE FROM segment_snapshots WHERE segment = ?").bind(1, name).run();
  tx.commit();
}

}  // namespace segment_detail

// ---- snapshots and the change log ----------------------------------------------------

int64_t SegmentEngine::snapshot(std::string_view name, Timestamp at, std::string_view label) {
  const Bitmap& m = members(name);
  require_utf8(label, "snapshot label");
  if (impl_->ws) {
    sql::Database& db = database_of(*impl_->ws);
    sql::Transaction tx(db);
    std::vector<uint8_t> blob = m.serialize();
    db.cached("INSERT INTO segment_snapshots(segment, at, label, size, members) VALUES(?, ?, ?, ?, ?)")
        .bind(1, name)
        .bind(2, at)
        .bind(3, std::string(label))  // an empty view may have no data pointer: SQLite would store NULL
        .bind(4, static_cast<int64_t>(m.cardinality()))
        .bind_blob(5, blob)
        .run();
    int64_t id = db.last_insert_rowid();
    tx.commit();
    return id;
  }
  int64_t id = impl_->next_snapshot++;
  Bitmap copy = m;
  impl_->mem_snapshots[id] = {SnapshotInfo{id, std::string(name), at, m.cardinality(), std::string(label)},
                              std::move(copy)};
  return id;
}

std::vector<SnapshotInfo> SegmentEngine::snapshots(std::string_view name) const {
  std::vector<SnapshotInfo> out;
  if (impl_->ws) {
    sql::Statement& st = database_of(*impl_->ws).cached(
        "SELECT id, at, size, label FROM segment_snapshots WHERE segment = ? ORDER BY at, id");
    st.bind(1, name);
    while (st.step())
      out.push_back({st.column_int64(0), std::string(name), st.column_int64(1),
                     static_cast<uint64_t>(st.column_int64(2)), std::string(st.column_text(3))});
    st.reset();
    return out;
  }
  for (const auto& [id, s] : impl_->mem_snapshots)
    if (s.info.segment == name) out.push_back(s.info);
  std::stable_sort(out.begin(), out.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.at < b.at; });
  return out;
}

Bitmap SegmentEngine::snapshot_members(int64_t id) const {
  if (impl_->ws) {
    sql::Statement& st = database_of(*impl_->ws).cached("SELECT members FROM segment_snapshots WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) {
      st.reset();
      throw NotFound("snapshot " + std::to_string(id) + " does not exist");
    }
    Bitmap b = segment_detail::read_members(st.column_blob(0), "snapshot " + std::to_string(id));
    st.reset();
    return b;
  }
  auto it = impl_->mem_snapshots.find(id);
  if (it == impl_->mem_snapshots.end()) throw NotFound("snapshot " + std::to_string(id) + " does not exist");
  return it->second.members;
}

SnapshotDiff SegmentEngine::diff(int64_t from, int64_t to) const {
  Bitmap a = snapshot_members(from), b = snapshot_members(to);
  SnapshotDiff d;
  d.entered = b - a;
  d.exited = a - b;
  return d;
}

bool SegmentEngine::drop_snapshot(int64_t id) {
  if (impl_->ws) {
    sql::Database& db = database_of(*impl_->ws);
    sql::Transaction tx(db);
    db.cached("DELETE FROM segment_snapshots WHERE id = ?").bind(1, id).run();
    bool dropped = db.changes() > 0;
    tx.commit();
    return dropped;
  }
  return impl_->mem_snapshots.erase(id) > 0;
}

std::vector<MembershipEvent> SegmentEngine::changes_since(uint64_t cursor, size_t limit) const {
  std::vector<MembershipEvent> out;
  if (impl_->ws) {
    sql::Statement& st = database_of(*impl_->ws).cached(
        "SELECT seq, segment, person, entered, at FROM segment_log WHERE seq > ? ORDER BY seq LIMIT ?");
    st.bind(1, static_cast<int64_t>(cursor)).bind(2, static_cast<int64_t>(limit));
    while (st.step())
      out.push_back({static_cast<uint64_t>(st.column_int64(0)), std::string(st.column_text(1)),
                     static_cast<PersonOrdinal>(st.column_int64(2)), st.column_int64(3) != 0, st.column_int64(4)});
    st.reset();
    return out;
  }
  if (!impl_->mem_log.empty() && impl_->mem_log.front().seq > cursor + 1 && cursor + 1 <= impl_->last_seq) {
    throw StateError("segments: the in-memory change log no longer holds entries after " + std::to_string(cursor));
  }
  for (const MembershipEvent& e : impl_->mem_log) {
    if (e.seq <= cursor) continue;
    if (out.size() >= limit) break;
    out.push_back(e);
  }
  return out;
}

}  // namespace cdpcore
