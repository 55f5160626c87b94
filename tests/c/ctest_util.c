#include "ctest_util.h"

int ctest_failures = 0;
int ctest_checks = 0;

int ctest_finish(const char *name) {
  printf("%s: %d checks, %d passed, %d failed\n", name, ctest_checks, ctest_checks - ctest_failures,
         ctest_failures);
  return ctest_failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
