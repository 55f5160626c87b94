// Internal: identifier types and their normalisers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cdpcore/error.hpp"
#include "cdpcore/identity.hpp"

namespace cdpcore::idg {

/// A registered type with the values derived from its options.
struct TypeState {
  TypeId id = kNoType;
  std::string name;
  IdentifierTypeOptions opt;
  int32_t window_min = 0;   // limit_window in minutes (0 = ever)
  int32_t ttl_min = 0;      // ttl in minutes (0 = never)
  uint32_t auto_block = 0;  // effective threshold (0 = off)
  int32_t limited = -1;     // index among the limited types, -1 when unlimited
  std::string key_check;    // hex fingerprint of hash_key (keyed_hash types)
  bool has_custom = false;  // custom normaliser supplied
  bool has_key = false;     // hash key supplied
  bool ready() const noexcept {
    return (opt.normalizer != Normalizer::custom || has_custom) && (opt.storage != Storage::keyed_hash || has_key);
  }
  /// Whether the normaliser may run on several threads at once.
  bool parallel_safe() const noexcept { return opt.normalizer != Normalizer::custom || opt.custom_thread_safe; }
};

/// A rejected value: the code and the reason (without record/identifier position).
struct NormError {
  ErrorCode code = ErrorCode::invalid_argument;
  std::string message;
  uint64_t offset = 0;  // byte offset for UTF-8 errors
};

/// Throws the cdpcore::Error subclass that matches `code`.
[[noreturn]] void throw_code(ErrorCode code, const std::string& message, uint64_t offset = 0);

/// Normalises `raw` for type `t`. On success `out` views the stored form
/// (either a part of `raw` or `buf`'s contents) and true is returned; on
/// failure `err` (when not null) says why. Thread-safe when t.parallel_safe().
bool normalize_value(const TypeState& t, std::string_view raw, std::string& buf, std::string_view& out,
                     NormError* err);

/// Trims ASCII whitespace, U+00A0, U+3000 and U+FEFF at both ends.
std::string_view trim_space(std::string_view s) noexcept;

/// libphonenumber's answer (the slow path): E.164 of a valid number, or
/// false. Recent answers are cached per thread.
bool phone_e164_slow(std::string_view raw, const std::string& region, std::string& out);
/// Drops every thread's cache of recently parsed phone numbers (raw values):
/// the calling thread's now, other threads' before their next lookup.
void forget_cached_phone_numbers() noexcept;
/// libphonenumber itself, without the cache.
bool phone_e164_libphonenumber(std::string_view raw, const std::string& region, std::string& out);
/// The fast path for well-formed Chinese mobile numbers (region CN): returns
/// 1 with `out` set, 0 for a number known invalid, -1 when it cannot decide.
int phone_e164_fast_cn(std::string_view raw, std::string& out);

/// A value for messages: quoted, at most 40 bytes, control bytes escaped.
std::string quote_value(std::string_view v);
/// A masked form for reports and DOT ("+86138****8000", "a***@x.com").
std::string mask_value(std::string_view type_name, std::string_view value, bool binary);

/// Lowercase hex of bytes.
std::string to_hex_bytes(std::string_view bytes);

}  // namespace cdpcore::idg
