// The taxonomy of purposes and channels: names, loading, the tables that
// evaluation reads (which purposes apply to which), and definitions.
#include <algorithm>
#include <string>
#include <vector>

#include "cdpcore/consent.hpp"
#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"
#include "consent/consent_impl.hpp"
#include "util/names.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

namespace cdpcore {

using namespace consent_detail;

namespace {

constexpr size_t kMaxTextLength = 4096;

void check_text(std::string_view s, std::string_view what, size_t max = kMaxTextLength) {
  require_utf8(s, what);
  if (s.size() > max) {
    throw InvalidArgument(std::string(what) + " is " + std::to_string(s.size()) + " bytes, longer than " +
                          std::to_string(max));
  }
}

std::string join(const std::vector<std::string>& v, char sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s.push_back(sep);
    s += v[i];
  }
  return s;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      if (i > start) out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace

void Consent::Impl::load_taxonomy() {
  sql::Database& db = database_of(*ws);
  purposes.clear();
  channels.clear();
  purpose_ids.clear();
  channel_ids.clear();
  purposes.push_back({PurposeSpec{"*", "Every purpose", false, false, 0}, -1, 0});
  channels.push_back({ChannelSpec{"*", {}, 0}});
  purpose_ids.emplace("*", 0);
  channel_ids.emplace("*", 0);
  channel_ids.emplace("", 0);
  {
    auto st = db.prepare(
        "SELECT id, name, description, separate_consent, direct_marketing, opt_out_jurisdictions FROM consent_purposes "
        "ORDER BY id");
    while (st.step()) {
      auto id = static_cast<size_t>(st.column_int64(0));
      if (id == 0 || id >= kMaxPurposes) throw CorruptError("consent: purpose id " + std::to_string(id) + " out of range");
      if (purposes.size() <= id) purposes.resize(id + 1);
      Purpose& p = purposes[id];
      p.spec.name = std::string(st.column_text(1));
      p.spec.description = std::string(st.column_text(2));
      p.spec.separate_consent = st.column_int64(3) != 0;
      p.spec.direct_marketing = st.column_int64(4) != 0;
      p.spec.opt_out_jurisdictions = static_cast<uint8_t>(st.column_int64(5));
      purpose_ids[p.spec.name] = static_cast<uint16_t>(id);
    }
  }
  {
    auto st = db.prepare("SELECT id, name, identifier_types, opt_in_jurisdictions FROM consent_channels ORDER BY id");
    while (st.step()) {
      auto id = static_cast<size_t>(st.column_int64(0));
      if (id == 0 || id > kMaxChannels) throw CorruptError("consent: channel id " + std::to_string(id) + " out of range");
      if (channels.size() <= id) channels.resize(id + 1);
      Channel& c = channels[id];
      c.spec.name = std::string(st.column_text(1));
      c.spec.identifier_types = split(st.column_text(2), ',');
      c.spec.opt_in_jurisdictions = static_cast<uint8_t>(st.column_int64(3));
      channel_ids[c.spec.name] = static_cast<uint16_t>(id);
    }
  }
  rebuild_taxonomy_tables();
}

void Consent::Impl::rebuild_taxonomy_tables() {
  const size_t n = purposes.size();
  // Parents and depths from the dotted names.
  for (size_t i = 1; i < n; ++i) {
    Purpose& p = purposes[i];
    if (p.spec.name.empty()) continue;  // id gap
    auto dot = p.spec.name.rfind('.');
    if (dot == std::string::npos) {
      p.parent = 0;
    } else {
      auto it = purpose_ids.find(p.spec.name.substr(0, dot));
      if (it == purpose_ids.end()) throw CorruptError("consent: purpose \"" + p.spec.name + "\" has no parent");
      p.parent = it->second;
    }
  }
  for (size_t i = 1; i < n; ++i) {
    int d = 0;
    for (int32_t x = static_cast<int32_t>(i); x > 0 && d <= kMaxPurposeDepth + 1; x = purposes[static_cast<size_t>(x)].parent) ++d;
    purposes[i].depth = static_cast<uint8_t>(std::min(d, kMaxPurposeDepth));
  }
  applies.assign(n * n, -1);
  grant_floor.assign(n, 0);
  separate.assign(n, 0);
  for (size_t q = 0; q < n; ++q) {
    if (q > 0 && purposes[q].spec.name.empty()) continue;
    int8_t* row = &applies[q * n];
    bool sep = false;
    uint8_t floor = 0;
    for (int32_t x = static_cast<int32_t>(q); x >= 0; x = purposes[static_cast<size_t>(x)].parent) {
      row[x] = static_cast<int8_t>(purposes[static_cast<size_t>(x)].depth);
      if (purposes[static_cast<size_t>(x)].spec.separate_consent) {
        sep = true;
        floor = std::max(floor, purposes[static_cast<size_t>(x)].depth);
      }
      if (x == 0) break;
    }
    grant_floor[q] = floor;
    separate[q] = sep ? 1 : 0;
  }
}

uint16_t Consent::Impl::purpose_id(std::string_view name) const {
  auto it = purpose_ids.find(std::string(name));
  if (it == purpose_ids.end()) {
    std::string known;
    for (size_t i = 1; i < purposes.size(); ++i) {
      if (purposes[i].spec.name.empty()) continue;
      if (!known.empty()) known += ", ";
      known += purposes[i].spec.name;
    }
    throw InvalidArgument("unknown purpose \"" + std::string(name) + "\" (defined: *, " + known + ")");
  }
  return it->second;
}

uint16_t Consent::Impl::channel_id(std::string_view name) const {
  auto it = channel_ids.find(std::string(name));
  if (it == channel_ids.end()) {
    std::string known;
    for (size_t i = 1; i < channels.size(); ++i) {
      if (channels[i].spec.name.empty()) continue;
      if (!known.empty()) known += ", ";
      known += channels[i].spec.name;
    }
    throw InvalidArgument("unknown channel \"" + std::string(name) + "\" (defined: *, " + known + ")");
  }
  return it->second;
}

void Consent::define_purpose(const PurposeSpec& spec) {
  Impl& m = *impl_;
  util::validate_name(spec.name, "purpose", util::NameShape::dotted);
  check_text(spec.description, "purpose description");
  const bool exists = m.purpose_ids.count(spec.name) != 0;
  auto dot = spec.name.rfind('.');
  int depth = 1;
  if (dot != std::string::npos) {
    const std::string parent = spec.name.substr(0, dot);
    auto it = m.purpose_ids.find(parent);
    if (it == m.purpose_ids.end()) {
      throw InvalidArgument("purpose \"" + spec.name + "\": its parent \"" + parent + "\" is not defined");
    }
    depth = m.purposes[it->second].depth + 1;
  }
  if (depth > kMaxPurposeDepth) {
    throw InvalidArgument("purpose \"" + spec.name + "\" is " + std::to_string(depth) + " levels deep (at most " +
                          std::to_string(kMaxPurposeDepth) + ")");
  }
  if (!exists && m.purposes.size() >= kMaxPurposes) throw LimitError("consent: at most 999 purposes");
  sql::Database& db = database_of(*m.ws);
  sql::Transaction tx(db);
  if (exists) {
    db.cached("UPDATE consent_purposes SET description = ?, separate_consent = ?, direct_marketing = ?, "
              "opt_out_jurisdictions = ? WHERE name = ?")
        .bind_all(spec.description, int64_t{spec.separate_consent}, int64_t{spec.direct_marketing},
                  int64_t{spec.opt_out_jurisdictions}, spec.name)
        .run();
  } else {
    db.cached("INSERT INTO consent_purposes(id, name, description, separate_consent, direct_marketing, "
              "opt_out_jurisdictions) VALUES (?, ?, ?, ?, ?, ?)")
        .bind_all(static_cast<int64_t>(m.purposes.size()), spec.name, spec.description,
                  int64_t{spec.separate_consent}, int64_t{spec.direct_marketing}, int64_t{spec.opt_out_jurisdictions})
        .run();
  }
  tx.commit();
  m.load_taxonomy();
}

void Consent::define_channel(const ChannelSpec& spec) {
  Impl& m = *impl_;
  util::validate_name(spec.name, "channel");
  // References to subject types (as consent records name them, checked no
  // further there), stored comma-separated.
  for (const auto& t : spec.identifier_types) {
    if (t.empty() || t.find(',') != std::string::npos) {
      throw InvalidArgument("channel \"" + spec.name + "\": identifier type \"" + t + "\" is empty or has a comma");
    }
    check_text(t, "identifier type", util::kMaxNameBytes);
  }
  const bool exists = m.channel_ids.count(spec.name) != 0;
  if (!exists && m.channels.size() > kMaxChannels) throw LimitError("consent: at most 255 channels");
  sql::Database& db = database_of(*m.ws);
  sql::Transaction tx(db);
  if (exists) {
    db.cached("UPDATE consent_channels SET identifier_types = ?, opt_in_jurisdictions = ? WHERE name = ?")
        .bind_all(join(spec.identifier_types, ','), int64_t{spec.opt_in_jurisdictions}, spec.name)
        .run();
  } else {
    db.cached("INSERT INTO consent_channels(id, name, identifier_types, opt_in_jurisdictions) VALUES (?, ?, ?, ?)")
        .bind_all(static_cast<int64_t>(m.channels.size()), spec.name, join(spec.identifier_types, ','),
                  int64_t{spec.opt_in_jurisdictions})
        .run();
  }
  tx.commit();
  m.load_taxonomy();
}

std::vector<PurposeSpec> Consent::purposes() const {
  std::vector<PurposeSpec> out;
  for (size_t i = 1; i < impl_->purposes.size(); ++i) {
    if (!impl_->purposes[i].spec.name.empty()) out.push_back(impl_->purposes[i].spec);
  }
  return out;
}

std::vector<ChannelSpec> Consent::channels() const {
  std::vector<ChannelSpec> out;
  for (size_t i = 1; i < impl_->channels.size(); ++i) {
    if (!impl_->channels[i].spec.name.empty()) out.push_back(impl_->channels[i].spec);
  }
  return out;
}

}  // namespace cdpcore
