// Helpers shared by the identity tests.
#pragma once

#include <map>
#include <string>

#include "cdpcore/identity.hpp"

namespace identity_test {

/// Person of every identifier as a map (type:value -> key), a comparable snapshot.
inline std::map<std::string, cdpcore::PersonKey> snapshot(const cdpcore::IdentityGraph& g) {
  std::map<std::string, cdpcore::PersonKey> m;
  const auto part = g.partition();
  for (uint32_t id = 0; id < part.size(); ++id) {
    auto info = g.identifier(id);
    if (!info) continue;
    m[info->type_name + ":" + info->value] = part[id] == cdpcore::kNoPerson ? 0 : *g.key_of(part[id]);
  }
  return m;
}

}  // namespace identity_test
