// Names on both sides of the one name rule (util/names.hpp), for the tests
// that check a component's definitions go through that rule.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"
#include "util/names.hpp"

namespace name_samples {

inline std::vector<std::string> samples() {
  return {"vip",      "repeat_buyer", "_private", "A1",        "会员等级",  "ñandú",     std::string(128, 'n'),
          "9lives",   "has space",    "a-b",      "a:b",       "a.b",       "and",       "Time",
          "",         "x!",           "a\xff",    std::string(129, 'n'), "tag",  "end_date", "marketing.end",
          "a..b",     ".a",           "新.渠道"};
}

/// Calls define(name) for every sample and checks that it accepts exactly
/// the names the rule accepts, refusing the others with InvalidArgument
/// (Utf8Error for invalid UTF-8).
inline void check_same_rule(const std::function<void(const std::string&)>& define,
                            cdpcore::util::NameShape shape = cdpcore::util::NameShape::single) {
  for (const std::string& name : samples()) {
    INFO("name \"" << name << "\"");
    if (cdpcore::util::is_valid_name(name, shape)) {
      CHECK_NOTHROW(define(name));
    } else if (!cdpcore::is_valid_utf8(name)) {
      CHECK_THROWS_AS(define(name), cdpcore::Utf8Error);
    } else {
      CHECK_THROWS_AS(define(name), cdpcore::InvalidArgument);
    }
  }
}

}  // namespace name_samples
