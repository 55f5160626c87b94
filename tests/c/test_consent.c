/* Consent through the C ABI, compiled as strict C. */
#include <stdio.h>
#include <string.h>

#include "cdpcore/cdpcore.h"
#include "ctest_util.h"

#define S(x) x, strlen(x)
static const int64_t T0 = 1704067200000000LL; /* 2024-01-01T00:00:00Z */
static const int64_t DAY = 86400000000LL;

static cdp_consent_record phone_record(const char *phone, const char *purpose, const char *channel, int32_t decision,
                                       int64_t t) {
  cdp_consent_record r = CDP_CONSENT_RECORD_INIT;
  r.subject_type = "phone";
  r.subject_type_len = 5;
  r.subject_value = phone;
  r.subject_value_len = strlen(phone);
  r.purpose = purpose;
  r.purpose_len = strlen(purpose);
  r.channel = channel;
  r.channel_len = strlen(channel);
  r.decision = decision;
  r.time_us = t;
  return r;
}

static void test_checks(cdp_consent *c) {
  cdp_consent_record r = phone_record("+8613800138000", "marketing.sms", "sms", CDP_CONSENT_GRANTED, T0);
  uint64_t seq = 0;
  int allowed = -1;
  int32_t reason = -1;
  uint64_t record = 99;
  CHECK_OK(cdp_consent_append(c, &r, T0 + DAY, &seq));
  CHECK(seq == 1);
  CHECK_OK(cdp_consent_check(c, S("phone"), S("+8613800138000"), S("marketing.sms"), S("sms"), T0 + DAY, 0, 0,
                             &allowed, &reason, &record));
  CHECK(allowed == 1);
  CHECK(reason == CDP_REASON_GRANTED);
  CHECK(record == 1);
  /* A denial is a result, not an error. */
  CHECK_OK(cdp_consent_check(c, S("phone"), S("+8613900139000"), S("marketing.sms"), S("sms"), T0 + DAY, 0, 0,
                             &allowed, &reason, &record));
  CHECK(allowed == 0);
  CHECK(reason == CDP_REASON_NO_CONSENT);
  CHECK(strcmp(cdp_consent_reason_name(reason), "no_consent") == 0);
  /* Opt-out regime by jurisdiction. */
  CHECK_OK(cdp_consent_check(c, S("phone"), S("+8613900139000"), S("marketing.email"), S("email"), T0 + DAY,
                             CDP_JURISDICTION_CCPA, 0, &allowed, &reason, NULL));
  CHECK(allowed == 1 && reason == CDP_REASON_DEFAULT_ALLOWED);
  /* Unknown purposes are errors. */
  CHECK(cdp_consent_check(c, S("phone"), S("+8613800138000"), S("marketing.fax"), S("sms"), T0, 0, 0, &allowed,
                          &reason, &record) == CDP_EINVAL);
  CHECK(strstr(cdp_last_error(), "marketing.fax") != NULL);
  /* Withdrawal, then a vectorised check. */
  r = phone_record("+8613800138000", "marketing", "*", CDP_CONSENT_WITHDRAWN, T0 + 2 * DAY);
  CHECK_OK(cdp_consent_append(c, &r, T0 + 3 * DAY, &seq));
  {
    const char *values[3] = {"+8613800138000", "+8613900139000", "\xff"};
    size_t lens[3] = {14, 14, 1};
    uint8_t ok[3] = {7, 7, 7};
    int32_t reasons[3] = {0, 0, 0};
    uint64_t recs[3] = {0, 0, 0};
    CHECK_OK(cdp_consent_check_many(c, S("phone"), values, lens, 2, S("marketing.sms"), S("sms"), T0 + DAY, 0, 0, ok,
                                    reasons, recs));
    CHECK(ok[0] == 1 && recs[0] == 1);
    CHECK(ok[1] == 0 && reasons[1] == CDP_REASON_NO_CONSENT);
    CHECK_OK(cdp_consent_check_many(c, S("phone"), values, lens, 2, S("marketing.sms"), S("sms"), T0 + 3 * DAY, 0, 0,
                                    ok, reasons, recs));
    CHECK(ok[0] == 0 && reasons[0] == CDP_REASON_WITHDRAWN && recs[0] == 2);
    ok[2] = 7;
    CHECK(cdp_consent_check_many(c, S("phone"), values, lens, 3, S("marketing.sms"), S("sms"), T0, 0, 0, ok, reasons,
                                 recs) == CDP_EUTF8);
  }
}

static void test_import_and_chain(cdp_consent *c) {
  cdp_consent_record batch[3];
  uint64_t appended = 0, suppressed = 0, first_bad = 0;
  int ok = 0;
  char *problem = (char *)&ok;
  char *json = NULL;
  uint64_t before = cdp_consent_size(c);
  batch[0] = phone_record("+8613700137001", "marketing", "*", CDP_CONSENT_GRANTED, T0);
  batch[1] = phone_record("+8613700137002", "marketing", "*", CDP_CONSENT_GRANTED, T0);
  batch[2] = phone_record("+8613700137003", "marketing", "carrier_pigeon", CDP_CONSENT_GRANTED, T0);
  CHECK(cdp_consent_import(c, batch, 3, T0 + DAY, &appended, &suppressed) == CDP_EINVAL);
  CHECK(strstr(cdp_last_error(), "record 2") != NULL);
  CHECK(cdp_consent_size(c) == before); /* nothing applied */
  batch[2].channel = "email";
  batch[2].channel_len = 5;
  CHECK_OK(cdp_consent_import(c, batch, 3, T0 + DAY, &appended, &suppressed));
  CHECK(appended == 3 && suppressed == 0);
  CHECK_OK(cdp_consent_verify_chain(c, &ok, &first_bad, &problem));
  CHECK(ok == 1 && problem == NULL);
  CHECK_OK(cdp_consent_get_json(c, 1, &json));
  CHECK(json != NULL && strstr(json, "\"marketing.sms\"") != NULL);
  cdp_free(json);
  CHECK(cdp_consent_get_json(c, 9999, &json) == CDP_ENOTFOUND);
  /* A record dated in the future beyond the tolerance. */
  batch[0].time_us = T0 + 10 * DAY;
  CHECK(cdp_consent_append(c, &batch[0], T0, NULL) == CDP_EINVAL);
  CHECK(strstr(cdp_last_error(), "future") != NULL);
}

static void test_preferences(cdp_consent *c) {
  const char *prefs = "{\"time_zone\": \"Asia/Shanghai\", \"quiet_hours\": {\"start_minute\": 1320, \"end_minute\": 480}}";
  int allowed = -1;
  int32_t reason = 0;
  cdp_consent_record r = phone_record("+8613600136000", "marketing", "*", CDP_CONSENT_GRANTED, T0);
  CHECK_OK(cdp_consent_append(c, &r, T0, NULL));
  CHECK_OK(cdp_consent_set_preferences_json(c, S("phone"), S("+8613600136000"), S(prefs), T0));
  /* 15:00 UTC is 23:00 in Shanghai: quiet. */
  CHECK_OK(cdp_consent_check(c, S("phone"), S("+8613600136000"), S("marketing"), S("sms"), T0 + 15 * 3600000000LL, 0,
                             CDP_CHECK_CONTACT_RULES, &allowed, &reason, NULL));
  CHECK(allowed == 0 && reason == CDP_REASON_QUIET_HOURS);
  CHECK_OK(cdp_consent_check(c, S("phone"), S("+8613600136000"), S("marketing"), S("sms"), T0 + 15 * 3600000000LL, 0,
                             0, &allowed, &reason, NULL));
  CHECK(allowed == 1);
  CHECK(cdp_consent_set_preferences_json(c, S("phone"), S("+8613600136000"), S("{not json"), T0) == CDP_EPARSE);
  CHECK_OK(cdp_consent_log_contact(c, S("phone"), S("+8613600136000"), S("sms"), T0 + DAY));
}

static void test_erasure(cdp_consent *c) {
  char *json = NULL;
  int suppressed = -1, allowed = -1;
  int32_t reason = 0;
  uint64_t records = 0;
  CHECK_OK(cdp_consent_export_json(c, S("phone"), S("+8613600136000"), &json));
  CHECK(json != NULL && strstr(json, "consent_history") != NULL && strstr(json, "Asia/Shanghai") != NULL);
  cdp_free(json);
  CHECK_OK(cdp_consent_erase(c, S("phone"), S("+8613600136000"), T0 + 2 * DAY, &records));
  CHECK(records == 1);
  CHECK_OK(cdp_consent_is_suppressed(c, S("phone"), S("+8613600136000"), &suppressed));
  CHECK(suppressed == 1);
  CHECK_OK(cdp_consent_check(c, S("phone"), S("+8613600136000"), S("marketing"), S("sms"), T0 + 3 * DAY, 0, 0,
                             &allowed, &reason, NULL));
  CHECK(allowed == 0 && reason == CDP_REASON_SUPPRESSED);
  CHECK_OK(cdp_consent_record_gpc(c, S("email"), S("a@example.com"), T0, T0));
  CHECK_OK(cdp_consent_check(c, S("email"), S("a@example.com"), S("third_party_sharing"), S("*"), T0 + 1,
                             CDP_JURISDICTION_CCPA, 0, &allowed, &reason, NULL));
  CHECK(allowed == 0 && reason == CDP_REASON_WITHDRAWN);
}

static void test_signals(void) {
  char *json = NULL;
  char n = 0, o = 0, l = 0;
  CHECK_OK(cdp_tcf_decode_json(S("COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA"), 0, &json));
  CHECK(json != NULL && strstr(json, "\"cmp_id\":675") != NULL);
  cdp_free(json);
  json = NULL;
  CHECK(cdp_tcf_decode_json(S("COtybn4PA_zT4Kj!"), 0, &json) == CDP_EPARSE);
  CHECK(json == NULL);
  CHECK(strstr(cdp_last_error(), "character 15") != NULL);
  CHECK(cdp_tcf_decode_json(S("BO2e4qiO2e4qiB9ABADEDS-AAAAxKABgACBiQA"), 1, &json) == CDP_EUNSUPPORTED);
  CHECK_OK(cdp_us_privacy_decode(S("1YYN"), &n, &o, &l));
  CHECK(n == 'Y' && o == 'Y' && l == 'N');
  CHECK_OK(cdp_gpp_decode_json(S("DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN"), &json));
  CHECK(json != NULL && strstr(json, "\"uspv1\"") != NULL);
  cdp_free(json);
  CHECK(cdp_gpc_parse(S("1")) == 1);
  CHECK(cdp_gpc_parse(S("0")) == 0);
}

/* Person-level checks and segment filters through an attached identity graph. */
static void test_persons(cdp_workspace *ws, cdp_consent *c) {
  cdp_identity_graph *g = NULL;
  cdp_identity_batch *b = NULL;
  cdp_bitmap *segment = NULL, *allowed_persons = NULL;
  cdp_consent_dropped dropped[4];
  size_t n_dropped = 0;
  uint32_t phone = 0, email = 0, a = 0, b_person = 0, ordinals[2];
  int allowed = -1;
  int32_t reason = -1;
  uint64_t record = 0;
  cdp_consent_record r = phone_record("+8613600136011", "marketing.sms", "sms", CDP_CONSENT_GRANTED, T0);

  CHECK(cdp_consent_check_person(c, 0, S("marketing.sms"), S("sms"), T0, 0, 0, &allowed, &reason, NULL) ==
        CDP_ESTATE);
  CHECK(strstr(cdp_last_error(), "identity") != NULL);
  CHECK_OK(cdp_identity_graph_new(&g, ws, NULL));
  CHECK_OK(cdp_identity_register_default_types(g));
  CHECK_OK(cdp_identity_type_id(g, S("phone"), &phone));
  CHECK_OK(cdp_identity_type_id(g, S("email"), &email));
  CHECK_OK(cdp_identity_batch_new(&b));
  CHECK_OK(cdp_identity_batch_begin_record(b, T0, S("crm")));
  CHECK_OK(cdp_identity_batch_add(b, phone, S("+8613600136011")));
  CHECK_OK(cdp_identity_batch_add(b, email, S("p@example.com")));
  CHECK_OK(cdp_identity_batch_begin_record(b, T0, S("crm")));
  CHECK_OK(cdp_identity_batch_add(b, phone, S("+8613600136012")));
  CHECK_OK(cdp_identity_link(g, b, NULL, NULL));
  CHECK_OK(cdp_identity_ordinal_of(g, email, S("p@example.com"), &a));
  CHECK_OK(cdp_identity_ordinal_of(g, phone, S("+8613600136012"), &b_person));
  CHECK(a != b_person);
  CHECK_OK(cdp_consent_attach_identity(c, g));
  CHECK_OK(cdp_consent_append(c, &r, T0 + DAY, NULL));

  /* The grant on the phone reaches its person, found by the e-mail. */
  CHECK_OK(cdp_consent_check_person(c, a, S("marketing.sms"), S("sms"), T0 + DAY, 0, 0, &allowed, &reason, &record));
  CHECK(allowed == 1 && reason == CDP_REASON_GRANTED && record > 0);
  CHECK_OK(cdp_consent_check_person(c, b_person, S("marketing.sms"), S("sms"), T0 + DAY, 0, 0, &allowed, &reason,
                                    NULL));
  CHECK(allowed == 0 && reason == CDP_REASON_NO_CONSENT);

  ordinals[0] = a;
  ordinals[1] = b_person;
  CHECK_OK(cdp_bitmap_from_ordinals(&segment, ordinals, 2));
  CHECK_OK(cdp_consent_filter(c, segment, S("marketing.sms"), S("sms"), T0 + DAY, 0, 0, &allowed_persons, dropped, 4,
                              &n_dropped));
  CHECK(cdp_bitmap_cardinality(allowed_persons) == 1);
  CHECK(cdp_bitmap_contains(allowed_persons, a) == 1);
  CHECK(n_dropped == 1);
  CHECK(dropped[0].reason == CDP_REASON_NO_CONSENT && dropped[0].count == 1);
  cdp_bitmap_free(allowed_persons);
  allowed_persons = NULL;
  /* Capacity 0 still reports how many reasons there are. */
  CHECK_OK(cdp_consent_filter(c, segment, S("marketing.sms"), S("sms"), T0 + DAY, 0, 0, &allowed_persons, NULL, 0,
                              &n_dropped));
  CHECK(n_dropped == 1);
  cdp_bitmap_free(allowed_persons);
  allowed_persons = NULL;
  CHECK(cdp_consent_filter(c, segment, S("marketing.fax"), S("sms"), T0 + DAY, 0, 0, &allowed_persons, NULL, 0,
                           NULL) == CDP_EINVAL);
  CHECK(allowed_persons == NULL);
  CHECK(cdp_consent_filter(c, NULL, S("marketing.sms"), S("sms"), T0 + DAY, 0, 0, &allowed_persons, NULL, 0, NULL) ==
        CDP_EINVAL);

  CHECK_OK(cdp_consent_attach_identity(c, NULL));
  CHECK(cdp_consent_check_person(c, a, S("marketing.sms"), S("sms"), T0 + DAY, 0, 0, &allowed, NULL, NULL) ==
        CDP_ESTATE);
  cdp_bitmap_free(segment);
  cdp_identity_batch_free(b);
  cdp_identity_graph_free(g);
}

int main(void) {
  cdp_workspace *ws = NULL;
  cdp_consent *c = NULL;
  cdp_consent_options opts = CDP_CONSENT_OPTIONS_INIT;
  CHECK_OK(cdp_workspace_open(&ws, ":memory:", 8, NULL));
  CHECK(cdp_consent_new(&c, NULL, NULL) == CDP_EINVAL);
  opts.version = 42;
  CHECK(cdp_consent_new(&c, ws, &opts) == CDP_EINVAL);
  CHECK(c == NULL);
  CHECK_OK(cdp_consent_options_init(&opts, CDP_CONSENT_OPTIONS_VERSION));
  CHECK_OK(cdp_consent_new(&c, ws, &opts));
  CHECK_OK(cdp_consent_define_purpose(c, S("marketing.wechat"), 0, 1, 0));
  CHECK(cdp_consent_define_purpose(c, S("no.parent"), 0, 0, 0) == CDP_EINVAL);
  CHECK_OK(cdp_consent_define_channel(c, S("line"), S("line_id"), 0));
  test_checks(c);
  test_import_and_chain(c);
  test_preferences(c);
  test_erasure(c);
  test_signals();
  test_persons(ws, c);
  cdp_consent_free(c);
  cdp_consent_free(NULL);
  cdp_workspace_close(ws);
  return ctest_finish("test_consent");
}
