// The profile schema: value types, merge policies, attribute and event type
// definitions, string dictionaries and the column containers.
#include <algorithm>
#include <cmath>
#include <utility>

#include "cdpcore/error.hpp"
#include "cdpcore/hash.hpp"
#include "cdpcore/utf8.hpp"
#include "profile/persist.hpp"
#include "profile/store_impl.hpp"
#include "util/names.hpp"

namespace cdpcore {

using namespace profile_detail;

const char* value_type_name(ValueType t) noexcept {
  switch (t) {
    case ValueType::null: return "null";
    case ValueType::boolean: return "bool";
    case ValueType::int64: return "int64";
    case ValueType::float64: return "double";
    case ValueType::string: return "string";
    case ValueType::timestamp: return "timestamp";
    case ValueType::string_set: return "set<string>";
  }
  return "?";
}

ValueType parse_value_type(std::string_view n) {
  if (n == "bool" || n == "boolean") return ValueType::boolean;
  if (n == "int64" || n == "int" || n == "integer") return ValueType::int64;
  if (n == "double" || n == "float64" || n == "float" || n == "number") return ValueType::float64;
  if (n == "string" || n == "text") return ValueType::string;
  if (n == "timestamp" || n == "time") return ValueType::timestamp;
  if (n == "set<string>" || n == "string_set" || n == "set") return ValueType::string_set;
  throw InvalidArgument("unknown value type \"" + std::string(n) +
                        "\" (expected bool, int64, double, string, timestamp or set<string>)");
}

// Each merge policy with its name, for both directions.
constexpr std::pair<MergePolicy, const char*> kMergePolicyNames[] = {
    {MergePolicy::latest, "latest"}, {MergePolicy::first, "first"}, {MergePolicy::min, "min"},
    {MergePolicy::max, "max"},       {MergePolicy::sum, "sum"},     {MergePolicy::union_, "union"},
};

const char* merge_policy_name(MergePolicy p) noexcept {
  for (const auto& [policy, name] : kMergePolicyNames)
    if (policy == p) return name;
  return "?";
}

MergePolicy parse_merge_policy(std::string_view n) {
  for (const auto& [policy, name] : kMergePolicyNames)
    if (n == name) return policy;
  throw InvalidArgument("unknown merge policy \"" + std::string(n) +
                        "\" (expected latest, first, min, max, sum or union)");
}

const AttributeDef* ProfileSchema::attribute(std::string_view name) const noexcept {
  for (const auto& a : attributes)
    if (a.name == name) return &a;
  return nullptr;
}

const EventTypeDef* ProfileSchema::event_type(std::string_view name) const noexcept {
  for (const auto& e : event_types)
    if (e.name == name) return &e;
  return nullptr;
}

size_t ColumnInput::size() const noexcept {
  switch (type) {
    case ValueType::boolean: return bools.size();
    case ValueType::int64:
    case ValueType::timestamp: return !int64s.empty() ? int64s.size() : strings.size();
    case ValueType::float64: return !doubles.empty() ? doubles.size() : int64s.size();
    case ValueType::string: return !codes.empty() ? codes.size() : strings.size();
    case ValueType::string_set: return set_offsets.empty() ? 0 : set_offsets.size() - 1;
    case ValueType::null: return valid.size();
  }
  return 0;
}

double AttributeColumn::as_double(PersonOrdinal p) const noexcept {
  if (is_null(p)) return std::nan("");
  if (doubles) return doubles[p];
  if (int64s) return static_cast<double>(int64s[p]);
  return std::nan("");
}

namespace profile_detail {

size_t StringHash::operator()(std::string_view s) const noexcept { return static_cast<size_t>(hash64(s)); }

uint32_t StringDict::intern(std::string_view s) {
  auto it = index.find(s);
  if (it != index.end()) return it->second;
  auto code = static_cast<uint32_t>(values.size());
  values.emplace_back(s);
  index.emplace(values.back(), code);
  return code;
}

uint32_t StringDict::find(std::string_view s) const noexcept {
  auto it = index.find(s);
  return it == index.end() ? kNoCode : it->second;
}

size_t StringDict::memory_bytes() const noexcept {
  size_t n = values.capacity() * sizeof(std::string) + index.size() * (sizeof(std::string) + 16);
  for (const auto& v : values) n += 2 * (v.size() > 15 ? v.size() : 0);
  return n;
}

void AttrColumn::ensure_size(size_t n) {
  if (valid.size() >= n) return;
  size_t cap = std::max(n, valid.size() + valid.size() / 2);
  valid.reserve(cap);
  seq.reserve(cap);
  source.reserve(cap);
  valid.resize(n, 0);
  seq.resize(n, 0);
  source.resize(n, 0);
  switch (def.type) {
    case ValueType::boolean:
    case ValueType::int64:
    case ValueType::timestamp:
      ints.reserve(cap);
      ints.resize(n, 0);
      break;
    case ValueType::float64:
      doubles.reserve(cap);
      doubles.resize(n, std::nan(""));
      break;
    case ValueType::string:
      codes.reserve(cap);
      codes.resize(n, kNoCode);
      break;
    case ValueType::string_set:
      sets.reserve(cap);
      sets.resize(n);
      break;
    case ValueType::null: break;
  }
}

void AttrColumn::clear_cell(PersonOrdinal p) {
  if (p >= valid.size()) return;
  valid[p] = 0;
  seq[p] = 0;
  source[p] = 0;
  switch (def.type) {
    case ValueType::float64: doubles[p] = std::nan(""); break;
    case ValueType::string: codes[p] = kNoCode; break;
    case ValueType::string_set: sets[p].clear(); break;
    case ValueType::null: break;
    default: ints[p] = 0; break;
  }
}

Value AttrColumn::get(PersonOrdinal p) const {
  if (p >= valid.size() || !valid[p]) return std::monostate{};
  switch (def.type) {
    case ValueType::boolean: return ints[p] != 0;
    case ValueType::int64:
    case ValueType::timestamp: return ints[p];
    case ValueType::float64: return doubles[p];
    case ValueType::string: return dict.values[codes[p]];
    case ValueType::string_set: {
      std::vector<std::string> out;
      out.reserve(sets[p].size());
      for (uint32_t c : sets[p]) out.push_back(dict.values[c]);
      std::sort(out.begin(), out.end());
      return out;
    }
    case ValueType::null: break;
  }
  return std::monostate{};
}

size_t AttrColumn::memory_bytes() const noexcept {
  size_t n = valid.capacity() + ints.capacity() * 8 + doubles.capacity() * 8 + codes.capacity() * 4 +
             seq.capacity() * 8 + source.capacity() * 4 + sets.capacity() * sizeof(std::vector<uint32_t>) + dict.memory_bytes();
  for (const auto& s : sets) n += s.capacity() * 4;
  return n;
}

size_t EventColumns::memory_bytes() const noexcept {
  size_t n = person.capacity() * 4 + time.capacity() * 8 + source.capacity() * 4;
  for (const auto& p : props) n += p.ints.capacity() * 8 + p.doubles.capacity() * 8 + p.codes.capacity() * 4 + p.valid.capacity();
  return n;
}

void EventTable::add_prop_columns() {
  while (main.props.size() < def.properties.size()) {
    size_t i = main.props.size();
    main.props.emplace_back();
    pending.props.emplace_back();
    dicts.emplace_back();
    // A property added to an existing type is null for the events before it.
    auto fill = [&](EventColumns& c) {
      auto& p = c.props[i];
      size_t n = c.size();
      switch (def.properties[i].type) {
        case ValueType::float64: p.doubles.assign(n, std::nan("")); break;
        case ValueType::string: p.codes.assign(n, kNoCode); break;
        default: p.ints.assign(n, 0); break;
      }
      if (n) p.valid.assign(n, 0);
    };
    fill(main);
    fill(pending);
  }
}

}  // namespace profile_detail

void ProfileStore::define_attribute(const AttributeDef& def) {
  util::validate_name(def.name, "attribute name");
  if (def.type == ValueType::null) throw InvalidArgument("attribute \"" + def.name + "\": type null is not allowed");
  auto& im = *impl_;
  if (auto* a = im.find_attr(def.name)) {
    if (a->def.type != def.type || a->def.merge != def.merge) {
      throw Conflict("attribute \"" + def.name + "\" exists as " + value_type_name(a->def.type) + " (merge " +
                     merge_policy_name(a->def.merge) + "), not " + value_type_name(def.type) + " (merge " +
                     merge_policy_name(def.merge) + ")");
    }
    return;
  }
  if (im.find_event(def.name)) throw Conflict("\"" + def.name + "\" is already an event type");
  bool numeric = def.type == ValueType::int64 || def.type == ValueType::float64 || def.type == ValueType::timestamp ||
                 def.type == ValueType::boolean;
  if (def.merge == MergePolicy::sum && def.type != ValueType::int64 && def.type != ValueType::float64) {
    throw InvalidArgument("attribute \"" + def.name + "\": merge policy sum needs int64 or double, not " +
                          value_type_name(def.type));
  }
  if ((def.merge == MergePolicy::min || def.merge == MergePolicy::max) && !numeric && def.type != ValueType::string) {
    throw InvalidArgument("attribute \"" + def.name + "\": merge policy " + merge_policy_name(def.merge) +
                          " does not apply to " + value_type_name(def.type));
  }
  if (def.merge == MergePolicy::union_ && def.type != ValueType::string_set) {
    throw InvalidArgument("attribute \"" + def.name + "\": merge policy union needs set<string>, not " +
                          value_type_name(def.type));
  }
  auto col = std::make_unique<AttrColumn>();
  col->def = def;
  if (im.ws) col->id = persist::insert_attribute(*im.ws, def);
  col->ensure_size(im.person_count);
  im.schema.attributes.push_back(def);
  im.attr_index.emplace(def.name, im.attrs.size());
  im.attrs.push_back(std::move(col));
  im.touch();
}

void ProfileStore::define_event_type(const EventTypeDef& def) {
  util::validate_name(def.name, "event type name");
  auto& im = *impl_;
  for (size_t i = 0; i < def.properties.size(); ++i) {
    const auto& p = def.properties[i];
    util::validate_name(p.name, "property name");
    if (p.type == ValueType::null || p.type == ValueType::string_set) {
      throw InvalidArgument("event type \"" + def.name + "\", property \"" + p.name + "\": type " +
                            value_type_name(p.type) + " is not allowed for event properties");
    }
    for (size_t j = 0; j < i; ++j)
      if (def.properties[j].name == p.name)
        throw InvalidArgument("event type \"" + def.name + "\": property \"" + p.name + "\" is declared twice");
  }
  if (im.find_attr(def.name)) throw Conflict("\"" + def.name + "\" is already an attribute");
  EventTable* t = im.find_event(def.name);
  // Check everything before changing anything.
  std::vector<PropertyDef> added;
  if (t) {
    for (const auto& p : def.properties) {
      auto it = std::find_if(t->def.properties.begin(), t->def.properties.end(),
                             [&](const PropertyDef& q) { return q.name == p.name; });
      if (it == t->def.properties.end()) {
        added.push_back(p);
      } else if (it->type != p.type) {
        throw Conflict("event type \"" + def.name + "\": property \"" + p.name + "\" exists as " +
                       value_type_name(it->type) + ", not " + value_type_name(p.type));
      }
    }
    if (added.empty()) return;
  } else {
    added = def.properties;
  }
  int64_t id = t ? t->id : 0;
  if (im.ws) id = persist::save_event_type(*im.ws, id, def.name, t ? t->def.properties.size() : 0, added);
  if (!t) {
    auto table = std::make_unique<EventTable>();
    table->def = EventTypeDef{def.name, {}};
    table->id = id;
    t = table.get();
    im.schema.event_types.push_back(table->def);
    im.event_index.emplace(def.name, im.events.size());
    im.events.push_back(std::move(table));
  }
  size_t index = im.event_index.find(def.name)->second;
  for (const auto& p : added) {
    t->def.properties.push_back(p);
    im.schema.event_types[index].properties.push_back(p);
  }
  t->add_prop_columns();
  im.touch();
}

const ProfileSchema& ProfileStore::schema() const noexcept { return impl_->schema; }

}  // namespace cdpcore
