// Identifier types: validation of options, their stored JSON form, names.
#include <nlohmann/json.hpp>

#include "cdpcore/hash.hpp"
#include "identity/graph_impl.hpp"

namespace cdpcore {

const char* normalizer_name(Normalizer n) noexcept {
  switch (n) {
    case Normalizer::none: return "none";
    case Normalizer::trim: return "trim";
    case Normalizer::lower: return "lower";
    case Normalizer::email: return "email";
    case Normalizer::phone: return "phone";
    case Normalizer::custom: return "custom";
  }
  return "?";
}

Normalizer parse_normalizer(std::string_view name) {
  for (Normalizer n : {Normalizer::none, Normalizer::trim, Normalizer::lower, Normalizer::email, Normalizer::phone,
                       Normalizer::custom})
    if (name == normalizer_name(n)) return n;
  throw InvalidArgument("unknown normaliser \"" + std::string(name) +
                        "\" (expected none, trim, lower, email, phone or custom)");
}

const char* change_kind_name(ChangeKind k) noexcept {
  switch (k) {
    case ChangeKind::merged: return "merged";
    case ChangeKind::split: return "split";
    case ChangeKind::erased: return "erased";
  }
  return "?";
}

const char* change_cause_name(ChangeCause c) noexcept {
  switch (c) {
    case ChangeCause::link: return "link";
    case ChangeCause::remove_identifier: return "remove_identifier";
    case ChangeCause::remove_record: return "remove_record";
    case ChangeCause::erase_person: return "erase_person";
    case ChangeCause::block: return "block";
    case ChangeCause::auto_block: return "auto_block";
    case ChangeCause::expire: return "expire";
  }
  return "?";
}

const char* conflict_reason_name(ConflictReason r) noexcept {
  switch (r) {
    case ConflictReason::type_limit: return "type_limit";
    case ConflictReason::window_limit: return "window_limit";
    case ConflictReason::person_cap: return "person_cap";
  }
  return "?";
}

const char* block_reason_name(BlockReason r) noexcept {
  switch (r) {
    case BlockReason::blocklist: return "blocklist";
    case BlockReason::threshold: return "threshold";
  }
  return "?";
}

IdentityListener::~IdentityListener() = default;
void IdentityListener::on_merged(const ChangeEvent&) {}
void IdentityListener::on_split(const ChangeEvent&) {}
void IdentityListener::on_erased(const ChangeEvent&) {}
void IdentityListener::on_rolled_back() {}

}  // namespace cdpcore

namespace cdpcore::idg {

namespace {
int32_t minutes_of(Timestamp d, const char* what, const std::string& type) {
  if (d < 0) throw InvalidArgument("identifier type \"" + type + "\": " + what + " must not be negative");
  if (d == 0) return 0;
  const int64_t m = (d + kMicrosPerMinute - 1) / kMicrosPerMinute;
  if (m > INT32_MAX / 2) throw InvalidArgument("identifier type \"" + type + "\": " + what + " is too long");
  return static_cast<int32_t>(m);
}
}  // namespace

void finish_type(TypeState& t, const IdentityOptions& g) {
  const IdentifierTypeOptions& o = t.opt;
  if (o.max_length == 0 || o.max_length > kMaxIdentifierLength) {
    throw InvalidArgument("identifier type \"" + t.name + "\": max_length must be 1.." +
                          std::to_string(kMaxIdentifierLength));
  }
  if (o.auto_block_threshold > 250) {
    throw InvalidArgument("identifier type \"" + t.name + "\": auto_block_threshold must be at most 250");
  }
  if (o.normalizer == Normalizer::phone) {
    if (o.phone_region.size() != 2 || !std::isupper(static_cast<unsigned char>(o.phone_region[0])) ||
        !std::isupper(static_cast<unsigned char>(o.phone_region[1]))) {
      throw InvalidArgument("identifier type \"" + t.name + "\": phone_region \"" + o.phone_region +
                            "\" is not an ISO 3166 alpha-2 code such as \"CN\"");
    }
  }
  if (o.limit_window != 0 && o.limit == 0) {
    throw InvalidArgument("identifier type \"" + t.name + "\": limit_window needs a limit");
  }
  t.window_min = minutes_of(o.limit_window, "limit_window", t.name);
  t.ttl_min = minutes_of(o.ttl, "ttl", t.name);
  t.auto_block = o.never_auto_block ? 0 : (o.auto_block_threshold ? o.auto_block_threshold : g.auto_block_threshold);
  if (t.auto_block > 250) t.auto_block = 250;
  if (o.normalizer == Normalizer::custom && o.custom_normalizer) t.has_custom = true;
  if (o.storage == Storage::keyed_hash && !o.hash_key.empty()) {
    t.has_key = true;
    t.key_check = to_hex(hmac_sha256(o.hash_key, "cdpcore identity key check"));
  }
}

std::string type_config_json(const TypeState& t) {
  const IdentifierTypeOptions& o = t.opt;
  nlohmann::json j;
  j["normalizer"] = normalizer_name(o.normalizer);
  j["custom_thread_safe"] = o.custom_thread_safe;
  j["phone_region"] = o.phone_region;
  j["email_fold_providers"] = o.email_fold_providers;
  j["limit"] = o.limit;
  j["limit_window"] = o.limit_window;
  j["priority"] = o.priority;
  j["ttl"] = o.ttl;
  j["storage"] = o.storage == Storage::keyed_hash ? "keyed_hash" : "clear";
  j["key_check"] = t.key_check;
  j["input"] = o.input == InputKind::sha256 ? "sha256" : "raw";
  j["max_length"] = o.max_length;
  j["auto_block_threshold"] = o.auto_block_threshold;
  j["never_auto_block"] = o.never_auto_block;
  return j.dump();
}

void type_config_from_json(std::string_view text, TypeState& t) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
    IdentifierTypeOptions& o = t.opt;
    o.normalizer = parse_normalizer(j.at("normalizer").get<std::string>());
    o.custom_thread_safe = j.value("custom_thread_safe", false);
    o.phone_region = j.value("phone_region", std::string("CN"));
    o.email_fold_providers = j.value("email_fold_providers", false);
    o.limit = j.value("limit", 0u);
    o.limit_window = j.value("limit_window", int64_t{0});
    o.priority = j.value("priority", 0);
    o.ttl = j.value("ttl", int64_t{0});
    o.storage = j.value("storage", std::string("clear")) == "keyed_hash" ? Storage::keyed_hash : Storage::clear;
    t.key_check = j.value("key_check", std::string());
    o.input = j.value("input", std::string("raw")) == "sha256" ? InputKind::sha256 : InputKind::raw;
    o.max_length = j.value("max_length", 256u);
    o.auto_block_threshold = j.value("auto_block_threshold", 0u);
    o.never_auto_block = j.value("never_auto_block", false);
  } catch (const nlohmann::json::exception& e) {
    throw CorruptError("identity_types: configuration of \"" + t.name + "\" is not valid: " + e.what());
  }
}

}  // namespace cdpcore::idg
