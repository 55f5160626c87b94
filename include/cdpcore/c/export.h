/* cdpcore — export macro for the C ABI.
 * Every symbol is hidden by default; only the C functions marked CDP_API are
 * exported from the shared library. The C++ API lives in the static library
 * (cdpcore::static) and is not part of the shared library's contract. */
#ifndef CDPCORE_C_EXPORT_H
#define CDPCORE_C_EXPORT_H

#if defined(CDPCORE_STATIC_DEFINE)
#  define CDP_API
#elif defined(_WIN32)
#  if defined(CDPCORE_BUILDING)
#    define CDP_API __declspec(dllexport)
#  else
#    define CDP_API __declspec(dllimport)
#  endif
#else
#  define CDP_API __attribute__((visibility("default")))
#endif

#endif
