// Person-level checks: the subjects of each person (from the identity
// graph's partition) and the rule that combines their answers.
#include <string>
#include <vector>

#include "cdpcore/consent.hpp"
#include "cdpcore/error.hpp"
#include "cdpcore/identity.hpp"
#include "consent/consent_impl.hpp"

namespace cdpcore {

using namespace consent_detail;

void Consent::Impl::ensure_mapping() const {
  if (!graph) throw StateError("consent: person-level checks need an identity graph (attach_identity)");
  std::lock_guard<std::mutex> lock(map_mu);
  // Merges, splits and erasures are announced to the listener; identifiers
  // added or dropped without one show in the counts.
  const uint64_t change = graph->last_change();
  const uint32_t capacity = graph->identifier_capacity();
  const uint64_t live = graph->stats().identifiers;
  if (!map_dirty && change == map_change && capacity == map_capacity && live == map_live) return;
  std::vector<PersonOrdinal> part = graph->partition();
  const uint32_t n_persons = graph->ordinal_capacity();
  std::vector<uint32_t> person_of(subjects.size(), kNone);
  subject_identifier.resize(subjects.size(), kNoIdentifier);
  std::vector<TypeId> graph_types(type_names.size(), kNoType);
  for (size_t t = 0; t < type_names.size(); ++t) graph_types[t] = graph->type_id(type_names[t]);
  for (size_t id = 0; id < subjects.size(); ++id) {
    const Subject& s = subjects[id];
    if (!s.live) continue;
    PersonOrdinal ord = kNoPerson;
    if (s.type == person_type) {
      auto o = graph->ordinal_of_key(std::stoull(s.value));
      if (o) ord = *o;
    } else {
      const TypeId gt = graph_types[s.type];
      if (gt == kNoType) continue;
      IdentifierId& ident = subject_identifier[id];
      if (ident == kNoIdentifier) {
        if (auto i = graph->identifier_id(gt, s.value)) ident = *i;
      }
      if (ident != kNoIdentifier && ident < part.size()) ord = part[ident];
    }
    if (ord == kNoPerson || ord >= n_persons) continue;
    person_of[id] = ord;
  }
  person_subject_begin.assign(size_t{n_persons} + 1, 0);
  for (uint32_t ord : person_of) {
    if (ord != kNone) ++person_subject_begin[ord + 1];
  }
  for (size_t o = 0; o < n_persons; ++o) person_subject_begin[o + 1] += person_subject_begin[o];
  person_subjects.resize(person_subject_begin.back());
  {
    std::vector<uint32_t> fill(person_subject_begin.begin(), person_subject_begin.end() - 1);
    for (size_t id = 0; id < person_of.size(); ++id) {
      if (person_of[id] != kNone) person_subjects[fill[person_of[id]]++] = static_cast<uint32_t>(id);
    }
  }
  map_dirty = false;
  map_change = change;
  map_capacity = capacity;
  map_live = live;
}

PersonQuery Consent::Impl::prepare_person(const ConsentQuery& q, Timestamp at) const {
  PersonQuery pq;
  pq.q = q;
  pq.at = at;
  pq.e = make_eval(q, at);
  const Channel& ch = channels[q.channel];
  pq.typed_channel = !ch.spec.identifier_types.empty();
  pq.channel_type.resize(type_names.size());
  for (size_t t = 0; t < type_names.size(); ++t) pq.channel_type[t] = ch.receives(type_names[t]);
  pq.no_records = evaluate({}, {}, pq.e);
  return pq;
}

void Consent::Impl::check_person_impl(uint32_t person, const PersonQuery& pq, bool with_identifiers,
                                      PersonScratch& sc, PersonConsentCheck& out) const {
  out.allowed = false;
  out.reason = ConsentReason::no_consent;
  out.record = 0;
  out.contactable.clear();
  const ConsentQuery& q = pq.q;
  const Timestamp at = pq.at;
  const EvalQuery& e = pq.e;
  const Channel& ch = channels[q.channel];
  const bool typed_channel = pq.typed_channel;
  auto subject_channel_type = [&](uint32_t sid) { return pq.channel_type[subjects[sid].type] != 0; };

  // The person's subjects: person keys (their records apply to every
  // identifier) and identifiers.
  sc.group.clear();
  sc.ids.clear();
  sc.allowed.clear();
  sc.person_records.clear();
  for (uint32_t s : subjects_of_person(person)) {
    sc.group.push_back(s);
    if (subjects[s].type == person_type) {
      sc.person_records.push_back(records_of(s));
    } else {
      sc.ids.push_back(s);
    }
  }
  const size_t n_person = sc.person_records.size();
  auto eval_person_only = [&]() -> Eval {
    if (n_person == 0) return pq.no_records;
    if (n_person == 1) return evaluate(sc.person_records[0], {}, e);
    return evaluate_many(sc.person_records, e);
  };
  auto eval_with_person = [&](uint32_t sid) -> Eval {
    if (n_person == 0) return evaluate(records_of(sid), {}, e);
    if (n_person == 1) return evaluate(records_of(sid), sc.person_records[0], e);
    sc.all.assign(sc.person_records.begin(), sc.person_records.end());
    sc.all.push_back(records_of(sid));
    return evaluate_many(sc.all, e);
  };

  BestDeny deny;
  auto note_allow = [&](const Eval& r) {
    if (!out.allowed || r.seq > out.record) {
      out.record = r.seq;
      out.reason = r.reason;
    }
    out.allowed = true;  // provisional: contact rules and identifiers decide below
  };

  const PersonRule rule = options.person_rule;
  bool any_channel_identifier = false;
  if (rule == PersonRule::pooled) {
    sc.all.assign(sc.person_records.begin(), sc.person_records.end());
    for (uint32_t sid : sc.ids) sc.all.push_back(records_of(sid));
    Eval r = evaluate_many(sc.all, e);
    if (!r.allowed()) {
      out.reason = r.reason;
      out.record = r.seq;
      return;
    }
    for (uint32_t sid : sc.ids) {
      if (!subject_channel_type(sid)) continue;
      any_channel_identifier = true;
      sc.allowed.push_back(sid);
    }
    note_allow(r);
  } else {
    for (uint32_t sid : sc.ids) {
      Eval r = eval_with_person(sid);
      const bool is_channel = subject_channel_type(sid);
      any_channel_identifier |= is_channel;
      if (!r.allowed()) {
        if (rule == PersonRule::strict && r.explicit_deny()) {
          out.allowed = false;
          out.reason = r.reason;
          out.record = r.seq;
          return;
        }
        if (is_channel) deny.note(r);
        continue;
      }
      if (!is_channel) continue;
      sc.allowed.push_back(sid);
      note_allow(r);
    }
  }

  // Identifiers without records of their own follow the person-level records
  // (or the jurisdiction's default): contactable when those allow.
  const Eval person_only = rule == PersonRule::pooled && out.allowed ? Eval{out.reason, out.record} : eval_person_only();
  bool queried_graph = false;
  size_t extra_begin = out.contactable.size();
  size_t extra_count = 0;
  if (person_only.allowed()) {
    if (typed_channel && graph) {
      queried_graph = true;
      for (const IdentifierInfo& info : graph->identifiers_of(person)) {
        if (info.blocked || !ch.receives(info.type_name)) continue;
        any_channel_identifier = true;
        auto t = type_ids.find(info.type_name);
        if (t != type_ids.end() && find_subject(t->second, info.value) != kNone) continue;  // evaluated above
        if (!q.contact_rules || contact_rules(sc.group, kNone, q, at) == ConsentReason::granted) {
          ++extra_count;
          if (with_identifiers) out.contactable.push_back({info.type_name, info.value});
        }
      }
      if (extra_count > 0) note_allow(person_only);
    } else if (!typed_channel) {
      note_allow(person_only);
    }
  } else {
    deny.note(person_only);
  }
  (void)extra_begin;

  if (!out.allowed) {
    if (!graph->key_of(person)) {
      out.reason = ConsentReason::unknown_person;
      out.record = 0;
    } else if (queried_graph && !any_channel_identifier) {
      out.reason = ConsentReason::no_identifier;
      out.record = 0;
    } else {
      out.reason = deny.best.reason;
      out.record = deny.best.seq;
    }
    return;
  }

  // Contact rules per contactable identifier (its own preferences, else the
  // person's, else the defaults); caps count the whole person.
  ConsentReason rule_reason = ConsentReason::granted;
  auto passes = [&](uint32_t sid) {
    if (!q.contact_rules) return true;
    uint32_t own = sid;
    if (!prefs_of(own)) {
      for (uint32_t s : sc.group) {
        if (subjects[s].type == person_type && prefs_of(s)) own = s;
      }
    }
    ConsentReason r = contact_rules(sc.group, own, q, at);
    if (r != ConsentReason::granted) {
      rule_reason = r;
      return false;
    }
    return true;
  };
  size_t contactable = extra_count;
  for (uint32_t sid : sc.allowed) {
    if (!passes(sid)) continue;
    ++contactable;
    if (with_identifiers) out.contactable.push_back({type_names[subjects[sid].type], subjects[sid].value});
  }
  // An untyped channel ("*", mail) allowed by person-level records alone.
  if (!typed_channel && sc.allowed.empty() && contactable == 0 && passes(kNone)) contactable = 1;
  if (contactable == 0) {
    out.allowed = false;
    out.reason = rule_reason == ConsentReason::granted ? ConsentReason::no_identifier : rule_reason;
  }
}

PersonConsentCheck Consent::check_person(uint32_t person, std::string_view purpose, std::string_view channel,
                                         Timestamp at, const CheckOptions& options) const {
  ConsentQuery q = prepare(purpose, channel, options);
  impl_->ensure_mapping();
  PersonScratch sc;
  PersonConsentCheck out;
  impl_->check_person_impl(person, impl_->prepare_person(q, at), true, sc, out);
  return out;
}

}  // namespace cdpcore
