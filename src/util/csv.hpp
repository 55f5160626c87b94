// Internal: writing a CSV field in quotes (RFC 4180), shared by the writers
// of CSV files (the sample-data generator, segment exports). When a field
// needs quotes is each writer's own rule; how a quoted field is written is
// this one.
#pragma once

#include <string>
#include <string_view>

namespace cdpcore::util {

/// Appends `v` to `out` in double quotes, each double quote in it doubled.
inline void append_csv_quoted(std::string& out, std::string_view v) {
  out.push_back('"');
  for (char c : v) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace cdpcore::util
