#include <doctest/doctest.h>

#include "../name_samples.hpp"
#include "cdpcore/segment.hpp"

using namespace cdpcore;

TEST_CASE("segment: segment, tag and trait names follow the library's one name rule") {
  SegmentEngine seg;
  name_samples::check_same_rule([&](const std::string& name) { seg.define_fixed(name, Bitmap::from_range(0, 3)); });
  name_samples::check_same_rule([&](const std::string& name) { seg.set_tag(name, Bitmap::from_range(0, 2)); });
  name_samples::check_same_rule([&](const std::string& name) { seg.set_trait(name, {1.0, 2.0}); });
}
