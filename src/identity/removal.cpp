// Removal, erasure, blocks and expiry: each drops links or identifiers and
// recomputes the affected persons from the links that remain.
#include <algorithm>
#include <unordered_set>

#include "cdpcore/hash.hpp"
#include "identity/graph_impl.hpp"
#include "util/sqlite.hpp"

namespace cdpcore {

using namespace idg;

namespace {

IdentifierInfo masked_info(const GraphState& g, uint32_t id) {
  IdentifierInfo in = info_of(g, id);
  in.value = mask_value(in.type_name, g.value_of(id), g.binary_type(in.type));
  return in;
}

uint32_t find_stored(const GraphState& g, TypeId type, std::string_view raw, bool* invalid = nullptr) {
  const TypeState& t = g.type_checked(type);
  std::string buf;
  std::string_view v;
  NormError err;
  if (!normalize_value(t, raw, buf, v, &err)) {
    if (invalid) *invalid = true;
    throw_code(err.code, "identifier type \"" + t.name + "\": " + err.message, err.offset);
  }
  return g.lookup(type, v, hash_identifier(type, v));
}

/// Runs a change as one transaction of the graph (and of the file), with
/// listeners told before the commit; fills the report from the log.
template <typename F>
RemovalReport run_change(GraphState& g, const RemoveOptions& opt, F&& change) {
  if (g.in_batch) throw StateError("a change is already being applied (called from a listener?)");
  if (g.ws && g.ws->read_only()) throw StateError("the workspace is read-only");
  RemovalReport rep;
  g.begin_batch();
  g.pending_note = opt.note;
  try {
    change(rep);
    g.finish_write();
  } catch (...) {
    g.rollback_batch();
    g.notify_rollback();
    throw;
  }
  const std::vector<ChangeEvent> evs = g.materialise_pending(false);
  for (const ChangeEvent& e : evs) {
    if (e.kind == ChangeKind::split) rep.splits.push_back(e);
    if (e.kind == ChangeKind::erased) rep.erased_persons.push_back(e.key);
  }
  rep.first_change = evs.empty() ? 0 : evs.front().seq;
  rep.last_change = evs.empty() ? 0 : evs.back().seq;
  const bool scrubbed = !g.deleted_ids.empty();
  g.commit_batch();
  if (scrubbed) {
    g.checkpoint_wal();
    forget_cached_phone_numbers();  // the raw values parsed recently
  }
  return rep;
}

/// Runs a change planned in `planned`: the report of the change (splits,
/// erasures, change numbers) with the removals the plan counted.
template <typename F>
RemovalReport run_planned_change(GraphState& g, const RemoveOptions& opt, RemovalReport& planned, F&& change) {
  RemovalReport done = run_change(g, opt, std::forward<F>(change));
  done.removed_identifiers = std::move(planned.removed_identifiers);
  done.occurrences_removed = planned.occurrences_removed;
  done.records_removed = planned.records_removed;
  return done;
}

/// A dry run's view of one person: the split (or erasure) it would undergo.
void preview(const GraphState& g, uint32_t ord, const std::function<bool(uint32_t)>& excluded,
             const std::function<bool(uint32_t)>& dead_occ, ChangeCause cause, const RemoveOptions& opt,
             RemovalReport& rep) {
  if (ord == kNone || ord >= g.capacity() || g.persons[ord].root == kNone) return;
  auto ex = [&](uint32_t id) { return (g.flags_of(id) & (kFlagBlocked | kFlagDeleted)) || excluded(id); };
  auto dead = [&](uint32_t o) {
    const uint32_t v = g.occ[o];
    return (v & kOccRemoved) || !(v & kOccLinked) || dead_occ(o);
  };
  std::vector<Part> parts = g.plan_parts(ord, ex, dead);
  if (parts.empty()) {
    rep.erased_persons.push_back(g.persons[ord].key);
    return;
  }
  if (parts.size() == 1) return;
  ChangeEvent e;
  e.kind = ChangeKind::split;
  e.cause = cause;
  e.time = opt.time;
  e.source = opt.note;
  e.ordinal = ord;
  e.key = g.persons[ord].key;
  for (size_t i = 0; i < parts.size(); ++i) {
    SplitPart p;
    p.ordinal = i == 0 ? ord : kNoPerson;
    p.key = i == 0 ? g.persons[ord].key : kNoKey;
    p.identifiers = parts[i].ids;
    e.parts.push_back(std::move(p));
  }
  rep.splits.push_back(std::move(e));
}

size_t live_occurrences(const GraphState& g, uint32_t id) {
  size_t n = 0;
  for (uint32_t o = g.ids[id].occ_head; o != kNone; o = g.occ_next[o])
    if (!(g.occ[o] & kOccRemoved)) ++n;
  return n;
}

/// Records that would be left with no identifier when `gone` identifiers go.
size_t records_emptied(const GraphState& g, const std::unordered_set<uint32_t>& gone) {
  std::unordered_set<uint32_t> recs;
  for (uint32_t id : gone)
    for (uint32_t o = g.ids[id].occ_head; o != kNone; o = g.occ_next[o])
      if (!(g.occ[o] & kOccRemoved)) recs.insert(g.record_of_occ(o));
  size_t n = 0;
  for (uint32_t r : recs) {
    const uint32_t b = g.rec_begin[r];
    const uint32_t e = r + 1 < g.rec_begin.size() ? g.rec_begin[r + 1] : static_cast<uint32_t>(g.occ.size());
    bool any = false;
    for (uint32_t o = b; o < e && !any; ++o) {
      const uint32_t v = g.occ[o];
      if (!(v & kOccRemoved) && !gone.count(v & kIdMask)) any = true;
    }
    if (!any) ++n;
  }
  return n;
}

}  // namespace

RemovalReport IdentityGraph::remove_identifier(TypeId type, std::string_view raw_value, const RemoveOptions& options) {
  GraphState& g = *impl_;
  const uint32_t id = find_stored(g, type, raw_value);
  RemovalReport rep;
  rep.dry_run = options.dry_run;
  if (id == kNone) return rep;
  rep.removed_identifiers.push_back(masked_info(g, id));
  rep.occurrences_removed = live_occurrences(g, id);
  rep.records_removed = records_emptied(g, {id});
  const uint32_t ord = g.ordinal_of_id(id);
  if (options.dry_run) {
    preview(g, ord, [id](uint32_t x) { return x == id; }, [](uint32_t) { return false; },
            ChangeCause::remove_identifier, options, rep);
    return rep;
  }
  return run_planned_change(g, options, rep, [&](RemovalReport&) {
    g.delete_identifier(id, options.suppress, options.time);
    if (ord != kNone) g.recompute(ord, ChangeCause::remove_identifier, options.time, kNone, kNoRecord, nullptr);
  });
}

RemovalReport IdentityGraph::remove_record(RecordId record, const RemoveOptions& options) {
  GraphState& g = *impl_;
  if (record >= g.record_count() || (g.rec_src[record] & kRecRemoved)) {
    throw NotFound("record " + std::to_string(record) + " does not exist or was removed");
  }
  const uint32_t r = static_cast<uint32_t>(record);
  const uint32_t b = g.rec_begin[r], e = g.rec_begin[r + 1];
  std::vector<uint32_t> occs, members, orphans, persons;
  for (uint32_t o = b; o < e; ++o) {
    const uint32_t v = g.occ[o];
    if (v & kOccRemoved) continue;
    occs.push_back(o);
    const uint32_t id = v & kIdMask;
    members.push_back(id);
    if (live_occurrences(g, id) == 1) orphans.push_back(id);
    const uint32_t ord = g.ordinal_of_id(id);
    if (ord != kNone && std::find(persons.begin(), persons.end(), ord) == persons.end()) persons.push_back(ord);
  }
  RemovalReport rep;
  rep.dry_run = options.dry_run;
  rep.records_removed = 1;
  rep.occurrences_removed = occs.size();
  for (uint32_t id : orphans) rep.removed_identifiers.push_back(masked_info(g, id));
  if (options.dry_run) {
    std::unordered_set<uint32_t> orph(orphans.begin(), orphans.end());
    for (uint32_t ord : persons) {
      preview(g, ord, [&](uint32_t x) { return orph.count(x) > 0; }, [&](uint32_t o) { return o >= b && o < e; },
              ChangeCause::remove_record, options, rep);
    }
    return rep;
  }
  return run_planned_change(g, options, rep, [&](RemovalReport&) {
    for (uint32_t o : occs) {
      g.occ.set(o, (g.occ[o] & kIdMask) | kOccRemoved);
      --g.live_occ;
    }
    g.rec_src.set(r, static_cast<uint16_t>(g.rec_src[r] | kRecRemoved));
    --g.live_records;
    g.mark_dirty_rec(r);
    for (uint32_t id : orphans) g.delete_identifier(id, options.suppress, options.time);
    for (uint32_t ord : persons)
      if (g.persons[ord].root != kNone) g.recompute(ord, ChangeCause::remove_record, options.time, kNone, record, nullptr);
  });
}

RemovalReport IdentityGraph::erase_person(PersonOrdinal ordinal, const RemoveOptions& options) {
  GraphState& g = *impl_;
  if (ordinal >= g.capacity() || g.persons[ordinal].root == kNone) {
    throw NotFound("person ordinal " + std::to_string(ordinal) + " is not in use");
  }
  std::vector<uint32_t> members;
  g.for_members(ordinal, [&](uint32_t id) { members.push_back(id); });
  std::sort(members.begin(), members.end());
  RemovalReport rep;
  rep.dry_run = options.dry_run;
  std::unordered_set<uint32_t> gone(members.begin(), members.end());
  for (uint32_t id : members) {
    rep.removed_identifiers.push_back(masked_info(g, id));
    rep.occurrences_removed += live_occurrences(g, id);
  }
  rep.records_removed = records_emptied(g, gone);
  if (options.dry_run) {
    rep.erased_persons.push_back(g.persons[ordinal].key);
    return rep;
  }
  return run_planned_change(g, options, rep, [&](RemovalReport&) {
    const PersonKey key = g.persons[ordinal].key;
    for (uint32_t id : members) {
      g.delete_identifier(id, options.suppress, options.time);
      IdRec& r = g.ids.mut(id);
      r.parent = kNone;
      r.next = id;
    }
    g.free_person(ordinal, true);
    g.pending.push_back({ChangeKind::erased, ChangeCause::erase_person, options.time, kNone, kNoRecord, ordinal, key,
                         kNoPerson, kNoKey, 0, 0});
  });
}

RemovalReport IdentityGraph::expire(Timestamp as_of, const RemoveOptions& options) {
  GraphState& g = *impl_;
  const int64_t now = to_minutes(as_of);
  std::vector<uint32_t> expired;
  std::vector<uint32_t> persons;
  for (uint32_t id = 0; id < g.id_count(); ++id) {
    if (g.flags_of(id) & (kFlagBlocked | kFlagDeleted)) continue;
    const TypeState& t = *g.types[g.type_of(id)];
    if (t.ttl_min == 0 || static_cast<int64_t>(g.ids[id].last_seen) >= now - t.ttl_min) continue;
    bool linked = false;
    for (uint32_t o = g.ids[id].occ_head; o != kNone && !linked; o = g.occ_next[o]) {
      const uint32_t v = g.occ[o];
      linked = !(v & kOccRemoved) && (v & kOccLinked);
    }
    const uint32_t ord = g.ordinal_of_id(id);
    if (!linked || ord == kNone || g.persons[ord].size < 2) continue;
    expired.push_back(id);
    if (std::find(persons.begin(), persons.end(), ord) == persons.end()) persons.push_back(ord);
  }
  RemovalReport rep;
  rep.dry_run = options.dry_run;
  if (options.dry_run) {
    std::unordered_set<uint32_t> ex(expired.begin(), expired.end());
    for (uint32_t ord : persons) {
      preview(g, ord, [](uint32_t) { return false; }, [&](uint32_t o) { return ex.count(g.occ[o] & kIdMask) > 0; },
              ChangeCause::expire, options, rep);
    }
    return rep;
  }
  if (expired.empty()) return rep;
  return run_change(g, options, [&](RemovalReport&) {
    for (uint32_t id : expired) g.unlink_occurrences(id);
    for (uint32_t ord : persons) g.recompute(ord, ChangeCause::expire, options.time, kNone, kNoRecord, nullptr);
  });
}

bool IdentityGraph::is_suppressed(TypeId type, std::string_view raw_value) const {
  const GraphState& g = *impl_;
  const TypeState& t = g.type_checked(type);
  std::string buf;
  std::string_view v;
  if (!t.ready() || !normalize_value(t, raw_value, buf, v, nullptr)) return false;
  return g.is_suppressed_stored(type, v);
}

RemovalReport IdentityGraph::block(TypeId type, std::string_view raw_value, const RemoveOptions& options) {
  GraphState& g = *impl_;
  const TypeState& t = g.type_checked(type);
  std::string buf;
  std::string_view v;
  NormError err;
  if (!normalize_value(t, raw_value, buf, v, &err)) throw_code(err.code, "identifier type \"" + t.name + "\": " + err.message, err.offset);
  const std::string stored(v);
  const uint64_t h = hash_identifier(type, stored);
  const uint32_t id = g.lookup(type, stored, h);
  RemovalReport rep;
  rep.dry_run = options.dry_run;
  if (id != kNone && g.is_blocked(id) && (g.flags_of(id) & kFlagBlocklist)) return rep;  // already on the blocklist
  if (options.dry_run) {
    if (id != kNone && !g.is_blocked(id)) {
      preview(g, g.ordinal_of_id(id), [id](uint32_t x) { return x == id; }, [](uint32_t) { return false; },
              ChangeCause::block, options, rep);
    }
    return rep;
  }
  return run_change(g, options, [&](RemovalReport&) {
    uint32_t x = id;
    if (x == kNone) {
      x = g.create_identifier(type, stored, h, to_minutes(options.time), kFlagBlocked | kFlagBlocklist);
      ++g.blocked_count;
      g.set_block_meta(x, BlockMeta{options.time, static_cast<uint8_t>(BlockReason::blocklist)});
    } else {
      g.block_identifier(x, BlockReason::blocklist, options.time, ChangeCause::block, nullptr);
    }
  });
}

bool IdentityGraph::unblock(TypeId type, std::string_view raw_value) {
  GraphState& g = *impl_;
  const uint32_t id = find_stored(g, type, raw_value);
  if (id == kNone || !g.is_blocked(id)) return false;
  RemoveOptions o;
  run_change(g, o, [&](RemovalReport&) {
    --g.blocked_count;
    g.set_block_meta(id, std::nullopt);
    g.set_flags(id, 0);
    g.seen.set(id, 0);
    if (live_occurrences(g, id) > 0) {
      g.create_singleton(id);
    } else {
      g.delete_identifier(id, false, 0);
    }
  });
  return true;
}

}  // namespace cdpcore
