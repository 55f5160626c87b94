// Internal: the state behind cdpcore::SegmentEngine.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cdpcore/rules.hpp"
#include "cdpcore/segment.hpp"

namespace cdpcore::segment_detail {

/// What a name in a definition meant when it was defined.
enum class NameKind : uint8_t { segment = 0, tag = 1, value_tag = 2, trait = 3, column = 4 };
const char* name_kind_text(NameKind k) noexcept;
std::optional<NameKind> parse_name_kind(std::string_view text) noexcept;

struct TagEntry {
  enum class Kind : uint8_t { boolean, value, trait } kind = Kind::boolean;
  Bitmap members;                     // boolean: members; value: persons with a label; trait: non-null
  std::vector<std::string> labels;    // value tags
  std::vector<Bitmap> label_members;  // parallel to labels
  std::vector<double> values;         // traits, per ordinal (NaN = null)
  std::vector<uint8_t> valid;         // traits (empty: only NaN is null)
  bool is_valid(uint32_t p) const noexcept {
    if (p >= values.size()) return false;
    if (!valid.empty() && (p >= valid.size() || !valid[p])) return false;
    return values[p] == values[p];  // not NaN
  }
};

struct Plan;  // plan.cpp

struct Segment {
  uint32_t id = 0;  // index in Impl::by_id, for the reverse index
  std::string name;
  SegmentKind kind = SegmentKind::dynamic;
  std::string definition;
  std::string description;
  int64_t version = 1;
  bool evaluated = false;
  Timestamp as_of = 0;
  Bitmap members;
  std::shared_ptr<const rules::Node> expr;  // dynamic: the parsed definition
  std::map<std::string, NameKind, std::less<>> names;  // what each name meant
  std::map<std::string, rules::SourcePos, std::less<>> name_pos;  // where each name first appears
  bool time_relative = false;
  std::shared_ptr<Plan> plan;  // compiled lazily, dropped when sources change

  std::vector<std::string> refs(NameKind k) const {
    std::vector<std::string> out;
    for (const auto& [n, kind] : names)
      if (kind == k) out.push_back(n);
    return out;
  }
};

/// The reverse index: for each person, a row of bits, one per segment id
/// (the segments' bitmaps transposed), stored per 65,536-ordinal chunk and
/// allocated only for chunks where some segment has members. "Which segments
/// is this person in" reads one row (a cache line or two) instead of probing
/// every segment's bitmap, whose cost is a cache miss per segment. Memory:
/// ceil(segment ids / 64) * 8 bytes per person of a used chunk.
struct ReverseIndex {
  uint32_t words = 0;                          // uint64 words per row
  std::vector<std::vector<uint64_t>> by_key;   // chunk key -> 65,536 rows (empty: none)
  uint64_t* row(uint32_t person) noexcept {
    uint32_t key = person >> 16;
    if (key >= by_key.size() || by_key[key].empty()) return nullptr;
    return by_key[key].data() + size_t{person & 0xffff} * words;
  }
  const uint64_t* row(uint32_t person) const noexcept {
    uint32_t key = person >> 16;
    if (key >= by_key.size() || by_key[key].empty()) return nullptr;
    return by_key[key].data() + size_t{person & 0xffff} * words;
  }
};

struct Impl {
  std::shared_ptr<Workspace> ws;
  const ProfileStore* store = nullptr;
  const IdentityGraph* graph = nullptr;
  std::optional<Bitmap> universe;
  std::map<std::string, TagEntry, std::less<>> tags;
  std::map<std::string, std::unique_ptr<Segment>, std::less<>> segments;
  std::vector<Segment*> by_id;  // nullptr for removed ids
  // Name order, for answers sorted by name without comparing strings.
  std::vector<uint32_t> rank_of_id;
  std::vector<std::string> name_by_rank;
  void renumber();
  ReverseIndex index;
  // Snapshots of an in-memory engine (a bound engine keeps them in the file).
  struct MemSnapshot {
    SnapshotInfo info;
    Bitmap members;
  };
  std::map<int64_t, MemSnapshot> mem_snapshots;
  int64_t next_snapshot = 1;
  // The change log of an in-memory engine (bounded).
  std::deque<MembershipEvent> mem_log;
  uint64_t last_seq = 0;
  static constexpr size_t kMemLogLimit = 1u << 20;

  Segment& get(std::string_view name);
  const Segment& get(std::string_view name) const;
  void drop_plans() noexcept;

  // reverse index (reverse_index.cpp): call unindex_segment before a
  // segment's members change and index_segment after.
  void index_segment(const Segment& s);
  void unindex_segment(const Segment& s);
  /// Sets or clears one person's bit of segment `s`.
  void index_person(const Segment& s, PersonOrdinal p, bool member);
  void rebuild_index();
  /// Defers index updates (many segments are about to change): the index is
  /// rebuilt once by resume_index().
  void pause_index() noexcept { index_paused = true; }
  void resume_index();
  bool index_paused = false;

  // persistence (persist.cpp); no-ops without a workspace
  void ensure_schema();
  void load();
  /// Inserts or updates the definition row (with members for fixed segments).
  void save_definition(const Segment& s);
  /// Stores new members of `s` and appends `events` (their seq filled in) in
  /// one transaction.
  void save_members(const Segment& s, const Bitmap& members, Timestamp as_of, std::vector<MembershipEvent>& events);
  /// Appends one person's events to the log (members are replayed from it).
  void save_person_events(std::vector<MembershipEvent>& events);
  void remember_events(const std::vector<MembershipEvent>& events, uint64_t seq);
  void delete_segment(std::string_view name);
  std::string names_json(const Segment& s) const;

  // evaluation (plan.cpp)
  /// Parses a definition and resolves its names into `s` (names,
  /// time_relative, expr). Throws with the position on unknown names and type
  /// errors.
  void compile_definition(Segment& s, std::string_view text);
  /// Parses a stored definition (expr, name positions) without resolving
  /// names: their stored meanings are used.
  void parse_definition(Segment& s, std::string_view text);
  /// Checks that adding `s` (with its refs) makes no cycle.
  void check_cycles(const Segment& s) const;
  /// Computes a dynamic segment's members at as_of (dependencies must be current).
  Bitmap compute(Segment& s, Timestamp as_of);
  /// One person's membership. Segments in `decided` count with the given
  /// answer for this person (re-evaluated just before); others with their members.
  bool compute_person(Segment& s, PersonOrdinal p, Timestamp as_of, const std::map<Segment*, bool>& decided);
  /// The persons `not` ranges over.
  Bitmap universe_bitmap() const;
};

/// "segment 'x': <what> (line L, column C)".
std::string at_pos(std::string_view segment, const std::string& what, uint32_t line, uint32_t column);

}  // namespace cdpcore::segment_detail

namespace cdpcore {
struct SegmentEngine::Impl : segment_detail::Impl {};
}  // namespace cdpcore
