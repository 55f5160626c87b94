#include <doctest/doctest.h>

#include <random>
#include <string>

#include "cdpcore/hash.hpp"
#include "cdpcore/identity.hpp"
#include "identity/normalize.hpp"

using namespace cdpcore;

TEST_CASE("identity: built-in normalisers") {
  IdentityGraph g;
  IdentifierTypeOptions o;
  o.normalizer = Normalizer::phone;
  const TypeId phone = g.register_type("phone", o);
  o.phone_region = "US";
  const TypeId us = g.register_type("us_phone", o);
  o = {};
  o.normalizer = Normalizer::email;
  const TypeId email = g.register_type("email", o);
  o.email_fold_providers = true;
  const TypeId folded = g.register_type("email_folded", o);
  o = {};
  o.normalizer = Normalizer::lower;
  const TypeId lower = g.register_type("lower", o);
  o.normalizer = Normalizer::trim;
  const TypeId trim = g.register_type("trim", o);
  o.normalizer = Normalizer::none;
  const TypeId none = g.register_type("none", o);

  CHECK(g.normalize(phone, "13800138000") == "+8613800138000");
  CHECK(g.normalize(phone, "+86 138-0013-8000") == "+8613800138000");
  CHECK(g.normalize(phone, "(+86)13800138000") == "+8613800138000");
  CHECK(g.normalize(phone, "0086 13800138000") == "+8613800138000");
  CHECK(g.normalize(phone, "\xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x98\xEF\xBC\x90\xEF\xBC\x90\xEF\xBC\x91\xEF\xBC\x93"
                           "\xEF\xBC\x98\xEF\xBC\x90\xEF\xBC\x90\xEF\xBC\x90") == "+8613800138000");  // full-width
  CHECK(g.normalize(phone, "+1 650-253-0000") == "+16502530000");
  CHECK(g.normalize(us, "(650) 253-0000") == "+16502530000");
  CHECK_THROWS_AS(g.normalize(phone, "11111111111"), ParseError);
  CHECK_THROWS_AS(g.normalize(phone, "null"), ParseError);
  CHECK_THROWS_AS(g.normalize(phone, "   "), InvalidArgument);
  CHECK_THROWS_AS(g.normalize(phone, ""), InvalidArgument);
  CHECK_THROWS_AS(g.normalize(phone, std::string("138\xff", 4)), Utf8Error);

  CHECK(g.normalize(email, "  Zhang.Wei+vip@GMail.com\t") == "zhang.wei+vip@gmail.com");
  CHECK(g.normalize(folded, "Zhang.Wei+vip@GoogleMail.com") == "zhangwei@gmail.com");
  CHECK(g.normalize(folded, "li+x@163.com") == "li@163.com");
  CHECK(g.normalize(folded, "li.na+x@sina.com") == "li.na+x@sina.com");  // unknown provider: no folding
  CHECK_THROWS_AS(g.normalize(email, "null"), ParseError);
  CHECK_THROWS_AS(g.normalize(email, "a@b@c.com"), ParseError);
  CHECK_THROWS_AS(g.normalize(email, "a@localhost"), ParseError);

  CHECK(g.normalize(lower, "  ABC-def ") == "abc-def");
  CHECK(g.normalize(trim, "\xE3\x80\x80 M001 \xC2\xA0") == "M001");  // ideographic and no-break spaces
  CHECK(g.normalize(none, " x ") == " x ");
  CHECK_THROWS_AS(g.normalize(none, "   "), InvalidArgument);
  CHECK_THROWS_AS(g.normalize(trim, "a\nb"), InvalidArgument);  // a control character inside
  CHECK_THROWS_AS(g.normalize(trim, std::string(300, 'x')), LimitError);
  CHECK_THROWS_AS(g.normalize(99, "x"), NotFound);
}

TEST_CASE("identity: custom, keyed-hash and SHA-256 identifier types") {
  IdentityGraph g;
  IdentifierTypeOptions o;
  o.normalizer = Normalizer::custom;
  o.custom_normalizer = [](std::string_view raw) {
    if (raw.substr(0, 3) != "VIP") throw InvalidArgument("not a VIP card");
    return std::string(raw.substr(3));
  };
  const TypeId vip = g.register_type("vip", o);
  CHECK(g.normalize(vip, "VIP123") == "123");
  CHECK_THROWS_WITH_AS(g.normalize(vip, "X1"), doctest::Contains("not a VIP card"), InvalidArgument);

  o = {};
  o.normalizer = Normalizer::phone;
  o.storage = Storage::keyed_hash;
  o.hash_key = "secret";
  const TypeId hphone = g.register_type("hphone", o);
  const std::string h = g.normalize(hphone, "13800138000");
  CHECK(h == to_hex(hmac_sha256("secret", "+8613800138000")));
  g.link({{{hphone, "138 0013 8000"}}, 1, "crm"});
  CHECK(g.ordinal_of(hphone, "+8613800138000"));
  auto ids = g.identifiers_of(*g.ordinal_of(hphone, "13800138000"));
  REQUIRE(ids.size() == 1);
  CHECK(ids[0].value == h);  // no raw value is held

  o = {};
  o.normalizer = Normalizer::lower;
  o.input = InputKind::sha256;
  const TypeId sha = g.register_type("sha_phone", o);
  const std::string digest = to_hex(sha256("+8613800138000"));
  IdentifierTypeOptions po;
  po.normalizer = Normalizer::phone;
  const TypeId phone = g.register_type("phone", po);
  CHECK(g.sha256_of(phone, "138-0013-8000") == digest);
  std::string upper = digest;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(g.normalize(sha, upper) == digest);
  CHECK_THROWS_AS(g.normalize(sha, "abc"), ParseError);
  // Re-registration: same normaliser is fine and returns the id, a different one conflicts.
  CHECK(g.register_type("phone", po) == phone);
  IdentifierTypeOptions other;
  other.normalizer = Normalizer::email;
  CHECK_THROWS_AS(g.register_type("phone", other), Conflict);
  CHECK_THROWS_AS(g.register_type("bad name!", other), InvalidArgument);
}

TEST_CASE("identity: the fast path for Chinese mobiles gives libphonenumber's answer") {
  // Many generated inputs in every shape the fast path accepts (and some it
  // does not), compared with libphonenumber's own parse, validation and E.164.
  std::mt19937_64 rng(20240601);
  const char* shapes[] = {"%s", "+86%s", "86%s", "0086%s", "+86 %s", "+86-%s", "86-%s", "(+86)%s", "0086 %s"};
  std::string out_fast, out_slow;
  int decided = 0, compared = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string nsn = "1";
    const int len = (i % 50 == 0) ? 10 + static_cast<int>(rng() % 3) : 11;  // a few wrong lengths
    for (int k = 1; k < len; ++k) nsn.push_back(static_cast<char>('0' + rng() % 10));
    if (i % 3 == 0 && nsn.size() == 11) {  // grouped 3-4-4 with spaces or dashes
      const char sep = (i % 2) ? ' ' : '-';
      nsn = nsn.substr(0, 3) + sep + nsn.substr(3, 4) + sep + nsn.substr(7);
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, shapes[rng() % std::size(shapes)], nsn.c_str());
    std::string in = buf;
    if (i % 7 == 0) {  // full-width digits
      std::string fw;
      for (char ch : in) {
        if (ch >= '0' && ch <= '9') {
          fw += "\xEF\xBC";
          fw.push_back(static_cast<char>(0x90 + (ch - '0')));
        } else {
          fw.push_back(ch);
        }
      }
      in = fw;
    }
    const int fast = idg::phone_e164_fast_cn(in, out_fast);
    const bool slow = idg::phone_e164_libphonenumber(in, "CN", out_slow);
    if (fast < 0) continue;
    ++decided;
    ++compared;
    CHECK_MESSAGE((fast == 1) == slow, in);
    if (fast == 1 && slow) CHECK_MESSAGE(out_fast == out_slow, in);
  }
  CHECK(decided > 20000);  // the fast path decides most well-formed inputs
  // Text without digits is rejected without libphonenumber, as libphonenumber would.
  for (const char* text : {"null", "NULL", "n/a", "none", "x"}) {
    CHECK(idg::phone_e164_fast_cn(text, out_fast) == 0);
    CHECK(!idg::phone_e164_libphonenumber(text, "CN", out_slow));
  }
}
