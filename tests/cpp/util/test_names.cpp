#include <doctest/doctest.h>

#include <string>

#include "cdpcore/error.hpp"
#include "util/names.hpp"

using cdpcore::InvalidArgument;
using cdpcore::util::is_reserved_word;
using cdpcore::util::is_valid_name;
using cdpcore::util::kMaxNameBytes;
using cdpcore::util::NameShape;
using cdpcore::util::validate_name;

TEST_CASE("names: letters, digits, '_' and non-ASCII characters, not starting with a digit") {
  for (const char* ok : {"a", "Z", "_", "_1", "vip", "repeat_buyer", "price_band", "wechat_unionid", "phone_sha256",
                         "A1b2", "x9", "会员等级", "ñandú", "tag_1", "tags", "timeline", "end_date", "Δ"}) {
    INFO(ok);
    CHECK(is_valid_name(ok));
    CHECK_NOTHROW(validate_name(ok, "name"));
  }
  for (const char* bad : {"9lives", "0", "has space", "bad name!", "a-b", "a:b", "a.b", "a/b", "tab\there", "\"q\"",
                          "a+b", "(x)", "`x`", "a,b", "é-", "a\x7f"}) {
    INFO(bad);
    CHECK_FALSE(is_valid_name(bad));
    CHECK_THROWS_AS(validate_name(bad, "name"), InvalidArgument);
  }
}

TEST_CASE("names: 1 to 128 bytes of valid UTF-8") {
  CHECK_FALSE(is_valid_name(""));
  CHECK(is_valid_name(std::string(kMaxNameBytes, 'a')));
  CHECK_FALSE(is_valid_name(std::string(kMaxNameBytes + 1, 'a')));
  // 42 three-byte characters (126 bytes) fit; 43 (129 bytes) do not.
  std::string cjk;
  for (int i = 0; i < 42; ++i) cjk += "会";
  CHECK(is_valid_name(cjk));
  CHECK_FALSE(is_valid_name(cjk + "会"));
  CHECK_FALSE(is_valid_name("a\xff"));
  CHECK_FALSE(is_valid_name("\xe4\xbc"));  // a character cut short
  CHECK_FALSE(is_valid_name(std::string("a\0b", 3)));
}

TEST_CASE("names: the rule language's reserved words are refused, in any ASCII case") {
  for (const char* w : {"and", "or", "not", "in", "is", "null", "true", "false", "between", "case", "when", "then",
                        "else", "end", "where", "last", "this", "previous", "since", "tag", "trait", "as_of", "time",
                        "AND", "Time", "tAg"}) {
    INFO(w);
    CHECK(is_reserved_word(w));
    CHECK_FALSE(is_valid_name(w));
    CHECK_THROWS_AS(validate_name(w, "attribute name"), InvalidArgument);
  }
  for (const char* w : {"", "an", "ands", "times", "previously", "count", "sum", "day", "_and"}) {
    INFO(w);
    CHECK_FALSE(is_reserved_word(w));
  }
}

TEST_CASE("names: dotted names apply the same rule to every segment") {
  for (const char* ok : {"marketing", "marketing.sms", "marketing.wechat", "a.b.c", "service_1.x", "营销.短信"}) {
    INFO(ok);
    CHECK(is_valid_name(ok, NameShape::dotted));
  }
  for (const char* bad : {".a", "a.", "a..b", ".", "a.9b", "a.b c", "marketing.end", "Time.x", "a.-"}) {
    INFO(bad);
    CHECK_FALSE(is_valid_name(bad, NameShape::dotted));
    CHECK_THROWS_AS(validate_name(bad, "purpose", NameShape::dotted), InvalidArgument);
  }
  // Every segment within the rule, the whole still at most 128 bytes.
  std::string longest = std::string(63, 'a') + "." + std::string(64, 'b');
  CHECK(longest.size() == kMaxNameBytes);
  CHECK(is_valid_name(longest, NameShape::dotted));
  CHECK_FALSE(is_valid_name(longest + "b", NameShape::dotted));
  // A single name is one segment: '.' is not one of its characters.
  CHECK_FALSE(is_valid_name("marketing.sms"));
}

TEST_CASE("names: the error names what was checked, the name and what is wrong") {
  auto message = [](std::string_view name, NameShape shape = NameShape::single) {
    try {
      validate_name(name, "segment name", shape);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  CHECK(message("9lives") == "segment name \"9lives\" has '9' at byte 0: use letters, digits and '_', not starting with a digit");
  CHECK(message("") == "segment name is empty");
  CHECK(message("end") == "segment name \"end\" is reserved by the rule language (\"end\")");
  CHECK(message("a..b", NameShape::dotted) ==
        "segment name \"a..b\" has an empty segment at byte 2 ('.' separates non-empty segments)");
  CHECK(message(std::string(200, 'x')).find("is 200 bytes, longer than 128") != std::string::npos);
  CHECK_THROWS_AS(validate_name("a\xff", "segment name"), cdpcore::Utf8Error);
  CHECK(message("ok") == "(accepted)");
}
