// A looked-up subject's value: normalisation (through the identity graph
// when attached) and the keyed hash that suppression entries store.
#include <string>

#include "cdpcore/consent.hpp"
#include "cdpcore/error.hpp"
#include "cdpcore/identity.hpp"
#include "consent/consent_impl.hpp"

namespace cdpcore {

using namespace consent_detail;

namespace {

std::string digest_bytes(const Sha256Digest& d) { return std::string(reinterpret_cast<const char*>(d.data()), d.size()); }

}  // namespace

std::string Consent::Impl::keyed_hash(std::string_view type, std::string_view value) const {
  std::string msg(type);
  msg.push_back('\0');
  msg.append(value);
  return digest_bytes(hmac_sha256(hmac_key, msg));
}

bool Consent::Impl::is_suppressed_value(std::string_view type, std::string_view value) const {
  if (suppressed.empty()) return false;
  return suppressed.count(keyed_hash(type, value)) != 0;
}

std::string Consent::Impl::normalize(std::string_view type, std::string_view value) const {
  if (type == kPersonType) {
    // A person key: a positive decimal integer, kept canonical.
    uint64_t k = 0;
    if (value.empty() || value.size() > 20) throw InvalidArgument("person key \"" + std::string(value) + "\" is not a key");
    for (char c : value) {
      if (c < '0' || c > '9') throw InvalidArgument("person key \"" + std::string(value) + "\" is not a number");
      k = k * 10 + static_cast<uint64_t>(c - '0');
    }
    if (k == 0) throw InvalidArgument("person key 0 is not a person");
    return std::to_string(k);
  }
  if (graph) {
    TypeId t = graph->type_id(type);
    if (t != kNoType) return graph->normalize(t, value);
  }
  return std::string(value);
}

}  // namespace cdpcore
