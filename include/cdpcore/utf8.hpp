// cdpcore — UTF-8 validation. Every string that reaches the library is
// checked once at the boundary; invalid bytes are rejected with their offset.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>


namespace cdpcore {

/// The offset of the first byte that is not part of well-formed UTF-8
/// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), or
/// nullopt when all of `s` is valid.
std::optional<size_t> find_invalid_utf8(std::string_view s) noexcept;

/// Whether `s` is valid UTF-8.
inline bool is_valid_utf8(std::string_view s) noexcept { return !find_invalid_utf8(s).has_value(); }

/// Throws Utf8Error("<what>: invalid UTF-8 at byte N") when `s` is not valid.
void require_utf8(std::string_view s, std::string_view what);

}  // namespace cdpcore
