// Internal: helpers shared by every C ABI translation unit.
//
// Each exported function body is wrapped in CDP_API_BEGIN / CDP_API_END, which
// clears the thread's last error, catches every exception and turns it into a
// status code with the message kept for cdp_last_error(). Nothing throws
// across extern "C".
#pragma once

#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
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

/// A cdp_progress_fn as the C++ progress callback (true = continue; the C
/// function returns non-zero to cancel); empty when `fn` is NULL.
std::function<bool(uint64_t, uint64_t)> progress_callback(cdp_progress_fn fn, void* user_data);

// Versioned structs (`unsigned version` first). A caller's struct may come
// from an older header (fewer fields) but never from a newer one.

/// Throws InvalidArgument unless 1 <= version <= latest, naming the struct
/// (`what`, e.g. "cdp_write_options") and its INIT macro; `context` prefixes
/// the message (e.g. "record 3: ").
void check_struct_version(unsigned version, unsigned latest, std::string_view what, std::string_view context = {});
/// check_struct_version for an optional struct argument (NULL = defaults).
template <typename T>
void check_options_version(const T* opts, unsigned latest, std::string_view what) {
  if (opts) check_struct_version(opts->version, latest, what);
}
/// Throws InvalidArgument unless 1 <= version <= latest: the `version`
/// argument of a cdp_x_init(opts, version) function.
void check_init_version(unsigned version, unsigned latest, std::string_view what);
/// The body of every cdp_x_init(opts, version): checks the version, then
/// writes the INIT defaults (`defaults`) tagged with that version. `sizes`
/// holds the struct's size at each version, oldest first (the last is
/// sizeof(T)), so a caller built against an older header gets only the
/// bytes its struct has.
template <typename T>
void init_options(T* opts, unsigned version, unsigned latest, const T& defaults, std::string_view what,
                  std::initializer_list<size_t> sizes = {sizeof(T)}) {
  arg_not_null(opts, "opts");
  check_init_version(version, latest, what);
  if (sizes.size() != latest || *(sizes.end() - 1) != sizeof(T)) {
    throw Error(ErrorCode::error, std::string(what) + ": the table of sizes does not match its version");
  }
  std::memcpy(static_cast<void*>(opts), &defaults, *(sizes.begin() + (version - 1)));
  opts->version = version;
}

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

/// Defines `cdp_x_options_init(opts, version)` for the versioned struct
/// `cdp_x_options` (`type`) whose version and defaults are the macros
/// `CDP_X_OPTIONS_VERSION` and `CDP_X_OPTIONS_INIT` (`PREFIX` is CDP_X_OPTIONS):
/// the one body every such function has (see capi::init_options).
#define CDP_DEFINE_OPTIONS_INIT(type, PREFIX)                                                  \
  cdp_status type##_init(type* opts, unsigned version) {                                       \
    CDP_API_BEGIN()                                                                            \
    ::cdpcore::capi::init_options(opts, version, PREFIX##_VERSION, type PREFIX##_INIT, #type); \
    CDP_API_END()                                                                              \
  }
