// TC string, US Privacy, GPP and GPC decoders against the public test vectors
// of the IAB's own decoders (iabtcf-java TCStringV2Test, iabtcf-es
// ReportedIssues.test.ts), the examples of the TCF v2 and GPP specifications,
// and a fuzz loop.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "cdpcore/error.hpp"
#include "cdpcore/tcf.hpp"

using namespace cdpcore;
using namespace cdpcore::tcf;

namespace {
std::vector<int> ints(const std::vector<uint8_t>& v) { return std::vector<int>(v.begin(), v.end()); }
std::vector<int> ints(const std::vector<uint16_t>& v) { return std::vector<int>(v.begin(), v.end()); }
constexpr Timestamp sec(int64_t s) { return s * 1'000'000; }

// base64url of a bit string (as iabtcf-java's base64FromBitString builds them).
std::string b64_from_bits(const std::string& bits) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string padded = bits;
  while (padded.size() % 6) padded.push_back('0');
  std::string out;
  for (size_t i = 0; i < padded.size(); i += 6) out.push_back(alphabet[std::stoi(padded.substr(i, 6), nullptr, 2)]);
  return out;
}
}  // namespace

TEST_CASE("tcf: iabtcf-java testCanConstructTCModelFromBase64String") {
  auto tc = decode_tc_string("COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA");
  CHECK(tc.version == 2);
  CHECK(tc.created == sec(1580058060));       // 2020-01-26T17:01:00Z
  CHECK(tc.last_updated == sec(1612285260));  // 2021-02-02T17:01:00Z
  CHECK(tc.cmp_id == 675);
  CHECK(tc.cmp_version == 2);
  CHECK(tc.consent_screen == 1);
  CHECK(tc.vendor_list_version == 15);
  CHECK(tc.tcf_policy_version == 2);
  CHECK(tc.consent_language == "EN");
  CHECK(tc.publisher_cc == "AA");
  CHECK_FALSE(tc.is_service_specific);
  CHECK(tc.purpose_one_treatment);
  CHECK_FALSE(tc.use_non_standard_texts);
  CHECK(ints(tc.special_feature_opt_ins) == std::vector<int>{1});
  CHECK(ints(tc.purposes_consent) == std::vector<int>{2, 10});
  CHECK(ints(tc.purposes_li_transparency) == std::vector<int>{2, 9});
  CHECK(tc.purpose_consent(2));
  CHECK_FALSE(tc.purpose_consent(1));
}

TEST_CASE("tcf: iabtcf-java bit-field vendors, disclosed and allowed vendors, all parts") {
  const std::string core = "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA";
  auto tc = decode_tc_string(core);
  CHECK(ints(tc.purposes_consent) == std::vector<int>{3, 4, 5, 6, 7, 8, 9});
  CHECK(ints(tc.vendor_consents) == std::vector<int>{23, 37, 47, 48, 53, 65, 98});
  CHECK(ints(tc.vendor_legitimate_interests) == std::vector<int>{37, 47, 48, 53, 65, 98, 129});
  CHECK(tc.vendor_consent(23));
  CHECK_FALSE(tc.vendor_consent(24));

  auto oob = decode_tc_string(core + ".IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA");
  CHECK(ints(oob.allowed_vendors) == std::vector<int>{12, 23, 37, 47, 48, 53});
  CHECK(ints(oob.disclosed_vendors) == std::vector<int>{23, 37, 47, 48, 53, 65, 98, 129});

  // The publisher TC segment of this vector ends in '=' padding: lenient only.
  const std::string all = core + ".IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA.cAAAAAAAITg=";
  CHECK_THROWS_AS(decode_tc_string(all, Mode::strict), ParseError);
  auto lenient = decode_tc_string(all, Mode::lenient);
  CHECK(lenient.has_publisher_tc);
  CHECK(lenient.pub_purposes_consent.size() == 1);
  CHECK_FALSE(lenient.warnings.empty());
}

TEST_CASE("tcf: iabtcf-java range-encoded vendor legitimate interests and ranges") {
  auto tc = decode_tc_string("COv__-wOv__-wC2AAAENAPCgAAAAAAAAAAAAA_wAQA_gEBABAEAAAA");
  CHECK(ints(tc.vendor_legitimate_interests) == std::vector<int>{128});
  CHECK(tc.vendor_li_range_encoded);

  auto two = decode_tc_string(
      "COwBOpCOwBOpCLqAAAENAPCAAAAAAAAAAAAAFfwAYFfAV-BVkAGBVYFWAAA.IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQB"
      "AAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw");
  CHECK(ints(two.vendor_consents) == std::vector<int>{702, 703});
  auto one = decode_tc_string(
      "COwBOpCOwBOpCLqAAAENAPCAAAAAAAAAAAAAFfwAQFfgUbABAUaAAA.IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAA"
      "GBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw");
  CHECK(ints(one.vendor_consents) == std::vector<int>{703});

  auto p = decode_tc_string("COwxsONOwxsONKpAAAENAdCAAMAAAAAAAAAAAAAAAAAA");
  CHECK(p.purpose_consent(1));
  CHECK(p.purpose_consent(2));
}

TEST_CASE("tcf: iabtcf-java publisher restrictions from a bit string") {
  std::string bits =
      "0000100011101011100"
      "1000000000000001010"
      "0000001110101110010"
      "0000000000000101000"
      "0000110011111000000"
      "0000000000000000100"
      "0011010000000011110"
      "0001000000000000000"
      "0000000000000000000"
      "0000000000000000000"
      "0000000000000000000"
      "0000000000000000000"
      "0000000000000000000"
      "000000000011"
      "000001"
      "01"
      "000000000000"
      "000010"
      "00"
      "000000000000"
      "000011"
      "10"
      "000000000000"
      "0";
  auto tc = decode_tc_string(b64_from_bits(bits));
  REQUIRE(tc.publisher_restrictions.size() == 3);
  CHECK(tc.publisher_restrictions[0].purpose_id == 1);
  CHECK(tc.publisher_restrictions[0].type == RestrictionType::require_consent);
  CHECK(tc.publisher_restrictions[1].purpose_id == 2);
  CHECK(tc.publisher_restrictions[1].type == RestrictionType::not_allowed);
  CHECK(tc.publisher_restrictions[2].purpose_id == 3);
  CHECK(tc.publisher_restrictions[2].type == RestrictionType::require_legitimate_interest);
  for (const auto& r : tc.publisher_restrictions) CHECK(r.vendors().empty());
}

TEST_CASE("tcf: iabtcf-java publisher purposes segment and default segment type") {
  const std::string core = "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA";
  std::string pub =
      "011"
      "100000000000000000000000"
      "000000000000000000000001"
      "000010"
      "01"
      "11"
      "000";
  auto tc = decode_tc_string(core + "." + b64_from_bits(pub));
  CHECK(ints(tc.pub_purposes_consent) == std::vector<int>{1});
  CHECK(ints(tc.pub_purposes_li_transparency) == std::vector<int>{24});
  CHECK(tc.num_custom_purposes == 2);
  CHECK(ints(tc.custom_purposes_consent) == std::vector<int>{2});
  CHECK(ints(tc.custom_purposes_li_transparency) == std::vector<int>{1, 2});

  // A segment of type 0 after the core: iabtcf-java decodes it with empty
  // custom purposes. Strict mode rejects the unknown type; lenient skips it.
  const std::string with_type0 = core + "." + b64_from_bits("00000000");
  CHECK_THROWS_AS(decode_tc_string(with_type0, Mode::strict), ParseError);
  auto lenient = decode_tc_string(with_type0, Mode::lenient);
  CHECK(lenient.custom_purposes_consent.empty());
  CHECK(lenient.warnings.size() == 1);
}

TEST_CASE("tcf: the TCF v2 specification's example strings") {
  // Service-specific: core + publisher TC. Expected values as published for
  // this string (created 2008-12-07, CMP 21 version 7, screen 2, EN, GVL 23,
  // purposes 1, 3, 9, 10). Times are deciseconds; the published values are
  // whole seconds.
  auto tc = decode_tc_string(
      "CLcVDxRMWfGmWAVAHCENAXCkAKDAADnAABRgA5mdfCKZuYJez-NQm0TBMYA4oCAAGQYIAAAAAAEAIAEgAA.argAC0gAAAAAAAAAAAA");
  CHECK(tc.created / sec(1) == 1228644257);
  CHECK(tc.last_updated / sec(1) == 1326215413);
  CHECK(tc.created % sec(1) == 700'000);  // .7 s: deciseconds are kept
  CHECK(tc.cmp_id == 21);
  CHECK(tc.cmp_version == 7);
  CHECK(tc.consent_screen == 2);
  CHECK(tc.consent_language == "EN");
  CHECK(tc.vendor_list_version == 23);
  for (int p : {1, 3, 9, 10}) CHECK(tc.purpose_consent(p));
  CHECK_FALSE(tc.purpose_consent(2));
  CHECK(tc.is_service_specific);
  CHECK(tc.has_publisher_tc);

  // Global-scope example with all four segments.
  auto all = decode_tc_string(
      "COw4XqLOw4XqLAAAAAENAXCAAAAAAAAAAAAAAAAAAAAA.IFukWSQgAIQwgI0QEByFAAAAeIAACAIgSAAQAIAgEQACEABAAAgAQFAEAIAAAGBAAgAAAAQAI"
      "FAAMCQAAgAAQiRAEQAAAAANAAIAAggAIYQFAAARmggBC3ZCYzU2yIA.QFukWSQgAIQwgI0QEByFAAAAeIAACAIgSAAQAIAgEQACEABAAAgAQFAEAIAAAGB"
      "AAgAAAAQAIFAAMCQAAgAAQiRAEQAAAAANAAIAAggAIYQFAAARmggBC3ZCYzU2yIA.YAAAAAAAAAAAAAAAAAA");
  CHECK(all.has_disclosed_vendors);
  CHECK(all.has_allowed_vendors);
  CHECK(all.has_publisher_tc);
  CHECK(all.disclosed_vendors == all.allowed_vendors);
  CHECK(all.disclosed_vendors.size() == 115);
}

TEST_CASE("tcf: iabtcf-es reported issues") {
  // 201: a purpose restriction encoded for a vendor several times decodes.
  auto tc = decode_tc_string(
      "CO4VGswO4VGswAfZCBDEAzCsAP_AAH_AAAigGUNf_X9fb2vj-_599_t0eY1f9_63t-wzjheMs-8NyZ-X_J4Wv2MyvB34JqQKGRgkunLBAQdtHGncTQgBwI"
      "lViTLMY02MjzNKJrJEilsbe2dYGH9vn8XT_ZKZ70-_v__7v3___33_5Ayhr_6_r7e18f3_Pvv9ujzGr_v_W9v2GccLxln3huTPy_5PC1-xmV4O_BNSBQy"
      "MEl05YICDto407iaEAOBEqsSZZjGmxkeZpRNZIkUtjb2zrAw_t8_i6f7JTPen39___d-___--__ICgKAOAAcAA4AFAAjgB6AEYALcGACAW0AtoJAHAAOAA"
      "cACgARwA9ACMAFuFABALaAW0GgDgAHAAOABQAI4AegBGAC3DgAgFtALaEQBwADgAHAAoAEcAPQAjABbiQAQC2gFtCoA4ABwADgAUACOAHoARgAtxYAIBb"
      "QC2hkAcAA4ABwAKABHAD0AIwAW40AEAtoBbQ6AOAAcAA4AFAAjgB6AEYALceACAW0AtohAHAAOAAcACgARwA9ACMAFuRABALaAW0SgDgAHAAOABQAI4Ae"
      "gBGAC3JgAgFtALaKQBwADgAHAAoAEcAPQAjABblQAQC2gFtA");
  CHECK(tc.version == 2);
  std::vector<int> vendors;
  for (const auto& r : tc.publisher_restrictions) {
    if (r.purpose_id == 1 && r.type == RestrictionType::require_consent) {
      for (auto v : r.vendors()) vendors.push_back(v);
    }
  }
  CHECK(vendors == std::vector<int>{7, 20, 71, 122, 140, 183});
  RestrictionType t{};
  CHECK(tc.restriction_for(1, 7, &t));
  CHECK(t == RestrictionType::require_consent);
  CHECK_FALSE(tc.restriction_for(1, 8, &t));

  // 142: a bit field shorter than its MaxVendorId is an error (both modes).
  const char* short_field =
      "CLSYjTaOngnCIAOABBENAXCMAGOAABBAAA7IA5n-m7fP6_3fbqVv6E__PoA5Aqff3aJx8tv_1967rfnQEQoAIAAQCrwkAEABAcACABIMACAAuApEVAB"
      "ABUSABgBCAVSAtIoACACIArYQAHACgAFgAVwBJgDcAI7AWgMAAgBiKgAgBMgFfKQAQBRkQAQA4AFiBAAoA-AEVAJlAVgAtYcACAJcAr4eABAK8OgBgF"
      "zAOmAqwgABAWyA.IFukWSQh";
  CHECK_THROWS_AS(decode_tc_string(short_field, Mode::strict), ParseError);
  CHECK_THROWS_AS(decode_tc_string(short_field, Mode::lenient), ParseError);
  try {
    decode_tc_string(short_field);
  } catch (const ParseError& e) {
    CHECK(std::string(e.what()).find("MaxVendorId") != std::string::npos);
    CHECK(e.offset() >= 240);
  }

  // 156 and 191: TCF v1.1 strings are recognised as version 1, and refused.
  CHECK_THROWS_AS(decode_tc_string("BOhwdphOxFC7tAHABBFRC--AAAAuhr_7__7-_9_-_f__9uj3Or_v_f__32ccL59v_h_7v-_7fi_20nV4u_1vft9y"
                                   "fk1-5ctDztp507iakivXmqdeb9v_nz3_5pxP78k89r7337Ew_v8_v-b7BCON_YxEiA"),
                  Unsupported);
  CHECK_THROWS_AS(decode_tc_string("BO2e4qiO2e4qiB9ABADEDS-AAAAxKABgACBiQA"), Unsupported);
}

TEST_CASE("tcf: malformed strings are rejected with the position") {
  const std::string good = "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA";
  // Bad base64.
  try {
    decode_tc_string("COtybn4PA_zT4Kj!CBENAPCIAEBAAECAAIAAAAAAAAAA");
    FAIL("no error");
  } catch (const ParseError& e) {
    CHECK(e.offset() == 15);
    CHECK(std::string(e.what()).find("'!'") != std::string::npos);
  }
  CHECK_THROWS_AS(decode_tc_string("COtybn4PA+zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA"), ParseError);
  CHECK_NOTHROW(decode_tc_string("COtybn4PA+zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA", Mode::lenient));
  // Truncated fields.
  for (size_t n : {1u, 5u, 10u, 20u, 30u}) {
    CHECK_THROWS_AS(decode_tc_string(good.substr(0, n)), ParseError);
  }
  try {
    decode_tc_string(good.substr(0, 20));
  } catch (const ParseError& e) {
    CHECK(std::string(e.what()).find("truncated") != std::string::npos);
    CHECK(e.offset() <= 20);
  }
  // Empty input and empty segments.
  CHECK_THROWS_AS(decode_tc_string(""), ParseError);
  CHECK_THROWS_AS(decode_tc_string(good + "."), ParseError);
  CHECK_THROWS_AS(decode_tc_string(good + "..IBAgAAAgAIAwgAgAAAAEAAAACA"), ParseError);
  // Unknown segment type 5.
  try {
    decode_tc_string(good + "." + b64_from_bits("101000000000"));
    FAIL("no error");
  } catch (const ParseError& e) {
    CHECK(std::string(e.what()).find("unknown segment type 5") != std::string::npos);
    CHECK(e.offset() == good.size() + 1);
  }
  // Version other than 2.
  CHECK_THROWS_AS(decode_tc_string(b64_from_bits("000011" + std::string(300, '0'))), ParseError);
  // Too long.
  CHECK_THROWS_AS(decode_tc_string(std::string(kMaxTcStringLength + 1, 'A')), LimitError);
}

TEST_CASE("tcf: a range with start > end is rejected") {
  // A core segment built bit by bit: range-encoded vendor consents with one
  // range 10..5.
  std::string bits = "000010";                // version 2
  bits += std::string(36, '0') + std::string(36, '0');
  bits += std::string(12, '0') + std::string(12, '0') + std::string(6, '0');
  bits += "000100001101";                     // EN
  bits += std::string(12, '0');               // vendor list version
  bits += "000010";                           // policy version 2
  bits += "00" + std::string(12, '0') + std::string(24, '0') + std::string(24, '0') + "0";
  bits += "000000000000";                     // publisher CC "AA"
  std::string ok_part = bits;
  bits += "0000000000001010";                 // MaxVendorId 10
  bits += "1";                                // range encoding
  bits += "000000000001";                     // one entry
  bits += "1" + std::string("0000000000001010") + "0000000000000101";  // 10..5
  bits += std::string(16, '0') + "0";         // LI section: MaxVendorId 0, bit field
  bits += std::string(12, '0');               // no restrictions
  try {
    decode_tc_string(b64_from_bits(bits), Mode::lenient);
    FAIL("no error");
  } catch (const ParseError& e) {
    CHECK(std::string(e.what()).find("start 10 > end 5") != std::string::npos);
  }
  // The same string with range 5..10 decodes to 5..10.
  ok_part += "0000000000001010" "1" "000000000001" "1" "0000000000000101" "0000000000001010";
  ok_part += std::string(16, '0') + "0" + std::string(12, '0');
  auto tc = decode_tc_string(b64_from_bits(ok_part));
  CHECK(ints(tc.vendor_consents) == std::vector<int>{5, 6, 7, 8, 9, 10});
}

TEST_CASE("tcf: strict TCF 2.2 / 2.3 rules") {
  // Policy version 4 (TCF 2.2) with legitimate interest for purpose 3.
  auto build = [](const char* policy, const std::string& li) {
    std::string bits = "000010" + std::string(72, '0') + std::string(30, '0') + "000100001101" + std::string(12, '0');
    bits += policy;
    bits += "00" + std::string(12, '0') + std::string(24, '0') + li + "0" + "000000000000";
    bits += std::string(16, '0') + "0" + std::string(16, '0') + "0" + std::string(12, '0');
    return b64_from_bits(bits);
  };
  std::string li3 = "001" + std::string(21, '0');
  CHECK_THROWS_AS(decode_tc_string(build("000100", li3)), ParseError);
  CHECK_NOTHROW(decode_tc_string(build("000100", li3), Mode::lenient));
  CHECK_NOTHROW(decode_tc_string(build("000010", li3)));  // policy 2: allowed then
  // Policy version 5 (TCF 2.3) needs a Disclosed Vendors segment.
  std::string none(24, '0');
  CHECK_THROWS_AS(decode_tc_string(build("000101", none)), ParseError);
  auto with_disclosed = build("000101", none) + "." + b64_from_bits("001" + std::string(16, '0') + "0");
  CHECK(decode_tc_string(with_disclosed).has_disclosed_vendors);
}

TEST_CASE("tcf: US Privacy strings") {
  auto u = decode_us_privacy("1YNN");
  CHECK(u.notice_given == 'Y');
  CHECK(u.opted_out_of_sale == 'N');
  CHECK(u.lspa_covered == 'N');
  CHECK(u.applies());
  CHECK_FALSE(u.opted_out());
  CHECK(decode_us_privacy("1yyn").opted_out());
  CHECK_FALSE(decode_us_privacy("1---").applies());
  CHECK_THROWS_AS(decode_us_privacy("2YNN"), ParseError);
  CHECK_THROWS_AS(decode_us_privacy("1YN"), ParseError);
  try {
    decode_us_privacy("1YXN");
    FAIL("no error");
  } catch (const ParseError& e) {
    CHECK(e.offset() == 2);
  }
}

TEST_CASE("tcf: GPP header examples of the specification") {
  auto g1 = decode_gpp("DBABM~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA");
  CHECK(g1.version == 1);
  CHECK(ints(g1.section_ids) == std::vector<int>{2});
  REQUIRE(g1.sections.size() == 1);
  CHECK(g1.sections[0].name == "tcfeuv2");
  CHECK(g1.sections[0].data == "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA");
  // The TCF section decodes as a TC string.
  CHECK(decode_tc_string(g1.sections[0].data, Mode::lenient).version == 2);

  auto g2 = decode_gpp("DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN");
  CHECK(ints(g2.section_ids) == std::vector<int>{2, 6});
  CHECK(g2.sections[1].name == "uspv1");
  CHECK(decode_us_privacy(g2.sections[1].data).notice_given == 'Y');

  auto g3 = decode_gpp("DBABjw~a~b");
  CHECK(ints(g3.section_ids) == std::vector<int>{5, 6});
  CHECK(g3.sections[0].name == "tcfcav1");

  CHECK_THROWS_AS(decode_gpp("DBACNY~only-one"), ParseError);  // header lists two
  CHECK_THROWS_AS(decode_gpp("CBABM~x"), ParseError);          // type 2, not a header
  CHECK_THROWS_AS(decode_gpp(""), ParseError);
  CHECK_THROWS_AS(decode_gpp("D"), ParseError);
}

TEST_CASE("tcf: GPC header") {
  CHECK(parse_gpc_header("1"));
  CHECK(parse_gpc_header(" 1 "));
  CHECK_FALSE(parse_gpc_header("0"));
  CHECK_FALSE(parse_gpc_header(""));
  CHECK_FALSE(parse_gpc_header("true"));
}

TEST_CASE("tcf: fuzz - random and mutated strings never crash or hang") {
  std::mt19937_64 rng(20240601);
  const std::vector<std::string> seeds = {
      "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA",
      "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA.IBAgAAAgAIAwgAgAAAAEAAAACA."
      "QAagAQAgAIAwgA",
      "COv__-wOv__-wC2AAAENAPCgAAAAAAAAAAAAA_wAQA_gEBABAEAAAA",
      "CLcVDxRMWfGmWAVAHCENAXCkAKDAADnAABRgA5mdfCKZuYJez-NQm0TBMYA4oCAAGQYIAAAAAAEAIAEgAA.argAC0gAAAAAAAAAAAA",
      "DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN",
  };
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~=+/!";
  size_t decoded = 0, rejected = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s;
    if (iter % 4 == 0) {
      size_t n = rng() % 200;
      for (size_t i = 0; i < n; ++i) s.push_back(alphabet[rng() % alphabet.size()]);
    } else {
      s = seeds[rng() % seeds.size()];
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        size_t pos = rng() % s.size();
        switch (rng() % 4) {
          case 0: s[pos] = alphabet[rng() % alphabet.size()]; break;
          case 1: s.erase(pos, 1 + rng() % 8); break;
          case 2: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
          default: s = s.substr(0, pos); break;
        }
      }
    }
    for (Mode m : {Mode::strict, Mode::lenient}) {
      try {
        auto tc = decode_tc_string(s, m);
        for (auto v : tc.vendor_consents) CHECK(v >= 1);
        ++decoded;
      } catch (const Error&) {
        ++rejected;
      }
    }
    try {
      (void)decode_gpp(s);
    } catch (const Error&) {
    }
    try {
      (void)decode_us_privacy(s.substr(0, 4));
    } catch (const Error&) {
    }
  }
  CHECK(decoded > 0);
  CHECK(rejected > 0);
}

TEST_CASE("tcf: huge ranges stay bounded") {
  // 4095 range entries each covering 1..65535: decodes into at most 65535 ids.
  std::string bits = "000010" + std::string(72, '0') + std::string(30, '0') + "000100001101" + std::string(12, '0');
  bits += "000010" "00" + std::string(12, '0') + std::string(24, '0') + std::string(24, '0') + "0" + "000000000000";
  bits += "1111111111111111" "1" "111111111111";
  for (int i = 0; i < 4095; ++i) bits += "1" "0000000000000001" "1111111111111111";
  bits += std::string(16, '0') + "0" + std::string(12, '0');
  auto tc = decode_tc_string(b64_from_bits(bits));
  CHECK(tc.vendor_consents.size() == 65535);
}
