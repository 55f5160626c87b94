/* cdpcore — export macro for the C ABI and the C++ API.
 * Every symbol is hidden by default; only what is marked CDP_API is exported. */
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
