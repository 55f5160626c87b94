// cdpcore — the profile store: typed attributes per person and an event log.
//
//   auto ws = cdpcore::Workspace::open("crm.cdp");
//   cdpcore::ProfileStore store(ws);                      // loads what the file holds
//   store.define_attribute({"member_level", cdpcore::ValueType::string});
//   store.define_event_type({"order", {{"amount", cdpcore::ValueType::float64},
//                                      {"category", cdpcore::ValueType::string}}});
//   std::vector<cdpcore::PersonOrdinal> who = {0, 1};
//   std::vector<std::string_view> level = {"gold", "silver"};
//   store.upsert_attributes(cdpcore::RowKeys::of(who),
//                           {{cdpcore::ColumnInput::of_strings("member_level", level)}});
//
// Persons are dense ordinals (uint32, the identity graph's PersonOrdinal).
// Attributes are stored column by column, indexed by ordinal; events are
// stored per event type in columns sorted by (person, time), so that a
// person's history is one contiguous range of every column.
//
// Every write is one batch: it is validated completely, written to the
// workspace in one SQLite transaction and only then applied in memory. A
// malformed row is reported with its index and nothing of the batch is
// applied, unless the caller asks for best effort (then the bad rows are
// skipped and listed in the report).
//
// Thread safety: one writer at a time. Const member functions may run
// concurrently with each other (the tag engine evaluates from several threads),
// never concurrently with a write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/time.hpp"
#include "cdpcore/impl_access.hpp"

namespace cdpcore {

class Workspace;
class IdentityGraph;

/// A person's dense ordinal (the identity graph's PersonOrdinal).
using PersonOrdinal = uint32_t;

/// The type of an attribute, an event property or a rule expression.
enum class ValueType : uint8_t {
  null = 0,        // only the type of the literal `null`
  boolean = 1,     // "bool"
  int64 = 2,       // "int64"
  float64 = 3,     // "double"
  string = 4,      // "string" (dictionary-encoded in columns)
  timestamp = 5,   // "timestamp": UTC microseconds since the epoch
  string_set = 6,  // "set<string>": an attribute only, not an event property
};
/// "bool", "int64", "double", "string", "timestamp", "set<string>", "null".
const char* value_type_name(ValueType t) noexcept;
/// The inverse of value_type_name (also accepts "float64", "boolean",
/// "string_set"). Throws InvalidArgument naming the text.
ValueType parse_value_type(std::string_view name);

/// How two persons' values of an attribute combine when the identity graph
/// merges them: the most recently written value, the first written, the
/// smaller, the larger, the sum (numbers), or the union (sets).
enum class MergePolicy : uint8_t { latest = 0, first = 1, min = 2, max = 3, sum = 4, union_ = 5 };
/// "latest", "first", "min", "max", "sum", "union".
const char* merge_policy_name(MergePolicy p) noexcept;
/// The inverse of merge_policy_name. Throws InvalidArgument.
MergePolicy parse_merge_policy(std::string_view name);

struct AttributeDef {
  std::string name;
  ValueType type = ValueType::string;
  MergePolicy merge = MergePolicy::latest;
};

struct PropertyDef {
  std::string name;
  ValueType type = ValueType::string;  // not string_set
};

struct EventTypeDef {
  std::string name;
  std::vector<PropertyDef> properties;
};

/// One value, for row-wise access (attribute reads, single events). Timestamps
/// are int64 microseconds; a set is a sorted vector of distinct strings.
using Value = std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<std::string>>;

/// The rows a batch writes to: person ordinals, or identifiers resolved
/// through the identity graph attached with ProfileStore::attach_identity.
/// Views; the caller keeps the data alive during the call.
struct RowKeys {
  /// Ordinal-keyed rows (then the identifier fields are empty).
  std::span<const PersonOrdinal> ordinals;
  /// Identifier-keyed rows: one type for all rows, or one per row.
  std::string_view identifier_type;
  std::span<const std::string_view> identifier_types;
  std::span<const std::string_view> identifier_values;

  static RowKeys of(std::span<const PersonOrdinal> ordinals) {
    RowKeys k;
    k.ordinals = ordinals;
    return k;
  }
  static RowKeys of_identifiers(std::string_view type, std::span<const std::string_view> values) {
    RowKeys k;
    k.identifier_type = type;
    k.identifier_values = values;
    return k;
  }
  bool by_identifier() const noexcept {
    return ordinals.empty() && (!identifier_values.empty() || !identifier_type.empty());
  }
  size_t size() const noexcept { return by_identifier() ? identifier_values.size() : ordinals.size(); }
};

/// A column of a batch, row-aligned with its RowKeys. Give the data in the
/// field matching `type` (a view; the caller keeps it alive during the call):
/// bool → bools (0/1), int64/timestamp → int64s, double → doubles (NaN is
/// null), string → strings, set<string> → strings with set_offsets (row i's
/// members are strings[set_offsets[i], set_offsets[i+1])). `valid` (optional,
/// one byte per row, 0 = null) marks nulls. int64 data is accepted for a
/// double column; strings in ISO 8601 for a timestamp column. A string column
/// may instead be dictionary-encoded (Arrow dictionary arrays, pandas
/// categoricals): `codes` per row index into `dictionary`, -1 = null.
struct ColumnInput {
  std::string name;
  ValueType type = ValueType::null;
  std::span<const uint8_t> bools;
  std::span<const int64_t> int64s;
  std::span<const double> doubles;
  std::span<const std::string_view> strings;
  std::span<const uint32_t> set_offsets;
  std::span<const int32_t> codes;
  std::span<const std::string_view> dictionary;
  std::span<const uint8_t> valid;

  static ColumnInput of_bools(std::string name, std::span<const uint8_t> v) {
    ColumnInput c{std::move(name), ValueType::boolean};
    c.bools = v;
    return c;
  }
  static ColumnInput of_int64s(std::string name, std::span<const int64_t> v) {
    ColumnInput c{std::move(name), ValueType::int64};
    c.int64s = v;
    return c;
  }
  static ColumnInput of_timestamps(std::string name, std::span<const int64_t> v) {
    ColumnInput c{std::move(name), ValueType::timestamp};
    c.int64s = v;
    return c;
  }
  static ColumnInput of_doubles(std::string name, std::span<const double> v) {
    ColumnInput c{std::move(name), ValueType::float64};
    c.doubles = v;
    return c;
  }
  static ColumnInput of_strings(std::string name, std::span<const std::string_view> v) {
    ColumnInput c{std::move(name), ValueType::string};
    c.strings = v;
    return c;
  }
  static ColumnInput of_codes(std::string name, std::span<const int32_t> codes,
                              std::span<const std::string_view> dictionary) {
    ColumnInput c{std::move(name), ValueType::string};
    c.codes = codes;
    c.dictionary = dictionary;
    return c;
  }
  size_t size() const noexcept;
};

/// Options of a write batch.
struct WriteOptions {
  /// Skip malformed rows (listed in WriteReport::rejected) instead of
  /// rejecting the whole batch.
  bool best_effort = false;
  /// Whether a null cell in an attribute upsert clears the stored value
  /// (true) or leaves it unchanged (false, the default).
  bool nulls_clear = false;
  /// Identifier-keyed rows whose identifier the graph does not know: create a
  /// person for them (true, the default) or reject the row.
  bool create_persons = true;
  /// The time recorded in the identity graph for identifiers this batch adds
  /// (attribute upserts; events use their own time).
  Timestamp time = 0;
  /// Called with (rows done, rows total); return false to cancel (the batch
  /// then fails with Cancelled and nothing is applied).
  std::function<bool(uint64_t, uint64_t)> progress;
};

struct RowError {
  uint64_t index;       // row index in the batch (line index for files)
  std::string message;  // what is wrong, naming the column
};

/// What a batch did.
struct WriteReport {
  uint64_t rows_applied = 0;
  std::vector<RowError> rejected;  // best effort only
  /// The persons whose attributes or events the batch changed: the input of
  /// incremental tag evaluation.
  Bitmap touched;
};

/// Reading a CSV (RFC 4180, header row) or JSON Lines file into the store.
struct FileLoadOptions {
  /// Empty: the file holds attributes (one column per attribute). Otherwise
  /// the event type the rows are appended to (one column per property).
  std::string event_type;
  /// The column that holds the person's key.
  std::string key_column = "person";
  /// Empty: the key is a person ordinal. Otherwise the identifier type the
  /// key column holds, resolved through the identity graph.
  std::string identifier_type;
  /// Events: the column with the event time (ISO 8601 or integer microseconds).
  std::string time_column = "time";
  WriteOptions write;
};

/// A read-only view of one attribute's column. Valid until the next write to
/// the store. Entry i is person i; `valid[i] == 0` means null. Persons at or
/// beyond the column's size are null.
struct AttributeColumn {
  const AttributeDef* def = nullptr;
  size_t size = 0;
  const uint8_t* valid = nullptr;
  const int64_t* int64s = nullptr;    // int64, timestamp, bool (0/1)
  const double* doubles = nullptr;    // double
  const uint32_t* codes = nullptr;    // string: index into dictionary
  const std::vector<std::string>* dictionary = nullptr;
  /// set<string>: members of person i are codes into `dictionary`,
  /// set_codes[set_offsets[i] .. set_offsets[i+1]) — materialised per call of
  /// attribute(); use value() for single reads.
  std::vector<uint32_t> set_offsets;
  std::vector<uint32_t> set_codes;

  bool is_null(PersonOrdinal p) const noexcept { return p >= size || !valid[p]; }
  /// The value of person p as a double (NaN when null or not numeric).
  double as_double(PersonOrdinal p) const noexcept;
};

/// One event, for row-wise reads and single appends.
struct Event {
  Timestamp time = 0;
  std::vector<Value> properties;  // in the order of the event type's properties
};

/// A read-only view of one event type's log, sorted by (person, time). Rows of
/// person p are [offsets[p], offsets[p+1]) (persons at or beyond
/// offsets.size()-1 have none). Events appended since the log was last
/// compacted are not in this view: call ProfileStore::compact() first. Valid
/// until the next write.
struct EventLogView {
  const EventTypeDef* def = nullptr;
  size_t rows = 0;
  std::span<const uint64_t> offsets;
  const int64_t* time = nullptr;
  /// Property i's data: int64s for int64/timestamp/bool, doubles, or codes.
  struct Column {
    ValueType type;
    const int64_t* int64s = nullptr;
    const double* doubles = nullptr;
    const uint32_t* codes = nullptr;
    const std::vector<std::string>* dictionary = nullptr;
    const uint8_t* valid = nullptr;  // nullptr: no nulls
  };
  std::vector<Column> columns;
};

/// The store's schema. A value type.
struct ProfileSchema {
  std::vector<AttributeDef> attributes;
  std::vector<EventTypeDef> event_types;
  const AttributeDef* attribute(std::string_view name) const noexcept;
  const EventTypeDef* event_type(std::string_view name) const noexcept;
};

/// Typed attributes and per-type event logs for persons, indexed by ordinal.
/// Thread safety: see the top of this file (one writer; concurrent const
/// readers when nobody writes).
class ProfileStore {
 public:
  /// An in-memory store that persists nothing.
  ProfileStore();
  /// A store bound to a workspace: creates its tables on first use, loads the
  /// stored schema and data, and writes every batch in the same transaction
  /// that validates it.
  explicit ProfileStore(std::shared_ptr<Workspace> ws);
  ~ProfileStore();
  ProfileStore(const ProfileStore&) = delete;
  ProfileStore& operator=(const ProfileStore&) = delete;
  ProfileStore(ProfileStore&&) noexcept;
  ProfileStore& operator=(ProfileStore&&) noexcept;

  /// The workspace the store is bound to, or nullptr.
  const std::shared_ptr<Workspace>& workspace() const noexcept;
  /// The time zone for calendar rules: the workspace's, or UTC when unbound.
  const TimeZone& time_zone() const noexcept;
  /// A number that identifies this store object (compiled rules check it).
  uint64_t id() const noexcept;
  /// Increases with every change of the schema or data.
  uint64_t generation() const noexcept;

  // ---- schema -----------------------------------------------------------
  /// Adds an attribute. Names (of attributes, event types and properties):
  /// 1..128 bytes of letters (any script), digits and '_', not starting with
  /// a digit, not a word the rule language reserves (and, time, tag, …);
  /// unique among attributes.
  /// Throws Conflict when it exists with another type, InvalidArgument for a
  /// bad name or type; an identical definition is a no-op.
  void define_attribute(const AttributeDef& def);
  /// Adds an event type, or new properties to an existing one (existing
  /// properties must keep their types: Conflict otherwise).
  void define_event_type(const EventTypeDef& def);
  const ProfileSchema& schema() const noexcept;

  // ---- writes -----------------------------------------------------------
  /// Sets attribute values for the given rows (the last row wins when a
  /// person appears twice). Columns must name defined attributes.
  WriteReport upsert_attributes(const RowKeys& keys, std::span<const ColumnInput> columns,
                                const WriteOptions& options = {});
  /// Appends events of one type; `times` is row-aligned with the keys, the
  /// columns name properties of the type (missing properties are null).
  WriteReport append_events(std::string_view event_type, const RowKeys& keys, std::span<const Timestamp> times,
                            std::span<const ColumnInput> properties, const WriteOptions& options = {});
  /// The same with the times as a column: timestamps, or ISO 8601 strings
  /// (a row whose time is missing or does not parse is a row error).
  WriteReport append_events(std::string_view event_type, const RowKeys& keys, const ColumnInput& times,
                            std::span<const ColumnInput> properties, const WriteOptions& options = {});
  /// One event for one person (the streaming path; one transaction).
  void append_event(std::string_view event_type, PersonOrdinal person, const Event& event);
  /// One event keyed by an identifier (resolved through the identity graph).
  PersonOrdinal append_event(std::string_view event_type, std::string_view identifier_type,
                             std::string_view identifier_value, const Event& event);
  /// Writes one double per ordinal into a double attribute (defined on the fly
  /// with merge policy `latest` when missing); NaN clears. For traits and
  /// model scores.
  WriteReport write_doubles(std::string_view attribute, std::span<const PersonOrdinal> ordinals,
                            std::span<const double> values);
  /// Loads a CSV file (header row; RFC 4180 quoting). Errors name the line.
  WriteReport load_csv(const std::string& path, const FileLoadOptions& options);
  /// Loads a JSON Lines file (one object per line). Errors name the line.
  WriteReport load_jsonl(const std::string& path, const FileLoadOptions& options);

  // ---- reads ------------------------------------------------------------
  /// One more than the largest ordinal that has data (columns are this long).
  size_t person_count() const noexcept;
  /// A view of an attribute's column. Throws NotFound naming the attribute.
  AttributeColumn attribute(std::string_view name) const;
  /// One value (std::monostate when null). Throws NotFound for the name.
  Value value(PersonOrdinal person, std::string_view attribute) const;
  /// Doubles of a numeric attribute (int64, double, timestamp, bool) for the
  /// ordinals; nulls as NaN. Throws TypeError for a string attribute.
  std::vector<double> read_doubles(std::string_view attribute, std::span<const PersonOrdinal> ordinals) const;
  /// The compacted log of an event type (see EventLogView).
  EventLogView events(std::string_view event_type) const;
  /// A person's events of one type in time order, including those not yet
  /// compacted.
  std::vector<Event> person_events(PersonOrdinal person, std::string_view event_type) const;
  /// Total events of a type (compacted and pending).
  uint64_t event_count(std::string_view event_type) const;
  /// Sorts events appended since the last compaction into the logs. Writes
  /// call it when the pending share grows; call it before sharing the store
  /// between reader threads for the fastest reads.
  void compact();
  /// Bytes of memory used by the event logs and attribute columns.
  struct MemoryUsage {
    uint64_t attribute_bytes = 0;
    uint64_t event_bytes = 0;
    uint64_t events = 0;
  };
  MemoryUsage memory_usage() const;

  // ---- identity ----------------------------------------------------------
  /// Resolves identifier-keyed writes through `graph` and follows its merges,
  /// splits and erasures (attributes combine by their merge policy; events
  /// move to the survivor; on a split each event goes to the part that owns
  /// the identifier it arrived with). The graph must outlive the store or be
  /// detached with detach_identity().
  void attach_identity(IdentityGraph& graph);
  void detach_identity() noexcept;
  /// Applies a merge of `absorbed` into `survivor` (called by the graph
  /// listener; public for stores fed by another identity system).
  void merge_persons(PersonOrdinal survivor, PersonOrdinal absorbed);
  /// Moves the events that arrived with one of `identifiers` (type, value)
  /// from `from` to `to`, and copies `from`'s attributes to `to` (a split).
  void split_person(PersonOrdinal from, PersonOrdinal to,
                    std::span<const std::pair<std::string, std::string>> identifiers);
  /// Removes every attribute value and event of the person (erasure).
  void erase_person(PersonOrdinal person);

  struct Impl;

 private:
  friend struct detail::ImplAccess;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdpcore
