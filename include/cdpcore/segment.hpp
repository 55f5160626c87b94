// cdpcore — segments: audiences as compressed bitmaps of person ordinals.
//
//   cdpcore::SegmentEngine seg(ws);                 // definitions and members persist
//   seg.attach_store(&store);                       // attribute conditions, events
//   seg.attach_identity(&graph);                    // lists, person keys, export
//   seg.set_tags(tag_results);                      // the tag engine's bitmaps
//   seg.define("vip_sh", R"((vip or repeat_buyer) and city == "Shanghai"
//                           and not lapsed and churn_risk > 0.7)");
//   seg.define("target", "vip_sh and not last_week_recipients");
//   const cdpcore::Bitmap& who = seg.evaluate("target", as_of);
//   auto groups = seg.split(who, {.salt = "spring-campaign", .proportions = {0.1, 0.9}});
//   ExportOptions sms;
//   sms.identifier_types = {"phone"};
//   sms.allowed = &consent_allowed;                 // e.g. Consent::filter(...).allowed
//   seg.export_members(groups[1], sms, on_batch);
//
// Definitions are written in the tag-rule language (cdpcore/rules.hpp) and
// compiled into a plan: operands that are boolean tags, other segments and
// value-tag comparisons (`price_band == "high"`, `price_band in [...]`) are
// bitmaps combined with compressed-bitmap algebra; everything else
// (attribute comparisons, traits, event aggregations, model scores stored as
// attributes) is evaluated by the rule engine over the profile store. The
// plan follows SQL's three-valued logic: a person is a member when the
// definition is TRUE (never for FALSE or NULL), and `not` of an unknown
// value is unknown. Tags and segments are two-valued (member or not).
//
// Names in a definition resolve in this order: segments, boolean and value
// tags, traits, then the profile store's attributes and events. A name that
// resolves to nothing, a type error or a cycle between segments is reported
// with its line and column. A definition keeps what its names meant when it
// was defined: a segment over a tag that is later deleted fails to evaluate
// (NotFound naming the tag) instead of returning an empty audience.
//
// Persistence: bound to a Workspace, definitions, members (Roaring's portable
// format), snapshots and the membership change log live in the file
// (tables segment_*); reopening gives the same memberships. Without one,
// everything lives in memory.
//
// Thread safety: one writer at a time. Const member functions (members,
// counts, overlaps, segments_of, exports, splits) may run concurrently with
// each other but never with a non-const call. The attached store, graph and
// tags are read during evaluation: do not write to them at the same time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/time.hpp"

namespace cdpcore {

class Workspace;
class ProfileStore;
class IdentityGraph;
struct TagResults;

using PersonOrdinal = uint32_t;
using PersonKey = uint64_t;

enum class SegmentKind : uint8_t {
  dynamic = 0,  // a definition, re-evaluated on demand
  fixed = 1,    // members given explicitly or by an uploaded list
};
/// "dynamic", "fixed".
const char* segment_kind_name(SegmentKind k) noexcept;

/// What a segment is, without its members. A value type.
struct SegmentInfo {
  std::string name;
  SegmentKind kind = SegmentKind::dynamic;
  std::string definition;   // dynamic: the rule-language text
  std::string description;
  int64_t version = 0;      // 1 on creation, +1 on every redefinition
  bool evaluated = false;   // members exist (fixed segments always)
  Timestamp as_of = 0;      // the evaluation time of the members
  uint64_t size = 0;
  /// Whether membership can change with time alone (windows, as_of, tags or
  /// segments that are time-relative are not known here: refresh those too).
  bool time_relative = false;
  std::vector<std::string> segments;  // segments the definition refers to
  std::vector<std::string> tags;      // tags it refers to (boolean and value)
  std::vector<std::string> columns;   // traits, attributes and events it reads
};

struct DefineOptions {
  std::string description;
  /// Replace an existing segment of the same name (else Conflict).
  bool replace = false;
};

/// Members that entered and exited one segment between two evaluations.
struct SegmentChange {
  std::string segment;
  Bitmap entered;
  Bitmap exited;
};

/// One person entering or leaving one segment: what marketing automation
/// listens to.
struct MembershipEvent {
  uint64_t seq = 0;  // position in the change log (0 when not logged)
  std::string segment;
  PersonOrdinal person = 0;
  bool entered = false;
  Timestamp at = 0;
};

struct SnapshotInfo {
  int64_t id = 0;
  std::string segment;
  Timestamp at = 0;
  uint64_t size = 0;
  std::string label;
};

struct SnapshotDiff {
  Bitmap entered;  // in `to`, not in `from`
  Bitmap exited;   // in `from`, not in `to`
};

/// Pairwise intersection sizes of N segments (row-major N x N; the diagonal
/// holds the sizes).
struct OverlapMatrix {
  std::vector<std::string> names;
  std::vector<uint64_t> counts;
  uint64_t at(size_t i, size_t j) const noexcept { return counts[i * names.size() + j]; }
};

/// A segment's members per label of a value tag.
struct Breakdown {
  std::string tag;
  std::vector<std::string> labels;
  std::vector<uint64_t> counts;  // parallel to labels
  uint64_t unlabelled = 0;       // members without a label
};

/// The result of resolving an uploaded list of identifiers.
struct ListReport {
  uint64_t rows = 0;
  uint64_t matched = 0;    // rows that resolved to a person
  uint64_t unmatched = 0;  // valid values the graph does not know
  uint64_t invalid = 0;    // values that do not normalise for the type
  uint64_t persons = 0;    // distinct persons (the segment's size)
  /// Row indices of unmatched and invalid values (at most the first 1000).
  std::vector<uint64_t> rejected_rows;
};

/// A split into groups (control, treatment, …) by a stable hash of the
/// person key and a salt: a person stays in the same group across runs and
/// as the segment grows; with another salt the assignment is independent.
struct SplitOptions {
  std::string salt;
  /// Group shares, summing to 1 (within 1e-9). Default: 10% control, 90% treatment.
  std::vector<double> proportions = {0.1, 0.9};
};

/// What to export for each member.
struct ExportOptions {
  /// Empty: person keys only. Otherwise identifier types in priority order:
  /// the first type the person has wins, and of several identifiers of that
  /// type the one seen most recently (e.g. {"phone"} for SMS, {"openid_wx1a2b"}
  /// for one WeChat app, {"email"}). Members with none of them are skipped
  /// and counted as unreachable.
  std::vector<std::string> identifier_types;
  /// Consent: only members in this bitmap are exported (e.g.
  /// Consent::filter(...).allowed); nullptr exports every member.
  const Bitmap* allowed = nullptr;
  /// Per identifier: return false to skip it and try the next one of lower
  /// priority (identifier-scoped consent). Called on the exporting thread.
  std::function<bool(PersonOrdinal, std::string_view type, std::string_view value)> allow_identifier;
  /// Rows per batch.
  size_t batch_size = 10000;
};

/// One batch of an export (views valid during the callback).
struct ExportBatch {
  std::span<const PersonOrdinal> persons;
  std::span<const PersonKey> keys;  // empty without an identity graph
  /// With identifier types: the chosen identifier's type and value per row.
  std::span<const std::string> identifier_types;
  std::span<const std::string> identifiers;
};

struct ExportReport {
  uint64_t members = 0;      // members considered
  uint64_t exported = 0;     // rows written
  uint64_t not_allowed = 0;  // dropped by `allowed` (consent)
  uint64_t unreachable = 0;  // no identifier of the requested types (or none allowed)
};

/// The segments of a workspace (or of memory): definitions, members,
/// snapshots, the reverse index and activation export. See the top of this
/// file for the thread-safety rules.
class SegmentEngine {
 public:
  /// Segments in memory only.
  SegmentEngine();
  /// Segments bound to a workspace: creates the tables on first use and loads
  /// the definitions and members the file holds.
  explicit SegmentEngine(std::shared_ptr<Workspace> ws);
  ~SegmentEngine();
  SegmentEngine(const SegmentEngine&) = delete;
  SegmentEngine& operator=(const SegmentEngine&) = delete;
  SegmentEngine(SegmentEngine&&) noexcept;
  SegmentEngine& operator=(SegmentEngine&&) noexcept;

  const std::shared_ptr<Workspace>& workspace() const noexcept;

  // ---- sources ------------------------------------------------------------------
  /// The profile store that attribute, trait and event conditions read (not
  /// owned; must outlive the engine or be detached with nullptr).
  void attach_store(const ProfileStore* store) noexcept;
  /// The identity graph for uploaded lists, person keys, export and the
  /// universe of persons (not owned; nullptr detaches).
  void attach_identity(const IdentityGraph* graph) noexcept;
  /// The persons `not` ranges over. Default: the identity graph's live
  /// persons, else ordinals below the store's person_count().
  void set_universe(Bitmap persons);
  /// Replaces every tag with the tag engine's results: boolean tags, value
  /// tags (their labels) and traits. Tags missing from `results` are deleted.
  void set_tags(const TagResults& results);
  /// Adds or replaces one boolean tag.
  void set_tag(std::string_view name, Bitmap members);
  /// Adds or replaces a value tag: its labels and the members of each.
  void set_value_tag(std::string_view name, std::vector<std::string> labels, std::vector<Bitmap> members);
  /// Adds or replaces a trait (a number per ordinal; NaN or valid[i] == 0 is
  /// null; `valid` may be empty).
  void set_trait(std::string_view name, std::vector<double> values, std::vector<uint8_t> valid = {});
  /// Changes one person's membership of a boolean tag (the tag engine's
  /// answer for one person after an event). Throws NotFound for an unknown tag.
  void set_person_tag(PersonOrdinal person, std::string_view tag, bool member);
  /// Changes one person's label of a value tag ("" removes the label).
  void set_person_label(PersonOrdinal person, std::string_view tag, std::string_view label);
  /// Deletes a tag; segments over it then fail to evaluate. False if unknown.
  bool remove_tag(std::string_view name);
  /// The members of a boolean tag. Throws NotFound.
  const Bitmap& tag(std::string_view name) const;
  std::vector<std::string> tag_names() const;

  // ---- definitions ------------------------------------------------------------
  /// Defines (or with options.replace redefines) a dynamic segment. Checks
  /// the definition now: ParseError (line, column), NotFound for an unknown
  /// name, TypeError for a misuse (a value tag as a condition, a label
  /// compared with a number), InvalidArgument for a cycle between segments
  /// (naming the cycle), Conflict when the name exists. Members are computed
  /// by evaluate(). Names (of segments, tags and traits): 1..128 bytes of
  /// letters (any script), digits and '_', not starting with a digit, not a
  /// word the rule language reserves.
  SegmentInfo define(std::string_view name, std::string_view definition, const DefineOptions& options = {});
  /// Defines a fixed segment with the given members.
  SegmentInfo define_fixed(std::string_view name, Bitmap members, const DefineOptions& options = {});
  /// Defines a fixed segment from an uploaded list of identifier values of
  /// one type, resolved through the identity graph (StateError without one;
  /// NotFound for an unknown type).
  ListReport define_list(std::string_view name, std::string_view identifier_type,
                         std::span<const std::string_view> values, const DefineOptions& options = {});
  /// Removes a segment and its snapshots. Throws Conflict when other segments
  /// refer to it (naming them); false when it does not exist.
  bool remove(std::string_view name);
  bool contains(std::string_view name) const noexcept;
  /// Throws NotFound.
  SegmentInfo info(std::string_view name) const;
  /// Every segment's name, sorted.
  std::vector<std::string> names() const;

  // ---- evaluation ----------------------------------------------------------------
  /// Computes a dynamic segment's members at `as_of` (re-evaluating the
  /// dynamic segments it refers to first, at the same time), stores them and
  /// returns them. Fixed segments are returned as they are.
  const Bitmap& evaluate(std::string_view name, Timestamp as_of);
  /// Evaluates every dynamic segment at `as_of` and returns what changed.
  std::vector<SegmentChange> refresh(Timestamp as_of);
  /// Evaluates a definition without storing it ("how big would it be?").
  /// Dynamic segments it refers to are evaluated (and stored) at `as_of`
  /// first when their members are from another time.
  Bitmap preview(std::string_view definition, Timestamp as_of);
  /// The size of segment `name` with an extra condition:
  /// |members(name) ∩ preview(condition)|.
  uint64_t count_with(std::string_view name, std::string_view condition, Timestamp as_of);
  /// After an event: re-evaluates, for one person, the dynamic segments that
  /// read any of `changed` (tag, attribute, trait or event-type names;
  /// directly or through other segments; empty = every dynamic segment),
  /// updates their members and returns the enter/exit events (also appended
  /// to the change log).
  std::vector<MembershipEvent> update_person(PersonOrdinal person, std::span<const std::string> changed,
                                             Timestamp as_of);

  /// The stored members (StateError when a dynamic segment was never evaluated).
  const Bitmap& members(std::string_view name) const;
  uint64_t count(std::string_view name) const;
  /// Which segments a person is in, from the reverse index (sorted names).
  std::vector<std::string> segments_of(PersonOrdinal person) const;

  // ---- algebra -------------------------------------------------------------------
  /// The pairwise intersection sizes of the named segments.
  OverlapMatrix overlap(std::span<const std::string> names) const;
  /// A segment's members per label of a value tag.
  Breakdown breakdown(std::string_view name, std::string_view value_tag) const;

  // ---- sampling and holdouts -------------------------------------------------------------
  /// k members chosen deterministically by `seed`: those with the k smallest
  /// hash64(ordinal, seed), so a sampled person stays sampled while the
  /// segment grows unless displaced by a smaller hash. All when k >= size.
  static Bitmap sample(const Bitmap& members, uint64_t k, uint64_t seed);
  /// Splits members into groups by hash64(person key, salt) (the ordinal
  /// stands in for the key without an identity graph). Throws
  /// InvalidArgument when the proportions are not positive or do not sum to 1.
  std::vector<Bitmap> split(const Bitmap& members, const SplitOptions& options) const;

  // ---- snapshots and changes ---------------------------------------------------------
  /// Saves the current members as a snapshot taken at `at`; returns its id.
  int64_t snapshot(std::string_view name, Timestamp at, std::string_view label = {});
  /// A segment's snapshots, oldest first.
  std::vector<SnapshotInfo> snapshots(std::string_view name) const;
  /// Throws NotFound.
  Bitmap snapshot_members(int64_t id) const;
  /// entered = to − from, exited = from − to. Throws NotFound.
  SnapshotDiff diff(int64_t from, int64_t to) const;
  bool drop_snapshot(int64_t id);
  /// Membership events with seq > cursor, oldest first (the change log of
  /// update_person and refresh), at most `limit`.
  std::vector<MembershipEvent> changes_since(uint64_t cursor, size_t limit = 10000) const;

  // ---- activation export -------------------------------------------------------------
  /// Streams `members` to `sink` in batches (see ExportOptions); stops early
  /// when `sink` returns false.
  ExportReport export_members(const Bitmap& members, const ExportOptions& options,
                              const std::function<bool(const ExportBatch&)>& sink) const;
  /// Writes a CSV file (RFC 4180): header person_key[,identifier_type,identifier]
  /// (person_ordinal without an identity graph). Throws IoError.
  ExportReport export_csv(const Bitmap& members, const std::string& path, const ExportOptions& options) const;

  /// Bytes of memory held by the members, tags and the reverse index.
  size_t memory_bytes() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdpcore
