// Shared helpers of the consent tests.
#pragma once

#include <memory>
#include <string>

#include "cdpcore/consent.hpp"
#include "cdpcore/error.hpp"
#include "cdpcore/workspace.hpp"

namespace consent_test {

using namespace cdpcore;

inline const Timestamp T0 = parse_iso8601("2024-01-01T00:00:00Z");

struct Fixture {
  std::shared_ptr<Workspace> ws;
  std::unique_ptr<Consent> c;
  Timestamp now = T0 + days(1000);

  explicit Fixture(const ConsentOptions& o = {}) : ws(Workspace::open(":memory:")), c(std::make_unique<Consent>(ws, o)) {}

  uint64_t add(const std::string& phone, const std::string& purpose, const std::string& channel, ConsentDecision d,
               Timestamp t, Timestamp expiry = kNoExpiry, LegalBasis basis = LegalBasis::consent,
               const std::string& type = "phone") {
    ConsentRecord r;
    r.subject = {type, phone};
    r.purpose = purpose;
    r.channel = channel;
    r.decision = d;
    r.time = t;
    r.expiry = expiry;
    r.legal_basis = basis;
    r.source = "form";
    r.policy_version = "2024-01";
    return c->append(r, now);
  }

  ConsentCheck check(const std::string& phone, const std::string& purpose, const std::string& channel, Timestamp at,
                     std::optional<Jurisdiction> j = std::nullopt, const std::string& type = "phone") const {
    CheckOptions o;
    o.contact_rules = false;
    o.jurisdiction = j;
    return c->check({type, phone}, purpose, channel, at, o);
  }
};

constexpr auto G = ConsentDecision::granted;
constexpr auto D = ConsentDecision::denied;
constexpr auto W = ConsentDecision::withdrawn;
constexpr auto O = ConsentDecision::objected;

}  // namespace consent_test
