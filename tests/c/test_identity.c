/* The identity graph through the C ABI, compiled as strict C. */
#include <stdio.h>
#include <string.h>

#include "cdpcore/cdpcore.h"
#include "ctest_util.h"

#define S(x) x, strlen(x)

static int merges_seen = 0;
static int splits_seen = 0;
static int rolled_back = 0;
static int refuse = 0;

static int on_merged(void *user, uint32_t survivor, uint64_t survivor_key, uint32_t absorbed, uint64_t absorbed_key,
                     const char *json, size_t len) {
  (void)user;
  (void)survivor;
  (void)absorbed;
  CHECK(survivor_key < absorbed_key); /* the oldest key survives */
  CHECK(len > 0 && strstr(json, "\"kind\":\"merged\"") != NULL);
  ++merges_seen;
  return refuse;
}

static int on_split(void *user, uint32_t ordinal, uint64_t key, const char *json, size_t len) {
  (void)user;
  (void)ordinal;
  (void)key;
  CHECK(len > 0 && strstr(json, "\"values\"") != NULL);
  ++splits_seen;
  return 0;
}

static void on_rolled_back(void *user) {
  (void)user;
  ++rolled_back;
}

/* A custom normaliser: keeps the digits only. */
static int digits_only(void *user, const char *value, size_t len, char *out, size_t cap, size_t *out_len) {
  size_t i, n = 0;
  (void)user;
  for (i = 0; i < len; ++i) {
    if (value[i] >= '0' && value[i] <= '9') {
      if (n == cap) return 2;
      out[n++] = value[i];
    }
  }
  *out_len = n;
  return n == 0 ? 1 : 0;
}

static void test_link_and_lookup(void) {
  cdp_identity_graph *g = NULL;
  cdp_identity_batch *b = NULL;
  cdp_identity_link_result *res = NULL;
  cdp_identity_listener l;
  uint32_t phone = 0, crm = 0, email = 0, ord = 0, ord2 = 0, cap = 0;
  uint64_t key = 0, key2 = 0;
  char *json = NULL;
  cdp_bitmap *persons = NULL;
  const char *values[3];
  size_t lens[3];
  uint32_t out[3];

  CHECK_OK(cdp_identity_graph_new(&g, NULL, NULL));
  CHECK_OK(cdp_identity_register_default_types(g));
  CHECK_OK(cdp_identity_type_id(g, S("phone"), &phone));
  CHECK_OK(cdp_identity_type_id(g, S("crm_id"), &crm));
  CHECK_OK(cdp_identity_type_id(g, S("email"), &email));
  CHECK(cdp_identity_type_id(g, S("nope"), &ord) == CDP_ENOTFOUND);

  memset(&l, 0, sizeof l);
  l.version = CDP_IDENTITY_LISTENER_VERSION;
  l.user_data = &merges_seen;
  l.on_merged = on_merged;
  l.on_split = on_split;
  l.on_rolled_back = on_rolled_back;
  CHECK_OK(cdp_identity_add_listener(g, &l));

  CHECK_OK(cdp_identity_batch_new(&b));
  CHECK_OK(cdp_identity_batch_begin_record(b, 1000, S("crm")));
  CHECK_OK(cdp_identity_batch_add(b, phone, S("138 0013 8000")));
  CHECK_OK(cdp_identity_batch_add(b, crm, S("M1")));
  CHECK_OK(cdp_identity_batch_begin_record(b, 2000, S("web")));
  CHECK_OK(cdp_identity_batch_add_named(b, S("email"), S("A@x.com")));
  CHECK(cdp_identity_batch_size(b) == 2);
  CHECK_OK(cdp_identity_link(g, b, NULL, &res));
  CHECK(cdp_identity_link_result_count(res, CDP_LINK_RECORDS) == 2);
  CHECK(cdp_identity_link_result_count(res, CDP_LINK_NEW_PERSONS) == 2);
  CHECK(cdp_identity_link_result_record_id(res, 0) == 0);
  cdp_identity_link_result_free(res);
  cdp_identity_link_result_free(NULL);

  /* An order links the two. */
  cdp_identity_batch_clear(b);
  CHECK_OK(cdp_identity_batch_begin_record(b, 3000, S("order")));
  CHECK_OK(cdp_identity_batch_add(b, email, S("a@x.com")));
  CHECK_OK(cdp_identity_batch_add(b, phone, S("+8613800138000")));
  CHECK_OK(cdp_identity_link(g, b, NULL, NULL));
  CHECK(merges_seen == 1);

  CHECK_OK(cdp_identity_ordinal_of(g, crm, S("M1"), &ord));
  CHECK_OK(cdp_identity_ordinal_of(g, email, S(" A@X.COM "), &ord2));
  CHECK(ord == ord2 && ord != CDP_NO_PERSON);
  CHECK_OK(cdp_identity_ordinal_of(g, email, S("unknown@x.com"), &ord2));
  CHECK(ord2 == CDP_NO_PERSON);
  CHECK_OK(cdp_identity_key_of(g, ord, &key));
  CHECK(key == 1);
  CHECK_OK(cdp_identity_resolve_key(g, 2, &key2));
  CHECK(key2 == 1);
  CHECK_OK(cdp_identity_ordinal_of_key(g, 2, &ord2));
  CHECK(ord2 == ord);

  values[0] = "13800138000";
  values[1] = "bogus";
  values[2] = "+86 138 0013 8000";
  lens[0] = strlen(values[0]);
  lens[1] = strlen(values[1]);
  lens[2] = strlen(values[2]);
  CHECK_OK(cdp_identity_ordinals_of(g, phone, 3, values, lens, out));
  CHECK(out[0] == ord && out[1] == CDP_NO_PERSON && out[2] == ord);

  CHECK_OK(cdp_identity_identifiers_of(g, ord, CDP_NO_TYPE, &json));
  CHECK(json && strstr(json, "\"+8613800138000\"") != NULL && strstr(json, "\"a@x.com\"") != NULL);
  cdp_free(json);
  CHECK_OK(cdp_identity_persons(g, &persons));
  CHECK(cdp_bitmap_cardinality(persons) == 1);
  CHECK(cdp_bitmap_contains(persons, ord));
  cdp_bitmap_free(persons);
  CHECK_OK(cdp_identity_ordinal_capacity(g, &cap));
  CHECK(cap == 2);

  CHECK_OK(cdp_identity_changes_since(g, 0, 100, &json));
  CHECK(json && strstr(json, "\"cause\":\"link\"") != NULL && strstr(json, "\"source\":\"order\"") != NULL);
  cdp_free(json);
  CHECK_OK(cdp_identity_explain(g, crm, S("M1"), email, S("a@x.com"), &json));
  CHECK(json && strstr(json, "\"same_person\":true") != NULL);
  cdp_free(json);
  CHECK_OK(cdp_identity_to_dot(g, ord, 1, &json, NULL));
  CHECK(json && strncmp(json, "graph person_1", 14) == 0);
  cdp_free(json);

  /* A listener that refuses aborts the batch: nothing applied. */
  refuse = 1;
  cdp_identity_batch_clear(b);
  CHECK_OK(cdp_identity_batch_begin_record(b, 4000, S("order")));
  CHECK_OK(cdp_identity_batch_add(b, crm, S("M1")));
  CHECK_OK(cdp_identity_batch_add(b, email, S("new@x.com")));
  CHECK_OK(cdp_identity_batch_begin_record(b, 4000, S("order")));
  CHECK_OK(cdp_identity_batch_add(b, email, S("new@x.com")));
  CHECK_OK(cdp_identity_batch_add(b, email, S("other@x.com")));
  CHECK_OK(cdp_identity_batch_begin_record(b, 3500, S("web")));
  CHECK_OK(cdp_identity_batch_add(b, email, S("other@x.com")));
  CHECK(cdp_identity_link(g, b, NULL, NULL) == CDP_ECANCELLED);
  CHECK(rolled_back == 1);
  CHECK_OK(cdp_identity_ordinal_of(g, email, S("new@x.com"), &ord2));
  CHECK(ord2 == CDP_NO_PERSON);
  refuse = 0;
  CHECK_OK(cdp_identity_remove_listener(g, &merges_seen));
  CHECK(cdp_identity_remove_listener(g, &merges_seen) == CDP_ENOTFOUND);

  cdp_identity_batch_free(b);
  cdp_identity_batch_free(NULL);
  cdp_identity_graph_free(g);
  cdp_identity_graph_free(NULL);
}

static void test_bad_input_and_types(void) {
  cdp_identity_graph *g = NULL;
  cdp_identity_batch *b = NULL;
  cdp_identity_link_result *res = NULL;
  cdp_identity_type_options to = CDP_IDENTITY_TYPE_OPTIONS_INIT;
  cdp_identity_link_options lo;
  uint32_t phone = 0, card = 0, ord = 0;
  size_t rec = 0, idx = 0;
  cdp_status code = 0;
  const char *msg = NULL;
  char *norm = NULL;
  size_t norm_len = 0;
  int64_t times[2] = {10, 20};
  uint64_t offsets[3] = {0, 2, 3};
  uint32_t types[3];
  const char *vals[3];
  size_t lens[3];

  CHECK_OK(cdp_identity_graph_new(&g, NULL, NULL));
  to.normalizer = CDP_NORMALIZER_PHONE;
  to.limit = 3;
  CHECK_OK(cdp_identity_register_type(g, S("phone"), &to, &phone));
  CHECK_OK(cdp_identity_type_options_init(&to, CDP_IDENTITY_TYPE_OPTIONS_VERSION));
  to.normalizer = CDP_NORMALIZER_CUSTOM;
  to.custom_fn = digits_only;
  CHECK_OK(cdp_identity_register_type(g, S("card"), &to, &card));
  CHECK_OK(cdp_identity_normalize(g, card, S("VIP-12-34"), &norm, &norm_len));
  CHECK(norm_len == 4 && strcmp(norm, "1234") == 0);
  cdp_free(norm);
  CHECK(cdp_identity_normalize(g, card, S("none"), &norm, NULL) == CDP_EINVAL);
  CHECK(strstr(cdp_last_error(), "rejected") != NULL);
  CHECK(cdp_identity_normalize(g, phone, S("12"), &norm, NULL) == CDP_EPARSE);
  to.normalizer = CDP_NORMALIZER_EMAIL;
  CHECK(cdp_identity_register_type(g, S("phone"), &to, NULL) == CDP_ECONFLICT);
  to.version = 99;
  CHECK(cdp_identity_register_type(g, S("x"), &to, NULL) == CDP_EINVAL);

  CHECK_OK(cdp_identity_batch_new(&b));
  CHECK(cdp_identity_batch_add(b, phone, S("13800138000")) == CDP_ESTATE); /* no record begun */
  types[0] = phone;
  types[1] = card;
  types[2] = phone;
  vals[0] = "13800138000";
  vals[1] = "card 77";
  vals[2] = "\xff\xfe";
  lens[0] = strlen(vals[0]);
  lens[1] = strlen(vals[1]);
  lens[2] = 2;
  CHECK_OK(cdp_identity_batch_add_records(b, 2, times, offsets, types, vals, lens, S("import")));
  /* All or nothing: the bad UTF-8 of record 1 rejects the batch. */
  CHECK(cdp_identity_link(g, b, NULL, NULL) == CDP_EUTF8);
  CHECK(strstr(cdp_last_error(), "record 1, identifier 0 (phone)") != NULL);
  CHECK_OK(cdp_identity_ordinal_of(g, card, S("77"), &ord));
  CHECK(ord == CDP_NO_PERSON);
  /* Best effort: record 0 goes in, record 1 is reported. */
  CHECK_OK(cdp_identity_link_options_init(&lo, CDP_IDENTITY_LINK_OPTIONS_VERSION));
  lo.best_effort = 1;
  CHECK_OK(cdp_identity_link(g, b, &lo, &res));
  CHECK(cdp_identity_link_result_count(res, CDP_LINK_RECORDS) == 1);
  CHECK(cdp_identity_link_result_count(res, CDP_LINK_REJECTED) == 1);
  CHECK(cdp_identity_link_result_error_count(res) == 1);
  CHECK_OK(cdp_identity_link_result_error(res, 0, &rec, &idx, &code, &msg));
  CHECK(rec == 1 && idx == 0 && code == CDP_EUTF8 && strstr(msg, "UTF-8") != NULL);
  CHECK(cdp_identity_link_result_error(res, 5, NULL, NULL, NULL, NULL) == CDP_EINVAL);
  CHECK(cdp_identity_link_result_record_id(res, 1) == CDP_NO_RECORD);
  cdp_identity_link_result_free(res);
  CHECK_OK(cdp_identity_ordinal_of(g, card, S("77"), &ord));
  CHECK(ord != CDP_NO_PERSON);
  CHECK(cdp_identity_ordinal_of(NULL, card, S("77"), &ord) == CDP_EINVAL);
  cdp_identity_batch_free(b);
  cdp_identity_graph_free(g);
}

static void test_persisted_erasure(const char *path) {
  cdp_workspace *ws = NULL;
  cdp_identity_graph *g = NULL;
  cdp_identity_batch *b = NULL;
  cdp_identity_remove_options ro = CDP_IDENTITY_REMOVE_OPTIONS_INIT;
  uint32_t email = 0, crm = 0, ord = 0;
  char *report = NULL;
  int sup = 0;
  FILE *f;
  char buf[65536];
  size_t n;
  int found = 0;

  remove(path);
  CHECK_OK(cdp_workspace_open(&ws, path, strlen(path), NULL));
  CHECK_OK(cdp_identity_graph_new(&g, ws, NULL));
  CHECK_OK(cdp_identity_register_default_types(g));
  CHECK_OK(cdp_identity_type_id(g, S("email"), &email));
  CHECK_OK(cdp_identity_type_id(g, S("crm_id"), &crm));
  CHECK_OK(cdp_identity_batch_new(&b));
  CHECK_OK(cdp_identity_batch_begin_record(b, 1, S("crm")));
  CHECK_OK(cdp_identity_batch_add(b, email, S("c-erasure-test@example.org")));
  CHECK_OK(cdp_identity_batch_add(b, crm, S("C-ERASE-42")));
  CHECK_OK(cdp_identity_link(g, b, NULL, NULL));
  CHECK_OK(cdp_identity_ordinal_of(g, crm, S("C-ERASE-42"), &ord));
  ro.dry_run = 1;
  CHECK_OK(cdp_identity_erase_person(g, ord, &ro, &report));
  CHECK(report && strstr(report, "\"dry_run\":true") != NULL && strstr(report, "example.org") != NULL);
  CHECK(report && strstr(report, "c-erasure-test") == NULL); /* masked */
  cdp_free(report);
  ro.dry_run = 0;
  ro.suppress = 1;
  ro.note = "request 9";
  ro.note_len = 9;
  CHECK_OK(cdp_identity_erase_person(g, ord, &ro, NULL));
  CHECK(cdp_identity_erase_person(g, ord, &ro, NULL) == CDP_ENOTFOUND);
  CHECK_OK(cdp_identity_is_suppressed(g, email, S("C-Erasure-Test@example.org"), &sup));
  CHECK(sup == 1);
  cdp_identity_batch_free(b);
  cdp_identity_graph_free(g);
  cdp_workspace_close(ws);

  f = fopen(path, "rb");
  CHECK(f != NULL);
  if (f) {
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
      size_t i;
      for (i = 0; i + 10 <= n; ++i)
        if (memcmp(buf + i, "C-ERASE-42", 10) == 0) found = 1;
    }
    fclose(f);
  }
  CHECK(found == 0);
  remove(path);
}

int main(void) {
  test_link_and_lookup();
  test_bad_input_and_types();
  test_persisted_erasure("c_test_identity.cdp");
  (void)splits_seen;
  return ctest_finish("test_identity");
}
