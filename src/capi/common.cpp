#include <cstdlib>

#include "capi/capi_internal.hpp"
#include "cdpcore/version.hpp"

namespace cdpcore::capi {

namespace {
struct LastError {
  cdp_status code = CDP_OK;
  std::string message;
};
thread_local LastError t_last;
}  // namespace

cdp_status set_error(cdp_status code, std::string message) noexcept {
  t_last.code = code;
  try {
    t_last.message = std::move(message);
  } catch (...) {
    t_last.message.clear();
  }
  return code;
}

void clear_error() noexcept {
  t_last.code = CDP_OK;
  t_last.message.clear();
}

cdp_status handle_exception() noexcept {
  try {
    throw;
  } catch (const Error& e) {
    return set_error(static_cast<cdp_status>(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return set_error(CDP_ENOMEM, "out of memory");
  } catch (const std::exception& e) {
    return set_error(CDP_ERROR, e.what());
  } catch (...) {
    return set_error(CDP_ERROR, "unknown error");
  }
}

std::string_view arg_string(const char* s, size_t len, const char* what) {
  if (!s) {
    if (len == 0) return {};
    throw InvalidArgument(std::string(what) + " is NULL with a length of " + std::to_string(len));
  }
  std::string_view v(s, len);
  require_utf8(v, what);
  return v;
}

std::string_view arg_cstring(const char* s, const char* what) {
  if (!s) throw InvalidArgument(std::string(what) + " must not be NULL");
  std::string_view v(s);
  require_utf8(v, what);
  return v;
}

std::function<bool(uint64_t, uint64_t)> progress_callback(cdp_progress_fn fn, void* user_data) {
  if (!fn) return {};
  return [fn, user_data](uint64_t done, uint64_t total) { return fn(user_data, done, total) == 0; };
}

char* dup_string(std::string_view s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

}  // namespace cdpcore::capi

extern "C" {

const char* cdp_last_error(void) { return cdpcore::capi::t_last.message.c_str(); }
cdp_status cdp_last_error_code(void) { return cdpcore::capi::t_last.code; }
void cdp_clear_error(void) { cdpcore::capi::clear_error(); }
const char* cdp_status_name(cdp_status status) {
  return cdpcore::error_code_name(static_cast<cdpcore::ErrorCode>(status));
}
const char* cdp_version(void) { return cdpcore::version(); }
int32_t cdp_version_number(void) { return cdpcore::version_number(); }
void cdp_free(void* ptr) { std::free(ptr); }

}  // extern "C"
