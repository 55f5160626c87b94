// Internal: the profile store's link to the identity graph (identifier
// resolution and the graph's merge / split / erase events).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>
#include <string_view>

#include "cdpcore/profile.hpp"

namespace cdpcore::profile_detail::identity_link {

/// Persons the graph knows (ordinals below this are valid).
size_t graph_person_count(const IdentityGraph& graph) noexcept;
/// The person an identifier belongs to; with `create`, adds the identifier as
/// a new person when the graph does not know it. nullopt when unknown (or
/// rejected by the graph). `canonical` receives the normalised value.
std::optional<PersonOrdinal> resolve(IdentityGraph& graph, std::string_view type, std::string_view value,
                                     bool create, std::string* canonical);
/// Adds identifiers as new persons (one record each, at `time`, in one
/// batch); writes the ordinals (kNoPerson for a rejected identifier) and the
/// rejection messages.
void create(IdentityGraph& graph, std::span<const std::pair<std::string_view, std::string_view>> identifiers,
            Timestamp time, std::vector<PersonOrdinal>& ordinals, std::vector<std::string>& errors);

}  // namespace cdpcore::profile_detail::identity_link
