/* The profile store through the C ABI, compiled as strict C. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cdpcore/cdpcore.h"
#include "ctest_util.h"

static cdp_profile_store *new_store(cdp_workspace *ws) {
  cdp_profile_store *s = NULL;
  cdp_property_def props[2];
  CHECK_OK(cdp_profile_store_new(&s, ws));
  CHECK_OK(cdp_profile_define_attribute(s, "member_level", 12, CDP_TYPE_STRING, CDP_MERGE_LATEST));
  CHECK_OK(cdp_profile_define_attribute(s, "points", 6, CDP_TYPE_INT64, CDP_MERGE_SUM));
  props[0].name = "amount";
  props[0].name_len = 6;
  props[0].type = CDP_TYPE_DOUBLE;
  props[1].name = "category";
  props[1].name_len = 8;
  props[1].type = CDP_TYPE_STRING;
  CHECK_OK(cdp_profile_define_event_type(s, "order", 5, props, 2));
  return s;
}

static void test_schema_and_upsert(void) {
  cdp_profile_store *s = new_store(NULL);
  uint32_t who[3] = {0, 2, 4};
  int64_t points[3] = {10, 20, 30};
  const char *levels = "goldsilverplatinum";
  int64_t level_offsets[4] = {0, 4, 10, 18};
  uint8_t valid[3] = {1, 1, 0};
  cdp_column cols[2] = {CDP_COLUMN_INIT, CDP_COLUMN_INIT};
  cdp_row_keys keys;
  cdp_write_report *rep = NULL;
  cdp_bitmap *touched = NULL;
  char *json = NULL;
  size_t len = 0, count = 0;
  double d[3];
  uint32_t probe[3] = {0, 1, 4};

  memset(&keys, 0, sizeof keys);
  keys.ordinals = who;
  keys.rows = 3;
  cols[0].name = "points";
  cols[0].name_len = 6;
  cols[0].type = CDP_TYPE_INT64;
  cols[0].int64s = points;
  cols[1].name = "member_level";
  cols[1].name_len = 12;
  cols[1].type = CDP_TYPE_STRING;
  cols[1].string_offsets = level_offsets;
  cols[1].string_data = levels;
  cols[1].valid = valid;
  CHECK_OK(cdp_profile_upsert(s, &keys, cols, 2, NULL, &rep));
  CHECK(cdp_write_report_rows_applied(rep) == 3);
  CHECK(cdp_write_report_rejected_count(rep) == 0);
  CHECK_OK(cdp_write_report_touched(rep, &touched));
  CHECK(cdp_bitmap_cardinality(touched) == 3);
  cdp_bitmap_free(touched);
  cdp_write_report_free(rep);
  cdp_write_report_free(NULL);

  CHECK_OK(cdp_profile_person_count(s, &count));
  CHECK(count == 5);
  CHECK_OK(cdp_profile_value_json(s, 2, "member_level", 12, &json, &len));
  CHECK(strcmp(json, "\"silver\"") == 0);
  cdp_free(json);
  CHECK_OK(cdp_profile_value_json(s, 4, "member_level", 12, &json, &len));
  CHECK(strcmp(json, "null") == 0);
  cdp_free(json);
  CHECK_OK(cdp_profile_read_doubles(s, "points", 6, probe, 3, d));
  CHECK(d[0] == 10.0 && isnan(d[1]) && d[2] == 30.0);
  CHECK(cdp_profile_read_doubles(s, "member_level", 12, probe, 3, d) == CDP_ETYPE);
  CHECK(cdp_profile_read_doubles(s, "nope", 4, probe, 3, d) == CDP_ENOTFOUND);

  CHECK_OK(cdp_profile_schema_json(s, &json, &len));
  CHECK(strstr(json, "\"points\"") != NULL);
  CHECK(strstr(json, "\"merge\":\"sum\"") != NULL);
  cdp_free(json);
  cdp_profile_store_free(s);
  cdp_profile_store_free(NULL);
}

static void test_bad_rows(void) {
  cdp_profile_store *s = new_store(NULL);
  uint32_t who[2] = {1, 2};
  const char *data = "ok\xff";
  int64_t offsets[3] = {0, 2, 3};
  cdp_column col = CDP_COLUMN_INIT;
  cdp_row_keys keys;
  cdp_write_options opts = CDP_WRITE_OPTIONS_INIT;
  cdp_write_report *rep = NULL;
  uint64_t index = 0;
  const char *msg = NULL;
  char *json = NULL;

  memset(&keys, 0, sizeof keys);
  keys.ordinals = who;
  keys.rows = 2;
  col.name = "member_level";
  col.name_len = 12;
  col.type = CDP_TYPE_STRING;
  col.string_offsets = offsets;
  col.string_data = data;
  CHECK(cdp_profile_upsert(s, &keys, &col, 1, NULL, &rep) == CDP_EINVAL);
  CHECK(strstr(cdp_last_error(), "row 1") != NULL);
  CHECK(rep == NULL);
  CHECK_OK(cdp_profile_value_json(s, 1, "member_level", 12, &json, NULL));
  CHECK(strcmp(json, "null") == 0); /* nothing applied */
  cdp_free(json);
  opts.best_effort = 1;
  CHECK_OK(cdp_profile_upsert(s, &keys, &col, 1, &opts, &rep));
  CHECK(cdp_write_report_rows_applied(rep) == 1);
  CHECK(cdp_write_report_rejected_count(rep) == 1);
  CHECK_OK(cdp_write_report_rejected(rep, 0, &index, &msg));
  CHECK(index == 1);
  CHECK(strstr(msg, "UTF-8") != NULL);
  CHECK(cdp_write_report_rejected(rep, 5, &index, &msg) == CDP_EINVAL);
  cdp_write_report_free(rep);
  /* identifier keys need an identity graph */
  {
    cdp_row_keys ik;
    int64_t io[2] = {0, 3};
    memset(&ik, 0, sizeof ik);
    ik.identifier_type = "crm";
    ik.identifier_type_len = 3;
    ik.id_offsets = io;
    ik.id_data = "M01";
    ik.rows = 1;
    col.string_offsets = offsets;
    CHECK(cdp_profile_upsert(s, &ik, &col, 1, NULL, NULL) == CDP_ESTATE);
  }
  cdp_profile_store_free(s);
}

static void test_events_and_persistence(const char *path) {
  cdp_workspace *ws = NULL;
  cdp_profile_store *s = NULL;
  uint32_t who[3] = {3, 1, 3};
  int64_t times[3] = {300, 100, 200};
  double amount[3] = {1.5, 2.5, NAN};
  int32_t codes[3] = {0, 1, -1};
  const char *dict = "shoesbags";
  int64_t dict_offsets[3] = {0, 5, 9};
  cdp_column cols[2] = {CDP_COLUMN_INIT, CDP_COLUMN_INIT};
  cdp_row_keys keys;
  uint64_t n = 0, attr_bytes = 0, event_bytes = 0, events = 0;
  char *json = NULL;

  remove(path);
  CHECK_OK(cdp_workspace_open(&ws, path, strlen(path), NULL));
  s = new_store(ws);
  memset(&keys, 0, sizeof keys);
  keys.ordinals = who;
  keys.rows = 3;
  cols[0].name = "amount";
  cols[0].name_len = 6;
  cols[0].type = CDP_TYPE_DOUBLE;
  cols[0].doubles = amount;
  cols[1].name = "category";
  cols[1].name_len = 8;
  cols[1].type = CDP_TYPE_STRING;
  cols[1].codes = codes;
  cols[1].dict_offsets = dict_offsets;
  cols[1].dict_data = dict;
  cols[1].dict_count = 2;
  CHECK_OK(cdp_profile_append_events(s, "order", 5, &keys, times, cols, 2, NULL, NULL));
  CHECK_OK(cdp_profile_event_count(s, "order", 5, &n));
  CHECK(n == 3);
  CHECK(cdp_profile_append_events(s, "refund", 6, &keys, times, cols, 2, NULL, NULL) == CDP_ENOTFOUND);
  CHECK_OK(cdp_profile_compact(s));
  CHECK_OK(cdp_profile_memory_usage(s, &attr_bytes, &event_bytes, &events));
  CHECK(events == 3);
  CHECK(event_bytes > 0);
  cdp_profile_store_free(s);
  cdp_workspace_close(ws);

  /* reopened: the events are back, in time order */
  ws = NULL;
  CHECK_OK(cdp_workspace_open(&ws, path, strlen(path), NULL));
  CHECK_OK(cdp_profile_store_new(&s, ws));
  CHECK_OK(cdp_profile_person_events_json(s, 3, "order", 5, &json, NULL));
  CHECK(strcmp(json, "[{\"amount\":null,\"category\":null,\"time\":200},{\"amount\":1.5,\"category\":\"shoes\",\"time\":300}]") == 0);
  if (strcmp(json, "[{\"amount\":null,\"category\":null,\"time\":200},{\"amount\":1.5,\"category\":\"shoes\",\"time\":300}]") != 0)
    fprintf(stderr, "got %s\n", json);
  cdp_free(json);
  CHECK_OK(cdp_profile_merge_persons(s, 1, 3));
  CHECK_OK(cdp_profile_event_count(s, "order", 5, &n));
  CHECK(n == 3);
  CHECK_OK(cdp_profile_erase_person(s, 1));
  CHECK_OK(cdp_profile_event_count(s, "order", 5, &n));
  CHECK(n == 0);
  cdp_profile_store_free(s);
  cdp_workspace_close(ws);
  remove(path);
}

static void test_csv(const char *path) {
  cdp_profile_store *s = new_store(NULL);
  cdp_file_load_options opts = CDP_FILE_LOAD_OPTIONS_INIT;
  cdp_write_report *rep = NULL;
  FILE *f = fopen(path, "w");
  char *json = NULL;
  fputs("person,member_level,points\n0,gold,1\n1,\"a, b\",2\n", f);
  fclose(f);
  CHECK_OK(cdp_profile_load_csv(s, path, strlen(path), &opts, &rep));
  CHECK(cdp_write_report_rows_applied(rep) == 2);
  cdp_write_report_free(rep);
  CHECK_OK(cdp_profile_value_json(s, 1, "member_level", 12, &json, NULL));
  CHECK(strcmp(json, "\"a, b\"") == 0);
  cdp_free(json);
  CHECK(cdp_profile_load_csv(s, "/nonexistent.csv", 16, &opts, NULL) == CDP_EIO);
  remove(path);
  cdp_profile_store_free(s);
}

int main(void) {
  test_schema_and_upsert();
  test_bad_rows();
  test_events_and_persistence("c_test_profile.cdp");
  test_csv("c_test_profile.csv");
  return ctest_finish("test_profile");
}
