#include <doctest/doctest.h>

#include "../name_samples.hpp"
#include "cdpcore/profile.hpp"

using namespace cdpcore;

TEST_CASE("profile: attribute, event type and property names follow the library's one name rule") {
  ProfileStore s;
  name_samples::check_same_rule([&](const std::string& name) { s.define_attribute({name, ValueType::int64}); });
  // Event types: prefixed so that no accepted name is already an attribute.
  name_samples::check_same_rule([&](const std::string& name) {
    const std::string n = cdpcore::util::is_valid_name(name) ? "e_" + name.substr(0, 126) : name;
    s.define_event_type({n, {}});
  });
  int k = 0;
  name_samples::check_same_rule([&](const std::string& name) {
    s.define_event_type({"with_property_" + std::to_string(k++), {{name, ValueType::int64}}});
  });
}
