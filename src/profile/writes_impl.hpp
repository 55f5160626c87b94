// Internal: validation of write batches, shared by the batch writers and the
// file loaders.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cdpcore/profile.hpp"
#include "profile/store_impl.hpp"

namespace cdpcore::profile_detail {

/// The largest ordinal a write accepts (guards against a typo growing every
/// column to billions of entries).
inline constexpr PersonOrdinal kMaxOrdinal = (1u << 30) - 1;

/// Row errors of a batch: which rows are bad, and the first messages.
struct BatchErrors {
  static constexpr size_t kMaxReported = 1000;
  explicit BatchErrors(size_t rows) : row_ok(rows, 1) {}
  std::vector<uint8_t> row_ok;
  std::vector<RowError> errors;
  uint64_t bad_rows = 0;
  bool ok(size_t r) const noexcept { return row_ok[r] != 0; }
  void add(uint64_t row, std::string message);
  /// Throws InvalidArgument naming the first bad row unless best effort.
  void raise_unless_best_effort(bool best_effort, std::string_view what) const;
};

/// A batch column checked and converted to its target type.
struct PreparedColumn {
  ValueType type = ValueType::null;
  bool all_null = false;
  std::span<const uint8_t> valid;
  const int64_t* ints = nullptr;
  const double* doubles = nullptr;
  const std::string_view* strings = nullptr;
  const int32_t* codes = nullptr;
  std::span<const std::string_view> dictionary;
  const uint32_t* set_offsets = nullptr;
  std::vector<int64_t> owned_ints;
  std::vector<double> owned_doubles;
  std::vector<uint8_t> owned_valid;
  std::vector<uint32_t> owned_offsets;

  bool is_null(size_t r) const noexcept;
  std::string_view string_at(size_t r) const noexcept;
};

PreparedColumn prepare_column(const ColumnInput& in, ValueType target, std::string_view target_what, size_t rows,
                              BatchErrors& errors);

/// Row keys resolved to persons.
struct ResolvedKeys {
  std::span<const PersonOrdinal> persons;
  std::vector<PersonOrdinal> owned_persons;
  std::vector<std::string> canonical;    // identifier rows: the normalised value
  std::vector<std::string_view> types;   // identifier rows: the type
  std::vector<size_t> to_create;         // identifier rows the graph does not know yet
  std::span<const std::string_view> values;  // identifier rows: the raw value
};

ResolvedKeys resolve_keys(ProfileStore::Impl& im, const RowKeys& keys, const WriteOptions& options,
                          BatchErrors& errors);
/// Adds the unknown identifiers to the graph (inside the batch's transaction),
/// at `times[r]` (or `time` when times is empty).
void create_pending_persons(ProfileStore::Impl& im, ResolvedKeys& rk, std::span<const Timestamp> times,
                            Timestamp time, BatchErrors& errors);

/// Source ids (identifiers rows arrived with) of a batch; new identifiers get
/// ids now and are interned (and stored) by commit().
struct SourceAssigner {
  std::vector<uint32_t> ids;  // per row; empty for ordinal-keyed batches
  size_t first_new = 0;
  std::vector<std::pair<std::string, std::string>> added;
  void assign(ProfileStore::Impl& im, const RowKeys& keys, const ResolvedKeys& rk, const BatchErrors& errors);
  /// Stores the new identifiers (inside the batch's transaction).
  void persist(ProfileStore::Impl& im) const;
  /// Interns them in memory (after the commit).
  void apply(ProfileStore::Impl& im) const;
  uint32_t at(size_t r) const noexcept { return ids.empty() ? 0 : ids[r]; }
};

/// Ordinals written to again are no longer retired (inside the transaction
/// for the file, after the commit for memory).
void unretire_persist(ProfileStore::Impl& im, const std::vector<uint32_t>& persons);
void unretire_apply(ProfileStore::Impl& im, const std::vector<uint32_t>& persons);

}  // namespace cdpcore::profile_detail
