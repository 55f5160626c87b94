// Names of the generator's codes. The order matches the enums in
// cdpcore/datagen.hpp and never changes (codes are stored).
#include "cdpcore/datagen.hpp"

namespace cdpcore::datagen {

namespace {
constexpr const char* kIdTypes[] = {"phone", "email", "unionid", "openid_mp", "openid_oa", "device_id", "crm_id", "cookie"};
constexpr const char* kSources[] = {"app_login", "mp_login", "oa_follow", "order", "crm_import", "web_visit", "store_pos"};
constexpr const char* kEventTypes[] = {"page_view", "add_to_cart", "order", "sms_sent", "sms_click", "coupon_redeem", "signup"};
constexpr const char* kMemberLevels[] = {"none", "silver", "gold", "platinum"};
constexpr const char* kGenders[] = {"unknown", "female", "male"};
constexpr const char* kPurposes[] = {"marketing",         "marketing.sms",         "marketing.email", "personalization",
                                     "profiling",         "analytics",             "third_party_sharing",
                                     "cross_border_transfer"};
constexpr const char* kChannels[] = {"sms", "email", "wechat", "app_push", "phone_call", "mail", "ads"};
constexpr const char* kDecisions[] = {"granted", "denied", "withdrawn", "objected"};
constexpr const char* kConsentSources[] = {"form", "app", "store", "call_centre", "import"};
constexpr const char* kLegalBases[] = {"consent", "contract", "legitimate_interest", "legal_obligation"};

static_assert(std::size(kIdTypes) == kIdTypeCount);
static_assert(std::size(kSources) == kRecordSourceCount);
static_assert(std::size(kEventTypes) == kEventTypeCount);
static_assert(std::size(kPurposes) == kPurposeCount);
static_assert(std::size(kChannels) == kChannelCount);
}  // namespace

std::span<const char* const> identifier_type_names() noexcept { return kIdTypes; }
std::span<const char* const> record_source_names() noexcept { return kSources; }
std::span<const char* const> event_type_names() noexcept { return kEventTypes; }
std::span<const char* const> member_level_names() noexcept { return kMemberLevels; }
std::span<const char* const> gender_names() noexcept { return kGenders; }
std::span<const char* const> purpose_names() noexcept { return kPurposes; }
std::span<const char* const> channel_names() noexcept { return kChannels; }
std::span<const char* const> decision_names() noexcept { return kDecisions; }
std::span<const char* const> consent_source_names() noexcept { return kConsentSources; }
std::span<const char* const> legal_basis_names() noexcept { return kLegalBases; }

}  // namespace cdpcore::datagen
