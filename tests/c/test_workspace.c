/* The workspace through the C ABI, compiled as C. */
#include <stdio.h>
#include <string.h>

#include "cdpcore/cdpcore.h"
#include "ctest_util.h"

static void test_version_matches_header(void) {
  CHECK(cdp_version_number() == CDP_VERSION_NUMBER);
  CHECK(strcmp(cdp_version(), CDP_VERSION) == 0);
}

static void test_open_memory_workspace(void) {
  cdp_workspace *ws = NULL;
  int32_t v = -1;
  CHECK_OK(cdp_workspace_open(&ws, ":memory:", 8, NULL));
  CHECK(ws != NULL);
  CHECK(strcmp(cdp_workspace_path(ws), ":memory:") == 0);
  CHECK_OK(cdp_workspace_schema_version(ws, "workspace", 9, &v));
  CHECK(v == 1);
  CHECK_OK(cdp_workspace_schema_version(ws, "nothing", 7, &v));
  CHECK(v == 0);
  CHECK(strcmp(cdp_workspace_time_zone(ws), "UTC") == 0);
  cdp_workspace_close(ws);
  cdp_workspace_close(NULL); /* a no-op */
}

static void test_file_workspace_with_options(const char *path) {
  cdp_workspace_options opts = CDP_WORKSPACE_OPTIONS_INIT;
  cdp_workspace *ws = NULL;
  remove(path);
  opts.time_zone = "Asia/Shanghai";
  CHECK_OK(cdp_workspace_open(&ws, path, strlen(path), &opts));
  CHECK(strcmp(cdp_workspace_time_zone(ws), "Asia/Shanghai") == 0);
  cdp_workspace_close(ws);

  /* Reopened read-only, the zone was stored. */
  CHECK_OK(cdp_workspace_options_init(&opts, CDP_WORKSPACE_OPTIONS_VERSION));
  opts.read_only = 1;
  ws = NULL;
  CHECK_OK(cdp_workspace_open(&ws, path, strlen(path), &opts));
  CHECK(ws != NULL && strcmp(cdp_workspace_time_zone(ws), "Asia/Shanghai") == 0);
  cdp_workspace_close(ws);
}

static void test_errors_are_codes_with_messages(const char *path) {
  cdp_workspace *ws = (cdp_workspace *)&ws; /* must be reset to NULL on failure */
  FILE *f = fopen(path, "wb");
  cdp_workspace_options opts = CDP_WORKSPACE_OPTIONS_INIT;
  fputs("this is not a database, it is a text file that is long enough", f);
  fclose(f);
  CHECK(cdp_workspace_open(&ws, path, strlen(path), NULL) == CDP_ECORRUPT);
  CHECK(ws == NULL);
  CHECK(strstr(cdp_last_error(), "not a SQLite database") != NULL);
  CHECK(cdp_last_error_code() == CDP_ECORRUPT);

  CHECK(cdp_workspace_open(&ws, "\xff\xfe", 2, NULL) == CDP_EUTF8);
  CHECK(strstr(cdp_last_error(), "byte 0") != NULL);

  CHECK(cdp_workspace_open(NULL, ":memory:", 8, NULL) == CDP_EINVAL);
  opts.version = 99;
  CHECK(cdp_workspace_open(&ws, ":memory:", 8, &opts) == CDP_EINVAL);
  CHECK(cdp_workspace_options_init(&opts, 0) == CDP_EINVAL);

  /* A successful call clears the last error. */
  CHECK_OK(cdp_workspace_open(&ws, ":memory:", 8, NULL));
  CHECK(cdp_last_error()[0] == '\0');
  CHECK(cdp_last_error_code() == CDP_OK);
  cdp_workspace_close(ws);
  CHECK(strcmp(cdp_status_name(CDP_EPARSE), "CDP_EPARSE") == 0);
  remove(path);
}

int main(void) {
  const char *path = "c_test_workspace.cdp";
  test_version_matches_header();
  test_open_memory_workspace();
  test_file_workspace_with_options(path);
  remove(path);
  test_errors_are_codes_with_messages("c_test_not_a_db.cdp");
  return ctest_finish("test_workspace");
}
