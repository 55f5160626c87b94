// Internal: helpers shared by every C ABI translation unit.
//
// Each exported function body is wrapped in CDP_API_BEGIN / CDP_API_END, which
// clears the thread's last error, catches every exception and turns it into a
// status code with the message kept for cdp_last_error(). Nothing throws
// across extern "C".
#pragma once

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "cdpcore/cdpcore.h"
#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"

namespace cdpcore::capi {

/// Records a failure for cdp_last_error(); returns `code` for convenience.
cdp_status set_error(cdp_status code, std::string message) noexcept;
/// Clears the thread's last failure.
void clear_error() noexcept;
/// Converts the exception being handled into a status (call inside catch).
cdp_status handle_exception() noexcept;

/// A UTF-8 string argument with explicit length; NULL with length 0 is "".
/// Throws InvalidArgument for NULL with a length and Utf8Error for bad bytes.
std::string_view arg_string(const char* s, size_t len, const char* what);
/// A NUL-terminated string argument (names); NULL is rejected.
std::string_view arg_cstring(const char* s, const char* what);
/// Throws InvalidArgument when `p` is NULL.
template <typename T>
T* arg_not_null(T* p, const char* what) {
  if (!p) throw InvalidArgument(std::string(what) + " must not be NULL");
  return p;
}

/// Copies `s` into a malloc'ed NUL-terminated buffer the caller frees with cdp_free.
char* dup_string(std::string_view s);

}  // namespace cdpcore::capi

#define CDP_API_BEGIN()         \
  ::cdpcore::capi::clear_error(); \
  try {
#define CDP_API_END()                               \
  }                                                 \
  catch (...) {                                     \
    return ::cdpcore::capi::handle_exception();     \
  }                                                 \
  return CDP_OK;
