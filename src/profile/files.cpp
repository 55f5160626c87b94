// Loading CSV (RFC 4180) and JSON Lines files into the profile store.
#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"
#include "profile/store_impl.hpp"

namespace cdpcore {

using namespace profile_detail;

namespace {

/// One field of a file row before conversion.
struct Cell {
  enum Kind : uint8_t { null, text, integer, real, boolean, array } kind = null;
  std::string s;
  int64_t i = 0;
  double d = 0;
  std::vector<std::string> arr;
};

struct FileTable {
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;  // rows[r][c]
  std::vector<uint64_t> lines;          // line number of each row
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("cannot open \"" + path + "\"");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw IoError("cannot read \"" + path + "\"");
  return ss.str();
}

FileTable parse_csv(const std::string& path, const std::string& text) {
  if (auto bad = find_invalid_utf8(text)) throw Utf8Error(path + ": invalid UTF-8 at byte " + std::to_string(*bad), *bad);
  FileTable t;
  size_t pos = 0;
  uint64_t line = 1;
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;  // BOM
  bool header = true;
  while (pos < text.size()) {
    std::vector<Cell> row;
    uint64_t row_line = line;
    bool end_of_row = false;
    while (!end_of_row) {
      Cell c;
      std::string field;
      bool quoted = false;
      if (pos < text.size() && text[pos] == '"') {
        quoted = true;
        ++pos;
        while (true) {
          if (pos >= text.size())
            throw ParseError(path + ": line " + std::to_string(row_line) + ": unterminated quoted field", pos, static_cast<uint32_t>(row_line), 0);
          char ch = text[pos++];
          if (ch == '"') {
            if (pos < text.size() && text[pos] == '"') {
              field.push_back('"');
              ++pos;
            } else {
              break;
            }
          } else {
            if (ch == '\n') ++line;
            field.push_back(ch);
          }
        }
      } else {
        while (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') field.push_back(text[pos++]);
      }
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
      } else if (pos >= text.size()) {
        end_of_row = true;
      } else if (text[pos] == '\r' || text[pos] == '\n') {
        if (text[pos] == '\r') ++pos;
        if (pos < text.size() && text[pos] == '\n') ++pos;
        ++line;
        end_of_row = true;
      } else {
        throw ParseError(path + ": line " + std::to_string(line) + ": unexpected character after a quoted field", pos,
                         static_cast<uint32_t>(line), 0);
      }
      if (!field.empty() || quoted) {
        c.kind = Cell::text;
        c.s = std::move(field);
      }
      row.push_back(std::move(c));
    }
    if (row.size() == 1 && row[0].kind == Cell::null) continue;  // blank line
    if (header) {
      for (auto& c : row) t.columns.push_back(c.s);
      header = false;
      continue;
    }
    if (row.size() != t.columns.size())
      throw ParseError(path + ": line " + std::to_string(row_line) + ": " + std::to_string(row.size()) +
                           " fields, the header has " + std::to_string(t.columns.size()),
                       pos, static_cast<uint32_t>(row_line), 0);
    t.rows.push_back(std::move(row));
    t.lines.push_back(row_line);
  }
  if (header) throw ParseError(path + ": no header row", 0, 1, 0);
  return t;
}

FileTable parse_jsonl(const std::string& path, const std::string& text) {
  FileTable t;
  std::unordered_map<std::string, size_t> col_index;
  size_t pos = 0;
  uint64_t line = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view ln(text.data() + pos, nl - pos);
    size_t line_start = pos;
    pos = nl + 1;
    ++line;
    while (!ln.empty() && (ln.back() == '\r' || ln.back() == ' ' || ln.back() == '\t')) ln.remove_suffix(1);
    if (ln.empty()) continue;
    if (auto bad = find_invalid_utf8(ln))
      throw Utf8Error(path + ": line " + std::to_string(line) + ": invalid UTF-8 at byte " + std::to_string(line_start + *bad), line_start + *bad);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(ln);
    } catch (const nlohmann::json::parse_error& e) {
      throw ParseError(path + ": line " + std::to_string(line) + ": " + e.what(), line_start + e.byte,
                       static_cast<uint32_t>(line), static_cast<uint32_t>(e.byte));
    }
    if (!j.is_object())
      throw ParseError(path + ": line " + std::to_string(line) + ": not a JSON object", line_start, static_cast<uint32_t>(line), 1);
    std::vector<Cell> row(t.columns.size());
    for (auto it = j.begin(); it != j.end(); ++it) {
      auto ci = col_index.find(it.key());
      size_t c;
      if (ci == col_index.end()) {
        c = t.columns.size();
        col_index.emplace(it.key(), c);
        t.columns.push_back(it.key());
        for (auto& r : t.rows) r.emplace_back();
        row.emplace_back();
      } else {
        c = ci->second;
      }
      Cell& cell = row[c];
      const auto& v = it.value();
      if (v.is_null()) cell.kind = Cell::null;
      else if (v.is_boolean()) {
        cell.kind = Cell::boolean;
        cell.i = v.get<bool>() ? 1 : 0;
      } else if (v.is_number_integer()) {
        cell.kind = Cell::integer;
        cell.i = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : v.get<int64_t>();
        if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
          cell.kind = Cell::real;
          cell.d = static_cast<double>(v.get<uint64_t>());
        }
      } else if (v.is_number_float()) {
        cell.kind = Cell::real;
        cell.d = v.get<double>();
      } else if (v.is_string()) {
        cell.kind = Cell::text;
        cell.s = v.get<std::string>();
      } else if (v.is_array()) {
        cell.kind = Cell::array;
        for (const auto& e : v) {
          if (!e.is_string())
            throw ParseError(path + ": line " + std::to_string(line) + ": \"" + it.key() + "\": set members must be strings",
                             line_start, static_cast<uint32_t>(line), 0);
          cell.arr.push_back(e.get<std::string>());
        }
      } else {
        throw ParseError(path + ": line " + std::to_string(line) + ": \"" + it.key() + "\": objects are not values",
                         line_start, static_cast<uint32_t>(line), 0);
      }
    }
    t.rows.push_back(std::move(row));
    t.lines.push_back(line);
  }
  return t;
}

bool parse_int(std::string_view s, int64_t* out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

bool parse_double(std::string_view s, double* out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

/// A typed column built from cells, with row errors.
struct Converted {
  ValueType type;
  std::vector<uint8_t> valid;
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::vector<std::string> strings;
  std::vector<std::string_view> views;
  std::vector<uint32_t> offsets;
};

void convert(const FileTable& t, size_t c, ValueType type, const std::string& what, Converted& out,
             std::vector<std::string>& row_error) {
  const size_t n = t.rows.size();
  out.type = type;
  out.valid.assign(n, 1);
  if (type == ValueType::string_set) out.offsets.push_back(0);
  for (size_t r = 0; r < n; ++r) {
    const Cell& cell = t.rows[r][c];
    auto fail = [&](const std::string& why) {
      if (row_error[r].empty())
        row_error[r] = "line " + std::to_string(t.lines[r]) + ": " + what + ": " + why;
    };
    bool null = cell.kind == Cell::null;
    if (null) out.valid[r] = 0;
    switch (type) {
      case ValueType::boolean:
      case ValueType::int64: {
        int64_t v = 0;
        if (!null) {
          if (cell.kind == Cell::integer || cell.kind == Cell::boolean) v = cell.i;
          else if (cell.kind == Cell::real && cell.d == std::floor(cell.d) && std::fabs(cell.d) < 9.2e18) v = static_cast<int64_t>(cell.d);
          else if (cell.kind == Cell::text && type == ValueType::boolean && (cell.s == "true" || cell.s == "false"))
            v = cell.s == "true";
          else if (cell.kind == Cell::text && parse_int(cell.s, &v)) {
          } else fail("\"" + cell.s + "\" is not " + (type == ValueType::boolean ? "a bool" : "an integer"));
          if (type == ValueType::boolean && v != 0 && v != 1) fail(std::to_string(v) + " is not a bool");
        }
        out.ints.push_back(v);
        break;
      }
      case ValueType::float64: {
        double v = std::nan("");
        if (!null) {
          if (cell.kind == Cell::integer) v = static_cast<double>(cell.i);
          else if (cell.kind == Cell::real) v = cell.d;
          else if (cell.kind == Cell::text && parse_double(cell.s, &v)) {
          } else fail("\"" + cell.s + "\" is not a number");
        }
        out.doubles.push_back(v);
        break;
      }
      case ValueType::timestamp: {
        int64_t v = 0;
        if (!null) {
          if (cell.kind == Cell::integer) v = cell.i;
          else if (cell.kind == Cell::text) {
            if (!parse_int(cell.s, &v)) {
              try {
                v = parse_iso8601(cell.s);
              } catch (const Error& e) {
                fail(e.what());
              }
            }
          } else fail("not a time (ISO 8601 text or integer microseconds)");
        }
        out.ints.push_back(v);
        break;
      }
      case ValueType::string: {
        if (!null && cell.kind != Cell::text) {
          if (cell.kind == Cell::integer) out.strings.push_back(std::to_string(cell.i));
          else if (cell.kind == Cell::real) {
            std::ostringstream ss;
            ss << cell.d;
            out.strings.push_back(ss.str());
          } else if (cell.kind == Cell::boolean) out.strings.push_back(cell.i ? "true" : "false");
          else {
            fail("a list is not a string");
            out.strings.emplace_back();
          }
        } else {
          out.strings.push_back(cell.s);
        }
        break;
      }
      case ValueType::string_set: {
        if (!null) {
          if (cell.kind == Cell::array) {
            for (const auto& m : cell.arr) out.strings.push_back(m);
          } else if (cell.kind == Cell::text) {
            // CSV: a JSON array, or members separated by '|'.
            if (!cell.s.empty() && cell.s.front() == '[') {
              auto j = nlohmann::json::parse(cell.s, nullptr, false);
              if (!j.is_array()) fail("\"" + cell.s + "\" is not a JSON array");
              else
                for (const auto& e : j) {
                  if (e.is_string()) out.strings.push_back(e.get<std::string>());
                  else fail("set members must be strings");
                }
            } else {
              size_t b = 0;
              while (b <= cell.s.size()) {
                size_t e = cell.s.find('|', b);
                if (e == std::string::npos) e = cell.s.size();
                if (e > b) out.strings.push_back(cell.s.substr(b, e - b));
                b = e + 1;
              }
            }
          } else {
            fail("not a set of strings");
          }
        }
        out.offsets.push_back(static_cast<uint32_t>(out.strings.size()));
        break;
      }
      case ValueType::null: break;
    }
  }
  for (const auto& s : out.strings) out.views.push_back(s);
}

ColumnInput as_input(const std::string& name, const Converted& cv) {
  ColumnInput in;
  in.name = name;
  in.type = cv.type;
  in.valid = cv.valid;
  switch (cv.type) {
    case ValueType::boolean:
    case ValueType::int64: in.type = ValueType::int64; in.int64s = cv.ints; break;
    case ValueType::timestamp: in.int64s = cv.ints; break;
    case ValueType::float64: in.doubles = cv.doubles; break;
    case ValueType::string: in.strings = cv.views; break;
    case ValueType::string_set:
      in.strings = cv.views;
      in.set_offsets = cv.offsets;
      break;
    case ValueType::null: break;
  }
  return in;
}

/// Keeps the rows without conversion errors.
template <typename T>
void keep_rows(std::vector<T>& v, const std::vector<uint8_t>& keep) {
  size_t w = 0;
  for (size_t r = 0; r < v.size(); ++r)
    if (keep[r]) v[w++] = std::move(v[r]);
  v.resize(w);
}

WriteReport load_table(ProfileStore& store, const std::string& path, FileTable t, const FileLoadOptions& o) {
  const auto& schema = store.schema();
  auto key_it = std::find(t.columns.begin(), t.columns.end(), o.key_column);
  if (key_it == t.columns.end()) throw InvalidArgument(path + ": no key column \"" + o.key_column + "\"");
  size_t key_col = static_cast<size_t>(key_it - t.columns.begin());
  const EventTypeDef* ev = nullptr;
  size_t time_col = SIZE_MAX;
  if (!o.event_type.empty()) {
    ev = schema.event_type(o.event_type);
    if (!ev) throw NotFound(path + ": unknown event type \"" + o.event_type + "\"");
    auto ti = std::find(t.columns.begin(), t.columns.end(), o.time_column);
    if (ti == t.columns.end()) throw InvalidArgument(path + ": no time column \"" + o.time_column + "\"");
    time_col = static_cast<size_t>(ti - t.columns.begin());
  }
  const size_t n = t.rows.size();
  std::vector<std::string> row_error(n);
  // Keys.
  std::vector<PersonOrdinal> ordinals;
  std::vector<std::string> idents;
  for (size_t r = 0; r < n; ++r) {
    const Cell& k = t.rows[r][key_col];
    auto fail = [&](const std::string& why) {
      if (row_error[r].empty()) row_error[r] = "line " + std::to_string(t.lines[r]) + ": key \"" + o.key_column + "\": " + why;
    };
    if (o.identifier_type.empty()) {
      int64_t v = -1;
      if (k.kind == Cell::integer) v = k.i;
      else if (k.kind == Cell::text && parse_int(k.s, &v)) {
      } else fail("not a person ordinal");
      if (v < 0 || v > 0x3FFFFFFF) fail("person ordinal out of range");
      ordinals.push_back(static_cast<PersonOrdinal>(v < 0 || v > 0x3FFFFFFF ? 0 : v));
    } else {
      if (k.kind == Cell::text) idents.push_back(k.s);
      else if (k.kind == Cell::integer) idents.push_back(std::to_string(k.i));
      else {
        fail("missing identifier");
        idents.emplace_back();
      }
    }
  }
  // Columns.
  std::vector<std::pair<std::string, Converted>> cols;
  Converted times;
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (c == key_col || c == time_col) continue;
    const std::string& name = t.columns[c];
    ValueType type;
    if (ev) {
      auto it = std::find_if(ev->properties.begin(), ev->properties.end(), [&](const PropertyDef& p) { return p.name == name; });
      if (it == ev->properties.end())
        throw NotFound(path + ": column \"" + name + "\" is not a property of event type \"" + ev->name + "\"");
      type = it->type;
    } else {
      const auto* a = schema.attribute(name);
      if (!a) throw NotFound(path + ": column \"" + name + "\" is not a defined attribute");
      type = a->type;
    }
    Converted cv;
    convert(t, c, type, "\"" + name + "\"", cv, row_error);
    cols.emplace_back(name, std::move(cv));
  }
  if (ev) {
    convert(t, time_col, ValueType::timestamp, "\"" + o.time_column + "\"", times, row_error);
    for (size_t r = 0; r < n; ++r)
      if (!times.valid[r] && row_error[r].empty())
        row_error[r] = "line " + std::to_string(t.lines[r]) + ": \"" + o.time_column + "\": missing time";
  }
  std::vector<RowError> rejected;
  std::vector<uint8_t> keep(n, 1);
  std::vector<size_t> original;  // kept row → file row
  for (size_t r = 0; r < n; ++r) {
    if (!row_error[r].empty()) {
      if (!o.write.best_effort)
        throw InvalidArgument(path + ": row " + std::to_string(r) + ", " + row_error[r] + " (nothing was applied)");
      rejected.push_back(RowError{r, row_error[r]});
      keep[r] = 0;
    } else {
      original.push_back(r);
    }
  }
  if (!rejected.empty()) {
    if (o.identifier_type.empty()) keep_rows(ordinals, keep);
    else keep_rows(idents, keep);
    auto filter = [&](Converted& cv) {
      std::vector<uint8_t> v2;
      std::vector<int64_t> i2;
      std::vector<double> d2;
      std::vector<std::string> s2;
      std::vector<uint32_t> off2{0};
      for (size_t r = 0; r < n; ++r) {
        if (!keep[r]) continue;
        v2.push_back(cv.valid[r]);
        if (!cv.ints.empty()) i2.push_back(cv.ints[r]);
        if (!cv.doubles.empty()) d2.push_back(cv.doubles[r]);
        if (cv.type == ValueType::string) s2.push_back(cv.strings[r]);
        if (cv.type == ValueType::string_set) {
          for (uint32_t m = cv.offsets[r]; m < cv.offsets[r + 1]; ++m) s2.push_back(cv.strings[m]);
          off2.push_back(static_cast<uint32_t>(s2.size()));
        }
      }
      cv.valid = std::move(v2);
      cv.ints = std::move(i2);
      cv.doubles = std::move(d2);
      cv.strings = std::move(s2);
      if (cv.type == ValueType::string_set) cv.offsets = std::move(off2);
      cv.views.clear();
      for (const auto& s : cv.strings) cv.views.push_back(s);
    };
    for (auto& [name, cv] : cols) filter(cv);
    if (ev) filter(times);
  }
  std::vector<ColumnInput> inputs;
  for (const auto& [name, cv] : cols) inputs.push_back(as_input(name, cv));
  std::vector<std::string_view> ident_views(idents.begin(), idents.end());
  RowKeys keys = o.identifier_type.empty() ? RowKeys::of(ordinals) : RowKeys::of_identifiers(o.identifier_type, ident_views);
  WriteReport rep = ev ? store.append_events(ev->name, keys, times.ints, inputs, o.write)
                       : store.upsert_attributes(keys, inputs, o.write);
  for (auto& e : rep.rejected) {
    size_t r = original[e.index];
    e.message = "line " + std::to_string(t.lines[r]) + ": " + e.message;
    e.index = r;
    rejected.push_back(std::move(e));
  }
  std::sort(rejected.begin(), rejected.end(), [](const RowError& a, const RowError& b) { return a.index < b.index; });
  rep.rejected = std::move(rejected);
  return rep;
}

}  // namespace

WriteReport ProfileStore::load_csv(const std::string& path, const FileLoadOptions& options) {
  return load_table(*this, path, parse_csv(path, read_file(path)), options);
}

WriteReport ProfileStore::load_jsonl(const std::string& path, const FileLoadOptions& options) {
  return load_table(*this, path, parse_jsonl(path, read_file(path)), options);
}

}  // namespace cdpcore
