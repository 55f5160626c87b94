// The subject index: subject types, and the hash table from (type, value) to
// subject id (util::OpenTable) with its lookups.
#include <string>

#include "cdpcore/consent.hpp"
#include "cdpcore/error.hpp"
#include "consent/consent_impl.hpp"

namespace cdpcore {

using namespace consent_detail;

uint16_t Consent::Impl::intern_type(std::string_view name) {
  auto it = type_ids.find(std::string(name));
  if (it != type_ids.end()) return it->second;
  if (type_names.size() >= 0xFFFF) throw LimitError("consent: too many subject types");
  auto id = static_cast<uint16_t>(type_names.size());
  type_names.emplace_back(name);
  type_ids.emplace(std::string(name), id);
  return id;
}

void Consent::Impl::insert_slot(uint32_t id) {
  if (subject_index.full()) subject_index.grow();
  subject_index.insert(subjects[id].hash, id);
}

void Consent::Impl::remove_slot(uint32_t id) { subject_index.erase(subjects[id].hash, id); }

uint32_t Consent::Impl::find_subject(uint16_t type, std::string_view value) const noexcept {
  return find_subject(type, value, hash_identifier(type, value));
}

uint32_t Consent::Impl::find_subject(uint16_t type, std::string_view value, uint64_t h) const noexcept {
  return subject_index.find(h, [&](uint32_t id) { return subject_is(id, type, value, h); });
}

}  // namespace cdpcore
