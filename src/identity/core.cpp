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

namespace {

/// Applies one record (GraphState::apply_record) step by step: its
/// identifiers become occurrences, those that may link form a group within
/// the limits, the group's persons merge and its new identifiers attach, the
/// refused ones are logged as conflicts, and values met by too many persons
/// are blocked. Lives for one record; the working vectors are the graph's
/// scratch, kept between records.
class RecordLinker {
 public:
  RecordLinker(GraphState& g, Timestamp t, uint32_t src, GraphState::LinkCounters& c)
      : g_(g), s_(*g.scratch), cands_(g.scratch->cands), t_(t), tmin_(to_minutes(t)), src_(src), c_(c) {}

  RecordId run(const GraphState::Item* items, size_t n) {
    r_ = g_.rec_time.size();
    if (r_ >= UINT32_MAX - 1) throw LimitError("identity graph: more than 2^32 records");
    g_.rec_time.push_back(t_);
    g_.rec_src.push_back(static_cast<uint16_t>(src_));
    add_occurrences(items, n);
    if (cands_.empty()) {
      if (s_.rec_ids.empty()) return drop_record();  // nothing stored: no record
      return end_record();
    }
    form_group();
    note_anchored_persons();
    const uint32_t survivor = join_group();
    if (any_refused_) log_refused(survivor);
    if (counting_ && (s_.anchored.size() > 1 || !s_.extra_new.empty())) {
      std::vector<uint32_t> to_block;
      count_persons_met(to_block);
      end_record();
      block_values(to_block);
      return r_;
    }
    return end_record();
  }

 private:
  // ---- identifiers and occurrences

  /// Each distinct identifier of the record becomes an occurrence; those
  /// that are not blocked become candidates for linking.
  void add_occurrences(const GraphState::Item* items, size_t n) {
    cands_.clear();
    s_.rec_ids.clear();
    for (size_t i = 0; i < n; ++i) {
      const GraphState::Item& it = items[i];
      bool is_new = false;
      const uint32_t id = identifier_of(it, is_new);
      if (id == kNone) continue;
      s_.rec_ids.push_back(id);
      const uint32_t o = add_occurrence(id);
      ++c_.identifiers;
      IdRec& x = g_.ids.raw()[id];  // last_seen: in the touch log (add_occurrence)
      if (g_.is_blocked(id)) {
        ++c_.blocked;
        if (x.last_seen < tmin_) x.last_seen = tmin_;
        continue;
      }
      const TypeState& ts = *g_.types[it.type];
      if (!is_new) expire_if_unseen(id, ts);
      if (x.last_seen < tmin_) x.last_seen = tmin_;
      cands_.push_back({id, o, ts.opt.priority, it.type, kNone, is_new, false, ConflictReason::type_limit, kNoType});
    }
  }

  /// The identifier an item names: found, or created (is_new); kNone when the
  /// value is suppressed or already in this record.
  uint32_t identifier_of(const GraphState::Item& it, bool& is_new) {
    const uint32_t id = it.found != kNone ? it.found : g_.lookup(it.type, it.value, it.hash);
    if (id == kNone) {
      if (g_.options.drop_suppressed && !g_.suppressed.empty() && g_.is_suppressed_stored(it.type, it.value)) {
        ++c_.suppressed;
        return kNone;
      }
      const uint32_t created = g_.create_identifier(it.type, it.value, it.hash, tmin_, 0);
      is_new = true;
      ++c_.new_identifiers;
      return created;
    }
    if (std::find(s_.rec_ids.begin(), s_.rec_ids.end(), id) != s_.rec_ids.end()) return kNone;
    return id;
  }

  /// Appends an occurrence of `id` and makes it the head of its list.
  uint32_t add_occurrence(uint32_t id) {
    if (g_.occ.size() >= kOccRemoved) throw LimitError("identity graph: more than 2^30 identifier occurrences");
    const uint32_t o = static_cast<uint32_t>(g_.occ.size());
    g_.occ.push_back(id);
    // Not journaled: touch_undo keeps the head and last-seen time before the
    // identifier's first occurrence in the batch (its head is then older).
    IdRec& x = g_.ids.raw()[id];
    if (id < g_.mark.ids && (x.occ_head == kNone || x.occ_head < g_.mark.occ))
      g_.touch_undo.push_back({id, x.occ_head, x.last_seen});
    g_.occ_next.push_back(x.occ_head);
    x.occ_head = o;
    ++g_.live_occ;
    return o;
  }

  /// Unseen for longer than its type's TTL: the identifier's old links no
  /// longer count, and its person is recomputed without them.
  void expire_if_unseen(uint32_t id, const TypeState& ts) {
    if (ts.ttl_min <= 0 ||
        static_cast<int64_t>(g_.ids[id].last_seen) >= static_cast<int64_t>(tmin_) - ts.ttl_min)
      return;
    const uint32_t ord = g_.ordinal_of_id(id);
    g_.unlink_occurrences(id);
    if (ord != kNone && g_.persons[ord].size > 1) g_.recompute(ord, ChangeCause::expire, t_, src_, r_, &c_);
    ++c_.expired;
  }

  // ---- the group: which candidates link, within the limits

  /// Candidates by priority decide, in that order, which persons and new
  /// identifiers join the group; the first anchors it.
  void form_group() {
    std::sort(cands_.begin(), cands_.end(), [](const Candidate& a, const Candidate& b) {
      if (a.priority != b.priority) return a.priority > b.priority;
      if (a.type != b.type) return a.type < b.type;
      return a.id < b.id;
    });
    L_ = g_.limited_types.size();
    s_.gpersons.clear();
    s_.gnew.clear();
    s_.gcount.assign(L_, 0);
    for (size_t ci = 0; ci < cands_.size(); ++ci) {
      Candidate& cd = cands_[ci];
      uint32_t P = kNone;
      if (!cd.is_new) {
        P = g_.ids[g_.find_mut(cd.id)].parent & ~kRootBit;
        cd.person_before = P;
        if (std::find(s_.gpersons.begin(), s_.gpersons.end(), P) != s_.gpersons.end()) {
          cd.accepted = true;
          continue;
        }
      }
      const uint32_t csize = P == kNone ? 1 : g_.persons[P].size;
      if (ci > 0 && !fits_group(cd, P, csize)) {
        any_refused_ = true;
        continue;
      }
      cd.accepted = true;
      gsize_ += csize;
      for (size_t li = 0; li < L_; ++li) s_.gcount[li] += limited_count(cd, P, li);
      if (P == kNone) s_.gnew.push_back(cd.id);
      else s_.gpersons.push_back(P);
    }
  }

  /// Identifiers of limited type `li` that candidate `cd` brings (its person's, or itself when new).
  uint32_t limited_count(const Candidate& cd, uint32_t P, size_t li) const {
    if (P != kNone) return g_.p_counts[P * L_ + li];
    return g_.types[cd.type]->limited == static_cast<int32_t>(li) ? 1u : 0u;
  }

  /// Whether candidate `cd` (person P, or new) may join the group: the
  /// person cap and every type limit hold; else sets why not.
  bool fits_group(Candidate& cd, uint32_t P, uint32_t csize) {
    if (gsize_ + csize > g_.options.max_identifiers) {
      cd.reason = ConflictReason::person_cap;
      return false;
    }
    for (size_t li = 0; li < L_; ++li) {
      const uint32_t cc = limited_count(cd, P, li);
      if (cc == 0) continue;
      const TypeState& lt = *g_.types[g_.limited_types[li]];
      if (s_.gcount[li] + cc <= lt.opt.limit) continue;
      if (lt.window_min > 0) {
        if (within_window(lt, P)) continue;
        cd.reason = ConflictReason::window_limit;
      } else {
        cd.reason = ConflictReason::type_limit;
      }
      cd.limited_type = lt.id;
      return false;
    }
    return true;
  }

  /// Whether the group with person P (or one new identifier) holds at most
  /// the limit of type `lt` seen within its window.
  bool within_window(const TypeState& lt, uint32_t P) const {
    const int32_t since = static_cast<int32_t>(
        std::max<int64_t>(static_cast<int64_t>(tmin_) - lt.window_min, static_cast<int64_t>(INT32_MIN) + 1));
    uint32_t w = 0;
    for (uint32_t gp : s_.gpersons) w += g_.windowed_count(gp, lt.id, since);
    for (uint32_t g : s_.gnew)
      if (g_.type_of(g) == lt.id) ++w;
    w += P == kNone ? 1 : g_.windowed_count(P, lt.id, since);
    return w <= lt.opt.limit;
  }

  /// The anchored persons involved before any merge (for the auto-block
  /// counts), and the new identifiers that stand for another person.
  void note_anchored_persons() {
    s_.anchored.clear();
    s_.anchored_keys.clear();
    s_.extra_new.clear();
    for (const Candidate& cd : cands_)
      if (!cd.is_new && g_.types[cd.type]->auto_block > 0) counting_ = true;
    if (!counting_) return;
    for (const Candidate& cd : cands_) {
      if (cd.is_new || cd.person_before == kNone) continue;
      if (std::find(s_.anchored.begin(), s_.anchored.end(), cd.person_before) == s_.anchored.end() &&
          g_.anchored(cd.person_before)) {
        s_.anchored.push_back(cd.person_before);
        s_.anchored_keys.push_back(g_.persons[cd.person_before].key);
      }
    }
    // New identifiers of a limited type the group already holds (a second
    // phone, another member's e-mail) also count as another person seen: a
    // shared device meets them before any merge would tell.
    if (s_.gpersons.empty()) return;
    for (uint32_t g : s_.gnew) {
      const int32_t li = g_.types[g_.type_of(g)]->limited;
      if (li < 0) continue;
      for (uint32_t gp : s_.gpersons) {
        if (g_.p_counts[gp * L_ + li] > 0) {
          s_.extra_new.push_back(g);
          break;
        }
      }
    }
  }

  // ---- applying the group

  /// Merges the group into its oldest person (smallest key), or makes a new
  /// one, attaches the new identifiers and marks the accepted occurrences
  /// linked. Returns the person.
  uint32_t join_group() {
    auto& gpersons = s_.gpersons;
    uint32_t S;
    if (gpersons.empty()) {
      S = g_.create_singleton(s_.gnew[0]);
      ++c_.new_persons;
      for (size_t i = 1; i < s_.gnew.size(); ++i) g_.attach(S, s_.gnew[i]);
    } else {
      std::sort(gpersons.begin(), gpersons.end(),
                [&persons = g_.persons](uint32_t a, uint32_t b) { return persons[a].key < persons[b].key; });
      S = gpersons[0];
      for (size_t i = 1; i < gpersons.size(); ++i) {
        const uint32_t A = gpersons[i];
        const PersonKey ka = g_.persons[A].key;
        g_.merge_persons(S, A);
        g_.pending.push_back({ChangeKind::merged, ChangeCause::link, t_, src_, r_, S, g_.persons[S].key, A, ka, 0, 0});
        ++c_.merges;
      }
      for (uint32_t g : s_.gnew) g_.attach(S, g);
    }
    for (const Candidate& cd : cands_)
      if (cd.accepted) g_.occ.set(cd.occ, cd.id | kOccLinked);
    return S;
  }

  /// Each refused candidate stays in its person (a new one alone) and is
  /// logged as a conflict with the group's person S.
  void log_refused(uint32_t S) {
    for (const Candidate& cd : cands_) {
      if (cd.accepted) continue;
      if (cd.is_new) {
        g_.create_singleton(cd.id);
        ++c_.new_persons;
      }
      LinkConflict lc;
      lc.id = ++g_.last_conflict;
      lc.record = r_;
      lc.time = t_;
      lc.source = g_.sources[src_];
      lc.identifier = cd.id;
      lc.limited_type = cd.limited_type;
      lc.reason = cd.reason;
      lc.kept_in = cd.is_new ? kNoKey : g_.persons[g_.ordinal_of_id(cd.id)].key;
      lc.refused = g_.persons[S].key;
      g_.pending_conflicts.push_back(std::move(lc));
      ++c_.conflicts;
    }
  }

  // ---- auto-blocking

  /// Counts, per value with an auto-block threshold, the persons it meets
  /// here for the first time; the values past their threshold go to `to_block`.
  void count_persons_met(std::vector<uint32_t>& to_block) {
    for (const Candidate& cd : cands_) {
      if (cd.is_new) continue;
      const TypeState& ts = *g_.types[cd.type];
      if (ts.auto_block == 0) continue;
      // Count only persons this value has not met before. A new identifier
      // standing for another person is named by its id (top bit set).
      uint32_t others = 0;
      if (cd.accepted)
        for (uint32_t g : s_.extra_new) others += g_.note_seen_with(cd.id, (uint64_t{1} << 63) | g);
      for (size_t k = 0; k < s_.anchored.size(); ++k)
        if (s_.anchored[k] != cd.person_before) others += g_.note_seen_with(cd.id, s_.anchored_keys[k]);
      if (others == 0) continue;
      const uint32_t v = std::min<uint32_t>(255u, g_.seen[cd.id] + others);
      g_.seen.set(cd.id, static_cast<uint8_t>(v));
      g_.mark_dirty_id(cd.id);
      if (v + 1 > ts.auto_block) to_block.push_back(cd.id);
    }
  }

  /// Blocks the values (after the record is complete: blocking recomputes persons from the records).
  void block_values(const std::vector<uint32_t>& to_block) {
    for (uint32_t id : to_block) {
      if (g_.is_blocked(id)) continue;
      g_.block_identifier(id, BlockReason::threshold, t_, ChangeCause::auto_block, &c_, src_, r_);
      ++c_.newly_blocked;
    }
  }

  // ---- the record itself

  RecordId end_record() {
    g_.rec_begin.push_back(static_cast<uint32_t>(g_.occ.size()));
    ++g_.live_records;
    return r_;
  }
  RecordId drop_record() {
    g_.rec_time.raw().pop_back();
    g_.rec_src.raw().pop_back();
    return kNoRecord;
  }

  GraphState& g_;
  LinkScratch& s_;
  std::vector<Candidate>& cands_;
  const Timestamp t_;
  const int32_t tmin_;
  const uint32_t src_;
  GraphState::LinkCounters& c_;
  RecordId r_ = 0;
  size_t L_ = 0;          // limited types
  uint64_t gsize_ = 0;    // identifiers in the group
  bool any_refused_ = false;
  bool counting_ = false;  // a candidate's value has an auto-block threshold
};

}  // namespace

RecordId GraphState::apply_record(const Item* items, size_t n, Timestamp t, uint32_t src, LinkCounters& c) {
  return RecordLinker(*this, t, src, c).run(items, n);
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
