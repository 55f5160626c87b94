// Contact rules after consent: preferred channels, topics, quiet hours and
// frequency caps.
#include <algorithm>

#include "cdpcore/consent.hpp"
#include "cdpcore/time.hpp"
#include "cdpcore/workspace.hpp"
#include "consent/consent_impl.hpp"

namespace cdpcore {

using namespace consent_detail;

const Prefs* Consent::Impl::prefs_of(uint32_t subject) const {
  if (subject == kNone || subject >= subjects.size() || !subjects[subject].has_prefs) return nullptr;
  auto it = prefs.find(subject);
  return it == prefs.end() ? nullptr : &it->second;
}

// The contact rules for contacting `own` (kNone: an unknown subject); caps
// count the contacts of every subject in `group` (the person's subjects).
ConsentReason Consent::Impl::contact_rules(std::span<const uint32_t> group, uint32_t own, const ConsentQuery& q,
                                           Timestamp at) const {
  const Prefs* p = prefs_of(own);
  if (p) {
    if (!p->preferred.empty() && q.channel != 0 &&
        std::find(p->preferred.begin(), p->preferred.end(), q.channel) == p->preferred.end()) {
      return ConsentReason::channel_not_preferred;
    }
    if (!p->spec.topics.empty() && !q.topic.empty() &&
        std::find(p->spec.topics.begin(), p->spec.topics.end(), q.topic) == p->spec.topics.end()) {
      return ConsentReason::topic_not_subscribed;
    }
  }
  const Prefs& rules = (p && (p->spec.quiet_hours || !p->caps.empty())) ? *p : default_prefs;
  if (rules.spec.quiet_hours) {
    const TimeZone* tz = nullptr;
    if (p && p->tz) tz = &*p->tz;
    else if (rules.tz) tz = &*rules.tz;
    else tz = &ws->time_zone();
    CivilTime local = tz->to_local(at);
    if (rules.spec.quiet_hours->contains(local.hour * 60 + local.minute)) return ConsentReason::quiet_hours;
  }
  for (const auto& cap : rules.caps) {
    if (cap.channel != 0 && cap.channel != q.channel) continue;
    uint64_t n = 0;
    for (uint32_t sid : group) {
      auto it = contacts.find(sid);
      if (it == contacts.end()) continue;
      for (const Contact& c : it->second) {
        if (c.time > at - cap.period && c.time <= at && (cap.channel == 0 || c.channel == cap.channel)) ++n;
      }
    }
    if (n >= cap.max_contacts) return ConsentReason::frequency_cap;
  }
  return ConsentReason::granted;
}

}  // namespace cdpcore
