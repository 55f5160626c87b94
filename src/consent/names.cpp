// Names of the consent enums (stable: stored in exports and used by bindings).
#include <string>

#include "cdpcore/consent.hpp"
#include "cdpcore/error.hpp"

namespace cdpcore {

const char* consent_reason_name(ConsentReason r) noexcept {
  switch (r) {
    case ConsentReason::granted: return "granted";
    case ConsentReason::default_allowed: return "default_allowed";
    case ConsentReason::no_consent: return "no_consent";
    case ConsentReason::denied: return "denied";
    case ConsentReason::withdrawn: return "withdrawn";
    case ConsentReason::objected: return "objected";
    case ConsentReason::expired: return "expired";
    case ConsentReason::separate_consent_required: return "separate_consent_required";
    case ConsentReason::legal_basis_invalid: return "legal_basis_invalid";
    case ConsentReason::suppressed: return "suppressed";
    case ConsentReason::channel_not_preferred: return "channel_not_preferred";
    case ConsentReason::topic_not_subscribed: return "topic_not_subscribed";
    case ConsentReason::quiet_hours: return "quiet_hours";
    case ConsentReason::frequency_cap: return "frequency_cap";
    case ConsentReason::no_identifier: return "no_identifier";
    case ConsentReason::unknown_person: return "unknown_person";
  }
  return "unknown";
}

const char* consent_decision_name(ConsentDecision d) noexcept {
  switch (d) {
    case ConsentDecision::granted: return "granted";
    case ConsentDecision::denied: return "denied";
    case ConsentDecision::withdrawn: return "withdrawn";
    case ConsentDecision::objected: return "objected";
  }
  return "unknown";
}

const char* legal_basis_name(LegalBasis b) noexcept {
  switch (b) {
    case LegalBasis::consent: return "consent";
    case LegalBasis::contract: return "contract";
    case LegalBasis::legitimate_interest: return "legitimate_interest";
    case LegalBasis::legal_obligation: return "legal_obligation";
    case LegalBasis::vital_interests: return "vital_interests";
    case LegalBasis::public_task: return "public_task";
  }
  return "unknown";
}

const char* jurisdiction_name(Jurisdiction j) noexcept {
  switch (j) {
    case Jurisdiction::pipl: return "pipl";
    case Jurisdiction::gdpr: return "gdpr";
    case Jurisdiction::ccpa: return "ccpa";
  }
  return "unknown";
}

namespace {
template <typename E, typename NameFn>
E parse_enum(std::string_view name, int first, int last, NameFn fn, const char* what) {
  std::string valid;
  for (int i = first; i <= last; ++i) {
    const char* n = fn(static_cast<E>(i));
    if (name == n) return static_cast<E>(i);
    if (!valid.empty()) valid += ", ";
    valid += n;
  }
  throw InvalidArgument("unknown " + std::string(what) + " \"" + std::string(name) + "\" (expected one of: " + valid +
                        ")");
}
}  // namespace

ConsentDecision parse_consent_decision(std::string_view name) {
  return parse_enum<ConsentDecision>(name, 1, 4, consent_decision_name, "consent decision");
}
LegalBasis parse_legal_basis(std::string_view name) {
  return parse_enum<LegalBasis>(name, 1, 6, legal_basis_name, "legal basis");
}
Jurisdiction parse_jurisdiction(std::string_view name) {
  return parse_enum<Jurisdiction>(name, 1, 3, jurisdiction_name, "jurisdiction");
}

}  // namespace cdpcore
