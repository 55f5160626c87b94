// Person changes: merges (attributes combine by policy, events move to the
// survivor), splits (events and values go with the identifier they arrived
// with) and erasures, persisted in the caller's transaction and undone in
// memory when the identity graph rolls its batch back.
#include <algorithm>
#include <cmath>
#include <mutex>

#include "cdpcore/error.hpp"
#include "cdpcore/workspace.hpp"
#include "profile/persist.hpp"
#include "profile/store_impl.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

namespace cdpcore {

using namespace profile_detail;

void ProfileStore::Impl::settle() noexcept {
  if (journal.active) journal = Journal{};
}

void ProfileStore::Impl::begin_journal() {
  if (journal.active) return;
  journal.active = true;
  journal.cells.clear();
  journal.moves_before.clear();
  for (const auto& t : events) journal.moves_before.push_back(t->moves.size());
  journal.person_count_before = person_count;
  journal.retired_before = retired;
}

void ProfileStore::Impl::snapshot_cell(size_t attr, PersonOrdinal p) {
  if (!journal.active) return;
  auto& c = *attrs[attr];
  c.ensure_size(static_cast<size_t>(p) + 1);
  CellSnapshot s{attr, p, c.valid[p], 0, 0, kNoCode, {}, c.seq[p], c.source[p]};
  switch (c.def.type) {
    case ValueType::float64: s.d = c.doubles[p]; break;
    case ValueType::string: s.code = c.codes[p]; break;
    case ValueType::string_set: s.set = c.sets[p]; break;
    case ValueType::null: break;
    default: s.i = c.ints[p]; break;
  }
  journal.cells.push_back(std::move(s));
}

void ProfileStore::Impl::undo_journal() {
  if (!journal.active) return;
  for (auto it = journal.cells.rbegin(); it != journal.cells.rend(); ++it) {
    auto& c = *attrs[it->attr];
    PersonOrdinal p = it->person;
    c.valid[p] = it->valid;
    c.seq[p] = it->seq;
    c.source[p] = it->source;
    switch (c.def.type) {
      case ValueType::float64: c.doubles[p] = it->d; break;
      case ValueType::string: c.codes[p] = it->code; break;
      case ValueType::string_set: c.sets[p] = std::move(it->set); break;
      case ValueType::null: break;
      default: c.ints[p] = it->i; break;
    }
  }
  for (size_t i = 0; i < events.size() && i < journal.moves_before.size(); ++i)
    events[i]->moves.resize(journal.moves_before[i]);
  person_count = journal.person_count_before;
  retired = journal.retired_before;
  journal = Journal{};
  moves_pending.store(has_moves(), std::memory_order_release);
  touch();
}

bool ProfileStore::Impl::has_moves() const noexcept {
  for (const auto& t : events)
    if (!t->moves.empty()) return true;
  return false;
}

void ProfileStore::Impl::prepare_read(bool all) const {
  bool need = moves_pending.load(std::memory_order_acquire) ||
              (all && rows_pending.load(std::memory_order_acquire));
  if (!need && !journal.active) return;
  std::unique_lock lock(compaction_mutex);
  auto& self = const_cast<ProfileStore::Impl&>(*this);
  self.settle();
  bool compact_rows = all && rows_pending.load(std::memory_order_acquire);
  for (const auto& t : events)
    if (!t->moves.empty() || (compact_rows && t->pending.size())) t->compact(person_count);
  self.moves_pending.store(false, std::memory_order_release);
  if (compact_rows) self.rows_pending.store(false, std::memory_order_release);
  else {
    bool any = false;
    for (const auto& t : events) any = any || t->pending.size() > 0;
    self.rows_pending.store(any, std::memory_order_release);
  }
}

namespace {

bool less_cell(const AttrColumn& c, PersonOrdinal a, PersonOrdinal b) {
  switch (c.def.type) {
    case ValueType::float64: return c.doubles[a] < c.doubles[b];
    case ValueType::string: return c.dict.values[c.codes[a]] < c.dict.values[c.codes[b]];
    case ValueType::string_set: return false;
    case ValueType::null: return false;
    default: return c.ints[a] < c.ints[b];
  }
}

void copy_cell(AttrColumn& c, PersonOrdinal to, PersonOrdinal from) {
  c.valid[to] = c.valid[from];
  c.seq[to] = c.seq[from];
  c.source[to] = c.source[from];
  switch (c.def.type) {
    case ValueType::float64: c.doubles[to] = c.doubles[from]; break;
    case ValueType::string: c.codes[to] = c.codes[from]; break;
    case ValueType::string_set: c.sets[to] = c.sets[from]; break;
    case ValueType::null: break;
    default: c.ints[to] = c.ints[from]; break;
  }
}

/// Combines `from`'s value into `into` by the attribute's merge policy.
/// Returns whether `into` changed.
bool combine_cell(AttrColumn& c, PersonOrdinal into, PersonOrdinal from) {
  if (!c.valid[from]) return false;
  if (!c.valid[into]) {
    copy_cell(c, into, from);
    return true;
  }
  switch (c.def.merge) {
    case MergePolicy::latest:
      if (c.seq[from] > c.seq[into]) {
        copy_cell(c, into, from);
        return true;
      }
      return false;
    case MergePolicy::first:
      if (c.seq[from] < c.seq[into]) {
        copy_cell(c, into, from);
        return true;
      }
      return false;
    case MergePolicy::min:
      if (less_cell(c, from, into)) {
        copy_cell(c, into, from);
        return true;
      }
      return false;
    case MergePolicy::max:
      if (less_cell(c, into, from)) {
        copy_cell(c, into, from);
        return true;
      }
      return false;
    case MergePolicy::sum:
      if (c.def.type == ValueType::float64) c.doubles[into] += c.doubles[from];
      else c.ints[into] = static_cast<int64_t>(static_cast<uint64_t>(c.ints[into]) + static_cast<uint64_t>(c.ints[from]));
      break;
    case MergePolicy::union_: {
      std::vector<uint32_t> u;
      std::set_union(c.sets[into].begin(), c.sets[into].end(), c.sets[from].begin(), c.sets[from].end(),
                     std::back_inserter(u));
      c.sets[into] = std::move(u);
      break;
    }
  }
  c.seq[into] = std::max(c.seq[into], c.seq[from]);
  c.source[into] = 0;  // a combined value arrived with no single identifier
  return true;
}

void persist_cell(sql::Database& db, const AttrColumn& c, PersonOrdinal p) {
  if (p >= c.size() || !c.valid[p]) {
    auto& del = db.cached("DELETE FROM profile_values WHERE attribute = ? AND person = ?");
    del.bind_all(c.id, static_cast<int64_t>(p));
    del.run();
    return;
  }
  auto& put = db.cached(
      "INSERT OR REPLACE INTO profile_values(attribute, person, seq, source, value) VALUES (?, ?, ?, ?, ?)");
  put.bind_all(c.id, static_cast<int64_t>(p), static_cast<int64_t>(c.seq[p]), static_cast<int64_t>(c.source[p]));
  switch (c.def.type) {
    case ValueType::float64: put.bind(5, c.doubles[p]); break;
    case ValueType::string: put.bind(5, c.dict.values[c.codes[p]]); break;
    case ValueType::string_set: {
      std::vector<std::string_view> m;
      for (uint32_t code : c.sets[p]) m.push_back(c.dict.values[code]);
      std::sort(m.begin(), m.end());
      put.bind(5, persist::encode_set(m));
      break;
    }
    case ValueType::null: put.bind_null(5); break;
    default: put.bind(5, c.ints[p]); break;
  }
  put.run();
}

// Runs a cached statement whose one parameter is a person.
void run_for_person(sql::Database& db, const char* sql, PersonOrdinal p) {
  auto& st = db.cached(sql);
  st.bind(1, static_cast<int64_t>(p));
  st.run();
}

void check_ordinal(PersonOrdinal p, const char* what) {
  if (p == kGone) throw InvalidArgument(std::string(what) + ": no person (kNoPerson)");
}

}  // namespace

void ProfileStore::Impl::merge(PersonOrdinal survivor, PersonOrdinal absorbed) {
  check_ordinal(survivor, "merge survivor");
  check_ordinal(absorbed, "merge absorbed");
  if (survivor == absorbed) return;
  std::unique_ptr<sql::Transaction> tx;
  if (ws) tx = std::make_unique<sql::Transaction>(database_of(*ws));
  note_person(survivor);
  note_person(absorbed);
  for (size_t a = 0; a < attrs.size(); ++a) {
    auto& c = *attrs[a];
    c.ensure_size(person_count);
    if (!c.valid[absorbed]) continue;
    snapshot_cell(a, survivor);
    snapshot_cell(a, absorbed);
    bool changed = combine_cell(c, survivor, absorbed);
    c.clear_cell(absorbed);
    if (ws) {
      if (changed) persist_cell(database_of(*ws), c, survivor);
      persist_cell(database_of(*ws), c, absorbed);
    }
  }
  for (auto& t : events) {
    t->moves.push_back(EventTable::Move{absorbed, survivor, t->pending.size(), {}});
  }
  retired.add(absorbed);
  retired.remove(survivor);
  if (ws) {
    auto& db = database_of(*ws);
    auto& up = db.cached("UPDATE profile_events SET person = ? WHERE person = ?");
    up.bind_all(static_cast<int64_t>(survivor), static_cast<int64_t>(absorbed));
    up.run();
    run_for_person(db, "INSERT OR IGNORE INTO profile_retired(person) VALUES (?)", absorbed);
    run_for_person(db, "DELETE FROM profile_retired WHERE person = ?", survivor);
    tx->commit();
  }
  moves_pending.store(true, std::memory_order_release);
  touch();
}

void ProfileStore::Impl::split(PersonOrdinal from, PersonOrdinal to, const std::vector<uint32_t>& sources) {
  check_ordinal(from, "split source");
  check_ordinal(to, "split target");
  if (from == to || sources.empty()) return;
  std::unique_ptr<sql::Transaction> tx;
  if (ws) tx = std::make_unique<sql::Transaction>(database_of(*ws));
  note_person(from);
  note_person(to);
  for (size_t a = 0; a < attrs.size(); ++a) {
    auto& c = *attrs[a];
    c.ensure_size(person_count);
    if (!c.valid[from] || !std::binary_search(sources.begin(), sources.end(), c.source[from])) continue;
    snapshot_cell(a, from);
    snapshot_cell(a, to);
    combine_cell(c, to, from);
    c.clear_cell(from);
    if (ws) {
      persist_cell(database_of(*ws), c, to);
      persist_cell(database_of(*ws), c, from);
    }
  }
  for (auto& t : events) t->moves.push_back(EventTable::Move{from, to, t->pending.size(), sources});
  retired.remove(to);
  if (ws) {
    auto& db = database_of(*ws);
    auto& up = db.cached("UPDATE profile_events SET person = ? WHERE person = ? AND source = ?");
    for (uint32_t s : sources) {
      up.bind_all(static_cast<int64_t>(to), static_cast<int64_t>(from), static_cast<int64_t>(s));
      up.run();
    }
    run_for_person(db, "DELETE FROM profile_retired WHERE person = ?", to);
    tx->commit();
  }
  moves_pending.store(true, std::memory_order_release);
  touch();
}

void ProfileStore::Impl::erase(PersonOrdinal p) {
  check_ordinal(p, "erase");
  std::unique_ptr<sql::Transaction> tx;
  if (ws) tx = std::make_unique<sql::Transaction>(database_of(*ws));
  note_person(p);
  for (size_t a = 0; a < attrs.size(); ++a) {
    auto& c = *attrs[a];
    c.ensure_size(person_count);
    if (!c.valid[p]) continue;
    snapshot_cell(a, p);
    c.clear_cell(p);
  }
  for (auto& t : events) t->moves.push_back(EventTable::Move{p, kGone, t->pending.size(), {}});
  retired.add(p);
  if (ws) {
    auto& db = database_of(*ws);
    auto& dv = db.cached("DELETE FROM profile_values WHERE attribute = ? AND person = ?");
    for (const auto& c : attrs) {
      dv.bind_all(c->id, static_cast<int64_t>(p));
      dv.run();
    }
    run_for_person(db, "DELETE FROM profile_events WHERE person = ?", p);
    run_for_person(db, "INSERT OR IGNORE INTO profile_retired(person) VALUES (?)", p);
    tx->commit();
  }
  moves_pending.store(true, std::memory_order_release);
  touch();
}

namespace {
// A direct call is its own batch: undone in memory when it fails.
template <typename Fn>
void as_batch(ProfileStore::Impl& im, Fn&& fn) {
  im.settle();
  im.begin_journal();
  try {
    fn();
  } catch (...) {
    im.undo_journal();
    throw;
  }
  im.settle();
}
}  // namespace

void ProfileStore::merge_persons(PersonOrdinal survivor, PersonOrdinal absorbed) {
  as_batch(*impl_, [&] { impl_->merge(survivor, absorbed); });
}

void ProfileStore::split_person(PersonOrdinal from, PersonOrdinal to,
                                std::span<const std::pair<std::string, std::string>> identifiers) {
  std::vector<uint32_t> sources;
  for (const auto& [type, value] : identifiers) {
    uint32_t id = impl_->source_id(type, value, false);
    if (id) sources.push_back(id);
  }
  std::sort(sources.begin(), sources.end());
  as_batch(*impl_, [&] { impl_->split(from, to, sources); });
}

void ProfileStore::erase_person(PersonOrdinal person) {
  as_batch(*impl_, [&] { impl_->erase(person); });
}

}  // namespace cdpcore
