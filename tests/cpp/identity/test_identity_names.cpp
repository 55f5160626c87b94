#include <doctest/doctest.h>

#include "../name_samples.hpp"
#include "cdpcore/identity.hpp"

using namespace cdpcore;

TEST_CASE("identity: identifier type names follow the library's one name rule") {
  IdentityGraph g;
  name_samples::check_same_rule([&](const std::string& name) { g.register_type(name, IdentifierTypeOptions{}); });
}
