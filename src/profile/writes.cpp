// ProfileStore writes: attribute upserts and event appends in batches.
//
// A batch is validated completely first (row errors collected with their
// index), then written to the workspace in one transaction, and only after
// the commit applied to the in-memory columns.
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"
#include "cdpcore/workspace.hpp"
#include "profile/identity_link.hpp"
#include "profile/persist.hpp"
#include "profile/store_impl.hpp"
#include "profile/writes_impl.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

namespace cdpcore {

using namespace profile_detail;

namespace profile_detail {

namespace {

bool accepts(ValueType target, ValueType given) {
  if (target == given) return true;
  switch (target) {
    case ValueType::float64: return given == ValueType::int64;
    case ValueType::int64: return given == ValueType::float64 || given == ValueType::boolean;
    case ValueType::timestamp: return given == ValueType::int64 || given == ValueType::string;
    case ValueType::boolean: return given == ValueType::int64;
    case ValueType::string_set: return given == ValueType::string;
    default: return false;
  }
}

}  // namespace

void BatchErrors::add(uint64_t row, std::string message) {
  if (row < row_ok.size() && row_ok[row]) {
    row_ok[row] = 0;
    ++bad_rows;
  }
  if (errors.size() < kMaxReported) errors.push_back(RowError{row, std::move(message)});
}

void BatchErrors::raise_unless_best_effort(bool best_effort, std::string_view what) const {
  if (errors.empty() || best_effort) return;
  const auto& e = errors.front();
  std::string msg = std::string(what) + ": row " + std::to_string(e.index) + ": " + e.message;
  if (bad_rows > 1) msg += " (and " + std::to_string(bad_rows - 1) + " more bad rows; nothing was applied)";
  else msg += " (nothing was applied)";
  throw InvalidArgument(msg);
}

bool PreparedColumn::is_null(size_t r) const noexcept {
  if (!valid.empty() && !valid[r]) return true;
  switch (type) {
    case ValueType::float64: return std::isnan(doubles[r]);
    case ValueType::string:
      if (codes) return codes[r] < 0;
      return false;
    default: return false;
  }
}

std::string_view PreparedColumn::string_at(size_t r) const noexcept {
  if (codes) return dictionary[static_cast<size_t>(codes[r])];
  return strings[r];
}

PreparedColumn prepare_column(const ColumnInput& in, ValueType target, std::string_view target_what, size_t rows,
                              BatchErrors& errors) {
  PreparedColumn c;
  c.type = target;
  std::string where = std::string(target_what) + " \"" + in.name + "\"";
  ValueType given = in.type;
  if (given == ValueType::null) {
    // An all-null column (valid only).
    if (in.valid.size() != rows)
      throw InvalidArgument(where + ": a column of type null needs `valid` with one entry per row");
    for (uint8_t v : in.valid)
      if (v) throw InvalidArgument(where + ": a column of type null cannot hold values");
    c.all_null = true;
    return c;
  }
  if (!accepts(target, given)) {
    throw TypeError(where + " is " + value_type_name(target) + "; the batch gives " + value_type_name(given) + " data");
  }
  size_t n = in.size();
  if (n != rows) {
    throw InvalidArgument(where + ": " + std::to_string(n) + " values for a batch of " + std::to_string(rows) + " rows");
  }
  if (!in.valid.empty() && in.valid.size() != rows) {
    throw InvalidArgument(where + ": `valid` has " + std::to_string(in.valid.size()) + " entries for " +
                          std::to_string(rows) + " rows");
  }
  c.valid = in.valid;
  auto valid_row = [&](size_t r) { return in.valid.empty() || in.valid[r]; };
  switch (target) {
    case ValueType::boolean:
      if (given == ValueType::boolean) {
        c.owned_ints.resize(rows);
        for (size_t r = 0; r < rows; ++r) {
          if (valid_row(r) && in.bools[r] > 1) errors.add(r, where + ": " + std::to_string(in.bools[r]) + " is not a bool (0 or 1)");
          c.owned_ints[r] = in.bools[r] ? 1 : 0;
        }
      } else {
        c.owned_ints.resize(rows);
        for (size_t r = 0; r < rows; ++r) {
          if (valid_row(r) && in.int64s[r] != 0 && in.int64s[r] != 1)
            errors.add(r, where + ": " + std::to_string(in.int64s[r]) + " is not a bool (0 or 1)");
          c.owned_ints[r] = in.int64s[r] ? 1 : 0;
        }
      }
      c.ints = c.owned_ints.data();
      break;
    case ValueType::int64:
      if (given == ValueType::int64) {
        c.ints = in.int64s.data();
      } else if (given == ValueType::boolean) {
        c.owned_ints.assign(in.bools.begin(), in.bools.end());
        c.ints = c.owned_ints.data();
      } else {
        c.owned_ints.resize(rows);
        c.owned_valid.assign(rows, 1);
        for (size_t r = 0; r < rows; ++r) {
          double d = in.doubles[r];
          if (!valid_row(r) || std::isnan(d)) {
            c.owned_valid[r] = 0;
            continue;
          }
          if (d != std::floor(d) || !(std::fabs(d) < 9.2e18)) {
            errors.add(r, where + ": " + std::to_string(d) + " is not an int64");
            continue;
          }
          c.owned_ints[r] = static_cast<int64_t>(d);
        }
        c.ints = c.owned_ints.data();
        c.valid = c.owned_valid;
      }
      break;
    case ValueType::float64:
      if (given == ValueType::float64) {
        c.doubles = in.doubles.data();
      } else {
        c.owned_doubles.resize(rows);
        for (size_t r = 0; r < rows; ++r) c.owned_doubles[r] = static_cast<double>(in.int64s[r]);
        c.doubles = c.owned_doubles.data();
      }
      break;
    case ValueType::timestamp:
      if (given == ValueType::string) {
        c.owned_ints.resize(rows);
        c.owned_valid.assign(rows, 1);
        for (size_t r = 0; r < rows; ++r) {
          if (!valid_row(r)) {
            c.owned_valid[r] = 0;
            continue;
          }
          std::string_view s = in.strings[r];
          if (s.empty()) {
            c.owned_valid[r] = 0;
            continue;
          }
          try {
            c.owned_ints[r] = parse_iso8601(s);
          } catch (const Error& e) {
            errors.add(r, where + ": " + e.what());
          }
        }
        c.ints = c.owned_ints.data();
        c.valid = c.owned_valid;
      } else {
        c.ints = in.int64s.data();
      }
      break;
    case ValueType::string:
      if (!in.codes.empty()) {
        for (size_t d = 0; d < in.dictionary.size(); ++d) {
          if (auto bad = find_invalid_utf8(in.dictionary[d]))
            throw Utf8Error(where + ": dictionary entry " + std::to_string(d) + ": invalid UTF-8 at byte " +
                                std::to_string(*bad),
                            *bad);
        }
        for (size_t r = 0; r < rows; ++r) {
          int32_t code = in.codes[r];
          if (code >= 0 && static_cast<size_t>(code) >= in.dictionary.size() && valid_row(r))
            errors.add(r, where + ": code " + std::to_string(code) + " is outside the dictionary (" +
                              std::to_string(in.dictionary.size()) + " entries)");
        }
        c.codes = in.codes.data();
        c.dictionary = in.dictionary;
      } else {
        for (size_t r = 0; r < rows; ++r) {
          if (!valid_row(r)) continue;
          if (auto bad = find_invalid_utf8(in.strings[r]))
            errors.add(r, where + ": invalid UTF-8 at byte " + std::to_string(*bad));
        }
        c.strings = in.strings.data();
      }
      break;
    case ValueType::string_set:
      if (given == ValueType::string) {
        // One member per row.
        c.owned_offsets.resize(rows + 1);
        for (size_t r = 0; r <= rows; ++r) c.owned_offsets[r] = static_cast<uint32_t>(r);
        c.set_offsets = c.owned_offsets.data();
      } else {
        if (in.set_offsets.size() != rows + 1)
          throw InvalidArgument(where + ": set_offsets needs " + std::to_string(rows + 1) + " entries");
        if (in.set_offsets[0] != 0 || in.set_offsets[rows] != in.strings.size())
          throw InvalidArgument(where + ": set_offsets must start at 0 and end at the number of strings");
        for (size_t r = 0; r < rows; ++r)
          if (in.set_offsets[r] > in.set_offsets[r + 1])
            throw InvalidArgument(where + ": set_offsets decrease at row " + std::to_string(r));
        c.set_offsets = in.set_offsets.data();
      }
      for (size_t r = 0; r < rows; ++r) {
        if (!valid_row(r)) continue;
        for (uint32_t i = c.set_offsets[r]; i < c.set_offsets[r + 1]; ++i)
          if (auto bad = find_invalid_utf8(in.strings[i]))
            errors.add(r, where + ": member " + std::to_string(i - c.set_offsets[r]) + ": invalid UTF-8 at byte " +
                              std::to_string(*bad));
      }
      c.strings = in.strings.data();
      break;
    case ValueType::null: break;
  }
  return c;
}

ResolvedKeys resolve_keys(ProfileStore::Impl& im, const RowKeys& keys, const WriteOptions& options,
                          BatchErrors& errors) {
  ResolvedKeys out;
  if (!keys.by_identifier()) {
    out.persons = keys.ordinals;
    for (size_t r = 0; r < keys.ordinals.size(); ++r) {
      if (keys.ordinals[r] > kMaxOrdinal)
        errors.add(r, "person ordinal " + std::to_string(keys.ordinals[r]) + " is out of range (at most " +
                          std::to_string(kMaxOrdinal) + ")");
    }
    return out;
  }
  if (!im.graph) {
    throw StateError("rows keyed by identifiers need an identity graph: call ProfileStore::attach_identity first");
  }
  size_t rows = keys.identifier_values.size();
  if (!keys.identifier_types.empty() && keys.identifier_types.size() != rows)
    throw InvalidArgument("identifier_types has " + std::to_string(keys.identifier_types.size()) + " entries for " +
                          std::to_string(rows) + " rows");
  if (keys.identifier_types.empty() && keys.identifier_type.empty())
    throw InvalidArgument("identifier-keyed rows need an identifier type");
  out.values = keys.identifier_values;
  out.owned_persons.resize(rows, 0);
  out.canonical.resize(rows);
  out.types.resize(rows);
  for (size_t r = 0; r < rows; ++r) {
    std::string_view type = keys.identifier_types.empty() ? keys.identifier_type : keys.identifier_types[r];
    std::string_view value = keys.identifier_values[r];
    out.types[r] = type;
    if (auto bad = find_invalid_utf8(value)) {
      errors.add(r, "identifier: invalid UTF-8 at byte " + std::to_string(*bad));
      continue;
    }
    try {
      auto p = identity_link::resolve(*im.graph, type, value, false, &out.canonical[r]);
      if (p) {
        out.owned_persons[r] = *p;
      } else if (!options.create_persons) {
        errors.add(r, "identifier " + std::string(type) + " \"" + std::string(value) + "\" is not known");
      } else {
        out.to_create.push_back(r);
      }
    } catch (const Error& e) {
      errors.add(r, std::string("identifier ") + std::string(type) + " \"" + std::string(value) + "\": " + e.what());
    }
  }
  out.persons = out.owned_persons;
  return out;
}

void create_pending_persons(ProfileStore::Impl& im, ResolvedKeys& rk, std::span<const Timestamp> times,
                            Timestamp time, BatchErrors& errors) {
  // Identifiers repeated in the batch become one person: link each value once
  // (at its first row's time), then look every row up.
  std::vector<std::pair<std::string_view, std::string_view>> ids;
  std::vector<size_t> first_row;
  std::unordered_map<std::string, size_t> seen;
  for (size_t r : rk.to_create) {
    if (!errors.ok(r)) continue;
    std::string key = std::string(rk.types[r]) + '\x1f' + rk.canonical[r];
    if (seen.emplace(key, ids.size()).second) {
      ids.emplace_back(rk.types[r], rk.values[r]);
      first_row.push_back(r);
    }
  }
  // One batch per distinct time keeps each identifier's first-seen time.
  std::vector<PersonOrdinal> ordinals(ids.size(), kNoPerson);
  std::vector<std::string> messages(ids.size());
  {
    std::vector<size_t> order(ids.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto time_of = [&](size_t i) { return times.empty() ? time : times[first_row[i]]; };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return time_of(a) < time_of(b); });
    size_t i = 0;
    while (i < order.size()) {
      size_t j = i;
      while (j < order.size() && time_of(order[j]) == time_of(order[i])) ++j;
      std::vector<std::pair<std::string_view, std::string_view>> group;
      for (size_t k = i; k < j; ++k) group.push_back(ids[order[k]]);
      std::vector<PersonOrdinal> got;
      std::vector<std::string> errs;
      identity_link::create(*im.graph, group, time_of(order[i]), got, errs);
      for (size_t k = i; k < j; ++k) {
        ordinals[order[k]] = got[k - i];
        messages[order[k]] = errs[k - i];
      }
      i = j;
    }
  }
  for (size_t r : rk.to_create) {
    if (!errors.ok(r)) continue;
    size_t i = seen.find(std::string(rk.types[r]) + '\x1f' + rk.canonical[r])->second;
    if (ordinals[i] == kNoPerson) {
      errors.add(r, "identifier " + std::string(rk.types[r]) + " \"" + std::string(rk.values[r]) +
                        "\": " + (messages[i].empty() ? std::string("rejected by the identity graph") : messages[i]));
      continue;
    }
    rk.owned_persons[r] = ordinals[i];
  }
  rk.persons = rk.owned_persons;
}

void SourceAssigner::assign(ProfileStore::Impl& im, const RowKeys& keys, const ResolvedKeys& rk,
                            const BatchErrors& errors) {
  if (!keys.by_identifier()) return;
  const size_t rows = keys.size();
  first_new = im.sources.size() + 1;
  ids.assign(rows, 0);
  std::unordered_map<std::string, uint32_t> index;
  for (size_t r = 0; r < rows; ++r) {
    if (!errors.ok(r)) continue;
    const std::string& canon = rk.canonical[r];
    std::string_view value = canon.empty() ? keys.identifier_values[r] : std::string_view(canon);
    uint32_t id = im.source_id(rk.types[r], value, false);
    if (id == 0) {
      std::string key = std::string(rk.types[r]) + '\x1f' + std::string(value);
      auto it = index.find(key);
      if (it == index.end()) {
        id = static_cast<uint32_t>(first_new + added.size());
        added.emplace_back(std::string(rk.types[r]), std::string(value));
        index.emplace(std::move(key), id);
      } else {
        id = it->second;
      }
    }
    ids[r] = id;
  }
}

void SourceAssigner::persist(ProfileStore::Impl& im) const {
  if (!im.ws || added.empty()) return;
  auto& src = database_of(*im.ws).cached("INSERT INTO profile_sources(id, type, value) VALUES (?, ?, ?)");
  for (size_t i = 0; i < added.size(); ++i) {
    src.bind_all(static_cast<int64_t>(first_new + i), added[i].first, added[i].second);
    src.run();
  }
}

void SourceAssigner::apply(ProfileStore::Impl& im) const {
  for (const auto& s : added) im.source_id(s.first, s.second, true);
}

void unretire_persist(ProfileStore::Impl& im, const std::vector<uint32_t>& persons) {
  if (!im.ws || im.retired.empty()) return;
  auto& st = database_of(*im.ws).cached("DELETE FROM profile_retired WHERE person = ?");
  for (uint32_t p : persons) {
    if (!im.retired.contains(p)) continue;
    st.bind(1, static_cast<int64_t>(p));
    st.run();
  }
}

void unretire_apply(ProfileStore::Impl& im, const std::vector<uint32_t>& persons) {
  if (im.retired.empty()) return;
  for (uint32_t p : persons) im.retired.remove(p);
}

}  // namespace profile_detail

namespace {

void check_progress(const WriteOptions& o, uint64_t done, uint64_t total) {
  if (o.progress && !o.progress(done, total)) throw Cancelled("the batch was cancelled by the progress callback; nothing was applied");
}

/// The first steps of a batch write, inside its transaction: the persons the
/// keys need created, a source per row, and the persons of the good rows
/// (returned; with a workspace their sources and un-retirement are written).
std::vector<uint32_t> start_rows(ProfileStore::Impl& im, const RowKeys& keys, ResolvedKeys& rk,
                                 std::span<const Timestamp> times, const WriteOptions& options, BatchErrors& errors,
                                 std::string_view what, SourceAssigner& sources) {
  if (!rk.to_create.empty()) {
    create_pending_persons(im, rk, times, options.time, errors);
    errors.raise_unless_best_effort(options.best_effort, what);
  }
  sources.assign(im, keys, rk, errors);
  const size_t rows = keys.size();
  std::vector<uint32_t> touched;
  touched.reserve(rows);
  for (size_t r = 0; r < rows; ++r)
    if (errors.ok(r)) touched.push_back(rk.persons[r]);
  if (im.ws) {
    sources.persist(im);
    unretire_persist(im, touched);
  }
  return touched;
}

void write_attr_value(sql::Statement& st, const AttrColumn& col, const PreparedColumn& c, size_t r,
                      std::vector<std::string_view>& scratch) {
  switch (col.def.type) {
    case ValueType::boolean:
    case ValueType::int64:
    case ValueType::timestamp: st.bind(5, c.ints[r]); break;
    case ValueType::float64: st.bind(5, c.doubles[r]); break;
    case ValueType::string: st.bind(5, c.string_at(r)); break;
    case ValueType::string_set: {
      scratch.assign(c.strings + c.set_offsets[r], c.strings + c.set_offsets[r + 1]);
      std::sort(scratch.begin(), scratch.end());
      scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
      st.bind(5, persist::encode_set(scratch));
      break;
    }
    case ValueType::null: st.bind_null(5); break;
  }
}

}  // namespace

WriteReport ProfileStore::upsert_attributes(const RowKeys& keys, std::span<const ColumnInput> columns,
                                            const WriteOptions& options) {
  auto& im = *impl_;
  if (im.ws && im.ws->read_only()) throw StateError("the workspace is read-only");
  im.settle();
  const size_t rows = keys.size();
  BatchErrors errors(rows);
  // Columns.
  std::vector<AttrColumn*> targets;
  std::vector<PreparedColumn> prepared;
  for (const auto& in : columns) {
    auto* col = im.find_attr(in.name);
    if (!col) throw NotFound("upsert: unknown attribute \"" + in.name + "\"");
    for (auto* t : targets)
      if (t == col) throw InvalidArgument("upsert: attribute \"" + in.name + "\" is given twice");
    targets.push_back(col);
    prepared.push_back(prepare_column(in, col->def.type, "attribute", rows, errors));
  }
  auto rk = resolve_keys(im, keys, options, errors);
  errors.raise_unless_best_effort(options.best_effort, "upsert");
  check_progress(options, 0, rows);

  const uint64_t seq = im.next_seq;
  WriteReport report;
  SourceAssigner sources;
  std::vector<uint32_t> touched;
  {
    std::unique_ptr<sql::Transaction> tx;
    if (im.ws) tx = std::make_unique<sql::Transaction>(database_of(*im.ws));
    touched = start_rows(im, keys, rk, {}, options, errors, "upsert", sources);
    if (im.ws) {
      auto& db = database_of(*im.ws);
      auto& put = db.cached(
          "INSERT OR REPLACE INTO profile_values(attribute, person, seq, source, value) VALUES (?, ?, ?, ?, ?)");
      auto& del = db.cached("DELETE FROM profile_values WHERE attribute = ? AND person = ?");
      std::vector<std::string_view> scratch;
      for (size_t r = 0; r < rows; ++r) {
        if (!errors.ok(r)) continue;
        for (size_t c = 0; c < prepared.size(); ++c) {
          const auto& pc = prepared[c];
          if (pc.all_null || pc.is_null(r)) {
            if (options.nulls_clear) {
              del.bind_all(targets[c]->id, static_cast<int64_t>(rk.persons[r]));
              del.run();
            }
            continue;
          }
          put.bind_all(targets[c]->id, static_cast<int64_t>(rk.persons[r]), static_cast<int64_t>(seq),
                       static_cast<int64_t>(sources.at(r)));
          write_attr_value(put, *targets[c], pc, r, scratch);
          put.run();
        }
        if ((r & 0xFFFF) == 0xFFFF) check_progress(options, r + 1, rows);
      }
    }
    check_progress(options, rows, rows);
    if (tx) tx->commit();
  }
  // Apply in memory (cannot fail but for memory).
  im.next_seq = seq + 1;
  sources.apply(im);
  unretire_apply(im, touched);
  for (uint32_t p : touched) im.note_person(p);
  report.rows_applied = touched.size();
  for (auto& a : im.attrs) a->ensure_size(im.person_count);
  for (size_t c = 0; c < prepared.size(); ++c) {
    auto& col = *targets[c];
    const auto& pc = prepared[c];
    for (size_t r = 0; r < rows; ++r) {
      if (!errors.ok(r)) continue;
      PersonOrdinal p = rk.persons[r];
      if (pc.all_null || pc.is_null(r)) {
        if (options.nulls_clear) col.clear_cell(p);
        continue;
      }
      col.valid[p] = 1;
      col.seq[p] = seq;
      col.source[p] = sources.at(r);
      switch (col.def.type) {
        case ValueType::boolean:
        case ValueType::int64:
        case ValueType::timestamp: col.ints[p] = pc.ints[r]; break;
        case ValueType::float64: col.doubles[p] = pc.doubles[r]; break;
        case ValueType::string: col.codes[p] = col.dict.intern(pc.string_at(r)); break;
        case ValueType::string_set: {
          std::vector<uint32_t> codes;
          for (uint32_t i = pc.set_offsets[r]; i < pc.set_offsets[r + 1]; ++i) codes.push_back(col.dict.intern(pc.strings[i]));
          std::sort(codes.begin(), codes.end());
          codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
          col.sets[p] = std::move(codes);
          break;
        }
        case ValueType::null: break;
      }
    }
  }
  report.touched.add_many(touched);
  report.rejected = std::move(errors.errors);
  im.touch();
  return report;
}

WriteReport ProfileStore::append_events(std::string_view event_type, const RowKeys& keys,
                                        std::span<const Timestamp> times, std::span<const ColumnInput> properties,
                                        const WriteOptions& options) {
  return append_events(event_type, keys, ColumnInput::of_timestamps("time", times), properties, options);
}

WriteReport ProfileStore::append_events(std::string_view event_type, const RowKeys& keys,
                                        const ColumnInput& time_column, std::span<const ColumnInput> properties,
                                        const WriteOptions& options) {
  auto& im = *impl_;
  if (im.ws && im.ws->read_only()) throw StateError("the workspace is read-only");
  im.settle();
  auto* table = im.find_event(event_type);
  if (!table) throw NotFound("append: unknown event type \"" + std::string(event_type) + "\"");
  const size_t rows = keys.size();
  if (time_column.size() != rows)
    throw InvalidArgument("append " + std::string(event_type) + ": " + std::to_string(time_column.size()) +
                          " times for a batch of " + std::to_string(rows) + " rows");
  BatchErrors errors(rows);
  // Event times: int64 microseconds or ISO 8601 text; a missing time is a row error.
  PreparedColumn time_prep = prepare_column(time_column, ValueType::timestamp, "time", rows, errors);
  for (size_t r = 0; r < rows; ++r)
    if (errors.ok(r) && (time_prep.all_null || time_prep.is_null(r))) errors.add(r, "the event has no time");
  const std::span<const Timestamp> times(time_prep.ints ? time_prep.ints : nullptr, time_prep.ints ? rows : 0);
  const auto& props = table->def.properties;
  std::vector<int> column_of(props.size(), -1);
  std::vector<PreparedColumn> prepared;
  for (const auto& in : properties) {
    auto it = std::find_if(props.begin(), props.end(), [&](const PropertyDef& p) { return p.name == in.name; });
    if (it == props.end())
      throw NotFound("append: event type \"" + std::string(event_type) + "\" has no property \"" + in.name + "\"");
    auto i = static_cast<size_t>(it - props.begin());
    if (column_of[i] >= 0) throw InvalidArgument("append: property \"" + in.name + "\" is given twice");
    column_of[i] = static_cast<int>(prepared.size());
    prepared.push_back(prepare_column(in, it->type, "property", rows, errors));
  }
  auto rk = resolve_keys(im, keys, options, errors);
  errors.raise_unless_best_effort(options.best_effort, "append " + std::string(event_type));
  check_progress(options, 0, rows);

  WriteReport report;
  SourceAssigner sources;
  std::vector<uint32_t> touched;
  {
    std::unique_ptr<sql::Transaction> tx;
    if (im.ws) tx = std::make_unique<sql::Transaction>(database_of(*im.ws));
    touched = start_rows(im, keys, rk, times, options, errors, "append " + std::string(event_type), sources);
    if (im.ws) {
      auto& db = database_of(*im.ws);
      auto& ins =
          db.cached("INSERT INTO profile_events(event_type, person, time, source, props) VALUES (?, ?, ?, ?, ?)");
      std::string blob;
      for (size_t r = 0; r < rows; ++r) {
        if (!errors.ok(r)) continue;
        blob.clear();
        for (size_t i = 0; i < props.size(); ++i) {
          int c = column_of[i];
          if (c < 0 || prepared[c].all_null || prepared[c].is_null(r)) {
            persist::encode_null(blob);
            continue;
          }
          const auto& pc = prepared[c];
          switch (props[i].type) {
            case ValueType::float64: persist::encode_double(blob, pc.doubles[r]); break;
            case ValueType::string: persist::encode_string(blob, pc.string_at(r)); break;
            default: persist::encode_int(blob, pc.ints[r]); break;
          }
        }
        ins.bind_all(table->id, static_cast<int64_t>(rk.persons[r]), times[r], static_cast<int64_t>(sources.at(r)));
        ins.bind_blob(5, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(blob.data()), blob.size()));
        ins.run();
        if ((r & 0xFFFF) == 0xFFFF) check_progress(options, r + 1, rows);
      }
    }
    check_progress(options, rows, rows);
    if (tx) tx->commit();
  }
  // Apply in memory.
  sources.apply(im);
  unretire_apply(im, touched);
  auto& pend = table->pending;
  const size_t base = pend.size();
  const size_t applied = touched.size();
  pend.person.reserve(base + applied);
  pend.time.reserve(base + applied);
  pend.source.reserve(base + applied);
  for (size_t r = 0; r < rows; ++r) {
    if (!errors.ok(r)) continue;
    PersonOrdinal p = rk.persons[r];
    im.note_person(p);
    pend.person.push_back(p);
    pend.time.push_back(times[r]);
    pend.source.push_back(sources.at(r));
  }
  for (size_t i = 0; i < props.size(); ++i) {
    auto& col = pend.props[i];
    int c = column_of[i];
    const PreparedColumn* pc = c >= 0 ? &prepared[c] : nullptr;
    auto type = props[i].type;
    auto& dict = table->dicts[i];
    // Dictionary-encoded input: intern each entry once.
    std::vector<uint32_t> code_map;
    if (pc && pc->codes) {
      code_map.resize(pc->dictionary.size());
      for (size_t d = 0; d < pc->dictionary.size(); ++d) code_map[d] = dict.intern(pc->dictionary[d]);
    }
    switch (type) {
      case ValueType::float64: col.doubles.reserve(base + applied); break;
      case ValueType::string: col.codes.reserve(base + applied); break;
      default: col.ints.reserve(base + applied); break;
    }
    size_t pushed = 0;
    bool track = !col.valid.empty();  // a validity column exists once a null is seen
    for (size_t r = 0; r < rows; ++r) {
      if (!errors.ok(r)) continue;
      bool null = !pc || pc->all_null || pc->is_null(r);
      if (null && !track) {
        col.valid.assign(base + pushed, 1);
        track = true;
      }
      ++pushed;
      switch (type) {
        case ValueType::float64: col.doubles.push_back(null ? std::nan("") : pc->doubles[r]); break;
        case ValueType::string:
          col.codes.push_back(null       ? kNoCode
                              : pc->codes ? code_map[static_cast<size_t>(pc->codes[r])]
                                          : dict.intern(pc->strings[r]));
          break;
        default: col.ints.push_back(null ? 0 : pc->ints[r]); break;
      }
      if (track) col.valid.push_back(null ? 0 : 1);
    }
  }
  report.rows_applied = applied;
  report.touched.add_many(touched);
  report.rejected = std::move(errors.errors);
  // Keep the pending share small: sorting it in is linear in the log size.
  {
    std::unique_lock lock(im.compaction_mutex);
    size_t threshold = std::max<size_t>(4096, table->main.size() / 8);
    if (pend.size() > threshold && table->moves.empty()) {
      table->compact(im.person_count);
    } else {
      for (size_t r = base; r < pend.size(); ++r)
        table->pending_by_person[pend.person[r]].push_back(static_cast<uint32_t>(r));
    }
    bool any = false;
    for (const auto& t : im.events) any = any || t->pending.size() > 0;
    im.rows_pending.store(any, std::memory_order_release);
  }
  im.touch();
  return report;
}

namespace {

// Builds one-row columns from an Event's values.
struct SingleRow {
  std::vector<ColumnInput> cols;
  std::vector<uint8_t> b;
  std::vector<int64_t> i;
  std::vector<double> d;
  std::vector<std::string_view> s;
  std::vector<uint8_t> valid;
};

void single_row(const EventTypeDef& def, const Event& e, SingleRow& out) {
  if (e.properties.size() > def.properties.size())
    throw InvalidArgument("event " + def.name + ": " + std::to_string(e.properties.size()) +
                          " property values for " + std::to_string(def.properties.size()) + " properties");
  size_t n = e.properties.size();
  out.b.assign(n, 0);
  out.i.assign(n, 0);
  out.d.assign(n, 0);
  out.s.assign(n, {});
  out.valid.assign(n, 1);
  for (size_t k = 0; k < n; ++k) {
    const auto& v = e.properties[k];
    const auto& pd = def.properties[k];
    ColumnInput c;
    c.name = pd.name;
    c.valid = std::span<const uint8_t>(&out.valid[k], 1);
    if (std::holds_alternative<std::monostate>(v)) {
      out.valid[k] = 0;
      c.type = pd.type == ValueType::string ? ValueType::string : ValueType::int64;
      if (pd.type == ValueType::float64) {
        c.type = ValueType::float64;
        c.doubles = std::span<const double>(&out.d[k], 1);
      } else if (pd.type == ValueType::string) {
        c.strings = std::span<const std::string_view>(&out.s[k], 1);
      } else {
        c.int64s = std::span<const int64_t>(&out.i[k], 1);
      }
    } else if (auto* bv = std::get_if<bool>(&v)) {
      out.b[k] = *bv ? 1 : 0;
      c.type = ValueType::boolean;
      c.bools = std::span<const uint8_t>(&out.b[k], 1);
    } else if (auto* iv = std::get_if<int64_t>(&v)) {
      out.i[k] = *iv;
      c.type = pd.type == ValueType::timestamp ? ValueType::timestamp : ValueType::int64;
      c.int64s = std::span<const int64_t>(&out.i[k], 1);
    } else if (auto* dv = std::get_if<double>(&v)) {
      out.d[k] = *dv;
      c.type = ValueType::float64;
      c.doubles = std::span<const double>(&out.d[k], 1);
    } else if (auto* sv = std::get_if<std::string>(&v)) {
      out.s[k] = *sv;
      c.type = ValueType::string;
      c.strings = std::span<const std::string_view>(&out.s[k], 1);
    } else {
      throw TypeError("event " + def.name + ", property \"" + pd.name + "\": a set is not a property value");
    }
    out.cols.push_back(std::move(c));
  }
}

}  // namespace

void ProfileStore::append_event(std::string_view event_type, PersonOrdinal person, const Event& event) {
  const auto& t = impl_->event_or_throw(event_type);
  SingleRow row;
  single_row(t.def, event, row);
  const Timestamp time = event.time;
  append_events(event_type, RowKeys::of(std::span<const PersonOrdinal>(&person, 1)),
                std::span<const Timestamp>(&time, 1), row.cols);
}

PersonOrdinal ProfileStore::append_event(std::string_view event_type, std::string_view identifier_type,
                                         std::string_view identifier_value, const Event& event) {
  const auto& t = impl_->event_or_throw(event_type);
  SingleRow row;
  single_row(t.def, event, row);
  const Timestamp time = event.time;
  auto report = append_events(event_type, RowKeys::of_identifiers(identifier_type, std::span<const std::string_view>(&identifier_value, 1)),
                              std::span<const Timestamp>(&time, 1), row.cols);
  return report.touched.minimum();
}

WriteReport ProfileStore::write_doubles(std::string_view attribute, std::span<const PersonOrdinal> ordinals,
                                        std::span<const double> values) {
  if (ordinals.size() != values.size())
    throw InvalidArgument("write_doubles: " + std::to_string(values.size()) + " values for " +
                          std::to_string(ordinals.size()) + " ordinals");
  if (auto* a = impl_->find_attr(attribute)) {
    if (a->def.type != ValueType::float64)
      throw TypeError("write_doubles: attribute \"" + std::string(attribute) + "\" is " + value_type_name(a->def.type) +
                      ", not double");
  } else {
    define_attribute(AttributeDef{std::string(attribute), ValueType::float64, MergePolicy::latest});
  }
  ColumnInput c = ColumnInput::of_doubles(std::string(attribute), values);
  WriteOptions o;
  o.nulls_clear = true;
  return upsert_attributes(RowKeys::of(ordinals), std::span<const ColumnInput>(&c, 1), o);
}

}  // namespace cdpcore
