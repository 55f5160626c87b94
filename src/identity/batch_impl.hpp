// Internal: the flat layout behind RecordBatch.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "cdpcore/identity.hpp"

namespace cdpcore {

struct RecordBatch::Impl {
  static constexpr uint32_t kByName = 0x80000000u;  // item_type = kByName | index into names

  std::vector<uint64_t> rec_start;  // first item of each record
  std::vector<Timestamp> times;
  std::vector<uint32_t> src;        // index into sources
  std::vector<std::string> sources;
  std::unordered_map<std::string, uint32_t> source_index;
  std::vector<uint32_t> item_type;  // type id, or kByName | name index
  std::vector<uint64_t> val_end;    // end offset of each item's value in bytes
  std::string bytes;
  std::vector<std::string> names;
  std::unordered_map<std::string, uint32_t> name_index;

  size_t records() const noexcept { return times.size(); }
  size_t items() const noexcept { return item_type.size(); }
  uint64_t rec_end(size_t r) const noexcept { return r + 1 < rec_start.size() ? rec_start[r + 1] : item_type.size(); }
  std::string_view value(size_t i) const noexcept {
    const uint64_t b = i ? val_end[i - 1] : 0;
    return std::string_view(bytes.data() + b, val_end[i] - b);
  }
  uint32_t intern_source(std::string_view s) {
    if (!sources.empty() && sources[src.empty() ? 0 : src.back()] == s) return src.empty() ? 0 : src.back();
    auto it = source_index.find(std::string(s));
    if (it != source_index.end()) return it->second;
    const uint32_t id = static_cast<uint32_t>(sources.size());
    sources.emplace_back(s);
    source_index.emplace(std::string(s), id);
    return id;
  }
  uint32_t intern_name(std::string_view s) {
    auto it = name_index.find(std::string(s));
    if (it != name_index.end()) return it->second;
    const uint32_t id = static_cast<uint32_t>(names.size());
    names.emplace_back(s);
    name_index.emplace(std::string(s), id);
    return id;
  }
};

}  // namespace cdpcore
