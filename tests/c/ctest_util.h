/* A few assertion helpers for the C tests (no framework: plain C). */
#ifndef CDPCORE_CTEST_UTIL_H
#define CDPCORE_CTEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

extern int ctest_failures;
extern int ctest_checks;

#define CHECK(cond)                                                           \
  do {                                                                        \
    ++ctest_checks;                                                           \
    if (!(cond)) {                                                            \
      ++ctest_failures;                                                       \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                         \
  } while (0)

#define CHECK_OK(expr)                                                           \
  do {                                                                           \
    cdp_status st_ = (expr);                                                     \
    ++ctest_checks;                                                              \
    if (st_ != CDP_OK) {                                                         \
      ++ctest_failures;                                                          \
      fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #expr,  \
              cdp_status_name(st_), cdp_last_error());                           \
    }                                                                            \
  } while (0)

/* Prints the summary line and returns the exit status. */
int ctest_finish(const char *name);

#endif
