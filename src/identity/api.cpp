// IdentityGraph: construction, types, linking, lookups, log and conflicts.
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>

#include "cdpcore/hash.hpp"
#include "cdpcore/utf8.hpp"
#include "identity/batch_impl.hpp"
#include "identity/graph_impl.hpp"
#include "util/names.hpp"
#include "util/parallel.hpp"
#include "util/sqlite.hpp"
#include "util/impl_access.hpp"

namespace cdpcore::idg {
BatchResult link_batch_impl(GraphState& g, const RecordBatch::Impl& b, const BatchOptions& opt);
std::vector<RecordError> check_batch_impl(const GraphState& g, const RecordBatch::Impl& b);
}  // namespace cdpcore::idg

namespace cdpcore {

using namespace idg;

namespace {

void check_options(const IdentityOptions& o) {
  if (o.max_identifiers == 0) throw InvalidArgument("IdentityOptions.max_identifiers must be at least 1");
  if (o.auto_block_threshold > 250) throw InvalidArgument("IdentityOptions.auto_block_threshold must be at most 250");
}

std::string random_key() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw Error(ErrorCode::error, "identity graph: no random bytes for a key");
  return to_hex_bytes(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

}  // namespace

namespace idg {
IdentifierInfo info_of(const GraphState& g, uint32_t id) {
  IdentifierInfo in;
  in.id = id;
  in.type = g.type_of(id);
  in.type_name = g.types[in.type]->name;
  in.value = g.display_value(id);
  in.last_seen = static_cast<Timestamp>(g.ids[id].last_seen) * kMicrosPerMinute;
  uint32_t n = 0;
  for (uint32_t o = g.ids[id].occ_head; o != kNone; o = g.occ_next[o])
    if (!(g.occ[o] & kOccRemoved)) ++n;
  in.records = n;
  in.blocked = g.is_blocked(id);
  return in;
}
}  // namespace idg

IdentityGraph::IdentityGraph(const IdentityOptions& options) : impl_(std::make_unique<Impl>()) {
  check_options(options);
  impl_->options = options;
  impl_->suppression_key = options.suppression_key.empty() ? random_key() : options.suppression_key;
}

IdentityGraph::IdentityGraph(std::shared_ptr<Workspace> ws, const IdentityOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (!ws) throw InvalidArgument("IdentityGraph: the workspace is null");
  check_options(options);
  impl_->options = options;
  impl_->ws = std::move(ws);
  impl_->open_schema();
  impl_->load();
}

IdentityGraph::~IdentityGraph() = default;

const std::shared_ptr<Workspace>& IdentityGraph::workspace() const noexcept { return impl_->ws; }
const IdentityOptions& IdentityGraph::options() const noexcept { return impl_->options; }

// ---- types -----------------------------------------------------------------------------------

TypeId IdentityGraph::register_type(std::string_view name, const IdentifierTypeOptions& options) {
  require_utf8(name, "identifier type name");
  GraphState& g = *impl_;
  if (g.in_batch) throw StateError("register_type: not allowed while a batch is being applied");
  auto it = g.type_by_name.find(std::string(name));
  if (it != g.type_by_name.end()) {
    TypeState& t = *g.types[it->second];
    const IdentifierTypeOptions& o = t.opt;
    auto differs = [&](const char* what) {
      throw Conflict("identifier type \"" + t.name + "\" already exists with another " + what +
                     " (only limits, priority, TTL, thresholds and max_length can change)");
    };
    if (o.normalizer != options.normalizer) differs("normaliser");
    if (o.storage != options.storage) differs("storage");
    if (o.input != options.input) differs("input kind");
    if (o.normalizer == Normalizer::phone && o.phone_region != options.phone_region) differs("phone region");
    if (o.normalizer == Normalizer::email && o.email_fold_providers != options.email_fold_providers)
      differs("e-mail folding");
    TypeState next = t;
    next.opt = options;
    next.has_custom = false;
    next.has_key = false;
    if (!options.custom_normalizer && t.has_custom) {
      next.opt.custom_normalizer = o.custom_normalizer;
      next.opt.custom_thread_safe = o.custom_thread_safe;
    }
    const std::string stored_check = t.key_check;
    if (options.storage == Storage::keyed_hash) {
      if (options.hash_key.empty()) next.opt.hash_key = o.hash_key;
    }
    finish_type(next, g.options);
    if (options.storage == Storage::keyed_hash && !options.hash_key.empty() && !stored_check.empty() &&
        next.key_check != stored_check) {
      throw InvalidArgument("identifier type \"" + t.name + "\": the hash key does not match the one it was registered with");
    }
    if (next.key_check.empty()) next.key_check = stored_check;
    next.limited = t.limited;
    t = std::move(next);
    g.rebuild_limited();
    g.write_type(t);
    return t.id;
  }
  if (g.types.size() >= kMaxIdentifierTypes) {
    throw LimitError("identity graph: at most " + std::to_string(kMaxIdentifierTypes) + " identifier types");
  }
  // Checked when defined, not when loaded: names stored under an earlier rule still open.
  util::validate_name(name, "identifier type name");
  auto t = std::make_unique<TypeState>();
  t->id = static_cast<TypeId>(g.types.size());
  t->name = std::string(name);
  t->opt = options;
  finish_type(*t, g.options);
  if (options.normalizer == Normalizer::custom && !options.custom_normalizer) {
    throw InvalidArgument("identifier type \"" + t->name + "\": Normalizer::custom needs custom_normalizer");
  }
  if (options.storage == Storage::keyed_hash && options.hash_key.empty()) {
    throw InvalidArgument("identifier type \"" + t->name + "\": Storage::keyed_hash needs a hash_key");
  }
  const TypeId id = t->id;
  if (g.db) {
    sql::Transaction tx(*g.db);
    g.write_type(*t);
    tx.commit();
  }
  g.type_by_name[t->name] = id;
  g.types.push_back(std::move(t));
  g.rebuild_limited();
  return id;
}

std::vector<TypeId> IdentityGraph::register_default_types() {
  std::vector<TypeId> ids;
  IdentifierTypeOptions o;
  o = {};
  o.normalizer = Normalizer::phone;
  o.phone_region = "CN";
  o.limit = 3;
  o.priority = 80;
  o.auto_block_threshold = 5;
  ids.push_back(register_type("phone", o));
  o = {};
  o.normalizer = Normalizer::email;
  o.limit = 5;
  o.priority = 70;
  o.auto_block_threshold = 5;
  ids.push_back(register_type("email", o));
  o = {};
  o.normalizer = Normalizer::trim;
  o.limit = 1;
  o.priority = 90;
  ids.push_back(register_type("unionid", o));
  o = {};
  o.normalizer = Normalizer::trim;
  o.limit = 1;
  o.priority = 60;
  ids.push_back(register_type("openid_mp", o));
  ids.push_back(register_type("openid_oa", o));
  o = {};
  o.normalizer = Normalizer::lower;
  o.limit = 10;
  o.limit_window = days(7);
  o.priority = 30;
  o.auto_block_threshold = 1;  // a device seen with a second person is shared: it stops linking
  ids.push_back(register_type("device_id", o));
  o = {};
  o.normalizer = Normalizer::trim;
  o.limit = 1;
  o.priority = 100;
  o.never_auto_block = true;
  ids.push_back(register_type("crm_id", o));
  o = {};
  o.normalizer = Normalizer::lower;
  o.priority = 10;
  o.ttl = days(180);
  ids.push_back(register_type("cookie", o));
  return ids;
}

TypeId IdentityGraph::type_id(std::string_view name) const noexcept {
  auto it = impl_->type_by_name.find(std::string(name));
  return it == impl_->type_by_name.end() ? kNoType : it->second;
}

IdentifierTypeInfo IdentityGraph::type_info(TypeId type) const {
  const TypeState& t = impl_->type_checked(type);
  IdentifierTypeInfo in;
  in.id = t.id;
  in.name = t.name;
  in.options = t.opt;
  in.options.custom_normalizer = nullptr;
  in.options.hash_key.clear();
  in.ready = t.ready();
  return in;
}

std::vector<IdentifierTypeInfo> IdentityGraph::types() const {
  std::vector<IdentifierTypeInfo> out;
  for (size_t i = 0; i < impl_->types.size(); ++i) out.push_back(type_info(static_cast<TypeId>(i)));
  return out;
}

void IdentityGraph::set_custom_normalizer(TypeId type, NormalizeFn fn, bool thread_safe) {
  TypeState& t = impl_->type_checked(type);
  if (t.opt.normalizer != Normalizer::custom) {
    throw InvalidArgument("identifier type \"" + t.name + "\" does not use a custom normaliser");
  }
  if (!fn) throw InvalidArgument("set_custom_normalizer: the function is empty");
  t.opt.custom_normalizer = std::move(fn);
  t.opt.custom_thread_safe = thread_safe;
  t.has_custom = true;
}

void IdentityGraph::set_hash_key(TypeId type, std::string_view key) {
  TypeState& t = impl_->type_checked(type);
  if (t.opt.storage != Storage::keyed_hash) {
    throw InvalidArgument("identifier type \"" + t.name + "\" does not store keyed hashes");
  }
  if (key.empty()) throw InvalidArgument("set_hash_key: the key is empty");
  const std::string check = to_hex(hmac_sha256(key, "cdpcore identity key check"));
  if (!t.key_check.empty() && check != t.key_check) {
    throw InvalidArgument("identifier type \"" + t.name + "\": the hash key does not match the one it was registered with");
  }
  t.opt.hash_key = std::string(key);
  t.key_check = check;
  t.has_key = true;
}

std::string IdentityGraph::normalize(TypeId type, std::string_view raw) const {
  const TypeState& t = impl_->type_checked(type);
  std::string buf;
  std::string_view out;
  NormError err;
  if (!normalize_value(t, raw, buf, out, &err)) {
    throw_code(err.code, "identifier type \"" + t.name + "\": " + err.message, err.offset);
  }
  return impl_->binary_type(type) ? to_hex_bytes(out) : std::string(out);
}

std::optional<std::string> IdentityGraph::try_normalize(TypeId type, std::string_view raw) const {
  const TypeState& t = impl_->type_checked(type);
  std::string buf;
  std::string_view out;
  if (!normalize_value(t, raw, buf, out, nullptr)) return std::nullopt;
  return impl_->binary_type(type) ? to_hex_bytes(out) : std::string(out);
}

std::string IdentityGraph::sha256_of(TypeId type, std::string_view raw) const {
  TypeState t = impl_->type_checked(type);
  if (t.opt.input == InputKind::sha256) {
    throw InvalidArgument("identifier type \"" + t.name + "\" already takes SHA-256 values");
  }
  t.opt.storage = Storage::clear;  // the digest of the normalised value itself
  std::string buf;
  std::string_view out;
  NormError err;
  if (!normalize_value(t, raw, buf, out, &err)) throw_code(err.code, "identifier type \"" + t.name + "\": " + err.message, err.offset);
  return to_hex(sha256(out));
}

// ---- linking -------------------------------------------------------------------------------

BatchResult IdentityGraph::link(const Record& record) {
  RecordBatch b;
  b.add_record(record);
  BatchOptions o;
  o.return_record_ids = true;
  return link_batch(b, o);
}

BatchResult IdentityGraph::link_batch(std::span<const Record> records, const BatchOptions& options) {
  RecordBatch b;
  size_t n = 0, bytes = 0;
  for (const Record& r : records) {
    n += r.identifiers.size();
    for (const auto& i : r.identifiers) bytes += i.value.size();
  }
  b.reserve(records.size(), n, bytes);
  for (const Record& r : records) b.add_record(r);
  return link_batch(b, options);
}

BatchResult IdentityGraph::link_batch(const RecordBatch& batch, const BatchOptions& options) {
  if (impl_->in_batch) throw StateError("link_batch: another change is being applied (called from a listener?)");
  if (impl_->ws && impl_->ws->read_only()) throw StateError("link_batch: the workspace is read-only");
  return link_batch_impl(*impl_, detail::ImplAccess::of(batch), options);
}

std::vector<RecordError> IdentityGraph::check_batch(const RecordBatch& batch) const {
  return check_batch_impl(*impl_, detail::ImplAccess::of(batch));
}

// ---- lookups ---------------------------------------------------------------------------------

std::optional<IdentifierId> IdentityGraph::identifier_id(TypeId type, std::string_view raw_value) const {
  const GraphState& g = *impl_;
  const TypeState& t = g.type_checked(type);
  if (!t.ready()) return std::nullopt;
  std::string buf;
  std::string_view v;
  if (!normalize_value(t, raw_value, buf, v, nullptr)) return std::nullopt;
  const uint32_t id = g.lookup(type, v, hash_identifier(type, v));
  if (id == kNone) return std::nullopt;
  return id;
}

std::optional<PersonOrdinal> IdentityGraph::ordinal_of(TypeId type, std::string_view raw_value) const {
  auto id = identifier_id(type, raw_value);
  if (!id) return std::nullopt;
  return ordinal_of(*id);
}

std::optional<PersonOrdinal> IdentityGraph::ordinal_of(std::string_view type_name, std::string_view raw_value) const {
  const TypeId t = type_id(type_name);
  if (t == kNoType) throw NotFound("unknown identifier type \"" + std::string(type_name) + "\"");
  return ordinal_of(t, raw_value);
}

std::optional<PersonOrdinal> IdentityGraph::ordinal_of(IdentifierId id) const {
  const GraphState& g = *impl_;
  if (id >= g.id_count() || g.is_deleted(id)) return std::nullopt;
  const uint32_t o = g.ordinal_of_id(id);
  if (o == kNone) return std::nullopt;
  return o;
}

std::optional<IdentifierInfo> IdentityGraph::identifier(IdentifierId id) const {
  const GraphState& g = *impl_;
  if (id >= g.id_count() || g.is_deleted(id)) return std::nullopt;
  return info_of(g, id);
}

void IdentityGraph::ordinals_of(TypeId type, std::span<const std::string_view> raw_values,
                                std::span<PersonOrdinal> out) const {
  if (out.size() != raw_values.size()) {
    throw InvalidArgument("ordinals_of: " + std::to_string(raw_values.size()) + " values but " +
                          std::to_string(out.size()) + " output slots");
  }
  const GraphState& g = *impl_;
  const TypeState& t = g.type_checked(type);
  auto work = [&](size_t b, size_t e) {
    std::string buf;
    std::string_view v;
    for (size_t i = b; i < e; ++i) {
      PersonOrdinal r = kNoPerson;
      if (t.ready() && normalize_value(t, raw_values[i], buf, v, nullptr)) {
        const uint32_t id = g.lookup(type, v, hash_identifier(type, v));
        if (id != kNone) r = g.ordinal_of_id(id);
      }
      out[i] = r;
    }
  };
  // Chunks of at least 10,000 values: below that a thread costs more than it saves.
  const size_t n = raw_values.size();
  const size_t chunks = t.parallel_safe() ? std::max<size_t>(1, n / 10000) : 1;
  util::parallel_for(chunks, 0, [&](size_t c, unsigned) { work(n * c / chunks, n * (c + 1) / chunks); });
}

std::optional<PersonKey> IdentityGraph::key_of(PersonOrdinal ordinal) const noexcept {
  const GraphState& g = *impl_;
  if (ordinal >= g.capacity() || g.persons[ordinal].root == kNone) return std::nullopt;
  return g.persons[ordinal].key;
}

std::optional<PersonKey> IdentityGraph::resolve_key(PersonKey key) const noexcept {
  const GraphState& g = *impl_;
  for (size_t guard = 0; guard < g.key_state.size() + 1; ++guard) {
    if (key == 0 || key >= g.key_state.size()) return std::nullopt;
    const uint64_t s = g.key_state[key];
    if (s & kKeyAlive) return key;
    if (s == 0) return std::nullopt;
    key = s;
  }
  return std::nullopt;
}

std::optional<PersonOrdinal> IdentityGraph::ordinal_of_key(PersonKey key) const noexcept {
  auto k = resolve_key(key);
  if (!k) return std::nullopt;
  return static_cast<PersonOrdinal>(impl_->key_state[*k] & ~kKeyAlive);
}

void IdentityGraph::keys_of(std::span<const PersonOrdinal> ordinals, std::span<PersonKey> out) const {
  if (out.size() != ordinals.size()) throw InvalidArgument("keys_of: output size differs from input size");
  for (size_t i = 0; i < ordinals.size(); ++i) out[i] = key_of(ordinals[i]).value_or(kNoKey);
}

std::vector<IdentifierInfo> IdentityGraph::identifiers_of(PersonOrdinal ordinal) const {
  return identifiers_of(ordinal, kNoType);
}

std::vector<IdentifierInfo> IdentityGraph::identifiers_of(PersonOrdinal ordinal, TypeId type) const {
  const GraphState& g = *impl_;
  std::vector<uint32_t> ids;
  if (ordinal < g.capacity()) {
    g.for_members(ordinal, [&](uint32_t id) {
      if (type == kNoType || g.type_of(id) == type) ids.push_back(id);
    });
  }
  std::sort(ids.begin(), ids.end());
  std::vector<IdentifierInfo> out;
  out.reserve(ids.size());
  for (uint32_t id : ids) out.push_back(info_of(g, id));
  return out;
}

std::optional<IdentifierInfo> IdentityGraph::latest_identifier(PersonOrdinal ordinal, TypeId type) const {
  const GraphState& g = *impl_;
  if (ordinal >= g.capacity()) return std::nullopt;
  uint32_t best = kNone;
  g.for_members(ordinal, [&](uint32_t id) {
    if (g.type_of(id) != type) return;
    if (best == kNone || g.ids[id].last_seen > g.ids[best].last_seen || (g.ids[id].last_seen == g.ids[best].last_seen && id > best))
      best = id;
  });
  if (best == kNone) return std::nullopt;
  return info_of(g, best);
}

uint32_t IdentityGraph::identifier_count(PersonOrdinal ordinal) const noexcept {
  const GraphState& g = *impl_;
  return ordinal < g.capacity() ? g.persons[ordinal].size : 0;
}

Bitmap IdentityGraph::persons() const {
  const GraphState& g = *impl_;
  std::vector<uint32_t> live;
  live.reserve(g.live_persons);
  for (uint32_t o = 0; o < g.capacity(); ++o)
    if (g.persons[o].root != kNone) live.push_back(o);
  Bitmap b = Bitmap::from_values(live);
  b.optimize();
  return b;
}

uint32_t IdentityGraph::ordinal_capacity() const noexcept { return impl_->capacity(); }

IdentityStats IdentityGraph::stats() const {
  const GraphState& g = *impl_;
  IdentityStats s;
  s.identifiers = g.live_ids;
  s.persons = g.live_persons;
  s.records = g.live_records;
  s.occurrences = g.live_occ;
  s.blocked = g.blocked_count;
  s.memory_bytes = g.memory_bytes();
  return s;
}

std::vector<PersonOrdinal> IdentityGraph::partition() const {
  const GraphState& g = *impl_;
  std::vector<PersonOrdinal> out(g.id_count());
  for (uint32_t id = 0; id < g.id_count(); ++id) out[id] = g.is_deleted(id) ? kNoPerson : g.ordinal_of_id(id);
  return out;
}

uint32_t IdentityGraph::identifier_capacity() const noexcept { return impl_->id_count(); }

// ---- log, listeners, conflicts ------------------------------------------------------------------

namespace {

/// Column `col` as a T, or `none` where it is NULL.
template <typename T>
T int_or(const sql::Statement& st, int col, T none) {
  return st.is_null(col) ? none : static_cast<T>(st.column_int64(col));
}

/// The next page of a stored log: the rows of `sql` (which ends "WHERE <key>
/// > ? ORDER BY <key> LIMIT ?") after `cursor`, at most `limit`.
template <typename T>
std::vector<T> read_page(sql::Database& db, const char* sql, uint64_t cursor, size_t limit,
                         T (*read_row)(const sql::Statement&)) {
  std::vector<T> out;
  sql::Statement st = db.prepare(sql);
  st.bind(1, static_cast<int64_t>(cursor));
  st.bind(2, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  while (st.step()) out.push_back(read_row(st));
  return out;
}

// One row of identity_log, as kLogPage selects it.
constexpr const char* kLogPage =
    "SELECT seq, kind, cause, time, source, record, ordinal, key, absorbed, absorbed_key, parts FROM identity_log "
    "WHERE seq > ? ORDER BY seq LIMIT ?";
ChangeEvent log_row(const sql::Statement& st) {
  ChangeEvent e;
  e.seq = static_cast<uint64_t>(st.column_int64(0));
  e.kind = static_cast<ChangeKind>(st.column_int64(1));
  e.cause = static_cast<ChangeCause>(st.column_int64(2));
  e.time = st.column_int64(3);
  e.source = std::string(st.column_text(4));
  e.record = int_or<RecordId>(st, 5, kNoRecord);
  e.ordinal = int_or<PersonOrdinal>(st, 6, kNoPerson);
  e.key = int_or<PersonKey>(st, 7, kNoKey);
  e.absorbed = int_or<PersonOrdinal>(st, 8, kNoPerson);
  e.absorbed_key = int_or<PersonKey>(st, 9, kNoKey);
  if (!st.is_null(10)) {
    try {
      for (const auto& p : nlohmann::json::parse(st.column_text(10))) {
        SplitPart part;
        part.ordinal = p.at("ordinal").get<PersonOrdinal>();
        part.key = p.at("key").get<PersonKey>();
        part.identifiers = p.at("ids").get<std::vector<IdentifierId>>();
        e.parts.push_back(std::move(part));
      }
    } catch (const nlohmann::json::exception& ex) {
      throw CorruptError("identity_log: entry " + std::to_string(e.seq) + " has bad parts: " + ex.what());
    }
  }
  return e;
}

// One row of identity_conflicts, as kConflictPage selects it.
constexpr const char* kConflictPage =
    "SELECT id, record, time, source, identifier, limited_type, reason, kept_in, refused FROM identity_conflicts "
    "WHERE id > ? ORDER BY id LIMIT ?";
LinkConflict conflict_row(const sql::Statement& st) {
  LinkConflict c;
  c.id = static_cast<uint64_t>(st.column_int64(0));
  c.record = int_or<RecordId>(st, 1, kNoRecord);
  c.time = st.column_int64(2);
  c.source = std::string(st.column_text(3));
  c.identifier = static_cast<IdentifierId>(st.column_int64(4));
  c.limited_type = int_or<TypeId>(st, 5, kNoType);
  c.reason = static_cast<ConflictReason>(st.column_int64(6));
  c.kept_in = int_or<PersonKey>(st, 7, kNoKey);
  c.refused = int_or<PersonKey>(st, 8, kNoKey);
  return c;
}

}  // namespace

std::vector<ChangeEvent> IdentityGraph::changes_since(uint64_t cursor, size_t limit) const {
  const GraphState& g = *impl_;
  if (g.db) return read_page(*g.db, kLogPage, cursor, limit, log_row);
  if (!g.mem_log.empty() && g.mem_log_first > cursor + 1) {
    throw StateError("changes_since(" + std::to_string(cursor) + "): the in-memory log starts at " +
                     std::to_string(g.mem_log_first) + " (memory_log_limit)");
  }
  std::vector<ChangeEvent> out;
  // Consecutive sequence numbers: start at the cursor's successor directly.
  const uint64_t skip = cursor + 1 > g.mem_log_first ? cursor + 1 - g.mem_log_first : 0;
  for (uint64_t i = skip; i < g.mem_log.size() && out.size() < limit; ++i) {
    out.push_back(g.materialise_mem(g.mem_log_first + i, g.mem_log[i]));
  }
  return out;
}

uint64_t IdentityGraph::last_change() const noexcept { return impl_->last_seq; }

void IdentityGraph::add_listener(IdentityListener* listener) {
  if (!listener) throw InvalidArgument("add_listener: null listener");
  auto& l = impl_->listeners;
  if (std::find(l.begin(), l.end(), listener) == l.end()) l.push_back(listener);
}

void IdentityGraph::remove_listener(IdentityListener* listener) noexcept {
  auto& l = impl_->listeners;
  l.erase(std::remove(l.begin(), l.end(), listener), l.end());
}

std::vector<LinkConflict> IdentityGraph::conflicts(uint64_t cursor, size_t limit) const {
  const GraphState& g = *impl_;
  if (g.db) return read_page(*g.db, kConflictPage, cursor, limit, conflict_row);
  std::vector<LinkConflict> out;
  for (const LinkConflict& c : g.mem_conflicts) {
    if (c.id <= cursor) continue;
    if (out.size() >= limit) break;
    out.push_back(c);
  }
  return out;
}

uint64_t IdentityGraph::conflict_count() const noexcept { return impl_->last_conflict; }

std::vector<BlockedIdentifier> IdentityGraph::blocked() const {
  const GraphState& g = *impl_;
  std::vector<uint32_t> ids;
  for (const auto& [id, m] : g.block_meta) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  std::vector<BlockedIdentifier> out;
  for (uint32_t id : ids) {
    const BlockMeta& m = g.block_meta.at(id);
    BlockedIdentifier b;
    b.identifier = id;
    b.type = g.type_of(id);
    b.type_name = g.types[b.type]->name;
    b.value = g.display_value(id);
    b.reason = static_cast<BlockReason>(m.reason);
    b.time = m.time;
    b.persons_seen = static_cast<uint32_t>(g.seen[id]) + 1;
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace cdpcore
