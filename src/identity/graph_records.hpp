// Internal: the records the identity graph's state is made of (an
// identifier, a person, a pending change) and the bit layouts inside them.
// Every piece of state that holds them is in batch_state.hpp or graph_impl.hpp.
#pragma once

#include <cstdint>

#include "cdpcore/identity.hpp"

namespace cdpcore::idg {

constexpr uint32_t kNone = 0xFFFFFFFFu;
constexpr uint32_t kRootBit = 0x80000000u;   // parent[root] = kRootBit | ordinal
constexpr uint32_t kOccLinked = 0x80000000u; // occurrence linked by its record
constexpr uint32_t kOccRemoved = 0x40000000u;
constexpr uint32_t kIdMask = 0x3FFFFFFFu;
constexpr uint32_t kMaxIds = kIdMask;        // ids < 2^30
constexpr uint16_t kRecRemoved = 0x8000;     // in rec_src
constexpr uint64_t kKeyAlive = uint64_t{1} << 63;

// Identifier flags (meta bits 56..63).
constexpr uint8_t kFlagBlocked = 1;
constexpr uint8_t kFlagDeleted = 2;
constexpr uint8_t kFlagBlocklist = 4;  // blocked by block(), not by the threshold
constexpr uint8_t kFlagPackedHex = 8;   // the arena holds the value packed (value_codec.hpp)
constexpr uint8_t kFlagPackedUuid = 16;
constexpr uint8_t kFlagsPacking = kFlagPackedHex | kFlagPackedUuid;

inline uint64_t pack_meta(uint64_t off, uint32_t len, uint32_t type, uint8_t flags) {
  return off | (static_cast<uint64_t>(len) << 38) | (static_cast<uint64_t>(type) << 48) |
         (static_cast<uint64_t>(flags) << 56);
}
inline uint64_t meta_off(uint64_t m) { return m & ((uint64_t{1} << 38) - 1); }
inline uint32_t meta_len(uint64_t m) { return static_cast<uint32_t>((m >> 38) & 0x3FF); }
inline uint32_t meta_type(uint64_t m) { return static_cast<uint32_t>((m >> 48) & 0xFF); }
inline uint8_t meta_flags(uint64_t m) { return static_cast<uint8_t>(m >> 56); }
inline uint64_t meta_with_flags(uint64_t m, uint8_t f) {
  return (m & ((uint64_t{1} << 56) - 1)) | (static_cast<uint64_t>(f) << 56);
}

/// Minutes since the epoch (floor), clamped to int32.
inline int32_t to_minutes(Timestamp t) {
  int64_t m = t >= 0 ? t / kMicrosPerMinute : -((-t + kMicrosPerMinute - 1) / kMicrosPerMinute);
  if (m > INT32_MAX) m = INT32_MAX;
  if (m < INT32_MIN + 1) m = INT32_MIN + 1;
  return static_cast<int32_t>(m);
}

/// The hot fields of one identifier, together in one cache line's worth.
struct IdRec {
  uint64_t meta;      // value offset, length, type, flags (pack_meta)
  uint32_t parent;    // union-find parent, kRootBit | ordinal at a root, kNone without a person
  uint32_t next;      // next member of the same person (circular)
  uint32_t occ_head;  // latest occurrence, or kNone
  int32_t last_seen;  // minutes since the epoch
};

/// One person slot (by ordinal).
struct PersonRec {
  uint64_t key;   // 0 when the slot is free
  uint32_t root;  // union-find root, kNone when free
  uint32_t size;  // identifiers
};

/// A change waiting for the end of its batch.
struct PendingChange {
  // Wide fields first: no padding (the in-memory log keeps up to
  // memory_log_limit of these).
  Timestamp time = 0;
  RecordId record = 0;
  PersonKey key = 0;
  PersonKey absorbed_key = 0;
  uint32_t source = 0;  // source id, or kNone (note)
  PersonOrdinal ordinal = 0;
  PersonOrdinal absorbed = 0;
  uint32_t parts_begin = 0, parts_end = 0;  // into pending_parts
  ChangeKind kind = ChangeKind::merged;
  ChangeCause cause = ChangeCause::link;

  PendingChange() = default;
  PendingChange(ChangeKind kind_, ChangeCause cause_, Timestamp time_, uint32_t source_, RecordId record_,
                PersonOrdinal ordinal_, PersonKey key_, PersonOrdinal absorbed_, PersonKey absorbed_key_,
                uint32_t parts_begin_, uint32_t parts_end_)
      : time(time_), record(record_), key(key_), absorbed_key(absorbed_key_), source(source_), ordinal(ordinal_),
        absorbed(absorbed_), parts_begin(parts_begin_), parts_end(parts_end_), kind(kind_), cause(cause_) {}
};
static_assert(sizeof(PendingChange) == 56);
struct PendingPart {
  PersonOrdinal ordinal;
  PersonKey key;
  uint32_t ids_begin, ids_end;  // into pending_part_ids
};

struct BlockMeta {
  Timestamp time = 0;
  uint8_t reason = 0;  // BlockReason
  bool operator==(const BlockMeta&) const = default;
};

}  // namespace cdpcore::idg
