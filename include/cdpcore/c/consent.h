/* cdpcore — C ABI: consent and contact preferences (cdpcore/consent.hpp), and
 * the privacy signal strings (TCF TC strings, US Privacy, GPP, GPC).
 *
 * A denied check is a result, not an error: cdp_consent_check returns CDP_OK
 * and writes allowed = 0 and the reason code. The reason codes, decisions,
 * legal bases and jurisdictions below are stable numbers. */
#ifndef CDPCORE_C_CONSENT_H
#define CDPCORE_C_CONSENT_H

#include "cdpcore/c/bitmap.h"
#include "cdpcore/c/common.h"
#include "cdpcore/c/identity.h"
#include "cdpcore/c/workspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The consent ledger, preferences and checks of one workspace. Use from one
 *  thread at a time (checks may run concurrently with each other, never with
 *  a write). */
typedef struct cdp_consent cdp_consent;

/* Decisions. */
#define CDP_CONSENT_GRANTED 1
#define CDP_CONSENT_DENIED 2
#define CDP_CONSENT_WITHDRAWN 3
#define CDP_CONSENT_OBJECTED 4

/* Legal bases. */
#define CDP_BASIS_CONSENT 1
#define CDP_BASIS_CONTRACT 2
#define CDP_BASIS_LEGITIMATE_INTEREST 3
#define CDP_BASIS_LEGAL_OBLIGATION 4
#define CDP_BASIS_VITAL_INTERESTS 5
#define CDP_BASIS_PUBLIC_TASK 6

/* Jurisdictions. */
#define CDP_JURISDICTION_PIPL 1
#define CDP_JURISDICTION_GDPR 2
#define CDP_JURISDICTION_CCPA 3

/* Person rules. */
#define CDP_PERSON_RULE_STRICT 0
#define CDP_PERSON_RULE_ANY_IDENTIFIER 1
#define CDP_PERSON_RULE_POOLED 2

/* Reason codes (below 100 allow, 100 and above deny). */
#define CDP_REASON_GRANTED 1
#define CDP_REASON_DEFAULT_ALLOWED 2
#define CDP_REASON_NO_CONSENT 100
#define CDP_REASON_DENIED 101
#define CDP_REASON_WITHDRAWN 102
#define CDP_REASON_OBJECTED 103
#define CDP_REASON_EXPIRED 104
#define CDP_REASON_SEPARATE_CONSENT_REQUIRED 105
#define CDP_REASON_LEGAL_BASIS_INVALID 106
#define CDP_REASON_SUPPRESSED 110
#define CDP_REASON_CHANNEL_NOT_PREFERRED 120
#define CDP_REASON_TOPIC_NOT_SUBSCRIBED 121
#define CDP_REASON_QUIET_HOURS 122
#define CDP_REASON_FREQUENCY_CAP 123
#define CDP_REASON_NO_IDENTIFIER 130
#define CDP_REASON_UNKNOWN_PERSON 131

/** "granted", "no_consent", …; "unknown" for other values. Static storage. */
CDP_API const char *cdp_consent_reason_name(int32_t reason);

/** No expiry (INT64_MAX). */
#define CDP_NO_EXPIRY ((int64_t)0x7FFFFFFFFFFFFFFFLL)

/* Check flags. */
#define CDP_CHECK_CONTACT_RULES 1 /**< also apply preferred channels, topics, quiet hours, frequency caps */

#define CDP_CONSENT_OPTIONS_VERSION 1
/** Options of cdp_consent_new. Initialise with CDP_CONSENT_OPTIONS_INIT or
 *  cdp_consent_options_init(). */
typedef struct cdp_consent_options {
  unsigned version;            /**< CDP_CONSENT_OPTIONS_VERSION */
  int32_t jurisdiction;        /**< default regime of checks (CDP_JURISDICTION_PIPL) */
  int32_t person_rule;         /**< CDP_PERSON_RULE_STRICT */
  int64_t future_tolerance_us; /**< records dated later than now + this are rejected (5 minutes) */
  const char *hmac_key;        /**< secret of the suppression keyed hashes; NULL: generated and stored */
  size_t hmac_key_len;
} cdp_consent_options;

#define CDP_CONSENT_OPTIONS_INIT \
  {CDP_CONSENT_OPTIONS_VERSION, CDP_JURISDICTION_PIPL, CDP_PERSON_RULE_STRICT, 300000000, NULL, 0}

/** Fills `opts` with the defaults of `version`. */
CDP_API cdp_status cdp_consent_options_init(cdp_consent_options *opts, unsigned version);

/** Binds consent to the workspace (creating its tables) and builds the
 *  in-memory index. `opts` may be NULL. The workspace handle must outlive the
 *  consent handle. Free with cdp_consent_free. */
CDP_API cdp_status cdp_consent_new(cdp_consent **out, cdp_workspace *ws, const cdp_consent_options *opts);

/** Frees the handle. NULL is a no-op. */
CDP_API void cdp_consent_free(cdp_consent *c);

/** Defines (or updates) a purpose: a dotted name whose parent exists.
 *  `separate_consent`: never implied by a broader grant; `direct_marketing`:
 *  after an objection only a newer consent allows; `opt_out_jurisdictions`:
 *  a mask of (1 << CDP_JURISDICTION_x) where no record means allowed. */
CDP_API cdp_status cdp_consent_define_purpose(cdp_consent *c, const char *name, size_t name_len,
                                              int separate_consent, int direct_marketing,
                                              uint32_t opt_out_jurisdictions);

/** Defines (or updates) a channel; `identifier_types` is a comma-separated
 *  list of identifier types that can receive it ("phone"). */
CDP_API cdp_status cdp_consent_define_channel(cdp_consent *c, const char *name, size_t name_len,
                                              const char *identifier_types, size_t identifier_types_len,
                                              uint32_t opt_in_jurisdictions);

#define CDP_CONSENT_RECORD_VERSION 1
/** One ledger record. Strings are UTF-8 with explicit lengths; NULL with
 *  length 0 is "". Initialise with CDP_CONSENT_RECORD_INIT. */
typedef struct cdp_consent_record {
  unsigned version; /**< CDP_CONSENT_RECORD_VERSION */
  const char *subject_type;
  size_t subject_type_len;
  const char *subject_value;
  size_t subject_value_len;
  const char *purpose;
  size_t purpose_len;
  const char *channel; /**< "" or "*" = every channel */
  size_t channel_len;
  int32_t decision;   /**< CDP_CONSENT_GRANTED … */
  int64_t time_us;
  int64_t expiry_us;  /**< CDP_NO_EXPIRY */
  const char *source; /**< "form", "app", "store", "call_centre", "import" … */
  size_t source_len;
  int32_t legal_basis; /**< CDP_BASIS_CONSENT … */
  const char *policy_version;
  size_t policy_version_len;
  const char *proof_method;
  size_t proof_method_len;
  const char *proof_location;
  size_t proof_location_len;
  const char *proof_reference;
  size_t proof_reference_len;
} cdp_consent_record;

#define CDP_CONSENT_RECORD_INIT                                                                          \
  {CDP_CONSENT_RECORD_VERSION, NULL, 0, NULL, 0, NULL, 0, NULL, 0, CDP_CONSENT_GRANTED, 0, CDP_NO_EXPIRY, \
   "import", 6, CDP_BASIS_CONSENT, NULL, 0, NULL, 0, NULL, 0, NULL, 0}

/** Appends one record; writes its sequence number to `out_seq` (may be
 *  NULL; 0 when the subject is suppressed and the record was skipped). */
CDP_API cdp_status cdp_consent_append(cdp_consent *c, const cdp_consent_record *record, int64_t now_us,
                                      uint64_t *out_seq);

/** Appends `count` records in one transaction: on failure nothing is applied
 *  and the message names the record index. Records about erased subjects are
 *  skipped and counted in `out_suppressed`. Out-parameters may be NULL. */
CDP_API cdp_status cdp_consent_import(cdp_consent *c, const cdp_consent_record *records, size_t count, int64_t now_us,
                                      uint64_t *out_appended, uint64_t *out_suppressed);

#define CDP_CONSENT_IMPORT_OPTIONS_VERSION 1
/** Options of cdp_consent_import_v2. Initialise with
 *  CDP_CONSENT_IMPORT_OPTIONS_INIT or cdp_consent_import_options_init(). */
typedef struct cdp_consent_import_options {
  unsigned version;          /**< CDP_CONSENT_IMPORT_OPTIONS_VERSION */
  int skip_suppressed;       /**< skip records about erased subjects instead of failing (default 1) */
  int skip_invalid_subjects; /**< skip records whose subject the identity graph cannot normalise (default 0) */
  cdp_progress_fn progress;  /**< may be NULL */
  void *progress_user_data;
} cdp_consent_import_options;

#define CDP_CONSENT_IMPORT_OPTIONS_INIT {CDP_CONSENT_IMPORT_OPTIONS_VERSION, 1, 0, NULL, NULL}

CDP_API cdp_status cdp_consent_import_options_init(cdp_consent_import_options *opts, unsigned version);

/** cdp_consent_import with options (`opts` may be NULL: the defaults above);
 *  `out_invalid` receives the records skipped by skip_invalid_subjects.
 *  Out-parameters may be NULL. */
CDP_API cdp_status cdp_consent_import_v2(cdp_consent *c, const cdp_consent_record *records, size_t count,
                                         int64_t now_us, const cdp_consent_import_options *opts,
                                         uint64_t *out_appended, uint64_t *out_suppressed, uint64_t *out_invalid);

/** Records a Global Privacy Control signal from the subject (an opt-out of
 *  sale/sharing). */
CDP_API cdp_status cdp_consent_record_gpc(cdp_consent *c, const char *type, size_t type_len, const char *value,
                                          size_t value_len, int64_t at_us, int64_t now_us);

/** Number of ledger entries. */
CDP_API uint64_t cdp_consent_size(const cdp_consent *c);

#define CDP_CONSENT_CHECK_OPTIONS_VERSION 1
/** Options of the _v2 checks and filter. Initialise with
 *  CDP_CONSENT_CHECK_OPTIONS_INIT or cdp_consent_check_options_init(). */
typedef struct cdp_consent_check_options {
  unsigned version;     /**< CDP_CONSENT_CHECK_OPTIONS_VERSION */
  int32_t jurisdiction; /**< CDP_JURISDICTION_*; 0: the handle's default */
  int contact_rules;    /**< also apply preferred channels, topics, quiet hours, frequency caps (default 1) */
  const char *topic;    /**< the message's topic, checked against the subject's topics; NULL: none */
  size_t topic_len;
  unsigned threads;     /**< cdp_consent_filter_v2: worker threads, 0 = every hardware thread */
} cdp_consent_check_options;

#define CDP_CONSENT_CHECK_OPTIONS_INIT {CDP_CONSENT_CHECK_OPTIONS_VERSION, 0, 1, NULL, 0, 0}

CDP_API cdp_status cdp_consent_check_options_init(cdp_consent_check_options *opts, unsigned version);

/** May the subject be contacted for `purpose` on `channel` at `at_us`?
 *  `flags`: CDP_CHECK_CONTACT_RULES. `jurisdiction`: 0 for the handle's
 *  default. Writes allowed (0/1), the reason code and the seq of the deciding
 *  record (0 when none); out-parameters may be NULL. */
CDP_API cdp_status cdp_consent_check(const cdp_consent *c, const char *type, size_t type_len, const char *value,
                                     size_t value_len, const char *purpose, size_t purpose_len, const char *channel,
                                     size_t channel_len, int64_t at_us, int32_t jurisdiction, uint32_t flags,
                                     int *out_allowed, int32_t *out_reason, uint64_t *out_record);
/** cdp_consent_check with options (`opts` may be NULL: the defaults of
 *  CDP_CONSENT_CHECK_OPTIONS_INIT), e.g. a message topic. */
CDP_API cdp_status cdp_consent_check_v2(const cdp_consent *c, const char *type, size_t type_len, const char *value,
                                        size_t value_len, const char *purpose, size_t purpose_len,
                                        const char *channel, size_t channel_len, int64_t at_us,
                                        const cdp_consent_check_options *opts, int *out_allowed, int32_t *out_reason,
                                        uint64_t *out_record);

/** cdp_consent_check for `count` values of one type (`values[i]` of
 *  `value_lens[i]` bytes). Each output array (any may be NULL) has `count`
 *  slots. */
CDP_API cdp_status cdp_consent_check_many(const cdp_consent *c, const char *type, size_t type_len,
                                          const char *const *values, const size_t *value_lens, size_t count,
                                          const char *purpose, size_t purpose_len, const char *channel,
                                          size_t channel_len, int64_t at_us, int32_t jurisdiction, uint32_t flags,
                                          uint8_t *out_allowed, int32_t *out_reasons, uint64_t *out_records);
/** cdp_consent_check_many with options (`opts` may be NULL). */
CDP_API cdp_status cdp_consent_check_many_v2(const cdp_consent *c, const char *type, size_t type_len,
                                             const char *const *values, const size_t *value_lens, size_t count,
                                             const char *purpose, size_t purpose_len, const char *channel,
                                             size_t channel_len, int64_t at_us, const cdp_consent_check_options *opts,
                                             uint8_t *out_allowed, int32_t *out_reasons, uint64_t *out_records);

/** Attaches an identity graph for person-level checks and segment filters
 *  (it must outlive the attachment); NULL detaches. Answers follow the
 *  graph's merges, splits and erasures. */
CDP_API cdp_status cdp_consent_attach_identity(cdp_consent *c, cdp_identity_graph *graph);

/** May person `person` (an ordinal of the attached graph) be contacted for
 *  `purpose` on `channel` at `at_us`? Combines the person's identifiers as the
 *  handle's person rule says. CDP_ESTATE without an attached graph. Arguments
 *  and out-parameters as cdp_consent_check. */
CDP_API cdp_status cdp_consent_check_person(const cdp_consent *c, uint32_t person, const char *purpose,
                                            size_t purpose_len, const char *channel, size_t channel_len,
                                            int64_t at_us, int32_t jurisdiction, uint32_t flags, int *out_allowed,
                                            int32_t *out_reason, uint64_t *out_record);
/** cdp_consent_check_person with options (`opts` may be NULL). */
CDP_API cdp_status cdp_consent_check_person_v2(const cdp_consent *c, uint32_t person, const char *purpose,
                                               size_t purpose_len, const char *channel, size_t channel_len,
                                               int64_t at_us, const cdp_consent_check_options *opts,
                                               int *out_allowed, int32_t *out_reason, uint64_t *out_record);

/** How many persons a filter dropped for one reason. */
typedef struct cdp_consent_dropped {
  int32_t reason; /**< CDP_REASON_… */
  uint64_t count;
} cdp_consent_dropped;

/** Filters the persons of `persons` to those that may be contacted for
 *  `purpose` on `channel` at `at_us` (on every hardware thread). Writes a new
 *  bitmap to `*out_allowed` (free with cdp_bitmap_free). Writes the drop
 *  counts, in ascending reason order, to the first `dropped_capacity` slots of
 *  `out_dropped` and the number of reasons to `*out_dropped_count` (which may
 *  exceed the capacity: the rest were not written). Each person is counted
 *  once, under the reason of its decisive identifier. `out_dropped` and
 *  `out_dropped_count` may be NULL. */
CDP_API cdp_status cdp_consent_filter(const cdp_consent *c, const cdp_bitmap *persons, const char *purpose,
                                      size_t purpose_len, const char *channel, size_t channel_len, int64_t at_us,
                                      int32_t jurisdiction, uint32_t flags, cdp_bitmap **out_allowed,
                                      cdp_consent_dropped *out_dropped, size_t dropped_capacity,
                                      size_t *out_dropped_count);
/** cdp_consent_filter with options (`opts` may be NULL): a topic, a number
 *  of threads. */
CDP_API cdp_status cdp_consent_filter_v2(const cdp_consent *c, const cdp_bitmap *persons, const char *purpose,
                                         size_t purpose_len, const char *channel, size_t channel_len, int64_t at_us,
                                         const cdp_consent_check_options *opts, cdp_bitmap **out_allowed,
                                         cdp_consent_dropped *out_dropped, size_t dropped_capacity,
                                         size_t *out_dropped_count);

/** Recomputes the hash chain. Writes 1 to `out_ok` when it verifies, else 0
 *  with the seq of the first bad entry and, in `*out_problem`, a message
 *  (free with cdp_free; NULL when ok). */
CDP_API cdp_status cdp_consent_verify_chain(const cdp_consent *c, int *out_ok, uint64_t *out_first_bad,
                                            char **out_problem);

/** The stored record `seq` as JSON (free with cdp_free); CDP_ENOTFOUND when
 *  there is none. */
CDP_API cdp_status cdp_consent_get_json(const cdp_consent *c, uint64_t seq, char **out_json);

/** Replaces the subject's preferences, given as JSON:
 *  {"preferred_channels": [...], "topics": [...], "time_zone": "Asia/Shanghai",
 *   "quiet_hours": {"start_minute": 1320, "end_minute": 480},
 *   "caps": [{"channel": "sms", "max_contacts": 4, "period": <microseconds>}]}. */
CDP_API cdp_status cdp_consent_set_preferences_json(cdp_consent *c, const char *type, size_t type_len,
                                                    const char *value, size_t value_len, const char *json,
                                                    size_t json_len, int64_t at_us);

/** Workspace-wide quiet hours and caps, as JSON (the same form). */
CDP_API cdp_status cdp_consent_set_default_preferences_json(cdp_consent *c, const char *json, size_t json_len);

/** Records that a message was sent on `channel` at `at_us`. */
CDP_API cdp_status cdp_consent_log_contact(cdp_consent *c, const char *type, size_t type_len, const char *value,
                                           size_t value_len, const char *channel, size_t channel_len, int64_t at_us);

/** Everything held about the subject, as JSON (free with cdp_free). */
CDP_API cdp_status cdp_consent_export_json(const cdp_consent *c, const char *type, size_t type_len,
                                           const char *value, size_t value_len, char **out_json);

/** Erases the subject, keeping a keyed-hash suppression entry. Writes the
 *  number of records whose content was removed (may be NULL). */
CDP_API cdp_status cdp_consent_erase(cdp_consent *c, const char *type, size_t type_len, const char *value,
                                     size_t value_len, int64_t at_us, uint64_t *out_records);

/** Writes 1 when the subject was erased (suppressed), else 0. */
CDP_API cdp_status cdp_consent_is_suppressed(const cdp_consent *c, const char *type, size_t type_len,
                                             const char *value, size_t value_len, int *out_suppressed);

/* ---- privacy signal strings ---- */

/** Decodes a TC string (TCF v2.2/v2.3) to JSON (free with cdp_free).
 *  `lenient` 0: strict mode. Malformed strings fail with CDP_EPARSE and the
 *  character offset in the message; TCF v1 strings with CDP_EUNSUPPORTED. */
CDP_API cdp_status cdp_tcf_decode_json(const char *tc_string, size_t len, int lenient, char **out_json);

/** Decodes a US Privacy string ("1YNN"): writes the three flags as 'Y', 'N'
 *  or '-'. */
CDP_API cdp_status cdp_us_privacy_decode(const char *s, size_t len, char *out_notice, char *out_opt_out,
                                         char *out_lspa);

/** Decodes a GPP string's header and sections to JSON (free with cdp_free). */
CDP_API cdp_status cdp_gpp_decode_json(const char *s, size_t len, char **out_json);

/** 1 when a Sec-GPC header value is "1", else 0. */
CDP_API int cdp_gpc_parse(const char *value, size_t len);

#ifdef __cplusplus
}
#endif

#endif
