#include <doctest/doctest.h>

#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"

using namespace cdpcore;

TEST_CASE("utf8: valid text of every width passes") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii text that is longer than eight bytes"));
  CHECK(is_valid_utf8("张三 +86 138 0013 8000 émile 😀"));
  CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST_CASE("utf8: the offset of the first bad byte is reported") {
  CHECK(find_invalid_utf8("abc\xff") == 3u);
  CHECK(find_invalid_utf8("abcdefgh\x80xyz") == 8u);
  CHECK(find_invalid_utf8("\xC0\xAF") == 0u);           // overlong '/'
  CHECK(find_invalid_utf8("ab\xED\xA0\x80") == 2u);     // surrogate U+D800
  CHECK(find_invalid_utf8("\xF4\x90\x80\x80") == 0u);   // above U+10FFFF
  CHECK(find_invalid_utf8("ok\xE4\xB8") == 2u);         // truncated sequence
  CHECK(find_invalid_utf8("\xE4\xB8\x41") == 0u);       // bad continuation
}

TEST_CASE("utf8: require_utf8 throws Utf8Error naming what and where") {
  try {
    require_utf8("name\xfe", "attribute name");
    FAIL("no exception");
  } catch (const Utf8Error& e) {
    CHECK(e.offset() == 4);
    CHECK(e.code() == ErrorCode::utf8);
    CHECK(std::string(e.what()) == "attribute name: invalid UTF-8 at byte 4");
  }
}
