// Internal: the profile store's tables in the workspace.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cdpcore/profile.hpp"
#include "cdpcore/workspace.hpp"

namespace cdpcore::sql {
class Database;
}

namespace cdpcore::profile_detail {

namespace persist {

/// Creates or upgrades the component's tables.
void ensure_tables(Workspace& ws);
/// Stores a new attribute definition; returns its id.
int64_t insert_attribute(Workspace& ws, const AttributeDef& def);
/// Stores a new event type (id == 0) or new properties of an existing one
/// (positions from `first_position`), in one transaction; returns the id.
int64_t save_event_type(Workspace& ws, int64_t id, std::string_view name, size_t first_position,
                        std::span<const PropertyDef> added);
/// Reads schema and data into an empty store.
void load(Workspace& ws, ProfileStore::Impl& im);

/// Encodes a value of an event property for the props blob.
void encode_null(std::string& out);
void encode_int(std::string& out, int64_t v);
void encode_double(std::string& out, double v);
void encode_string(std::string& out, std::string_view s);
/// Encodes a set attribute value (sorted members) as stored text.
std::string encode_set(const std::vector<std::string_view>& members);
std::vector<std::string> decode_set(std::string_view text);

}  // namespace persist
}  // namespace cdpcore::profile_detail
