// Digests and writers (SQLite workspace tables, CSV, JSON Lines) of the
// sample data. One table description drives all three writers.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "cdpcore/datagen.hpp"
#include "cdpcore/error.hpp"
#include "cdpcore/hash.hpp"
#include "datagen/sample_tables.hpp"
#include "util/csv.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

namespace cdpcore::datagen {

namespace {

// ---- digests ---------------------------------------------------------------------

template <typename T>
std::string digest_of(const std::vector<T>& v) {
  static_assert(std::is_arithmetic_v<T>);
  return to_hex(sha256(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T))));
}
std::string digest_of(const StringColumn& c) {
  return to_hex(sha256(to_hex(sha256(std::string_view(reinterpret_cast<const char*>(c.offsets.data()),
                                                       c.offsets.size() * sizeof(int64_t)))) +
                       to_hex(sha256(c.bytes))));
}

// ---- the tables as rows of values --------------------------------------------------------

struct Value {
  enum Kind { Null, Int, Real, Text, Time, Date } kind = Null;
  int64_t i = 0;
  double d = 0;
  std::string_view s;
};
Value null_value() { return {}; }
Value int_value(int64_t v) { return {Value::Int, v, 0, {}}; }
Value real_value(double v) { return std::isnan(v) ? Value{} : Value{Value::Real, 0, v, {}}; }
Value text_value(std::string_view v) { return {Value::Text, 0, 0, v}; }
Value text_or_null(std::string_view v) { return v.empty() ? Value{} : text_value(v); }
Value time_value(Timestamp t) { return t == kNoTime ? Value{} : Value{Value::Time, t, 0, {}}; }
Value date_value(int32_t d) { return d == kNoDate ? Value{} : Value{Value::Date, d, 0, {}}; }
Value code_value(std::span<const char* const> names, uint8_t code) {
  return code < names.size() ? text_value(names[code]) : Value{};
}
template <typename I>
Value dict_value(const StringColumn& dict, I code) {
  return code < 0 || static_cast<size_t>(code) >= dict.size() ? Value{} : text_value(dict[static_cast<size_t>(code)]);
}

struct Column {
  const char* name;
  const char* sql_type;
  std::function<Value(size_t)> get;
};
struct Table {
  const char* name;  // file name stem; the SQLite table is sample_<name>
  size_t rows;
  std::vector<Column> columns;
};

std::vector<Table> describe(const SampleData& d) {
  std::vector<Table> t;
  const auto& L = d.links;
  const auto& R = d.records;
  const auto& P = d.persons;
  const auto& F = d.profiles;
  const auto& E = d.events;
  const auto& C = d.consent;
  const auto& D = d.dicts;
  const bool canon = !L.canonical.empty() || L.size() == 0;
  t.push_back({"links", L.size(), {
      {"record", "INTEGER NOT NULL", [&L](size_t i) { return int_value(L.record[i]); }},
      {"type", "TEXT NOT NULL", [&L](size_t i) { return code_value(identifier_type_names(), L.type[i]); }},
      {"value", "TEXT NOT NULL", [&L](size_t i) { return text_value(L.value[i]); }},
      {"canonical", "TEXT", [&L, canon](size_t i) { return canon ? text_or_null(L.canonical[i]) : null_value(); }},
      {"flags", "INTEGER NOT NULL", [&L](size_t i) { return int_value(L.flags[i]); }},
  }});
  t.push_back({"records", R.size(), {
      {"record", "INTEGER PRIMARY KEY", [](size_t i) { return int_value(static_cast<int64_t>(i)); }},
      {"time", "INTEGER NOT NULL", [&R](size_t i) { return time_value(R.time[i]); }},
      {"source", "TEXT NOT NULL", [&R](size_t i) { return code_value(record_source_names(), R.source[i]); }},
      {"true_person", "INTEGER NOT NULL", [&R](size_t i) { return int_value(R.true_person[i]); }},
  }});
  t.push_back({"persons", P.size(), {
      {"person", "INTEGER PRIMARY KEY", [](size_t i) { return int_value(static_cast<int64_t>(i)); }},
      {"is_anonymous", "INTEGER NOT NULL", [&P](size_t i) { return int_value(P.is_anonymous[i]); }},
      {"member_level", "TEXT NOT NULL", [&P](size_t i) { return code_value(member_level_names(), P.member_level[i]); }},
      {"signup_at", "INTEGER", [&P](size_t i) { return time_value(P.signup_at[i]); }},
      {"birthday", "TEXT", [&P](size_t i) { return date_value(P.birthday[i]); }},
      {"city", "TEXT", [&P, &D](size_t i) { return dict_value(D.cities, P.city[i]); }},
      {"gender", "TEXT NOT NULL", [&P](size_t i) { return code_value(gender_names(), P.gender[i]); }},
      {"crm_id", "TEXT", [&P](size_t i) { return text_or_null(P.crm_id[i]); }},
      {"phone", "TEXT", [&P](size_t i) { return text_or_null(P.phone[i]); }},
      {"email", "TEXT", [&P](size_t i) { return text_or_null(P.email[i]); }},
      {"unionid", "TEXT", [&P](size_t i) { return text_or_null(P.unionid[i]); }},
      {"household", "INTEGER NOT NULL", [&P](size_t i) { return int_value(P.household[i]); }},
  }});
  t.push_back({"profiles", F.size(), {
      {"key_type", "TEXT NOT NULL", [&F](size_t i) { return code_value(identifier_type_names(), F.key_type[i]); }},
      {"key_value", "TEXT NOT NULL", [&F](size_t i) { return text_value(F.key_value[i]); }},
      {"member_level", "TEXT NOT NULL", [&F](size_t i) { return code_value(member_level_names(), F.member_level[i]); }},
      {"signup_at", "INTEGER", [&F](size_t i) { return time_value(F.signup_at[i]); }},
      {"birthday", "TEXT", [&F](size_t i) { return date_value(F.birthday[i]); }},
      {"city", "TEXT", [&F, &D](size_t i) { return dict_value(D.cities, F.city[i]); }},
      {"gender", "TEXT NOT NULL", [&F](size_t i) { return code_value(gender_names(), F.gender[i]); }},
      {"true_person", "INTEGER NOT NULL", [&F](size_t i) { return int_value(F.true_person[i]); }},
  }});
  t.push_back({"events", E.size(), {
      {"time", "INTEGER NOT NULL", [&E](size_t i) { return time_value(E.time[i]); }},
      {"type", "TEXT NOT NULL", [&E](size_t i) { return code_value(event_type_names(), E.type[i]); }},
      {"id_type", "TEXT NOT NULL", [&E](size_t i) { return code_value(identifier_type_names(), E.id_type[i]); }},
      {"id_value", "TEXT NOT NULL", [&E](size_t i) { return text_value(E.id_value[i]); }},
      {"amount", "REAL", [&E](size_t i) { return real_value(E.amount[i]); }},
      {"sku", "TEXT", [&E, &D](size_t i) { return dict_value(D.skus, E.sku[i]); }},
      {"category", "TEXT", [&E, &D](size_t i) { return dict_value(D.categories, E.category[i]); }},
      {"store", "TEXT", [&E, &D](size_t i) { return dict_value(D.stores, E.store[i]); }},
      {"campaign", "TEXT", [&E, &D](size_t i) { return dict_value(D.campaigns, E.campaign[i]); }},
      {"true_person", "INTEGER NOT NULL", [&E](size_t i) { return int_value(E.true_person[i]); }},
  }});
  t.push_back({"consent", C.size(), {
      {"time", "INTEGER NOT NULL", [&C](size_t i) { return time_value(C.time[i]); }},
      {"subject_type", "TEXT NOT NULL", [&C](size_t i) { return code_value(identifier_type_names(), C.subject_type[i]); }},
      {"subject_value", "TEXT NOT NULL", [&C](size_t i) { return text_value(C.subject_value[i]); }},
      {"purpose", "TEXT NOT NULL", [&C](size_t i) { return code_value(purpose_names(), C.purpose[i]); }},
      {"channel", "TEXT", [&C](size_t i) { return code_value(channel_names(), C.channel[i]); }},  // NULL: any channel
      {"decision", "TEXT NOT NULL", [&C](size_t i) { return code_value(decision_names(), C.decision[i]); }},
      {"expiry", "INTEGER", [&C](size_t i) { return time_value(C.expiry[i]); }},
      {"source", "TEXT NOT NULL", [&C](size_t i) { return code_value(consent_source_names(), C.source[i]); }},
      {"legal_basis", "TEXT NOT NULL", [&C](size_t i) { return code_value(legal_basis_names(), C.legal_basis[i]); }},
      {"policy_version", "TEXT NOT NULL", [&C, &D](size_t i) { return dict_value(D.policy_versions, C.policy_version[i]); }},
      {"true_person", "INTEGER NOT NULL", [&C](size_t i) { return int_value(C.true_person[i]); }},
  }});
  return t;
}

std::string iso_date(int64_t days) {
  const CivilDate c = civil_from_days(days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", c.year, c.month, c.day);
  return buf;
}

// ---- files -----------------------------------------------------------------------------

class OutFile {
 public:
  explicit OutFile(const std::filesystem::path& path) : path_(path.string()), f_(std::fopen(path_.c_str(), "wb")) {
    if (!f_) throw IoError("datagen: cannot write \"" + path_ + "\": " + std::strerror(errno));
    buf_.reserve(1 << 20);
  }
  ~OutFile() {
    if (f_) std::fclose(f_);
  }
  std::string& buf() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= (1 << 20)) flush();
  }
  void flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
      throw IoError("datagen: write failed on \"" + path_ + "\": " + std::strerror(errno));
    buf_.clear();
  }
  void close() {
    flush();
    const int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) throw IoError("datagen: write failed on \"" + path_ + "\": " + std::strerror(errno));
  }

 private:
  std::string path_;
  std::FILE* f_;
  std::string buf_;
};

void append_real(std::string& out, double v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.2f", v);
  out.append(buf, static_cast<size_t>(n));
}

void append_csv_text(std::string& out, std::string_view s) {
  bool quote = s.empty() ? false : (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t');
  for (char c : s)
    if (c == ',' || c == '"' || c == '\n' || c == '\r') quote = true;
  if (quote) util::append_csv_quoted(out, s);
  else out += s;
}

void append_json_text(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

enum class Format { csv, jsonl };

void write_files(const SampleData& data, const std::string& dir, Format fmt) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError("datagen: cannot create directory \"" + dir + "\": " + ec.message());
  for (const Table& t : describe(data)) {
    OutFile f(std::filesystem::path(dir) / (std::string(t.name) + (fmt == Format::csv ? ".csv" : ".jsonl")));
    std::string& out = f.buf();
    if (fmt == Format::csv) {
      for (size_t c = 0; c < t.columns.size(); ++c) {
        if (c) out.push_back(',');
        out += t.columns[c].name;
      }
      out += "\r\n";
    }
    for (size_t i = 0; i < t.rows; ++i) {
      if (fmt == Format::jsonl) out.push_back('{');
      for (size_t c = 0; c < t.columns.size(); ++c) {
        if (c) out.push_back(',');
        if (fmt == Format::jsonl) {
          out.push_back('"');
          out += t.columns[c].name;
          out += "\":";
        }
        const Value v = t.columns[c].get(i);
        switch (v.kind) {
          case Value::Null:
            if (fmt == Format::jsonl) out += "null";
            break;
          case Value::Int: out += std::to_string(v.i); break;
          case Value::Real: append_real(out, v.d); break;
          case Value::Text:
            if (fmt == Format::csv) append_csv_text(out, v.s);
            else append_json_text(out, v.s);
            break;
          case Value::Time:
            if (fmt == Format::jsonl) out.push_back('"');
            out += format_iso8601(v.i);
            if (fmt == Format::jsonl) out.push_back('"');
            break;
          case Value::Date:
            if (fmt == Format::jsonl) out.push_back('"');
            out += iso_date(v.i);
            if (fmt == Format::jsonl) out.push_back('"');
            break;
        }
      }
      out += fmt == Format::csv ? "\r\n" : "}\n";
      f.maybe_flush();
    }
    f.close();
  }
}

}  // namespace

std::vector<ColumnDigest> column_digests(const SampleData& d) {
  std::vector<ColumnDigest> out;
  auto add = [&](const char* table, const char* column, std::string digest) {
    out.push_back({table, column, std::move(digest)});
  };
  const auto& L = d.links;
  add("links", "record", digest_of(L.record));
  add("links", "type", digest_of(L.type));
  add("links", "value", digest_of(L.value));
  add("links", "canonical", digest_of(L.canonical));
  add("links", "flags", digest_of(L.flags));
  const auto& R = d.records;
  add("records", "time", digest_of(R.time));
  add("records", "source", digest_of(R.source));
  add("records", "true_person", digest_of(R.true_person));
  add("records", "link_offsets", digest_of(R.link_offsets));
  const auto& P = d.persons;
  add("persons", "is_anonymous", digest_of(P.is_anonymous));
  add("persons", "member_level", digest_of(P.member_level));
  add("persons", "signup_at", digest_of(P.signup_at));
  add("persons", "birthday", digest_of(P.birthday));
  add("persons", "city", digest_of(P.city));
  add("persons", "gender", digest_of(P.gender));
  add("persons", "crm_id", digest_of(P.crm_id));
  add("persons", "phone", digest_of(P.phone));
  add("persons", "email", digest_of(P.email));
  add("persons", "unionid", digest_of(P.unionid));
  add("persons", "household", digest_of(P.household));
  const auto& F = d.profiles;
  add("profiles", "key_type", digest_of(F.key_type));
  add("profiles", "key_value", digest_of(F.key_value));
  add("profiles", "member_level", digest_of(F.member_level));
  add("profiles", "signup_at", digest_of(F.signup_at));
  add("profiles", "birthday", digest_of(F.birthday));
  add("profiles", "city", digest_of(F.city));
  add("profiles", "gender", digest_of(F.gender));
  add("profiles", "true_person", digest_of(F.true_person));
  const auto& E = d.events;
  add("events", "time", digest_of(E.time));
  add("events", "type", digest_of(E.type));
  add("events", "id_type", digest_of(E.id_type));
  add("events", "id_value", digest_of(E.id_value));
  add("events", "amount", digest_of(E.amount));
  add("events", "sku", digest_of(E.sku));
  add("events", "category", digest_of(E.category));
  add("events", "store", digest_of(E.store));
  add("events", "campaign", digest_of(E.campaign));
  add("events", "true_person", digest_of(E.true_person));
  const auto& C = d.consent;
  add("consent", "time", digest_of(C.time));
  add("consent", "subject_type", digest_of(C.subject_type));
  add("consent", "subject_value", digest_of(C.subject_value));
  add("consent", "purpose", digest_of(C.purpose));
  add("consent", "channel", digest_of(C.channel));
  add("consent", "decision", digest_of(C.decision));
  add("consent", "expiry", digest_of(C.expiry));
  add("consent", "source", digest_of(C.source));
  add("consent", "legal_basis", digest_of(C.legal_basis));
  add("consent", "policy_version", digest_of(C.policy_version));
  add("consent", "true_person", digest_of(C.true_person));
  const auto& D = d.dicts;
  add("dicts", "cities", digest_of(D.cities));
  add("dicts", "categories", digest_of(D.categories));
  add("dicts", "stores", digest_of(D.stores));
  add("dicts", "store_city", digest_of(D.store_city));
  add("dicts", "skus", digest_of(D.skus));
  add("dicts", "sku_category", digest_of(D.sku_category));
  add("dicts", "sku_price", digest_of(D.sku_price));
  add("dicts", "campaigns", digest_of(D.campaigns));
  add("dicts", "campaign_time", digest_of(D.campaign_time));
  add("dicts", "policy_versions", digest_of(D.policy_versions));
  return out;
}

std::string data_digest(const SampleData& d) {
  std::string all;
  for (const auto& c : column_digests(d)) {
    all += c.table;
    all += '.';
    all += c.column;
    all += '=';
    all += c.sha256;
    all += '\n';
  }
  return to_hex(sha256(all));
}

void write_csv(const SampleData& data, const std::string& dir) { write_files(data, dir, Format::csv); }
void write_jsonl(const SampleData& data, const std::string& dir) { write_files(data, dir, Format::jsonl); }

namespace detail {

void write_sample_tables(sql::Database& db, const SampleData& data) {
  sql::Transaction tx(db);
  const std::vector<Table> tables = describe(data);
  for (const Table& t : tables) {
    const std::string name = std::string("sample_") + t.name;
    std::string create = "DROP TABLE IF EXISTS " + name + ";\nCREATE TABLE " + name + " (";
    std::string insert = "INSERT INTO " + name + " VALUES (";
    for (size_t c = 0; c < t.columns.size(); ++c) {
      if (c) create += ", ", insert += ", ";
      create += t.columns[c].name;
      create += ' ';
      create += t.columns[c].sql_type;
      insert += '?';
    }
    create += ")";
    insert += ")";
    db.exec(create);
    sql::Statement st = db.prepare(insert);
    sqlite3_stmt* h = st.handle();
    std::string date_buf;
    for (size_t i = 0; i < t.rows; ++i) {
      for (size_t c = 0; c < t.columns.size(); ++c) {
        const int idx = static_cast<int>(c + 1);
        const Value v = t.columns[c].get(i);
        int rc = SQLITE_OK;
        switch (v.kind) {
          case Value::Null: rc = sqlite3_bind_null(h, idx); break;
          case Value::Int:
          case Value::Time: rc = sqlite3_bind_int64(h, idx, v.i); break;
          case Value::Real: rc = sqlite3_bind_double(h, idx, v.d); break;
          case Value::Text:
            // The data outlives the statement step: no copy.
            rc = sqlite3_bind_text64(h, idx, v.s.data(), v.s.size(), SQLITE_STATIC, SQLITE_UTF8);
            break;
          case Value::Date:
            date_buf = iso_date(v.i);
            rc = sqlite3_bind_text64(h, idx, date_buf.data(), date_buf.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
            break;
        }
        if (rc != SQLITE_OK) sql::throw_sqlite(db.handle(), rc, "datagen: binding " + name + " row " + std::to_string(i));
      }
      st.step();
      st.reset();
    }
  }
  {
    const Options& o = data.options;
    db.exec("DROP TABLE IF EXISTS sample_info;\nCREATE TABLE sample_info (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    sql::Statement st = db.prepare("INSERT INTO sample_info VALUES (?, ?)");
    auto put = [&](const char* k, const std::string& v) {
      st.bind(1, std::string_view(k)).bind(2, v);
      st.step();
      st.reset();
    };
    put("seed", std::to_string(o.seed));
    put("persons", std::to_string(o.persons));
    put("end", format_iso8601(o.end));
    put("days", std::to_string(o.days));
    put("anonymous_ratio", std::to_string(o.anonymous_ratio));
    put("records_per_person", std::to_string(o.records_per_person));
    put("events_per_person", std::to_string(o.events_per_person));
    put("noise", std::to_string(o.noise));
    put("digest", data_digest(data));
  }
  tx.commit();
}

}  // namespace detail

void write_to_workspace(Workspace& ws, const SampleData& data) { detail::write_sample_tables(database_of(ws), data); }

}  // namespace cdpcore::datagen
