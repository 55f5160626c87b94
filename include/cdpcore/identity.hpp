// cdpcore — the identity graph (OneID): who is who.
//
//   auto ws = cdpcore::Workspace::open("crm.cdp");
//   cdpcore::IdentityGraph graph(ws);                 // loads what the file holds
//   graph.register_default_types();                   // phone, email, unionid, …
//   graph.link({{{"phone", "138 0013 8000"}, {"crm_id", "M001"}}, t, "order"});
//   auto who = graph.ordinal_of("phone", "+86 13800138000");   // same person
//
// Identifiers (a phone, an e-mail, a WeChat unionid/openid, a device id, a
// cookie, a CRM member id …) are linked into persons by records: the set of
// identifiers seen together at one time from one source (a login, an order,
// a CRM import row). Every identifier belongs to exactly one person, except
// blocked ones, which belong to none.
//
// Persons have two names:
//  - a PersonKey (uint64): stable across merges. Keys are assigned 1, 2, 3 …
//    in the order persons are created and are never reused. When persons
//    merge, the OLDEST person (the smallest key) survives and a merged-away
//    key keeps resolving to the survivor (resolve_key). When a person splits,
//    the part with the most identifiers keeps the key (ties: the part holding
//    the identifier seen first, i.e. the smallest IdentifierId); the other
//    parts get new keys. An erased person's key resolves to nothing.
//  - a PersonOrdinal (uint32): dense, for bitmaps and columns. An ordinal
//    freed by a merge (the absorbed person's) or an erasure is reused only by
//    persons created in a LATER batch, after listeners have been told (so a
//    listener that clears the freed ordinal's data on merged/erased events is
//    never confused), and only when IdentityOptions::reuse_ordinals is set.
//
// Linking rules (merge protection):
//  - per type, a limit of identifiers per person, optionally within a time
//    window (e.g. at most 10 device ids last seen within one week);
//  - a hard cap of identifiers per person (IdentityOptions::max_identifiers);
//  - a link that would break a limit does not merge; it is recorded as a
//    LinkConflict and the rest of the record links what it can. The record's
//    identifiers are considered in priority order (highest first), so
//    lower-priority identifiers give way first;
//  - values on a blocklist (block()) never link; a value seen with more than
//    K distinct anchored persons (auto_block_threshold; a person is anchored
//    when it holds an identifier of a limited type; a new identifier of a
//    limited type the person already holds counts as another person) is
//    blocked automatically and the persons it bridged are split again;
//  - an identifier unseen for longer than its type's TTL stops linking: when
//    it reappears, its old links are dropped (its old person is recomputed)
//    and it links afresh; expire() drops such links in bulk.
// A batch is applied in time order (ties broken by the records' content), so
// the result of one batch does not depend on the order of its records.
//
// Persistence: bound to a Workspace, every batch is written in the same
// SQLite transaction (tables identity_*); reopening rebuilds the same graph.
// Without a workspace the graph lives in memory only.
//
// Thread safety: one writer at a time. Const member functions that do not
// read the file (lookups, identifiers_of, persons, explain, to_dot, …) may
// run concurrently with each other but never with a write. Methods reading
// the workspace file (changes_since, conflicts, blocked on a bound graph)
// follow the Workspace's rule (one thread at a time). Listeners are called
// on the writer's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/error.hpp"
#include "cdpcore/time.hpp"
#include "cdpcore/impl_access.hpp"

namespace cdpcore {

class Workspace;

/// A person's dense ordinal, the member type of every Bitmap of persons.
using PersonOrdinal = uint32_t;
/// A person's stable key (1, 2, 3 … in creation order; 0 means none).
using PersonKey = uint64_t;
/// A registered identifier type (dense, from 0).
using TypeId = uint32_t;
/// An identifier (one normalised value of one type), dense from 0, never reused.
using IdentifierId = uint32_t;
/// A linked record, dense from 0 in the order records were applied.
using RecordId = uint64_t;

inline constexpr PersonOrdinal kNoPerson = 0xFFFFFFFFu;
inline constexpr PersonKey kNoKey = 0;
inline constexpr IdentifierId kNoIdentifier = 0xFFFFFFFFu;
inline constexpr RecordId kNoRecord = ~RecordId{0};
inline constexpr TypeId kNoType = 0xFFFFFFFFu;
/// At most this many identifier types (names of up to 128 bytes).
inline constexpr uint32_t kMaxIdentifierTypes = 255;
/// The longest identifier value any type accepts (after normalisation).
inline constexpr uint32_t kMaxIdentifierLength = 1023;

// ---- identifier types ---------------------------------------------------------

/// How raw values become the stored, compared form.
enum class Normalizer : uint8_t {
  none = 0,    // as given (still rejected when empty or all whitespace)
  trim = 1,    // leading/trailing whitespace removed (ASCII, U+00A0, U+3000)
  lower = 2,   // trim, then ASCII letters to lower case
  email = 3,   // trim + lower case, one '@' with non-empty local part and a dotted domain;
               // with email_fold_providers: googlemail.com → gmail.com, dots and "+tag"
               // dropped for gmail.com, "+tag" dropped for outlook/hotmail/live/icloud/qq/163/126
  phone = 4,   // libphonenumber: parsed with phone_region as the default region,
               // checked valid, formatted as E.164 ("+8613800138000")
  custom = 5,  // a user callback (custom_normalizer)
};
/// "none", "trim", "lower", "email", "phone", "custom".
const char* normalizer_name(Normalizer n) noexcept;
/// The inverse of normalizer_name. Throws InvalidArgument.
Normalizer parse_normalizer(std::string_view name);

/// How values are kept in memory and in the file.
enum class Storage : uint8_t {
  clear = 0,       // the normalised value
  keyed_hash = 1,  // HMAC-SHA256(hash_key, normalised value): no raw PII is held
};

/// What the caller passes as the value.
enum class InputKind : uint8_t {
  raw = 0,     // the value itself, normalised by the type's normaliser
  sha256 = 1,  // 64 hex digits: SHA-256 of the normalised value (the form ad
               // platforms exchange); stored as the 32-byte digest, shown as hex
};

/// A user normaliser: returns the normalised value, or throws (any
/// cdpcore::Error; the message becomes the record's rejection reason). An
/// empty result rejects the value. Called from several threads at once when
/// IdentifierTypeOptions::custom_thread_safe is true, else from one.
using NormalizeFn = std::function<std::string(std::string_view raw)>;

struct IdentifierTypeOptions {
  Normalizer normalizer = Normalizer::trim;
  NormalizeFn custom_normalizer;    // required for Normalizer::custom (not stored in the file)
  bool custom_thread_safe = false;  // the callback may run on several threads at once
  std::string phone_region = "CN";  // default region of Normalizer::phone (ISO 3166 alpha-2)
  bool email_fold_providers = false;
  /// At most this many identifiers of the type per person (0 = unlimited) …
  uint32_t limit = 0;
  /// … counting only those last seen within this window before the record's
  /// time (0 = ever). E.g. limit 10, window days(7): 10 device ids per week.
  Timestamp limit_window = 0;
  /// Higher gives way later when a record cannot link all its identifiers.
  int32_t priority = 0;
  /// An identifier unseen for longer than this stops linking (0 = never).
  Timestamp ttl = 0;
  Storage storage = Storage::clear;
  /// The HMAC key for Storage::keyed_hash (required then; not stored in the
  /// file, only a fingerprint to check it: pass it again after reopening).
  std::string hash_key;
  InputKind input = InputKind::raw;
  /// Longer values (after normalisation) are rejected; at most kMaxIdentifierLength.
  uint32_t max_length = 256;
  /// A value seen with more than this many distinct anchored persons is
  /// blocked (0 = use IdentityOptions::auto_block_threshold; at most 250).
  uint32_t auto_block_threshold = 0;
  /// Never auto-block this type (e.g. a CRM id is authoritative).
  bool never_auto_block = false;
};

struct IdentifierTypeInfo {
  TypeId id = kNoType;
  std::string name;
  IdentifierTypeOptions options;  // custom_normalizer and hash_key left empty
  bool ready = true;  // false after reopening until a custom normaliser / hash key is supplied
};

// ---- records -------------------------------------------------------------------

/// One identifier as input: a type (by name or id) and a raw value.
struct IdentifierInput {
  std::string_view type;  // type name; ignored when type_id != kNoType
  std::string_view value;
  TypeId type_id = kNoType;
  IdentifierInput() = default;
  IdentifierInput(std::string_view type_name, std::string_view v) : type(type_name), value(v) {}
  IdentifierInput(TypeId id, std::string_view v) : value(v), type_id(id) {}
};

/// Identifiers seen together (views: the caller keeps the strings alive for
/// the call).
struct Record {
  std::vector<IdentifierInput> identifiers;
  Timestamp time = 0;
  std::string_view source;
};

/// Many records in flat arrays (owning copies of every string): the fast path
/// for batches. Record i's identifiers are [offsets[i], offsets[i+1]).
/// A value type; not thread-safe for writes.
class RecordBatch {
 public:
  RecordBatch();
  ~RecordBatch();
  RecordBatch(const RecordBatch&);
  RecordBatch& operator=(const RecordBatch&);
  RecordBatch(RecordBatch&&) noexcept;
  RecordBatch& operator=(RecordBatch&&) noexcept;

  /// Starts a record; identifiers added next belong to it.
  void begin_record(Timestamp time, std::string_view source);
  void add(TypeId type, std::string_view value);
  /// By name: resolved when the batch is linked (unknown names are per-record errors).
  void add(std::string_view type_name, std::string_view value);
  /// A whole record at once.
  void add_record(const Record& r);
  void reserve(size_t records, size_t identifiers, size_t value_bytes);
  void clear() noexcept;

  size_t size() const noexcept;              // records
  size_t identifier_count() const noexcept;  // identifiers over all records

  struct Impl;

 private:
  friend struct detail::ImplAccess;
  std::unique_ptr<Impl> impl_;
};

enum class BatchMode : uint8_t {
  all_or_nothing = 0,  // any invalid record rejects the whole batch (throws; nothing applied)
  best_effort = 1,     // invalid records are skipped and reported; the rest is applied
};

struct BatchOptions {
  BatchMode mode = BatchMode::all_or_nothing;
  /// Called now and then with (records done, records total); return false to
  /// cancel (throws Cancelled, nothing applied). May be called from the
  /// calling thread only.
  std::function<bool(uint64_t, uint64_t)> progress;
  /// Fill BatchResult::record_ids.
  bool return_record_ids = false;
  /// Drop only the invalid identifiers of a record (each reported) and link
  /// the rest, instead of rejecting the whole record. A record left with no
  /// valid identifier is still rejected.
  bool skip_invalid_identifiers = false;
};

/// Why a record (or one of its identifiers) was rejected.
struct RecordError {
  size_t record = 0;      // index in the batch
  size_t identifier = 0;  // index of the identifier within the record (SIZE_MAX: the record itself)
  ErrorCode code = ErrorCode::invalid_argument;
  std::string message;    // "record 17, identifier 1 (phone): \"abc\" is not a phone number"
};

struct BatchResult {
  size_t records = 0;           // records applied
  size_t rejected = 0;          // records rejected (best_effort)
  size_t identifiers = 0;       // identifier occurrences applied
  size_t new_identifiers = 0;
  size_t new_persons = 0;
  size_t merges = 0;
  size_t splits = 0;            // splits caused by auto-blocks and expiries
  size_t conflicts = 0;
  size_t blocked = 0;           // occurrences of blocked values (not linked)
  size_t newly_blocked = 0;     // values auto-blocked by this batch
  size_t suppressed = 0;        // occurrences dropped because the value was erased before
  size_t expired = 0;           // identifiers whose links expired (TTL) in this batch
  std::vector<RecordError> errors;
  /// Input index → RecordId (kNoRecord for a rejected record); only with
  /// BatchOptions::return_record_ids.
  std::vector<RecordId> record_ids;
  uint64_t first_change = 0;    // change-log sequence numbers written by this batch,
  uint64_t last_change = 0;     // [first_change, last_change]; 0, 0 when none
};

// ---- what the graph reports ---------------------------------------------------------

struct IdentifierInfo {
  IdentifierId id = kNoIdentifier;
  TypeId type = kNoType;
  std::string type_name;
  std::string value;         // normalised value; lowercase hex for hashed types
  Timestamp last_seen = 0;   // time of the latest record holding it (minute precision)
  uint32_t records = 0;      // active records holding it
  bool blocked = false;
};

enum class ChangeKind : uint8_t { merged = 0, split = 1, erased = 2 };
/// "merged", "split", "erased".
const char* change_kind_name(ChangeKind k) noexcept;

enum class ChangeCause : uint8_t {
  link = 0,               // a record linked two persons
  remove_identifier = 1,  // remove_identifier()
  remove_record = 2,      // remove_record()
  erase_person = 3,       // erase_person()
  block = 4,              // block() of a linked value
  auto_block = 5,         // a value crossed its auto-block threshold
  expire = 6,             // a TTL expiry dropped an identifier's links
};
/// "link", "remove_identifier", "remove_record", "erase_person", "block", "auto_block", "expire".
const char* change_cause_name(ChangeCause c) noexcept;

/// One part of a split person.
struct SplitPart {
  PersonOrdinal ordinal = kNoPerson;
  PersonKey key = kNoKey;
  std::vector<IdentifierId> identifiers;
  /// (type name, value) of each identifier, in the same order; filled in the
  /// events given to listeners, empty in the persisted log (changes_since).
  std::vector<std::pair<std::string, std::string>> values;
};

/// One entry of the change log.
///  merged: `absorbed` (absorbed_key) merged into `ordinal` (key), the survivor;
///          the absorbed ordinal is free afterwards.
///  split:  the person `ordinal` (key) became parts[0] (the original ordinal
///          and key), parts[1], …
///  erased: the person `ordinal` (key) was erased; the ordinal is free afterwards.
struct ChangeEvent {
  uint64_t seq = 0;  // 1, 2, 3 … (the cursor)
  ChangeKind kind = ChangeKind::merged;
  ChangeCause cause = ChangeCause::link;
  Timestamp time = 0;
  std::string source;          // the linking record's source, or the caller's note
  RecordId record = kNoRecord; // the record that caused a merge
  PersonOrdinal ordinal = kNoPerson;
  PersonKey key = kNoKey;
  PersonOrdinal absorbed = kNoPerson;
  PersonKey absorbed_key = kNoKey;
  std::vector<SplitPart> parts;
};

/// Follows the graph's changes. Register with IdentityGraph::add_listener.
/// Events are delivered on the writer's thread, in log order, inside the
/// batch's transaction after the graph has applied it (lookups in a callback
/// see the new state), so a listener bound to the same workspace writes its
/// own changes in the same transaction. A listener that throws aborts the
/// batch: the graph and the file are restored and every listener that
/// already received events of it gets on_rolled_back().
class IdentityListener {
 public:
  virtual ~IdentityListener();
  virtual void on_merged(const ChangeEvent& e);
  virtual void on_split(const ChangeEvent& e);
  virtual void on_erased(const ChangeEvent& e);
  /// The batch whose events were delivered did not commit; forget them.
  virtual void on_rolled_back();
};

enum class ConflictReason : uint8_t {
  type_limit = 0,    // the type's limit per person
  window_limit = 1,  // the type's limit within its time window
  person_cap = 2,    // IdentityOptions::max_identifiers
};
/// "type_limit", "window_limit", "person_cap".
const char* conflict_reason_name(ConflictReason r) noexcept;

/// A link that merge protection refused.
struct LinkConflict {
  uint64_t id = 0;  // 1, 2, 3 … (the cursor)
  RecordId record = kNoRecord;
  Timestamp time = 0;
  std::string source;
  IdentifierId identifier = kNoIdentifier;  // the identifier that was not linked
  TypeId limited_type = kNoType;            // the type whose limit would break (kNoType: person cap)
  ConflictReason reason = ConflictReason::type_limit;
  PersonKey kept_in = kNoKey;               // the identifier's person (its key then), kNoKey if it was new
  PersonKey refused = kNoKey;               // the person it would have joined (its key then)
};

enum class BlockReason : uint8_t { blocklist = 0, threshold = 1 };
/// "blocklist", "threshold".
const char* block_reason_name(BlockReason r) noexcept;

struct BlockedIdentifier {
  IdentifierId identifier = kNoIdentifier;
  TypeId type = kNoType;
  std::string type_name;
  std::string value;       // normalised (hex for hashed types)
  BlockReason reason = BlockReason::blocklist;
  Timestamp time = 0;      // when it was blocked
  uint32_t persons_seen = 0;
};

/// One step of an explanation: `record` linked `from` and `to`.
struct ExplainStep {
  RecordId record = kNoRecord;
  Timestamp time = 0;
  std::string source;
  IdentifierInfo from;
  IdentifierInfo to;
};

struct Explanation {
  bool same_person = false;
  /// The shortest chain of records from A to B (empty when A == B or not the same person).
  std::vector<ExplainStep> steps;
};

struct DotOptions {
  /// Show values masked ("+861******8000", "a***@x.com"), never in full.
  bool mask_values = true;
  /// Also draw refused links (conflicts) to identifiers of other persons, dashed.
  bool show_conflicts = true;
};

/// What a removal or erasure changes (or would change, for a dry run).
struct RemovalReport {
  bool dry_run = false;
  /// The removed identifiers, values masked ("+861******8000"): a report never
  /// carries the raw values it removed.
  std::vector<IdentifierInfo> removed_identifiers;
  size_t records_removed = 0;    // records left with no identifier, or removed explicitly
  size_t occurrences_removed = 0;
  std::vector<PersonKey> erased_persons;
  /// The affected person and what it becomes (parts; ordinals/keys of new
  /// parts are kNoPerson/kNoKey in a dry run).
  std::vector<ChangeEvent> splits;
  uint64_t first_change = 0, last_change = 0;
};

struct RemoveOptions {
  bool dry_run = false;
  /// Keep HMAC-SHA256(suppression key, type, value) of each removed value in
  /// the suppression list (values seen again are dropped while
  /// IdentityOptions::drop_suppressed is set).
  bool suppress = false;
  Timestamp time = 0;   // the time recorded in the change log
  std::string note;     // recorded as the change's source ("gdpr request 42")
};

struct IdentityOptions {
  /// Hard cap of identifiers per person: links beyond it are refused.
  uint32_t max_identifiers = 1000;
  /// Default auto-block threshold of every type (0 = off, at most 250).
  uint32_t auto_block_threshold = 0;
  /// Reuse freed ordinals (in later batches).
  bool reuse_ordinals = true;
  /// Drop values that are on the suppression list (erased with suppress=true).
  bool drop_suppressed = true;
  /// The key of the suppression list's keyed hashes. Empty: a random key
  /// generated once and kept in the workspace (or for the graph's life).
  std::string suppression_key;
  /// An in-memory graph keeps at most this many change-log entries and
  /// conflicts (the oldest are dropped); a bound graph keeps them in the file.
  size_t memory_log_limit = 1u << 20;
};

struct IdentityStats {
  uint64_t identifiers = 0;   // live identifiers (blocked included)
  uint64_t persons = 0;       // live persons
  uint64_t records = 0;       // active records
  uint64_t occurrences = 0;   // identifier occurrences in active records
  uint64_t blocked = 0;
  uint64_t memory_bytes = 0;  // bytes held by the in-memory structure
};

// ---- the graph -------------------------------------------------------------------

class IdentityGraph {
 public:
  /// A graph in memory only.
  explicit IdentityGraph(const IdentityOptions& options = {});
  /// A graph bound to `ws`: loads what the file holds (creating the tables
  /// on first use) and writes every change in the batch's transaction.
  explicit IdentityGraph(std::shared_ptr<Workspace> ws, const IdentityOptions& options = {});
  ~IdentityGraph();
  IdentityGraph(const IdentityGraph&) = delete;
  IdentityGraph& operator=(const IdentityGraph&) = delete;

  /// The workspace it is bound to (nullptr in memory).
  const std::shared_ptr<Workspace>& workspace() const noexcept;
  const IdentityOptions& options() const noexcept;

  // -- types
  /// Registers a type, or returns the existing id when `name` exists with the
  /// same normaliser, storage and input kind (limits, priority, TTL and
  /// thresholds are then updated; a custom normaliser / hash key supplied
  /// again). Throws Conflict when those differ, InvalidArgument for bad
  /// options or a name outside the library's one rule for names: 1..128
  /// bytes of letters (any script), digits and '_', not starting with a
  /// digit, not a word the rule language reserves.
  TypeId register_type(std::string_view name, const IdentifierTypeOptions& options);
  /// Registers phone (CN, limit 3, priority 80, auto-block 5), email
  /// (limit 5, 70, auto-block 5), unionid (limit 1, 90), openid_mp,
  /// openid_oa (limit 1, 60), device_id (lower case, 10 per 7 days, 30,
  /// auto-block 1: a device seen with a second person stops linking), crm_id
  /// (limit 1, 100, never auto-blocked), cookie (lower case, unlimited, 10,
  /// TTL 180 days): the names and order of datagen's identifier types.
  /// Returns their ids in that order.
  std::vector<TypeId> register_default_types();
  /// The id of a type, or kNoType.
  TypeId type_id(std::string_view name) const noexcept;
  /// Throws NotFound for an unknown id.
  IdentifierTypeInfo type_info(TypeId type) const;
  std::vector<IdentifierTypeInfo> types() const;
  /// Supplies a custom normaliser after reopening (or replaces one).
  void set_custom_normalizer(TypeId type, NormalizeFn fn, bool thread_safe = false);
  /// Supplies the HMAC key of a keyed-hash type after reopening. Throws
  /// InvalidArgument when it does not match the stored fingerprint.
  void set_hash_key(TypeId type, std::string_view key);

  /// The stored form of a raw value (normalised; hashed for keyed-hash types;
  /// hex for hashed forms), or throws (InvalidArgument/ParseError/Utf8Error
  /// naming the problem).
  std::string normalize(TypeId type, std::string_view raw) const;
  /// As normalize(), nullopt instead of throwing for a bad value.
  std::optional<std::string> try_normalize(TypeId type, std::string_view raw) const;
  /// SHA-256 (hex) of the normalised value: the form ad platforms exchange.
  std::string sha256_of(TypeId type, std::string_view raw) const;

  // -- linking
  /// Links one record. Throws (nothing applied) when it is invalid.
  BatchResult link(const Record& record);
  /// Links records in one transaction; see BatchMode.
  BatchResult link_batch(std::span<const Record> records, const BatchOptions& options = {});
  BatchResult link_batch(const RecordBatch& batch, const BatchOptions& options = {});
  /// Validates without applying: the errors link_batch would report.
  std::vector<RecordError> check_batch(const RecordBatch& batch) const;

  // -- lookups (values are normalised first; unknown or invalid values give nullopt)
  std::optional<PersonOrdinal> ordinal_of(TypeId type, std::string_view raw_value) const;
  std::optional<PersonOrdinal> ordinal_of(std::string_view type_name, std::string_view raw_value) const;
  /// The person of a stored identifier.
  std::optional<PersonOrdinal> ordinal_of(IdentifierId id) const;
  /// The identifier, or nullopt (blocked identifiers are found too).
  std::optional<IdentifierId> identifier_id(TypeId type, std::string_view raw_value) const;
  std::optional<IdentifierInfo> identifier(IdentifierId id) const;
  /// Many values of one type: writes one ordinal per value (kNoPerson when
  /// unknown, invalid or blocked). `out.size()` must equal `raw_values.size()`.
  /// Normalises on every hardware thread from 20,000 values (when the type's
  /// normaliser may run on several threads at once).
  void ordinals_of(TypeId type, std::span<const std::string_view> raw_values, std::span<PersonOrdinal> out) const;

  std::optional<PersonKey> key_of(PersonOrdinal ordinal) const noexcept;
  /// The live ordinal of a key, following merges (nullopt when unknown or erased).
  std::optional<PersonOrdinal> ordinal_of_key(PersonKey key) const noexcept;
  /// The current key a key resolves to (itself when alive; the survivor when
  /// merged away; nullopt when unknown or erased).
  std::optional<PersonKey> resolve_key(PersonKey key) const noexcept;
  /// keys_of for many ordinals (kNoKey for free ordinals).
  void keys_of(std::span<const PersonOrdinal> ordinals, std::span<PersonKey> out) const;

  /// A person's identifiers (all, or of one type), oldest first. Empty for a
  /// free ordinal.
  std::vector<IdentifierInfo> identifiers_of(PersonOrdinal ordinal) const;
  std::vector<IdentifierInfo> identifiers_of(PersonOrdinal ordinal, TypeId type) const;
  /// The identifier of `type` a person was seen with most recently (the one
  /// to contact on a channel), or nullopt.
  std::optional<IdentifierInfo> latest_identifier(PersonOrdinal ordinal, TypeId type) const;
  /// Number of identifiers of a person (0 for a free ordinal).
  uint32_t identifier_count(PersonOrdinal ordinal) const noexcept;

  /// The live persons' ordinals.
  Bitmap persons() const;
  /// One more than the largest ordinal ever used: arrays indexed by ordinal
  /// need this many slots.
  uint32_t ordinal_capacity() const noexcept;
  IdentityStats stats() const;
  /// Person of every identifier: out[id] = ordinal (kNoPerson for blocked or
  /// removed), for identifiers 0 … identifier_capacity()-1.
  std::vector<PersonOrdinal> partition() const;
  uint32_t identifier_capacity() const noexcept;

  // -- log, conflicts, blocks
  /// Change-log entries with seq > cursor, oldest first, at most `limit`.
  /// Throws StateError when an in-memory graph no longer holds entries right
  /// after `cursor` (memory_log_limit).
  std::vector<ChangeEvent> changes_since(uint64_t cursor, size_t limit = 10000) const;
  /// The seq of the last change (0 when none).
  uint64_t last_change() const noexcept;
  void add_listener(IdentityListener* listener);  // not owned; must outlive the registration
  void remove_listener(IdentityListener* listener) noexcept;

  /// Conflicts with id > cursor, oldest first.
  std::vector<LinkConflict> conflicts(uint64_t cursor = 0, size_t limit = 10000) const;
  uint64_t conflict_count() const noexcept;
  /// Blocks a value (blocklist): it never links again; when it is linked
  /// now, its links are dropped and its person recomputed (maybe split).
  /// Returns the report of the split (if any).
  RemovalReport block(TypeId type, std::string_view raw_value, const RemoveOptions& options = {});
  /// Lifts a block: the value links again in later records (old links stay dropped).
  /// Returns false when it was not blocked.
  bool unblock(TypeId type, std::string_view raw_value);
  std::vector<BlockedIdentifier> blocked() const;

  // -- removal and erasure (each is one transaction)
  /// Removes one identifier from every record and the graph; its person is
  /// recomputed from the links that remain (maybe split).
  RemovalReport remove_identifier(TypeId type, std::string_view raw_value, const RemoveOptions& options = {});
  /// Removes one record; the persons it linked are recomputed.
  RemovalReport remove_record(RecordId record, const RemoveOptions& options = {});
  /// Right to erasure: removes a person's identifiers and records; no raw
  /// value of them remains in memory or in the file (the WAL is checkpointed
  /// and truncated), only the keyed hash when options.suppress is set.
  RemovalReport erase_person(PersonOrdinal ordinal, const RemoveOptions& options = {});
  /// Drops the links of every identifier whose TTL has passed at `as_of`
  /// (each affected person is recomputed).
  RemovalReport expire(Timestamp as_of, const RemoveOptions& options = {});
  /// Whether a value was erased with suppression.
  bool is_suppressed(TypeId type, std::string_view raw_value) const;

  // -- explanations
  /// Why A and B are the same person: the shortest chain of records.
  Explanation explain(IdentifierId a, IdentifierId b) const;
  Explanation explain(TypeId type_a, std::string_view raw_a, TypeId type_b, std::string_view raw_b) const;
  /// The records that hold an identifier (newest first, at most `limit`).
  struct RecordInfo {
    RecordId id = kNoRecord;
    Timestamp time = 0;
    std::string source;
    std::vector<IdentifierId> identifiers;  // as given (deduplicated)
    std::vector<bool> linked;               // per identifier: linked by this record
  };
  std::vector<RecordInfo> records_of(IdentifierId id, size_t limit = 100) const;
  std::optional<RecordInfo> record(RecordId id) const;
  /// Graphviz DOT of one person's identifiers and the records linking them.
  std::string to_dot(PersonOrdinal ordinal, const DotOptions& options = {}) const;

  struct Impl;

 private:
  friend struct detail::ImplAccess;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdpcore
