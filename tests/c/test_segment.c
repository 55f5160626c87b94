/* Bitmaps and segments through the C ABI, compiled as strict C. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdpcore/cdpcore.h"
#include "ctest_util.h"

#define LEN(s) (sizeof(s) - 1)

static cdp_bitmap *of_range_step(uint32_t begin, uint32_t end, uint32_t step) {
  cdp_bitmap *b = NULL;
  uint32_t v;
  CHECK_OK(cdp_bitmap_new(&b));
  for (v = begin; v < end; v += step) CHECK_OK(cdp_bitmap_add(b, v));
  return b;
}

static void test_bitmap_basics(void) {
  const uint32_t values[] = {9, 3, 3, 70000, 1};
  cdp_bitmap *b = NULL, *c = NULL;
  uint32_t buf[8];
  uint32_t *arr = NULL;
  size_t n = 0;
  uint8_t *bytes = NULL;
  size_t len = 0, used = 0;

  CHECK_OK(cdp_bitmap_from_ordinals(&b, values, 5));
  CHECK(cdp_bitmap_cardinality(b) == 4);
  CHECK(cdp_bitmap_contains(b, 70000) == 1);
  CHECK(cdp_bitmap_contains(b, 2) == 0);
  CHECK_OK(cdp_bitmap_to_array(b, buf, 8, &n));
  CHECK(n == 4 && buf[0] == 1 && buf[1] == 3 && buf[2] == 9 && buf[3] == 70000);
  /* Too small a buffer: the size needed, nothing written. */
  CHECK(cdp_bitmap_to_array(b, buf, 2, &n) == CDP_ELIMIT);
  CHECK(n == 4);
  CHECK_OK(cdp_bitmap_to_array_alloc(b, &arr, &n));
  CHECK(n == 4 && arr[3] == 70000);
  cdp_free(arr);

  /* Portable bytes round-trip; trailing bytes are not read. */
  CHECK_OK(cdp_bitmap_serialize(b, &bytes, &len));
  CHECK_OK(cdp_bitmap_portable_size(bytes, len, &used));
  CHECK(used == len);
  CHECK_OK(cdp_bitmap_deserialize(&c, bytes, len));
  CHECK(cdp_bitmap_equals(b, c) == 1);
  cdp_bitmap_free(c);
  c = (cdp_bitmap *)&c; /* must be reset on failure */
  CHECK(cdp_bitmap_deserialize(&c, bytes, len - 1) == CDP_EPARSE);
  CHECK(c == NULL);
  CHECK(strstr(cdp_last_error(), "truncated") != NULL);
  bytes[0] = 0x11;
  CHECK(cdp_bitmap_deserialize(&c, bytes, len) == CDP_EPARSE);
  CHECK(strstr(cdp_last_error(), "cookie") != NULL);
  cdp_free(bytes);

  CHECK(cdp_bitmap_from_ordinals(&c, NULL, 3) == CDP_EINVAL);
  CHECK(cdp_bitmap_cardinality(NULL) == 0);
  cdp_bitmap_free(NULL);
  cdp_bitmap_free(b);
}

static void test_bitmap_algebra(void) {
  cdp_bitmap *twos = of_range_step(0, 100000, 2), *threes = of_range_step(0, 100000, 3);
  cdp_bitmap *r = NULL;
  const cdp_bitmap *in[2];
  uint64_t card = 0;
  in[0] = twos;
  in[1] = threes;
  /* Multiples of 6 below 100000: 16667. */
  CHECK_OK(cdp_bitmap_combine(&r, CDP_BITMAP_AND, in, 2));
  CHECK(cdp_bitmap_cardinality(r) == 16667);
  CHECK(cdp_bitmap_contains(r, 99996) == 1);
  cdp_bitmap_free(r);
  CHECK_OK(cdp_bitmap_cardinality_of(twos, CDP_BITMAP_OR, threes, &card));
  CHECK(card == 50000 + 33334 - 16667);
  CHECK_OK(cdp_bitmap_cardinality_of(twos, CDP_BITMAP_ANDNOT, threes, &card));
  CHECK(card == 50000 - 16667);
  CHECK_OK(cdp_bitmap_cardinality_of(twos, CDP_BITMAP_XOR, threes, &card));
  CHECK(card == 50000 + 33334 - 2 * 16667);
  CHECK_OK(cdp_bitmap_combine(&r, CDP_BITMAP_ANDNOT, in, 2));
  CHECK(cdp_bitmap_cardinality(r) == 50000 - 16667);
  CHECK_OK(cdp_bitmap_apply(r, CDP_BITMAP_OR, threes));
  CHECK(cdp_bitmap_cardinality(r) == 50000 + 33334 - 16667);
  CHECK(cdp_bitmap_apply(r, 7, threes) == CDP_EINVAL);
  cdp_bitmap_free(r);
  cdp_bitmap_free(twos);
  cdp_bitmap_free(threes);
}

static int count_rows(void *user, size_t rows, const uint32_t *persons, const uint64_t *keys,
                      const char *const *types, const char *const *ids) {
  size_t *total = (size_t *)user;
  (void)persons;
  (void)keys;
  (void)types;
  (void)ids;
  *total += rows;
  return 0;
}

static void test_segments(void) {
  cdp_segment_engine *e = NULL;
  cdp_bitmap *vip = of_range_step(0, 1000, 4), *sms = of_range_step(0, 1000, 2), *all = NULL, *m = NULL;
  cdp_bitmap *groups[2] = {NULL, NULL};
  const double props[2] = {0.25, 0.75};
  cdp_segment_define_options opts = CDP_SEGMENT_DEFINE_OPTIONS_INIT;
  cdp_segment_export_options xo = CDP_SEGMENT_EXPORT_OPTIONS_INIT;
  cdp_segment_export_report rep;
  uint64_t count = 0, overlap[4];
  const char *names[2] = {"reachable_vips", "vips"};
  const size_t lens[2] = {14, 4};
  char *packed = NULL;
  size_t n = 0, total = 0;
  cdp_membership_event *events = NULL;
  const char *changed[1] = {"vip"};
  const size_t changed_lens[1] = {3};
  int64_t snap = 0;

  CHECK_OK(cdp_segment_engine_new(&e, NULL));
  CHECK_OK(cdp_bitmap_from_range(&all, 0, 1000));
  CHECK_OK(cdp_segment_set_universe(e, all));
  CHECK_OK(cdp_segment_set_tag(e, "vip", 3, vip));
  CHECK_OK(cdp_segment_set_tag(e, "sms_ok", 6, sms));
  opts.description = "VIPs we may text";
  CHECK_OK(cdp_segment_define(e, "vips", 4, "vip", 3, NULL));
  CHECK_OK(cdp_segment_define(e, "reachable_vips", 14, "vips and sms_ok", LEN("vips and sms_ok"), &opts));
  CHECK_OK(cdp_segment_evaluate(e, "reachable_vips", 14, 0, &count));
  CHECK(count == 250);
  CHECK_OK(cdp_segment_count_with(e, "vips", 4, "not sms_ok", LEN("not sms_ok"), 0, &count));
  CHECK(count == 0);
  CHECK_OK(cdp_segment_overlap(e, names, lens, 2, overlap));
  CHECK(overlap[0] == 250 && overlap[1] == 250 && overlap[3] == 250);

  /* Errors carry the position. */
  CHECK(cdp_segment_define(e, "bad", 3, "vip and nothing", LEN("vip and nothing"), NULL) == CDP_ENOTFOUND);
  CHECK(strstr(cdp_last_error(), "line 1, column 9") != NULL);
  CHECK(cdp_segment_define(e, "bad", 3, "vip and (", LEN("vip and ("), NULL) == CDP_EPARSE);
  CHECK(cdp_segment_define(e, "vips", 4, "sms_ok", 6, NULL) == CDP_ECONFLICT);
  CHECK(cdp_segment_define(e, "x", 1, "\xff", 1, NULL) == CDP_EUTF8);

  CHECK_OK(cdp_segment_names(e, &packed, &n));
  CHECK(n == 2 && strcmp(packed, "reachable_vips") == 0 && strcmp(packed + 15, "vips") == 0);
  cdp_free(packed);
  CHECK_OK(cdp_segment_segments_of(e, 8, &packed, &n));
  CHECK(n == 2);
  cdp_free(packed);
  CHECK_OK(cdp_segment_segments_of(e, 9, &packed, &n));
  CHECK(n == 0 && packed == NULL);

  /* One person becomes a VIP. */
  CHECK_OK(cdp_segment_set_person_tag(e, 2, "vip", 3, 1));
  CHECK_OK(cdp_segment_snapshot(e, "reachable_vips", 14, 0, "before", 6, &snap));
  CHECK_OK(cdp_segment_update_person(e, 2, changed, changed_lens, 1, 10, &events, &n));
  CHECK(n == 2);
  if (n == 2) {
    CHECK(strcmp(events[0].segment, "vips") == 0 && events[0].entered == 1 && events[0].person == 2);
    CHECK(strcmp(events[1].segment, "reachable_vips") == 0);
  }
  cdp_free(events);

  /* Holdout split and export. */
  CHECK_OK(cdp_segment_members(e, "reachable_vips", 14, &m));
  CHECK(cdp_bitmap_cardinality(m) == 251);
  CHECK_OK(cdp_segment_split(e, m, "salt", 4, props, 2, groups));
  CHECK(cdp_bitmap_cardinality(groups[0]) + cdp_bitmap_cardinality(groups[1]) == 251);
  xo.allowed = groups[1];
  CHECK_OK(cdp_segment_export(e, m, &xo, count_rows, &total, &rep));
  CHECK(total == cdp_bitmap_cardinality(groups[1]));
  CHECK(rep.exported == total && rep.not_allowed == cdp_bitmap_cardinality(groups[0]));
  cdp_bitmap_free(groups[0]);
  cdp_bitmap_free(groups[1]);
  cdp_bitmap_free(m);
  {
    cdp_bitmap *in = NULL, *out = NULL;
    int64_t snap2 = 0;
    CHECK_OK(cdp_segment_snapshot(e, "reachable_vips", 14, 10, NULL, 0, &snap2));
    CHECK_OK(cdp_segment_diff(e, snap, snap2, &in, &out));
    CHECK(cdp_bitmap_cardinality(in) == 1 && cdp_bitmap_contains(in, 2));
    CHECK(cdp_bitmap_cardinality(out) == 0);
    cdp_bitmap_free(in);
    cdp_bitmap_free(out);
  }
  CHECK_OK(cdp_segment_changes_since(e, 0, 100, &events, &n));
  CHECK(n == 2);
  cdp_free(events);

  cdp_bitmap_free(vip);
  cdp_bitmap_free(sms);
  cdp_bitmap_free(all);
  cdp_segment_engine_free(e);
  cdp_segment_engine_free(NULL);
}

static void test_segments_persist(const char *path) {
  cdp_workspace *ws = NULL;
  cdp_segment_engine *e = NULL;
  cdp_bitmap *members = NULL, *got = NULL;
  remove(path);
  CHECK_OK(cdp_workspace_open(&ws, path, strlen(path), NULL));
  CHECK_OK(cdp_segment_engine_new(&e, ws));
  CHECK_OK(cdp_bitmap_from_range(&members, 100, 200));
  CHECK_OK(cdp_segment_define_fixed(e, "list", 4, members, NULL));
  cdp_segment_engine_free(e);
  cdp_workspace_close(ws);

  CHECK_OK(cdp_workspace_open(&ws, path, strlen(path), NULL));
  CHECK_OK(cdp_segment_engine_new(&e, ws));
  cdp_workspace_close(ws); /* the engine keeps it open */
  CHECK_OK(cdp_segment_members(e, "list", 4, &got));
  CHECK(cdp_bitmap_equals(got, members) == 1);
  cdp_bitmap_free(got);
  cdp_bitmap_free(members);
  cdp_segment_engine_free(e);
  remove(path);
}

int main(void) {
  test_bitmap_basics();
  test_bitmap_algebra();
  test_segments();
  test_segments_persist("c_test_segment.cdp");
  return ctest_finish("test_segment");
}
