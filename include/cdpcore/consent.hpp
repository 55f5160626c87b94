// cdpcore — consent and contact preferences.
//
// An append-only, hash-chained ledger of consent records (who, for what
// purpose, on which channel, granted / denied / withdrawn / objected, when,
// until when, from where, on which legal basis, under which notice, with what
// proof), contact preferences (preferred channels, topics, quiet hours,
// frequency caps against a contact log), and the checks every activation asks
// before it sends: "may we, for this purpose, on this channel, now?".
//
//   auto ws = cdpcore::Workspace::open("crm.cdp");
//   cdpcore::Consent consent(ws);
//   consent.append({{"phone", "+8613800138000"}, "marketing.sms", "sms",
//                   cdpcore::ConsentDecision::granted, t}, now);
//   auto c = consent.check({"phone", "+8613800138000"}, "marketing.sms", "sms", now);
//   if (c.allowed) send();  else log(cdpcore::consent_reason_name(c.reason));
//
// The semantics of a check (the decision table, with a reason code per row)
// are written in README.md, "Consent and preferences"; in short: deny by default where consent is
// required; the latest applicable record wins; a more specific purpose or
// channel beats a broader one; a withdrawal, denial or objection is lifted
// only by a newer grant at the same or a more specific scope; expired grants
// are not grants; purposes that need separate consent (PIPL) are never implied
// by a broader grant; checks answer as of the time asked.
//
// Thread safety: a Consent, like its Workspace, is used by one thread at a
// time. The const methods (checks, filters) may run concurrently with each
// other but not with a writer. It keeps an in-memory index of the ledger,
// built from the workspace when constructed; a Consent is the only writer of
// its tables (another process's appends are seen after reload()).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/tcf.hpp"
#include "cdpcore/time.hpp"

namespace cdpcore {

class Workspace;
class IdentityGraph;
class ProfileStore;

/// What a record says. Values are stored: never renumbered.
enum class ConsentDecision : uint8_t {
  granted = 1,
  denied = 2,     // asked and refused (an unticked box)
  withdrawn = 3,  // an earlier grant taken back (unsubscribe, "TD" reply)
  objected = 4,   // objection to processing (GDPR Art. 21), incl. direct marketing
};

/// The legal basis a record relies on (GDPR Art. 6 / PIPL Art. 13).
enum class LegalBasis : uint8_t {
  consent = 1,
  contract = 2,
  legitimate_interest = 3,  // not a basis under PIPL
  legal_obligation = 4,
  vital_interests = 5,
  public_task = 6,
};

/// The legal regime a check is made under; each sets the defaults.
///  - pipl, gdpr: opt-in. No record means no (reason no_consent).
///  - ccpa: opt-out for most purposes (no record means yes, reason
///    default_allowed), except sensitive_data, and except the sms and
///    phone_call channels, which need prior express consent (TCPA).
enum class Jurisdiction : uint8_t { pipl = 1, gdpr = 2, ccpa = 3 };
/// Bit for `j` in the jurisdiction masks of PurposeSpec and ChannelSpec.
constexpr uint8_t jurisdiction_bit(Jurisdiction j) { return static_cast<uint8_t>(1u << static_cast<unsigned>(j)); }

/// Why a check answered as it did. Numbers are stable (the C ABI and stored
/// reports use them); names via consent_reason_name(). Allow reasons are
/// below 100, deny reasons 100 and above.
enum class ConsentReason : uint16_t {
  granted = 1,            // an applicable, unexpired grant decides
  default_allowed = 2,    // no applicable record; the jurisdiction does not require opt-in
  no_consent = 100,       // no applicable record; consent is required (deny by default)
  denied = 101,           // a "denied" record decides
  withdrawn = 102,        // a withdrawal decides (incl. a GPC opt-out)
  objected = 103,         // an objection decides, or a non-consent grant after an objection
  expired = 104,          // the grants that would apply have expired
  separate_consent_required = 105,  // only a broader grant exists; the purpose needs its own consent
  legal_basis_invalid = 106,        // the grant's legal basis does not hold here (e.g. legitimate interest under PIPL)
  suppressed = 110,       // the subject was erased; its keyed-hash suppression entry matches
  channel_not_preferred = 120,      // the subject's preferred channels exclude this one
  topic_not_subscribed = 121,       // the subject's topics exclude the message's topic
  quiet_hours = 122,                // inside the subject's quiet hours (their time zone)
  frequency_cap = 123,              // the channel's contact cap for the rolling period is reached
  no_identifier = 130,              // person-level: no identifier of the person can receive this channel
  unknown_person = 131,             // person-level: the ordinal is not a person of the identity graph
};
/// "granted", "no_consent", … ; "unknown" for a value outside the enum.
const char* consent_reason_name(ConsentReason r) noexcept;
inline bool consent_reason_allows(ConsentReason r) noexcept { return static_cast<uint16_t>(r) < 100; }
const char* consent_decision_name(ConsentDecision d) noexcept;
const char* legal_basis_name(LegalBasis b) noexcept;
const char* jurisdiction_name(Jurisdiction j) noexcept;
/// Parse the names above; throw InvalidArgument listing the valid names.
ConsentDecision parse_consent_decision(std::string_view name);
LegalBasis parse_legal_basis(std::string_view name);
Jurisdiction parse_jurisdiction(std::string_view name);

/// No expiry.
inline constexpr Timestamp kNoExpiry = std::numeric_limits<Timestamp>::max();

/// Whom a record is about: an identifier (type and value, e.g. "phone",
/// "+8613800138000") or a person (type "person", value the identity graph's
/// person key). Identifier values are normalised like the identity graph does
/// when one is attached (phone to E.164, e-mail folded), else taken as given.
struct ConsentSubject {
  std::string type;
  std::string value;
  friend bool operator==(const ConsentSubject&, const ConsentSubject&) = default;
};

/// Evidence of a record: how it was captured, where (a URL, a store, an IP),
/// and a reference to the stored evidence (form submission id, call
/// recording id).
struct ConsentProof {
  std::string method;
  std::string location;
  std::string reference;
};

/// One ledger record as given to append()/import().
struct ConsentRecord {
  ConsentSubject subject;
  std::string purpose;  // a defined purpose ("marketing.sms"), or "*" for every purpose
  std::string channel;  // a defined channel ("sms"), or "*" / "" for every channel
  ConsentDecision decision = ConsentDecision::granted;
  Timestamp time = 0;             // when the subject decided (UTC µs)
  Timestamp expiry = kNoExpiry;   // a grant stops counting at this instant
  std::string source = "import";  // form, app, store, call_centre, import, gpc, tcf, …
  LegalBasis legal_basis = LegalBasis::consent;
  std::string policy_version;     // the notice / privacy-policy version shown
  ConsentProof proof;
};

/// A record as stored: its sequence number in the ledger, when it was
/// recorded, and its chain hash. An erased record keeps only seq, hash and
/// `erased_by` (the seq of the erasure entry).
struct StoredConsentRecord {
  uint64_t seq = 0;
  ConsentRecord record;
  Timestamp recorded_at = 0;
  std::string hash;  // SHA-256, lowercase hex
  uint64_t erased_by = 0;
  bool is_erasure_entry = false;  // an erasure marker (no subject, no decision)
};

/// A purpose of processing. Names are dotted paths: "marketing.sms" is a
/// child of "marketing"; the parent must exist. Each segment follows the
/// library's one rule for names (letters of any script, digits and '_', not
/// starting with a digit, not a word the rule language reserves), the whole
/// at most 128 bytes; channel names follow it too.
struct PurposeSpec {
  std::string name;
  std::string description;
  /// Needs its own consent: no grant on a broader purpose implies it (PIPL
  /// "separate consent": third-party sharing, sensitive data, cross-border
  /// transfer). Denials and withdrawals on a broader purpose still apply.
  bool separate_consent = false;
  /// Direct marketing (GDPR Art. 21(2)-(3)): after an objection only a newer
  /// grant on the basis of consent allows it again.
  bool direct_marketing = false;
  /// Jurisdictions (jurisdiction_bit) where no record means allowed.
  uint8_t opt_out_jurisdictions = 0;
};

/// A contact channel and the identifier types that can receive it.
struct ChannelSpec {
  std::string name;
  std::vector<std::string> identifier_types;  // "phone" for sms, "email" for email, …
  /// Jurisdictions (jurisdiction_bit) where the channel needs opt-in even
  /// when the purpose is opt-out there (TCPA for sms / phone_call under ccpa).
  uint8_t opt_in_jurisdictions = 0;
};

/// Local quiet hours: no contact from start to end (minutes after local
/// midnight, 0..1439; start > end wraps midnight, "22:00–08:00").
struct QuietHours {
  uint16_t start_minute = 0;
  uint16_t end_minute = 0;
  bool contains(uint32_t minute_of_day) const noexcept {
    if (start_minute == end_minute) return false;
    if (start_minute < end_minute) return minute_of_day >= start_minute && minute_of_day < end_minute;
    return minute_of_day >= start_minute || minute_of_day < end_minute;
  }
};

/// At most `max_contacts` contacts on `channel` ("*" = all channels together)
/// in any rolling window of `period` microseconds.
struct FrequencyCap {
  std::string channel;
  uint32_t max_contacts = 0;
  Timestamp period = 0;
};

/// A subject's contact preferences. Empty lists mean "no preference".
struct ContactPreferences {
  std::vector<std::string> preferred_channels;
  std::vector<std::string> topics;
  std::string time_zone;  // IANA; empty: the workspace's zone
  std::optional<QuietHours> quiet_hours;
  std::vector<FrequencyCap> caps;
};

/// How a person-level check combines the person's identifiers (documented
/// in README.md, "Consent and preferences").
enum class PersonRule : uint8_t {
  /// Default. Any linked identifier whose records deny the purpose on the
  /// channel (denied / withdrawn / objected / suppressed) denies the person;
  /// otherwise the person may be contacted through the identifiers of the
  /// channel's types that are allowed.
  strict = 0,
  /// The person may be contacted through each allowed identifier of the
  /// channel's types; denials on other identifiers do not block.
  any_identifier = 1,
  /// All records of all the person's identifiers (and the person) are pooled
  /// and evaluated as one subject.
  pooled = 2,
};

struct ConsentOptions {
  /// The default regime of checks (CheckOptions may override it).
  Jurisdiction jurisdiction = Jurisdiction::pipl;
  PersonRule person_rule = PersonRule::strict;
  /// Records dated later than `now` plus this are rejected.
  Timestamp future_tolerance = 5 * kMicrosPerMinute;
  /// Secret for the keyed hashes (HMAC-SHA256) of erased subjects. Empty: a
  /// random secret generated once and stored in the workspace. An
  /// application that keeps its secret outside the file passes it here
  /// every time (a mismatch with the stored fingerprint is refused).
  std::string hmac_key;
};

struct CheckOptions {
  /// Overrides ConsentOptions::jurisdiction.
  std::optional<Jurisdiction> jurisdiction;
  /// Also apply the contact rules (preferred channels, topics, quiet hours,
  /// frequency caps). Off: consent only.
  bool contact_rules = true;
  /// The message's topic, checked against the subject's topics ("" = none).
  std::string topic;
};

/// The answer of a check.
struct ConsentCheck {
  bool allowed = false;
  ConsentReason reason = ConsentReason::no_consent;
  uint64_t record = 0;  // seq of the record that decided; 0 when none did
};

/// The answer of a person-level check.
struct PersonConsentCheck {
  bool allowed = false;
  ConsentReason reason = ConsentReason::no_consent;
  uint64_t record = 0;
  /// Identifiers of the channel's types that may be contacted.
  std::vector<ConsentSubject> contactable;
};

struct FilterOptions : CheckOptions {
  /// Also list, per allowed person, the identifiers that may be contacted.
  bool with_identifiers = false;
  /// Worker threads for large segments, the calling thread included; 0 =
  /// every hardware thread (std::thread::hardware_concurrency()).
  unsigned threads = 0;
};

/// The result of filtering a segment.
struct ConsentFilterResult {
  Bitmap allowed;
  uint64_t input = 0;
  /// How many persons were dropped, per reason, in ascending reason order.
  std::vector<std::pair<ConsentReason, uint64_t>> dropped;
  /// With FilterOptions::with_identifiers: parallel arrays, one row per
  /// contactable identifier of an allowed person, ordered by person.
  std::vector<uint32_t> contact_person;
  std::vector<ConsentSubject> contact_identifier;
  uint64_t dropped_for(ConsentReason r) const noexcept {
    for (const auto& [reason, n] : dropped)
      if (reason == r) return n;
    return 0;
  }
};

/// A purpose, channel and options resolved once for many checks (the fast
/// path of check()). Made by Consent::prepare; valid for that Consent.
struct ConsentQuery {
  uint16_t purpose = 0;
  uint16_t channel = 0;
  Jurisdiction jurisdiction = Jurisdiction::pipl;
  bool contact_rules = true;
  std::string topic;
};

struct ImportOptions {
  /// Skip records about suppressed (erased) subjects instead of failing.
  bool skip_suppressed = true;
  /// Skip records whose subject value the identity graph cannot normalise
  /// (a malformed phone number, a placeholder) instead of failing the batch;
  /// they are counted in ImportReport::invalid. Every other error still
  /// rejects the whole batch.
  bool skip_invalid_subjects = false;
  /// Called with (done, total); return false to cancel (nothing is applied).
  std::function<bool(uint64_t, uint64_t)> progress;
};

struct ImportReport {
  uint64_t appended = 0;
  uint64_t suppressed = 0;  // skipped: the subject was erased
  uint64_t invalid = 0;     // skipped: ImportOptions::skip_invalid_subjects
  uint64_t first_seq = 0;   // seq of the first appended record (0 when none)
  uint64_t last_seq = 0;
};

/// The result of verifying the hash chain.
struct ChainVerification {
  bool ok = true;
  uint64_t records = 0;    // entries checked
  uint64_t first_bad = 0;  // seq of the first entry that does not verify
  std::string problem;     // what is wrong with it
};

struct ErasureReport {
  uint64_t subjects = 0;      // identifiers (and person keys) suppressed
  uint64_t records = 0;       // ledger records whose content was removed
  uint64_t erasure_seq = 0;   // the erasure entry in the chain
};

/// The consent ledger, contact preferences and checks of one workspace.
class Consent {
 public:
  /// Binds to the workspace (creating the consent tables) and builds the
  /// in-memory index from the stored ledger.
  explicit Consent(std::shared_ptr<Workspace> ws, const ConsentOptions& options = {});
  ~Consent();
  Consent(const Consent&) = delete;
  Consent& operator=(const Consent&) = delete;

  // ---- identity ------------------------------------------------------------
  /// Uses `graph` (bound to the same workspace, kept alive by the caller for
  /// as long as it is attached) for person-level checks, bulk filters and
  /// identifier normalisation; follows its merges, splits and erasures.
  void attach_identity(IdentityGraph& graph);
  void detach_identity() noexcept;
  /// Adds the person's profile attributes to export_subject() (the store
  /// must outlive the attachment).
  void attach_profiles(ProfileStore& store);
  void detach_profiles() noexcept;

  // ---- taxonomy ------------------------------------------------------------
  /// Defines (or redefines the flags of) a purpose; stored. Throws
  /// InvalidArgument for a bad name or a missing parent.
  void define_purpose(const PurposeSpec& spec);
  /// Defines (or redefines) a channel; stored.
  void define_channel(const ChannelSpec& spec);
  std::vector<PurposeSpec> purposes() const;
  std::vector<ChannelSpec> channels() const;

  // ---- ledger --------------------------------------------------------------
  /// Appends one record; returns its seq. `now` is the current time, against
  /// which records dated in the future beyond the tolerance are rejected.
  uint64_t append(const ConsentRecord& record, Timestamp now);
  /// Appends a batch in one transaction: on any error (unknown purpose or
  /// channel, bad time, invalid UTF-8, a record contradicting another — same
  /// subject, purpose, channel and time with another decision) nothing is
  /// applied and the error names the record's index and field.
  ImportReport import(std::span<const ConsentRecord> records, Timestamp now, const ImportOptions& options = {});
  /// Records a Global Privacy Control signal (Sec-GPC: 1) from `subject` at
  /// `at`: an opt-out of sale/sharing, i.e. withdrawals of
  /// third_party_sharing on every channel and of every purpose on the ads
  /// channel, source "gpc". Returns the seq of the last record.
  uint64_t record_gpc(const ConsentSubject& subject, Timestamp at, Timestamp now, const ConsentProof& proof = {});
  /// Number of entries in the ledger (including erasure entries).
  uint64_t size() const noexcept;
  std::optional<StoredConsentRecord> get(uint64_t seq) const;
  /// Every record about `subject` (identifier or person), oldest first.
  std::vector<StoredConsentRecord> history(const ConsentSubject& subject) const;
  /// Recomputes the hash chain from the stored rows and names the first entry
  /// that does not verify (edited, reordered, deleted or forged rows).
  ChainVerification verify_chain() const;
  /// Rebuilds the in-memory index from the workspace.
  void reload();

  // ---- preferences ---------------------------------------------------------
  /// Replaces the subject's preferences. Throws for unknown channels, bad
  /// time zones or quiet hours outside 0..1439.
  void set_preferences(const ConsentSubject& subject, const ContactPreferences& prefs, Timestamp at);
  std::optional<ContactPreferences> preferences(const ConsentSubject& subject) const;
  /// Workspace-wide rules applied to subjects without their own quiet hours
  /// and caps (topics and preferred channels are per subject only).
  void set_default_preferences(const ContactPreferences& prefs);
  ContactPreferences default_preferences() const;
  /// Records that a message was sent (the contact log frequency caps count).
  void log_contact(const ConsentSubject& subject, std::string_view channel, Timestamp at);
  /// Contacts logged for the subject on `channel` ("*" = all) in [from, to).
  uint64_t contacts(const ConsentSubject& subject, std::string_view channel, Timestamp from, Timestamp to) const;

  // ---- checks --------------------------------------------------------------
  /// May `subject` be contacted for `purpose` on `channel` at `at`?
  /// Unknown purposes or channels throw InvalidArgument; an unknown subject
  /// is an answer (no_consent, or default_allowed where opt-out applies).
  ConsentCheck check(const ConsentSubject& subject, std::string_view purpose, std::string_view channel, Timestamp at,
                     const CheckOptions& options = {}) const;
  /// Resolves purpose, channel and options once (throws like check()).
  ConsentQuery prepare(std::string_view purpose, std::string_view channel, const CheckOptions& options = {}) const;
  /// check() with a prepared query; the value is normalised like check() does.
  ConsentCheck check(const ConsentQuery& query, std::string_view type, std::string_view value, Timestamp at) const;
  /// check() for many identifier values of one type; `out` has values.size()
  /// slots. Faster than a loop of check() on a large ledger: the lookups of
  /// a block of values overlap their memory accesses.
  void check_many(const ConsentQuery& query, std::string_view type, std::span<const std::string_view> values,
                  Timestamp at, ConsentCheck* out) const;
  /// The same, resolving purpose, channel and options first.
  void check_many(std::string_view type, std::span<const std::string_view> values, std::string_view purpose,
                  std::string_view channel, Timestamp at, ConsentCheck* out, const CheckOptions& options = {}) const;
  /// Person-level check through the attached identity graph (StateError
  /// without one), combining identifiers as ConsentOptions::person_rule says.
  PersonConsentCheck check_person(uint32_t person, std::string_view purpose, std::string_view channel, Timestamp at,
                                  const CheckOptions& options = {}) const;
  /// Filters a segment of person ordinals to those that may be contacted,
  /// with per-reason counts of who was dropped (each person counted once,
  /// under the reason of its decisive identifier).
  ConsentFilterResult filter(const Bitmap& persons, std::string_view purpose, std::string_view channel, Timestamp at,
                             const FilterOptions& options = {}) const;

  // ---- rights requests -----------------------------------------------------
  /// Everything held about the subject as JSON: consent history,
  /// preferences, contact log, suppression, and, with an identity graph
  /// attached, the person's identifiers (a person subject exports the whole
  /// person).
  std::string export_subject(const ConsentSubject& subject) const;
  /// Erases the subject (a person subject: every identifier of the person):
  /// removes the content of its ledger records (keeping their chain hashes),
  /// its preferences and contact log, keeps a keyed-hash suppression entry
  /// per identifier, appends an erasure entry to the chain, and truncates the
  /// WAL so the removed bytes leave the file. Later imports of a suppressed
  /// identifier are skipped and its checks answer `suppressed`.
  ErasureReport erase(const ConsentSubject& subject, Timestamp at);
  bool is_suppressed(const ConsentSubject& subject) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdpcore
