#include <doctest/doctest.h>

#include "../name_samples.hpp"
#include "consent_fixture.hpp"

using namespace consent_test;
using cdpcore::util::NameShape;

TEST_CASE("consent taxonomy: purpose and channel names follow the library's one name rule") {
  Fixture f;
  // Top-level purposes: every dotted sample whose parent exists is a child
  // of one defined just before; the rule applies per segment.
  name_samples::check_same_rule(
      [&](const std::string& name) {
        const auto dot = name.rfind('.');
        if (dot != std::string::npos && cdpcore::util::is_valid_name(name, NameShape::dotted))
          f.c->define_purpose({name.substr(0, dot), "", false, false, 0});
        f.c->define_purpose({name, "", false, false, 0});
      },
      NameShape::dotted);
  CHECK_NOTHROW(f.c->define_purpose({"marketing.会员", "", false, false, 0}));
  name_samples::check_same_rule([&](const std::string& name) { f.c->define_channel({name, {"phone"}, 0}); });
}
