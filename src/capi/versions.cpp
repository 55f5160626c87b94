// The version checks of every versioned struct of the C ABI (one message
// format for all of them).
#include <cctype>

#include "capi/capi_internal.hpp"

namespace cdpcore::capi {

namespace {
/// "cdp_write_options" -> "CDP_WRITE_OPTIONS_INIT".
std::string init_macro(std::string_view what) {
  std::string m(what);
  for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return m + "_INIT";
}
}  // namespace

void check_struct_version(unsigned version, unsigned latest, std::string_view what, std::string_view context) {
  if (version == 0 || version > latest) {
    throw InvalidArgument(std::string(context) + std::string(what) + ".version " + std::to_string(version) +
                          " is not supported; initialise with " + init_macro(what));
  }
}

void check_init_version(unsigned version, unsigned latest, std::string_view what) {
  if (version == 0 || version > latest) {
    throw InvalidArgument(std::string(what) + " version " + std::to_string(version) + " is not supported (1.." +
                          std::to_string(latest) + ")");
  }
}

}  // namespace cdpcore::capi
