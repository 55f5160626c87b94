// The identity graph's core: identifiers, persons, linking with merge
// protection, and recomputation of persons after links are dropped.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "cdpcore/hash.hpp"
#include "identity/graph_impl.hpp"

namespace cdpcore::idg {

struct Candidate {
  uint32_t id;
  uint32_t occ;
  int32_t priority;
  uint32_t type;
  uint32_t person_before;  // ordinal before the record, kNone when new
  bool is_new;
  bool accepted;
  ConflictReason reason;
  TypeId limited_type;
};

/// Working vectors of apply_record, kept between records.
struct LinkScratch {
  std::vector<Candidate> cands;
  std::vector<uint32_t> rec_ids, gpersons, gnew, gcount, anchored, extra_new;
  std::vector<uint64_t> anchored_keys;
};

GraphState::GraphState() : scratch(std::make_unique<LinkScratch>()) {
  rec_begin.push_back(0);
  key_state.push_back(0);  // key 0 is never used
}

GraphState::~GraphState() = default;

std::string GraphState::display_value(uint32_t id) const {
  const std::string v = value_of(id);
  return binary_type(type_of(id)) ? to_hex_bytes(v) : std::string(v);
}

uint32_t GraphState::lookup(uint32_t type, std::string_view stored, uint64_t h) const {
  const uint32_t found = table.find(h, [&](uint32_t id) {
    const uint64_t m = ids[id].meta;
    if (meta_type(m) != type || (meta_flags(m) & kFlagDeleted)) return false;
    return value_equals(m, stored);
  });
  return found == UINT32_MAX ? kNone : found;
}

uint32_t GraphState::find_mut(uint32_t id) {
  uint32_t r = id;
  uint32_t p = ids[r].parent;
  if (p == kNone) return kNone;
  while (!(p & kRootBit)) {
    r = p;
    p = ids[r].parent;
  }
  for (uint32_t x = id; x != r;) {
    const uint32_t nx = ids[x].parent;
    if (nx != r) ids.mut(x).parent = r;
    x = nx;
  }
  return r;
}

namespace {
/// Prefetches the cache lines of [p, p + n) for n up to two lines: records
/// that straddle a line boundary would otherwise miss on their second line.
inline void prefetch_span(const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  __builtin_prefetch(c);
  __builtin_prefetch(c + n - 1);
}
}  // namespace

void GraphState::resolve_items(Item* items, size_t n) const {
  // Stages over a group of items, each prefetching what the next needs: the
  // table slot, the identifier, its value and union-find parent, and the
  // person record. The loads of one stage then overlap across the group.
  constexpr size_t kGroup = 64;
  uint32_t cand[kGroup];
  const size_t L = limited_types.size();
  for (size_t g0 = 0; g0 < n; g0 += kGroup) {
    const size_t m = std::min(kGroup, n - g0);
    Item* it = items + g0;
    for (size_t i = 0; i < m; ++i)
      if (it[i].type != kNone) table.prefetch(it[i].hash);
    for (size_t i = 0; i < m; ++i) {
      cand[i] = it[i].type == kNone ? UINT32_MAX : table.first_candidate(it[i].hash);
      if (cand[i] != UINT32_MAX) prefetch_span(&ids[cand[i]], sizeof(IdRec));
    }
    for (size_t i = 0; i < m; ++i) {
      if (cand[i] == UINT32_MAX) continue;
      const IdRec& r = ids[cand[i]];
      prefetch_span(arena.get(meta_off(r.meta), 0).data(), arena_size(r.meta));
      if (r.parent != kNone && !(r.parent & kRootBit)) prefetch_span(&ids[r.parent], sizeof(IdRec));
    }
    for (size_t i = 0; i < m; ++i) {
      if (cand[i] == UINT32_MAX) {
        it[i].found = kNone;
        continue;
      }
      const IdRec& r = ids[cand[i]];
      const uint64_t mt = r.meta;
      if (meta_type(mt) == it[i].type && !(meta_flags(mt) & kFlagDeleted) && value_equals(mt, it[i].value)) {
        it[i].found = cand[i];
      } else {
        it[i].found = lookup(it[i].type, it[i].value, it[i].hash);  // a tag collision: probe on
      }
      uint32_t p = r.parent;
      if (p == kNone) continue;
      if (!(p & kRootBit)) p = ids[p].parent;
      if (p & kRootBit) {
        const uint32_t ord = p & ~kRootBit;
        __builtin_prefetch(&persons[ord]);
        if (L) __builtin_prefetch(&p_counts[ord * L]);
      }
    }
  }
}

uint32_t GraphState::record_of_occ(uint32_t o) const noexcept {
  const auto& b = rec_begin.raw();
  auto it = std::upper_bound(b.begin(), b.end(), o);
  return static_cast<uint32_t>((it - b.begin()) - 1);
}

// ---- types ----------------------------------------------------------------------

TypeState& GraphState::type_checked(TypeId t) {
  if (t >= types.size()) throw NotFound("identifier type id " + std::to_string(t) + " is not registered");
  return *types[t];
}
const TypeState& GraphState::type_checked(TypeId t) const {
  if (t >= types.size()) throw NotFound("identifier type id " + std::to_string(t) + " is not registered");
  return *types[t];
}

void GraphState::rebuild_limited() {
  std::vector<uint32_t> lim;
  for (auto& t : types) {
    t->limited = -1;
    if (t->opt.limit > 0) {
      t->limited = static_cast<int32_t>(lim.size());
      lim.push_back(t->id);
    }
  }
  const bool changed = lim != limited_types;
  limited_types = std::move(lim);
  if (changed) recount_all();
}

void GraphState::recount_all() {
  const size_t L = limited_types.size();
  auto& counts = p_counts.raw();
  counts.assign(static_cast<size_t>(capacity()) * L, 0);
  for (uint32_t ord = 0; ord < capacity(); ++ord) {
    for_members(ord, [&](uint32_t id) {
      const int32_t li = types[type_of(id)]->limited;
      if (li >= 0 && counts[ord * L + li] < UINT16_MAX) ++counts[ord * L + li];
    });
  }
}

uint32_t GraphState::source_id(std::string_view name) {
  auto it = source_by_name.find(std::string(name));
  if (it != source_by_name.end()) return it->second;
  if (sources.size() >= 0x7FFF) throw LimitError("identity graph: more than 32767 distinct record sources");
  const uint32_t id = static_cast<uint32_t>(sources.size());
  sources.emplace_back(name);
  source_by_name.emplace(std::string(name), id);
  return id;
}

// ---- identifiers and persons --------------------------------------------------------

uint32_t GraphState::create_identifier(uint32_t type, std::string_view stored, uint64_t h, int32_t tmin,
                                       uint8_t flags) {
  if (id_count() >= kMaxIds) throw LimitError("identity graph: more than 2^30 identifiers");
  if (table.full()) grow_table();
  const uint32_t id = id_count();
  ids.push_back({store_value(stored, type, flags), kNone, id, kNone, tmin});
  seen.push_back(0);
  table.insert(h, id);
  ++live_ids;
  return id;
}

void GraphState::grow_table() { table.grow(); }

void GraphState::reserve_identifiers(size_t n) {
  reserve_more(ids, n);
  reserve_more(seen, n);
}

uint32_t GraphState::alloc_ordinal() {
  if (options.reuse_ordinals && !free_ordinals.empty()) {
    const uint32_t ord = free_ordinals.back();
    free_ordinals.pop_back();
    popped_free.push_back(ord);
    return ord;
  }
  const uint32_t ord = capacity();
  if (ord >= kRootBit - 1) throw LimitError("identity graph: more than 2^31 person ordinals");
  persons.push_back({0, kNone, 0});
  p_counts.grow(limited_types.size(), 0);
  return ord;
}

PersonKey GraphState::new_person_key(uint32_t ord) {
  const PersonKey k = next_key++;
  key_state.push_back(kKeyAlive | ord);
  persons.mut(ord).key = k;
  ++live_persons;
  return k;
}

uint32_t GraphState::create_singleton(uint32_t id) {
  const uint32_t ord = alloc_ordinal();
  new_person_key(ord);
  PersonRec& pr = persons.mut(ord);
  pr.root = id;
  pr.size = 1;
  IdRec& r = ids.mut(id);
  r.parent = kRootBit | ord;
  r.next = id;
  const int32_t li = types[type_of(id)]->limited;
  if (li >= 0) p_counts.set(ord * limited_types.size() + li, 1);
  return ord;
}

void GraphState::attach(uint32_t ord, uint32_t id) {
  const uint32_t root = persons[ord].root;
  PersonRec* pr;
  IdRec* rr;
  if (id >= mark.ids && persons.unjournaled(ord) && ids.unjournaled(root)) {
    pr = &persons.raw()[ord];
    rr = &ids.raw()[root];
    // The root's next member is new once an identifier was attached here.
    if (rr->next < mark.ids) attach_undo.push_back({ord, root, pr->size, rr->next});
  } else {
    pr = &persons.mut(ord);
    rr = &ids.mut(root);
  }
  ++pr->size;
  IdRec& x = ids.mut(id);
  x.parent = root;
  x.next = rr->next;
  rr->next = id;
  const int32_t li = types[type_of(id)]->limited;
  if (li >= 0) {
    const size_t at = ord * limited_types.size() + li;
    if (p_counts[at] < UINT16_MAX) p_counts.set(at, static_cast<uint16_t>(p_counts[at] + 1));
  }
  mark_dirty_key(pr->key);
}

uint32_t GraphState::merge_persons(uint32_t s, uint32_t a) {
  PersonRec& ps = persons.mut(s);
  PersonRec& pa = persons.mut(a);
  const uint32_t rs = ps.root, ra = pa.root;
  IdRec& xs = ids.mut(rs);
  IdRec& xa = ids.mut(ra);
  if (pa.size > ps.size) {
    xs.parent = ra;
    xa.parent = kRootBit | s;
    ps.root = ra;
  } else {
    xa.parent = rs;
  }
  std::swap(xs.next, xa.next);
  ps.size += pa.size;
  const size_t L = limited_types.size();
  for (size_t i = 0; i < L; ++i) {
    const uint32_t sum = static_cast<uint32_t>(p_counts[s * L + i]) + p_counts[a * L + i];
    p_counts.set(s * L + i, static_cast<uint16_t>(std::min<uint32_t>(sum, UINT16_MAX)));
  }
  const PersonKey ks = ps.key, ka = pa.key;
  key_state.set(ka, ks);
  mark_dirty_key(ks);
  mark_dirty_key(ka);
  pa = {0, kNone, 0};
  for (size_t i = 0; i < L; ++i) p_counts.set(a * L + i, 0);
  pending_free.push_back(a);
  --live_persons;
  return s;
}

void GraphState::free_person(uint32_t ord, bool erased) {
  const PersonKey k = persons[ord].key;
  if (erased) key_state.set(k, 0);
  mark_dirty_key(k);
  persons.set(ord, {0, kNone, 0});
  const size_t L = limited_types.size();
  for (size_t i = 0; i < L; ++i) p_counts.set(ord * L + i, 0);
  pending_free.push_back(ord);
  --live_persons;
}

void GraphState::set_flags(uint32_t id, uint8_t f) {
  // The packing bits describe the stored bytes, not the identifier's state: kept.
  const uint8_t state = f & static_cast<uint8_t>(~kFlagsPacking);
  ids.mut(id).meta = meta_with_flags(ids[id].meta, static_cast<uint8_t>(state | (flags_of(id) & kFlagsPacking)));
  mark_dirty_id(id);
}

void GraphState::unlink_occurrences(uint32_t id) {
  for (uint32_t o = ids[id].occ_head; o != kNone; o = occ_next[o]) {
    const uint32_t v = occ[o];
    if (v & kOccLinked) {
      occ.set(o, v & ~kOccLinked);
      mark_dirty_rec(record_of_occ(o));
    }
  }
}

uint32_t GraphState::windowed_count(uint32_t ord, uint32_t type, int32_t since_min) const {
  uint32_t n = 0;
  for_members(ord, [&](uint32_t id) {
    if (type_of(id) == type && ids[id].last_seen >= since_min) ++n;
  });
  return n;
}

std::string GraphState::suppression_digest(uint32_t type, std::string_view stored) const {
  std::string msg = types[type]->name;
  msg.push_back('\0');
  msg.append(stored);
  const Sha256Digest d = hmac_sha256(suppression_key, msg);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

bool GraphState::is_suppressed_stored(uint32_t type, std::string_view stored) const {
  if (suppressed.empty()) return false;
  return suppressed.count({type, suppression_digest(type, stored)}) > 0;
}

// ---- linking ------------------------------------------------------------------------


RecordId GraphState::apply_record(const Item* items, size_t n, Timestamp t, uint32_t src, LinkCounters& c) {
  const int32_t tmin = to_minutes(t);
  const RecordId r = rec_time.size();
  if (r >= UINT32_MAX - 1) throw LimitError("identity graph: more than 2^32 records");
  rec_time.push_back(t);
  rec_src.push_back(static_cast<uint16_t>(src));
  auto& cands = scratch->cands;
  auto& rec_ids = scratch->rec_ids;
  cands.clear();
  rec_ids.clear();
  for (size_t i = 0; i < n; ++i) {
    const Item& it = items[i];
    uint32_t id = it.found != kNone ? it.found : lookup(it.type, it.value, it.hash);
    bool is_new = false;
    if (id == kNone) {
      if (options.drop_suppressed && !suppressed.empty() && is_suppressed_stored(it.type, it.value)) {
        ++c.suppressed;
        continue;
      }
      id = create_identifier(it.type, it.value, it.hash, tmin, 0);
      is_new = true;
      ++c.new_identifiers;
    } else if (std::find(rec_ids.begin(), rec_ids.end(), id) != rec_ids.end()) {
      continue;  // the same identifier twice in one record
    }
    rec_ids.push_back(id);
    if (occ.size() >= kOccRemoved) throw LimitError("identity graph: more than 2^30 identifier occurrences");
    const uint32_t o = static_cast<uint32_t>(occ.size());
    occ.push_back(id);
    // Not journaled: touch_undo keeps the head and last-seen time before the
    // identifier's first occurrence in the batch (its head is then older).
    IdRec& x = ids.raw()[id];
    if (id < mark.ids && (x.occ_head == kNone || x.occ_head < mark.occ))
      touch_undo.push_back({id, x.occ_head, x.last_seen});
    occ_next.push_back(x.occ_head);
    x.occ_head = o;
    ++live_occ;
    ++c.identifiers;
    if (is_blocked(id)) {
      ++c.blocked;
      if (x.last_seen < tmin) x.last_seen = tmin;
      continue;
    }
    const TypeState& ts = *types[it.type];
    if (!is_new && ts.ttl_min > 0 &&
        static_cast<int64_t>(ids[id].last_seen) < static_cast<int64_t>(tmin) - ts.ttl_min) {
      // Unseen for longer than its TTL: its old links no longer count.
      const uint32_t ord = ordinal_of_id(id);
      unlink_occurrences(id);
      if (ord != kNone && persons[ord].size > 1) recompute(ord, ChangeCause::expire, t, src, r, &c);
      ++c.expired;
    }
    if (x.last_seen < tmin) x.last_seen = tmin;  // in touch_undo
    cands.push_back({id, o, ts.opt.priority, it.type, kNone, is_new, false, ConflictReason::type_limit, kNoType});
  }
  if (cands.empty()) {
    if (rec_ids.empty()) {  // nothing stored: no record
      rec_time.raw().pop_back();
      rec_src.raw().pop_back();
      return kNoRecord;
    }
    rec_begin.push_back(static_cast<uint32_t>(occ.size()));
    ++live_records;
    return r;
  }

  std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.type != b.type) return a.type < b.type;
    return a.id < b.id;
  });
  const size_t L = limited_types.size();
  auto& gpersons = scratch->gpersons;
  auto& gnew = scratch->gnew;
  auto& gcount = scratch->gcount;
  gpersons.clear();
  gnew.clear();
  gcount.assign(L, 0);
  uint64_t gsize = 0;
  bool any_refused = false;
  for (size_t ci = 0; ci < cands.size(); ++ci) {
    Candidate& cd = cands[ci];
    uint32_t P = kNone;
    if (!cd.is_new) {
      const uint32_t root = find_mut(cd.id);
      P = ids[root].parent & ~kRootBit;
      cd.person_before = P;
      if (std::find(gpersons.begin(), gpersons.end(), P) != gpersons.end()) {
        cd.accepted = true;
        continue;
      }
    }
    const uint32_t csize = P == kNone ? 1 : persons[P].size;
    bool ok = true;
    if (ci > 0) {  // the first candidate anchors the group
      if (gsize + csize > options.max_identifiers) {
        ok = false;
        cd.reason = ConflictReason::person_cap;
      } else {
        for (size_t li = 0; li < L && ok; ++li) {
          const uint32_t cc =
              P == kNone ? (types[cd.type]->limited == static_cast<int32_t>(li) ? 1u : 0u) : p_counts[P * L + li];
          if (cc == 0) continue;
          const TypeState& lt = *types[limited_types[li]];
          if (gcount[li] + cc <= lt.opt.limit) continue;
          if (lt.window_min > 0) {
            const int32_t since = static_cast<int32_t>(std::max<int64_t>(
                static_cast<int64_t>(tmin) - lt.window_min, static_cast<int64_t>(INT32_MIN) + 1));
            uint32_t w = 0;
            for (uint32_t gp : gpersons) w += windowed_count(gp, lt.id, since);
            for (uint32_t g : gnew)
              if (type_of(g) == lt.id) ++w;
            w += P == kNone ? 1 : windowed_count(P, lt.id, since);
            if (w <= lt.opt.limit) continue;
            cd.reason = ConflictReason::window_limit;
          } else {
            cd.reason = ConflictReason::type_limit;
          }
          cd.limited_type = lt.id;
          ok = false;
        }
      }
    }
    if (!ok) {
      any_refused = true;
      continue;
    }
    cd.accepted = true;
    gsize += csize;
    for (size_t li = 0; li < L; ++li) {
      gcount[li] += P == kNone ? (types[cd.type]->limited == static_cast<int32_t>(li) ? 1u : 0u) : p_counts[P * L + li];
    }
    if (P == kNone) gnew.push_back(cd.id);
    else gpersons.push_back(P);
  }

  // Anchored persons involved, before merging (for the auto-block counts).
  auto& anchored_set = scratch->anchored;
  anchored_set.clear();
  bool counting = false;
  for (const Candidate& cd : cands)
    if (!cd.is_new && types[cd.type]->auto_block > 0) counting = true;
  std::vector<uint64_t>& anchored_keys = scratch->anchored_keys;  // keys before any merge
  anchored_keys.clear();
  if (counting) {
    for (const Candidate& cd : cands) {
      if (cd.is_new || cd.person_before == kNone) continue;
      if (std::find(anchored_set.begin(), anchored_set.end(), cd.person_before) == anchored_set.end() &&
          anchored(cd.person_before)) {
        anchored_set.push_back(cd.person_before);
        anchored_keys.push_back(persons[cd.person_before].key);
      }
    }
  }
  // New identifiers of a limited type the group already holds (a second
  // phone, another member's e-mail) also count as another person seen: a
  // shared device meets them before any merge would tell.
  std::vector<uint32_t>& extra_new = scratch->extra_new;
  extra_new.clear();
  if (counting && !gpersons.empty()) {
    for (uint32_t g : gnew) {
      const int32_t li = types[type_of(g)]->limited;
      if (li < 0) continue;
      for (uint32_t gp : gpersons) {
        if (p_counts[gp * L + li] > 0) {
          extra_new.push_back(g);
          break;
        }
      }
    }
  }

  // Apply: merge into the oldest person (smallest key), attach new identifiers.
  uint32_t S;
  if (gpersons.empty()) {
    S = create_singleton(gnew[0]);
    ++c.new_persons;
    for (size_t i = 1; i < gnew.size(); ++i) attach(S, gnew[i]);
  } else {
    std::sort(gpersons.begin(), gpersons.end(), [&](uint32_t a, uint32_t b) { return persons[a].key < persons[b].key; });
    S = gpersons[0];
    for (size_t i = 1; i < gpersons.size(); ++i) {
      const uint32_t A = gpersons[i];
      const PersonKey ka = persons[A].key;
      merge_persons(S, A);
      pending.push_back({ChangeKind::merged, ChangeCause::link, t, src, r, S, persons[S].key, A, ka, 0, 0});
      ++c.merges;
    }
    for (uint32_t g : gnew) attach(S, g);
  }
  for (const Candidate& cd : cands)
    if (cd.accepted) occ.set(cd.occ, cd.id | kOccLinked);

  if (any_refused) {
    for (const Candidate& cd : cands) {
      if (cd.accepted) continue;
      if (cd.is_new) {
        create_singleton(cd.id);
        ++c.new_persons;
      }
      LinkConflict lc;
      lc.id = ++last_conflict;
      lc.record = r;
      lc.time = t;
      lc.source = sources[src];
      lc.identifier = cd.id;
      lc.limited_type = cd.limited_type;
      lc.reason = cd.reason;
      lc.kept_in = cd.is_new ? kNoKey : persons[ordinal_of_id(cd.id)].key;
      lc.refused = persons[S].key;
      pending_conflicts.push_back(std::move(lc));
      ++c.conflicts;
    }
  }

  if (counting && (anchored_set.size() > 1 || !extra_new.empty())) {
    std::vector<uint32_t> to_block;
    for (const Candidate& cd : cands) {
      if (cd.is_new) continue;
      const TypeState& ts = *types[cd.type];
      if (ts.auto_block == 0) continue;
      // Count only persons this value has not met before. A new identifier
      // standing for another person is named by its id (top bit set).
      uint32_t others = 0;
      if (cd.accepted)
        for (uint32_t g : extra_new) others += note_seen_with(cd.id, (uint64_t{1} << 63) | g);
      for (size_t k = 0; k < anchored_set.size(); ++k)
        if (anchored_set[k] != cd.person_before) others += note_seen_with(cd.id, anchored_keys[k]);
      if (others == 0) continue;
      const uint32_t v = std::min<uint32_t>(255u, seen[cd.id] + others);
      seen.set(cd.id, static_cast<uint8_t>(v));
      mark_dirty_id(cd.id);
      if (v + 1 > ts.auto_block) to_block.push_back(cd.id);
    }
    rec_begin.push_back(static_cast<uint32_t>(occ.size()));
    ++live_records;
    for (uint32_t id : to_block) {
      if (is_blocked(id)) continue;
      block_identifier(id, BlockReason::threshold, t, ChangeCause::auto_block, &c, src, r);
      ++c.newly_blocked;
    }
    return r;
  }
  rec_begin.push_back(static_cast<uint32_t>(occ.size()));
  ++live_records;
  return r;
}

void GraphState::block_identifier(uint32_t id, BlockReason reason, Timestamp t, ChangeCause cause, LinkCounters* c,
                                  uint32_t source, RecordId record) {
  const uint32_t ord = ordinal_of_id(id);
  uint8_t f = flags_of(id) | kFlagBlocked;
  if (reason == BlockReason::blocklist) f |= kFlagBlocklist;
  else f &= static_cast<uint8_t>(~kFlagBlocklist);
  if (!is_blocked(id)) ++blocked_count;
  set_flags(id, f);
  set_block_meta(id, BlockMeta{t, static_cast<uint8_t>(reason)});
  unlink_occurrences(id);
  if (ord != kNone) recompute(ord, cause, t, source, record, c);
}

void GraphState::delete_identifier(uint32_t id, bool suppress, Timestamp t) {
  for (uint32_t o = ids[id].occ_head; o != kNone; o = occ_next[o]) {
    const uint32_t v = occ[o];
    if (v & kOccRemoved) continue;
    occ.set(o, (v & kIdMask) | kOccRemoved);
    --live_occ;
    const uint32_t r = record_of_occ(o);
    mark_dirty_rec(r);
    // A record left without identifiers is removed too.
    const uint32_t b = rec_begin[r];
    const uint32_t e = r + 1 < rec_begin.size() ? rec_begin[r + 1] : static_cast<uint32_t>(occ.size());
    bool any = false;
    for (uint32_t k = b; k < e && !any; ++k) any = !(occ[k] & kOccRemoved);
    if (!any && !(rec_src[r] & kRecRemoved)) {
      rec_src.set(r, static_cast<uint16_t>(rec_src[r] | kRecRemoved));
      --live_records;
    }
  }
  if (is_blocked(id)) {
    --blocked_count;
    set_block_meta(id, std::nullopt);
  }
  if (suppress) {
    pending_suppress.emplace_back(type_of(id), suppression_digest(type_of(id), value_of(id)));
    pending_suppress_time = t;
  }
  set_flags(id, kFlagDeleted);
  --live_ids;
  deleted_ids.push_back(id);
}

// ---- recomputation ----------------------------------------------------------------------

std::vector<Part> GraphState::plan_parts(uint32_t ord, const std::function<bool(uint32_t)>& excluded,
                                         const std::function<bool(uint32_t)>& dead_occ) const {
  std::vector<uint32_t> M;
  for_members(ord, [&](uint32_t id) {
    if (!excluded(id)) M.push_back(id);
  });
  std::sort(M.begin(), M.end());
  std::vector<uint32_t> dsu(M.size());
  std::iota(dsu.begin(), dsu.end(), 0u);
  auto findd = [&](uint32_t x) {
    while (dsu[x] != x) {
      dsu[x] = dsu[dsu[x]];
      x = dsu[x];
    }
    return x;
  };
  std::vector<uint32_t> recs;
  for (uint32_t m : M)
    for (uint32_t o = ids[m].occ_head; o != kNone; o = occ_next[o])
      if (!dead_occ(o)) recs.push_back(record_of_occ(o));
  std::sort(recs.begin(), recs.end());
  recs.erase(std::unique(recs.begin(), recs.end()), recs.end());
  for (uint32_t r : recs) {
    const uint32_t b = rec_begin[r];
    const uint32_t e = r + 1 < rec_begin.size() ? rec_begin[r + 1] : static_cast<uint32_t>(occ.size());
    uint32_t first = kNone;
    for (uint32_t o = b; o < e; ++o) {
      if (dead_occ(o)) continue;
      const uint32_t id = occ[o] & kIdMask;
      if (excluded(id)) continue;
      auto it = std::lower_bound(M.begin(), M.end(), id);
      if (it == M.end() || *it != id) continue;
      const uint32_t idx = static_cast<uint32_t>(it - M.begin());
      if (first == kNone) {
        first = idx;
      } else {
        const uint32_t a = findd(first), bb = findd(idx);
        if (a != bb) dsu[std::max(a, bb)] = std::min(a, bb);
      }
    }
  }
  std::vector<Part> parts;
  std::vector<uint32_t> part_of(M.size(), kNone);
  for (uint32_t i = 0; i < M.size(); ++i) {
    const uint32_t root = findd(i);
    if (part_of[root] == kNone) {
      part_of[root] = static_cast<uint32_t>(parts.size());
      parts.emplace_back();
    }
    parts[part_of[root]].ids.push_back(M[i]);  // M is sorted, so each part is too
  }
  std::sort(parts.begin(), parts.end(), [](const Part& a, const Part& b) {
    if (a.ids.size() != b.ids.size()) return a.ids.size() > b.ids.size();
    return a.ids[0] < b.ids[0];
  });
  return parts;
}

void GraphState::rebuild_person(uint32_t ord, const std::vector<uint32_t>& members) {
  const uint32_t root = members[0];
  const size_t n = members.size();
  for (size_t i = 0; i < n; ++i) {
    const uint32_t x = members[i];
    IdRec& r = ids.mut(x);
    r.parent = x == root ? (kRootBit | ord) : root;
    r.next = members[(i + 1) % n];
  }
  PersonRec& pr = persons.mut(ord);
  pr.root = root;
  pr.size = static_cast<uint32_t>(n);
  const size_t L = limited_types.size();
  std::vector<uint32_t> cnt(L, 0);
  for (uint32_t x : members) {
    const int32_t li = types[type_of(x)]->limited;
    if (li >= 0) ++cnt[li];
  }
  for (size_t i = 0; i < L; ++i) p_counts.set(ord * L + i, static_cast<uint16_t>(std::min<uint32_t>(cnt[i], UINT16_MAX)));
  mark_dirty_key(pr.key);
}

void GraphState::recompute(uint32_t ord, ChangeCause cause, Timestamp t, uint32_t source, RecordId record,
                           LinkCounters* c) {
  auto excluded = [this](uint32_t id) { return (flags_of(id) & (kFlagBlocked | kFlagDeleted)) != 0; };
  auto dead = [this](uint32_t o) {
    const uint32_t v = occ[o];
    return (v & kOccRemoved) || !(v & kOccLinked);
  };
  std::vector<Part> parts = plan_parts(ord, excluded, dead);
  std::vector<uint32_t> old_members;
  for_members(ord, [&](uint32_t id) { old_members.push_back(id); });
  for (uint32_t x : old_members) {
    if (excluded(x)) {
      IdRec& r = ids.mut(x);
      r.parent = kNone;
      r.next = x;
    }
  }
  const PersonKey key = persons[ord].key;
  if (parts.empty()) {
    free_person(ord, true);
    pending.push_back({ChangeKind::erased, cause, t, source, record, ord, key, kNoPerson, kNoKey, 0, 0});
    return;
  }
  rebuild_person(ord, parts[0].ids);
  if (parts.size() == 1) return;
  PendingChange ch{ChangeKind::split, cause, t, source, record, ord, key, kNoPerson, kNoKey, 0, 0};
  ch.parts_begin = static_cast<uint32_t>(pending_parts.size());
  auto add_part = [&](uint32_t o, PersonKey k, const std::vector<uint32_t>& ids) {
    PendingPart pp{o, k, static_cast<uint32_t>(pending_part_ids.size()), 0};
    pending_part_ids.insert(pending_part_ids.end(), ids.begin(), ids.end());
    pp.ids_end = static_cast<uint32_t>(pending_part_ids.size());
    pending_parts.push_back(pp);
  };
  add_part(ord, key, parts[0].ids);
  for (size_t i = 1; i < parts.size(); ++i) {
    const uint32_t o = alloc_ordinal();
    const PersonKey k = new_person_key(o);
    rebuild_person(o, parts[i].ids);
    add_part(o, k, parts[i].ids);
  }
  ch.parts_end = static_cast<uint32_t>(pending_parts.size());
  pending.push_back(ch);
  if (c) ++c->splits;
}

size_t GraphState::memory_bytes() const {
  size_t b = arena.memory_bytes() + table.memory_bytes() + journal.memory_bytes();
  b += ids.memory_bytes() + seen.memory_bytes();
  b += rec_begin.memory_bytes() + rec_time.memory_bytes() + rec_src.memory_bytes() + occ.memory_bytes() +
       occ_next.memory_bytes();
  b += persons.memory_bytes() + p_counts.memory_bytes() + key_state.memory_bytes();
  b += free_ordinals.capacity() * 4 + pending_free.capacity() * 4 + touch_undo.capacity() * sizeof(TouchUndo) +
       attach_undo.capacity() * sizeof(AttachUndo);
  b += mem_log.size() * sizeof(PendingChange) + mem_conflicts.size() * (sizeof(LinkConflict) + 16);
  b += block_meta.size() * 48 + suppressed.size() * 80;
  return b;
}

}  // namespace cdpcore::idg
