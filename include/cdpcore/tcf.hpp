// cdpcore — privacy signal strings: IAB TCF v2.2/v2.3 TC strings, the IAB
// US Privacy string (CCPA), the IAB Global Privacy Platform (GPP) header and
// the Global Privacy Control (GPC) signal.
//
//   auto tc = cdpcore::tcf::decode_tc_string("CLcVDxRMWfGmWAVAHCENAXCk…");
//   if (tc.purpose_consent(1) && tc.vendor_consent(284)) …
//
// The decoders read untrusted input: every length is bounded, nothing is
// allocated in proportion to a value read from the string (ranges of vendor
// ids are kept as ranges where they could be large), and malformed input
// throws ParseError with the character offset and the field at fault.
//
// Thread safety: the functions are pure; the result types are plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cdpcore/time.hpp"

namespace cdpcore::tcf {

/// How strictly a TC string is read.
///  - strict: the string must follow the TCF v2.2/v2.3 specification exactly:
///    base64url alphabet without padding, every field present, no unknown or
///    repeated segment types, vendor ids within 1..MaxVendorId, no legitimate
///    interest for purposes 3–6 from policy version 4 (TCF 2.2) on, and a
///    Disclosed Vendors segment from policy version 5 (TCF 2.3) on.
///  - lenient: also accepts '=' padding and the standard base64 characters
///    '+' and '/', skips segments of unknown type (and a repeated segment:
///    the last one wins), reads a core segment that ends before its
///    NumPubRestrictions field as having none, and reports each of these in
///    TCString::warnings. Structural damage (a field
///    cut in the middle, a range whose start exceeds its end, a version other
///    than 2) is an error in both modes.
enum class Mode : uint8_t { strict = 0, lenient = 1 };

/// A publisher restriction's type (2 bits in the string).
enum class RestrictionType : uint8_t {
  not_allowed = 0,
  require_consent = 1,
  require_legitimate_interest = 2,
  undefined = 3,
};

/// An inclusive range of vendor ids.
struct VendorRange {
  uint16_t first;
  uint16_t last;
  friend bool operator==(const VendorRange&, const VendorRange&) = default;
};

/// A publisher restriction: for `purpose_id`, the vendors in `ranges` are
/// restricted as `type` says.
struct PublisherRestriction {
  uint8_t purpose_id = 0;
  RestrictionType type = RestrictionType::not_allowed;
  std::vector<VendorRange> ranges;  // as encoded (merged only if the string did)

  bool applies_to(uint16_t vendor_id) const noexcept;
  /// The vendor ids, ascending, without duplicates.
  std::vector<uint16_t> vendors() const;
};

/// A decoded TC string (core segment plus optional segments).
struct TCString {
  // Core segment.
  uint8_t version = 0;  // always 2
  Timestamp created = 0;       // UTC microseconds (the string has deciseconds)
  Timestamp last_updated = 0;  // UTC microseconds
  uint16_t cmp_id = 0;
  uint16_t cmp_version = 0;
  uint8_t consent_screen = 0;
  std::string consent_language;  // two upper-case letters, "EN"
  uint16_t vendor_list_version = 0;
  uint8_t tcf_policy_version = 0;  // 4 = TCF 2.2, 5 = TCF 2.3
  bool is_service_specific = false;
  bool use_non_standard_texts = false;  // "UseNonStandardStacks" before TCF 2.2
  bool purpose_one_treatment = false;
  std::string publisher_cc;  // two upper-case letters
  std::vector<uint8_t> special_feature_opt_ins;   // ids 1..12, ascending
  std::vector<uint8_t> purposes_consent;          // ids 1..24
  std::vector<uint8_t> purposes_li_transparency;  // ids 1..24
  uint16_t max_vendor_consent_id = 0;
  std::vector<uint16_t> vendor_consents;  // ascending
  bool vendor_consents_range_encoded = false;
  uint16_t max_vendor_li_id = 0;
  std::vector<uint16_t> vendor_legitimate_interests;  // ascending
  bool vendor_li_range_encoded = false;
  std::vector<PublisherRestriction> publisher_restrictions;

  // Optional segments.
  bool has_disclosed_vendors = false;
  std::vector<uint16_t> disclosed_vendors;
  bool has_allowed_vendors = false;  // segment type 2 (removed in TCF 2.2, still decoded)
  std::vector<uint16_t> allowed_vendors;
  bool has_publisher_tc = false;
  std::vector<uint8_t> pub_purposes_consent;           // ids 1..24
  std::vector<uint8_t> pub_purposes_li_transparency;   // ids 1..24
  uint8_t num_custom_purposes = 0;
  std::vector<uint8_t> custom_purposes_consent;          // ids 1..num_custom_purposes
  std::vector<uint8_t> custom_purposes_li_transparency;  // ids 1..num_custom_purposes

  /// What lenient mode accepted that strict mode would have rejected.
  std::vector<std::string> warnings;

  bool purpose_consent(int id) const noexcept;
  bool purpose_li_transparency(int id) const noexcept;
  bool special_feature_opt_in(int id) const noexcept;
  bool vendor_consent(int id) const noexcept;
  bool vendor_legitimate_interest(int id) const noexcept;
  /// The restriction type for (purpose, vendor), or false when none applies.
  bool restriction_for(int purpose_id, uint16_t vendor_id, RestrictionType* type) const noexcept;
};

/// Strings longer than this are rejected before decoding (a TC string with
/// many publisher restrictions is a few KiB; cookies hold 4 KiB).
inline constexpr size_t kMaxTcStringLength = 64 * 1024;

/// Decodes a TC string. Throws ParseError (offset = character offset into
/// `text`, message naming the segment and field), Unsupported for TCF v1
/// strings, LimitError for strings longer than kMaxTcStringLength.
TCString decode_tc_string(std::string_view text, Mode mode = Mode::strict);

/// The IAB US Privacy string ("1YNN"): version, then three flags, each 'Y',
/// 'N' or '-' (not applicable).
struct UsPrivacy {
  uint8_t version = 1;
  char notice_given = '-';        // explicit notice / opportunity to opt out was given
  char opted_out_of_sale = '-';   // the consumer opted out of the sale of personal information
  char lspa_covered = '-';        // the transaction is covered by the LSPA
  bool applies() const noexcept { return notice_given != '-' || opted_out_of_sale != '-' || lspa_covered != '-'; }
  bool opted_out() const noexcept { return opted_out_of_sale == 'Y'; }
};
/// Decodes a US Privacy string (case-insensitive flags). Throws ParseError
/// naming the offending character.
UsPrivacy decode_us_privacy(std::string_view text);

/// One section of a GPP string.
struct GppSection {
  uint16_t id = 0;
  std::string name;  // API prefix ("tcfeuv2", "uspv1", "usnat", …), "" when unknown
  std::string data;  // the section's encoded text, undecoded
};
/// A GPP string: its header (type 3, version 1, the list of section ids in
/// Fibonacci-coded ranges) and the sections it announces.
struct GppString {
  uint8_t version = 0;
  std::vector<uint16_t> section_ids;  // in the order of the sections
  std::vector<GppSection> sections;
};
/// Decodes the header of a GPP string and splits its sections ('~'). Throws
/// ParseError when the header is malformed or the number of sections does
/// not match the header.
GppString decode_gpp(std::string_view text);
/// The API prefix of a GPP section id ("tcfeuv2" for 2), "" when unknown.
const char* gpp_section_name(uint16_t id) noexcept;

/// Global Privacy Control: the `Sec-GPC` request header (or
/// navigator.globalPrivacyControl). True only for the exact value "1"
/// (surrounding spaces ignored), as the GPC specification says.
bool parse_gpc_header(std::string_view value) noexcept;

}  // namespace cdpcore::tcf
