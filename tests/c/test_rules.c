/* The tag engine through the C ABI, compiled as strict C. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cdpcore/cdpcore.h"
#include "ctest_util.h"

#define DAY 86400000000LL
static const int64_t as_of = 1718452800000000LL; /* 2024-06-15T12:00:00Z */

static cdp_profile_store *populated(void) {
  cdp_profile_store *s = NULL;
  cdp_property_def amount;
  uint32_t who[5] = {0, 0, 1, 2, 2};
  int64_t times[5];
  double amounts[5] = {3000, 2500, 100, 20, 30};
  uint32_t level_who[1] = {1};
  const char *level = "gold";
  int64_t level_off[2] = {0, 4};
  cdp_column col = CDP_COLUMN_INIT;
  cdp_row_keys keys;
  times[0] = as_of - 10 * DAY;
  times[1] = as_of - 20 * DAY;
  times[2] = as_of - 400 * DAY;
  times[3] = as_of - 1 * DAY;
  times[4] = as_of - 2 * DAY;
  CHECK_OK(cdp_profile_store_new(&s, NULL));
  CHECK_OK(cdp_profile_define_attribute(s, "member_level", 12, CDP_TYPE_STRING, CDP_MERGE_LATEST));
  amount.name = "amount";
  amount.name_len = 6;
  amount.type = CDP_TYPE_DOUBLE;
  CHECK_OK(cdp_profile_define_event_type(s, "order", 5, &amount, 1));
  memset(&keys, 0, sizeof keys);
  keys.ordinals = who;
  keys.rows = 5;
  col.name = "amount";
  col.name_len = 6;
  col.type = CDP_TYPE_DOUBLE;
  col.doubles = amounts;
  CHECK_OK(cdp_profile_append_events(s, "order", 5, &keys, times, &col, 1, NULL, NULL));
  keys.ordinals = level_who;
  keys.rows = 1;
  memset(&col, 0, sizeof col);
  col.version = CDP_COLUMN_VERSION;
  col.name = "member_level";
  col.name_len = 12;
  col.type = CDP_TYPE_STRING;
  col.string_offsets = level_off;
  col.string_data = level;
  CHECK_OK(cdp_profile_upsert(s, &keys, &col, 1, NULL, NULL));
  return s;
}

static const char *rules_text =
    "tag vip = sum(order.amount, last 365 days) >= 5000 or member_level in [\"gold\", \"platinum\"]\n"
    "tag band = case when avg(order.amount, last 180 days) >= 500 then \"high\" else \"low\" end\n"
    "trait spend = sum(order.amount, last 365 days)\n";

static void test_compile_and_evaluate(void) {
  cdp_profile_store *s = populated();
  cdp_rule_set *rs = NULL;
  cdp_tag_results *res = NULL;
  cdp_bitmap *members = NULL;
  const char *name = NULL;
  const char *label = NULL;
  cdp_tag_kind kind = -1;
  const int32_t *codes = NULL;
  const double *values = NULL;
  size_t n = 0, labels = 0;
  uint32_t out[8];
  cdp_person_tags *pt = NULL;
  int member = 0;
  double value = 0;

  CHECK_OK(cdp_rules_compile(&rs, s, rules_text, strlen(rules_text), NULL));
  CHECK(cdp_rules_count(rs) == 3);
  CHECK_OK(cdp_rules_info(rs, 1, &name, &kind));
  CHECK(strcmp(name, "band") == 0);
  CHECK(kind == CDP_TAG_VALUE);
  CHECK(cdp_rules_info(rs, 3, &name, &kind) == CDP_EINVAL);

  CHECK_OK(cdp_rules_evaluate(rs, s, as_of, 2, &res));
  CHECK(cdp_tag_results_person_count(res) == 3);
  CHECK_OK(cdp_tag_results_members(res, 0, &members));
  CHECK(cdp_bitmap_cardinality(members) == 2);
  CHECK_OK(cdp_bitmap_to_array(members, out, 8, &n));
  CHECK(n == 2 && out[0] == 0 && out[1] == 1);
  cdp_bitmap_free(members);
  CHECK_OK(cdp_tag_results_label_count(res, 1, &labels));
  CHECK(labels == 2);
  CHECK_OK(cdp_tag_results_codes(res, 1, &codes, &n));
  CHECK(n == 3);
  CHECK_OK(cdp_tag_results_label(res, 1, (size_t)codes[0], &label, NULL));
  CHECK(strcmp(label, "high") == 0);
  CHECK_OK(cdp_tag_results_label(res, 1, (size_t)codes[2], &label, &members));
  CHECK(strcmp(label, "low") == 0);
  CHECK(cdp_bitmap_contains(members, 2));
  cdp_bitmap_free(members);
  CHECK_OK(cdp_tag_results_values(res, 2, &values, &n));
  CHECK(values[0] == 5500.0 && values[1] == 0.0 && values[2] == 50.0);
  CHECK(cdp_tag_results_values(res, 0, &values, &n) == CDP_ETYPE);

  CHECK_OK(cdp_rules_evaluate_person(rs, s, 2, as_of, &pt));
  CHECK_OK(cdp_person_tags_get(pt, 0, &member, NULL, NULL));
  CHECK(member == 0);
  CHECK_OK(cdp_person_tags_get(pt, 1, &member, &label, NULL));
  CHECK(member == 1 && strcmp(label, "low") == 0);
  CHECK_OK(cdp_person_tags_get(pt, 2, &member, NULL, &value));
  CHECK(value == 50.0);
  cdp_person_tags_free(pt);

  /* an event arrives; incremental update of the touched person */
  {
    uint32_t who = 2;
    int64_t t = as_of - DAY;
    double amt = 6000;
    cdp_column col = CDP_COLUMN_INIT;
    cdp_row_keys keys;
    cdp_write_report *rep = NULL;
    cdp_bitmap *touched = NULL;
    memset(&keys, 0, sizeof keys);
    keys.ordinals = &who;
    keys.rows = 1;
    col.name = "amount";
    col.name_len = 6;
    col.type = CDP_TYPE_DOUBLE;
    col.doubles = &amt;
    CHECK_OK(cdp_profile_append_events(s, "order", 5, &keys, &t, &col, 1, NULL, &rep));
    CHECK_OK(cdp_write_report_touched(rep, &touched));
    CHECK_OK(cdp_rules_update(rs, res, s, touched, as_of));
    CHECK_OK(cdp_tag_results_members(res, 0, &members));
    CHECK(cdp_bitmap_contains(members, 2));
    cdp_bitmap_free(members);
    cdp_bitmap_free(touched);
    cdp_write_report_free(rep);
  }
  cdp_tag_results_free(res);
  cdp_tag_results_free(NULL);
  cdp_rules_free(rs);
  cdp_rules_free(NULL);
  cdp_profile_store_free(s);
}

static void test_errors_and_json(void) {
  cdp_profile_store *s = populated();
  cdp_rule_set *rs = NULL;
  cdp_rules_options opts = CDP_RULES_OPTIONS_INIT;
  char *out = NULL;
  char *back = NULL;
  size_t len = 0;

  CHECK(cdp_rules_compile(&rs, s, "tag a = count(order) >=", 23, NULL) == CDP_EPARSE);
  CHECK(strstr(cdp_last_error(), "line 1, column 24") != NULL);
  CHECK(rs == NULL);
  CHECK(cdp_rules_compile(&rs, s, "tag a = member_level > 1", 24, NULL) == CDP_ETYPE);
  CHECK(cdp_rules_compile(&rs, s, "tag a = nope > 1", 16, NULL) == CDP_ENOTFOUND);
  CHECK(strstr(cdp_last_error(), "'nope'") != NULL);
  opts.max_depth = 3;
  CHECK(cdp_rules_compile(&rs, s, "tag a = ((((1)))) = 1", 21, &opts) == CDP_ELIMIT);
  CHECK(cdp_rules_compile(&rs, s, "tag a = \"\xff\"", 11, NULL) == CDP_EUTF8);

  CHECK_OK(cdp_rules_expression_to_json("count(order, last 30 days) >= 2", 31, &out, &len));
  CHECK(strstr(out, "\"aggregate\":\"count\"") != NULL);
  CHECK_OK(cdp_rules_expression_from_json(out, len, &back, NULL));
  CHECK(strcmp(back, "count(order, last 30 days) >= 2") == 0);
  cdp_free(back);
  cdp_free(out);
  CHECK(cdp_rules_expression_from_json("{\"op\":1}", 8, &out, NULL) == CDP_EPARSE);
  cdp_profile_store_free(s);
}

static void test_versions(void) {
  cdp_workspace *ws = NULL;
  cdp_profile_store *s = NULL;
  cdp_rule_set *rs = NULL, *loaded = NULL;
  int64_t v = 0;
  char *text = NULL;
  CHECK_OK(cdp_workspace_open(&ws, ":memory:", 8, NULL));
  CHECK_OK(cdp_profile_store_new(&s, ws));
  CHECK_OK(cdp_profile_define_attribute(s, "x", 1, CDP_TYPE_INT64, CDP_MERGE_LATEST));
  CHECK_OK(cdp_rules_compile(&rs, s, "tag a = x > 1", 13, NULL));
  CHECK_OK(cdp_rules_save(rs, ws, "set", 3, &v));
  CHECK(v == 1);
  CHECK_OK(cdp_rules_save(rs, ws, "set", 3, &v));
  CHECK(v == 2);
  CHECK_OK(cdp_rules_load(&loaded, s, ws, "set", 3, 0, NULL));
  CHECK_OK(cdp_rules_to_text(loaded, &text, NULL));
  CHECK(strcmp(text, "tag a = x > 1\n") == 0);
  cdp_free(text);
  cdp_rules_free(loaded);  /* the next call clears the out-parameter first */
  CHECK(cdp_rules_load(&loaded, s, ws, "other", 5, 0, NULL) == CDP_ENOTFOUND);
  CHECK(loaded == NULL);
  cdp_rules_free(rs);
  cdp_profile_store_free(s);
  cdp_workspace_close(ws);
}

int main(void) {
  test_compile_and_evaluate();
  test_errors_and_json();
  test_versions();
  return ctest_finish("test_rules");
}
