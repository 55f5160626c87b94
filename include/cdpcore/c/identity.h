/* cdpcore — C ABI: the identity graph (OneID). See cdpcore/identity.hpp for
 * the semantics: person keys that survive merges, dense ordinals for
 * bitmaps, merge protection (limits, priorities, blocks), the change log,
 * removal and erasure, explanations.
 *
 * Lists (identifiers of a person, the change log, conflicts, reports) are
 * returned as UTF-8 JSON text allocated by the library: free it with
 * cdp_free. Their fields have the names of the C++ structs' members. */
#ifndef CDPCORE_C_IDENTITY_H
#define CDPCORE_C_IDENTITY_H

#include "cdpcore/c/bitmap.h"
#include "cdpcore/c/common.h"
#include "cdpcore/c/workspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An identity graph, in memory or bound to a workspace. Not thread-safe:
 *  use a handle from one thread at a time. */
typedef struct cdp_identity_graph cdp_identity_graph;
/** Records to link, built up and then passed to cdp_identity_link. Owns
 *  copies of every string added. */
typedef struct cdp_identity_batch cdp_identity_batch;
/** What cdp_identity_link did: counts, per-record errors, record ids. */
typedef struct cdp_identity_link_result cdp_identity_link_result;

#define CDP_NO_PERSON 0xFFFFFFFFu /**< no person (unknown, blocked or removed identifier) */
#define CDP_NO_TYPE   0xFFFFFFFFu /**< no identifier type / all types */
#define CDP_NO_RECORD UINT64_MAX  /**< a rejected record */

/* ---- the graph ------------------------------------------------------------ */

#define CDP_IDENTITY_OPTIONS_VERSION 1
/** Options of a graph. Initialise with CDP_IDENTITY_OPTIONS_INIT. */
typedef struct cdp_identity_options {
  unsigned version;              /**< CDP_IDENTITY_OPTIONS_VERSION */
  uint32_t max_identifiers;      /**< hard cap of identifiers per person (default 1000) */
  uint32_t auto_block_threshold; /**< default auto-block threshold of every type, 0 = off (at most 250) */
  int reuse_ordinals;            /**< reuse freed ordinals in later batches (default 1) */
  int drop_suppressed;           /**< drop values on the suppression list (default 1) */
  const char *suppression_key;   /**< key of the suppression list's hashes; NULL: generated and kept */
  size_t suppression_key_len;
  uint64_t memory_log_limit;     /**< change-log entries an in-memory graph keeps (default 1048576) */
} cdp_identity_options;
#define CDP_IDENTITY_OPTIONS_INIT {CDP_IDENTITY_OPTIONS_VERSION, 1000, 0, 1, 1, NULL, 0, 1048576}

CDP_API cdp_status cdp_identity_options_init(cdp_identity_options *opts, unsigned version);

/** A graph bound to `ws` (its state is loaded from and written to the
 *  workspace file; the workspace must outlive the graph), or in memory only
 *  when `ws` is NULL. `opts` may be NULL. Free with cdp_identity_graph_free. */
CDP_API cdp_status cdp_identity_graph_new(cdp_identity_graph **out, cdp_workspace *ws,
                                          const cdp_identity_options *opts);
/** Frees the graph. NULL is a no-op. */
CDP_API void cdp_identity_graph_free(cdp_identity_graph *g);

/* ---- identifier types ------------------------------------------------------- */

#define CDP_NORMALIZER_NONE   0 /**< as given (empty / whitespace-only values are still rejected) */
#define CDP_NORMALIZER_TRIM   1 /**< surrounding whitespace removed */
#define CDP_NORMALIZER_LOWER  2 /**< trimmed, ASCII lower case */
#define CDP_NORMALIZER_EMAIL  3 /**< trimmed, lower case, checked; optional provider folding */
#define CDP_NORMALIZER_PHONE  4 /**< libphonenumber, default region, E.164 */
#define CDP_NORMALIZER_CUSTOM 5 /**< a callback (custom_fn) */

#define CDP_STORAGE_CLEAR      0 /**< the normalised value */
#define CDP_STORAGE_KEYED_HASH 1 /**< HMAC-SHA256(hash_key, normalised value) */

#define CDP_INPUT_RAW    0 /**< values as seen */
#define CDP_INPUT_SHA256 1 /**< 64 hex digits: SHA-256 of the normalised value */

/** A custom normaliser: writes the normalised form of `value` to `out`
 *  (at most `out_cap` bytes, the type's max_length) and its length to
 *  `*out_len`, and returns 0; any other return rejects the value. May be
 *  called from several threads at once when the type says custom_thread_safe. */
typedef int (*cdp_identity_normalize_fn)(void *user_data, const char *value, size_t value_len, char *out,
                                         size_t out_cap, size_t *out_len);

#define CDP_IDENTITY_TYPE_OPTIONS_VERSION 1
/** Options of an identifier type. Initialise with CDP_IDENTITY_TYPE_OPTIONS_INIT. */
typedef struct cdp_identity_type_options {
  unsigned version;          /**< CDP_IDENTITY_TYPE_OPTIONS_VERSION */
  int normalizer;            /**< CDP_NORMALIZER_* (default TRIM) */
  const char *phone_region;  /**< default region of the phone normaliser (default "CN"); NUL-terminated */
  int email_fold_providers;  /**< fold gmail dots and "+tags" of known providers */
  uint32_t limit;            /**< identifiers of this type per person, 0 = unlimited */
  int64_t limit_window;      /**< ... last seen within this many microseconds (0 = ever) */
  int32_t priority;          /**< higher gives way later */
  int64_t ttl;               /**< unseen for longer than this (microseconds) stops linking; 0 = never */
  int storage;               /**< CDP_STORAGE_* */
  const char *hash_key;      /**< key for CDP_STORAGE_KEYED_HASH (not stored in the file) */
  size_t hash_key_len;
  int input;                 /**< CDP_INPUT_* */
  uint32_t max_length;       /**< longest normalised value (default 256, at most 1023) */
  uint32_t auto_block_threshold; /**< 0 = the graph's default */
  int never_auto_block;
  cdp_identity_normalize_fn custom_fn; /**< for CDP_NORMALIZER_CUSTOM */
  void *custom_user_data;
  int custom_thread_safe;
} cdp_identity_type_options;
#define CDP_IDENTITY_TYPE_OPTIONS_INIT \
  {CDP_IDENTITY_TYPE_OPTIONS_VERSION, CDP_NORMALIZER_TRIM, NULL, 0, 0, 0, 0, 0, CDP_STORAGE_CLEAR, NULL, 0, \
   CDP_INPUT_RAW, 256, 0, 0, NULL, NULL, 0}

CDP_API cdp_status cdp_identity_type_options_init(cdp_identity_type_options *opts, unsigned version);

/** Registers a type (or returns the id of an existing one with the same
 *  normaliser, storage and input; CDP_ECONFLICT when those differ). */
CDP_API cdp_status cdp_identity_register_type(cdp_identity_graph *g, const char *name, size_t name_len,
                                              const cdp_identity_type_options *opts, uint32_t *out_type);
/** Registers phone, email, unionid, openid_mp, openid_oa, device_id, crm_id,
 *  cookie (see IdentityGraph::register_default_types). */
CDP_API cdp_status cdp_identity_register_default_types(cdp_identity_graph *g);
/** The id of a type; CDP_ENOTFOUND when no such type. */
CDP_API cdp_status cdp_identity_type_id(const cdp_identity_graph *g, const char *name, size_t name_len,
                                        uint32_t *out_type);
/** Supplies a custom normaliser (after reopening a workspace, or to replace one). */
CDP_API cdp_status cdp_identity_set_custom_normalizer(cdp_identity_graph *g, uint32_t type,
                                                      cdp_identity_normalize_fn fn, void *user_data,
                                                      int thread_safe);
/** Supplies the HMAC key of a keyed-hash type after reopening (CDP_EINVAL when it does not match). */
CDP_API cdp_status cdp_identity_set_hash_key(cdp_identity_graph *g, uint32_t type, const char *key, size_t key_len);
/** The stored form of a value (hex for hashed types). `*out` is NUL-terminated;
 *  free with cdp_free. Fails with the reason (CDP_EPARSE, CDP_EINVAL, CDP_EUTF8 …). */
CDP_API cdp_status cdp_identity_normalize(const cdp_identity_graph *g, uint32_t type, const char *value,
                                          size_t value_len, char **out, size_t *out_len);

/* ---- linking ------------------------------------------------------------------ */

/** An empty batch. Free with cdp_identity_batch_free. */
CDP_API cdp_status cdp_identity_batch_new(cdp_identity_batch **out);
CDP_API void cdp_identity_batch_free(cdp_identity_batch *b);
/** Starts a record seen at `time` (UTC microseconds) from `source`. */
CDP_API cdp_status cdp_identity_batch_begin_record(cdp_identity_batch *b, int64_t time, const char *source,
                                                   size_t source_len);
/** Adds an identifier to the current record, by type id ... */
CDP_API cdp_status cdp_identity_batch_add(cdp_identity_batch *b, uint32_t type, const char *value, size_t value_len);
/** ... or by type name (unknown names are reported per record when linking). */
CDP_API cdp_status cdp_identity_batch_add_named(cdp_identity_batch *b, const char *type, size_t type_len,
                                                const char *value, size_t value_len);
/** Adds `n_records` records at once: record i holds identifiers
 *  [offsets[i], offsets[i+1]) of `types` / `values` (`value_lens` bytes
 *  each), seen at times[i] from `source`. */
CDP_API cdp_status cdp_identity_batch_add_records(cdp_identity_batch *b, size_t n_records, const int64_t *times,
                                                  const uint64_t *offsets, const uint32_t *types,
                                                  const char *const *values, const size_t *value_lens,
                                                  const char *source, size_t source_len);
/** Number of records in the batch. */
CDP_API size_t cdp_identity_batch_size(const cdp_identity_batch *b);
CDP_API void cdp_identity_batch_clear(cdp_identity_batch *b);

#define CDP_IDENTITY_LINK_OPTIONS_VERSION 1
typedef struct cdp_identity_link_options {
  unsigned version;             /**< CDP_IDENTITY_LINK_OPTIONS_VERSION */
  int best_effort;              /**< 0: an invalid record rejects the batch (CDP_EPARSE …, nothing
                                     applied); 1: invalid records are skipped and reported */
  int skip_invalid_identifiers; /**< drop only the invalid identifiers of a record */
  cdp_progress_fn progress;     /**< may be NULL */
  void *progress_user_data;
} cdp_identity_link_options;
#define CDP_IDENTITY_LINK_OPTIONS_INIT {CDP_IDENTITY_LINK_OPTIONS_VERSION, 0, 0, NULL, NULL}

CDP_API cdp_status cdp_identity_link_options_init(cdp_identity_link_options *opts, unsigned version);

/** Links the batch in one transaction. `opts` may be NULL. When
 *  `out_result` is not NULL it receives the result (free with
 *  cdp_identity_link_result_free). */
CDP_API cdp_status cdp_identity_link(cdp_identity_graph *g, const cdp_identity_batch *b,
                                     const cdp_identity_link_options *opts, cdp_identity_link_result **out_result);

/** Counters of a link result (cdp_identity_link_result_count). */
#define CDP_LINK_RECORDS         0 /**< records applied */
#define CDP_LINK_REJECTED        1
#define CDP_LINK_IDENTIFIERS     2
#define CDP_LINK_NEW_IDENTIFIERS 3
#define CDP_LINK_NEW_PERSONS     4
#define CDP_LINK_MERGES          5
#define CDP_LINK_SPLITS          6
#define CDP_LINK_CONFLICTS       7
#define CDP_LINK_BLOCKED         8
#define CDP_LINK_NEWLY_BLOCKED   9
#define CDP_LINK_SUPPRESSED     10
#define CDP_LINK_EXPIRED        11
#define CDP_LINK_FIRST_CHANGE   12
#define CDP_LINK_LAST_CHANGE    13

/** A counter (0 for an unknown one or a NULL result). */
CDP_API uint64_t cdp_identity_link_result_count(const cdp_identity_link_result *r, int which);
/** Number of per-record errors. */
CDP_API size_t cdp_identity_link_result_error_count(const cdp_identity_link_result *r);
/** Error `i`: the record's index in the batch, the identifier's index in the
 *  record (SIZE_MAX for the record itself), the status and the message
 *  (owned by the result). Any out-pointer may be NULL. */
CDP_API cdp_status cdp_identity_link_result_error(const cdp_identity_link_result *r, size_t i, size_t *out_record,
                                                  size_t *out_identifier, cdp_status *out_code,
                                                  const char **out_message);
/** The record id given to record `index` of the batch (CDP_NO_RECORD when rejected). */
CDP_API uint64_t cdp_identity_link_result_record_id(const cdp_identity_link_result *r, size_t index);
CDP_API void cdp_identity_link_result_free(cdp_identity_link_result *r);

/* ---- lookups ------------------------------------------------------------------- */

/** The person of a value (normalised first); CDP_NO_PERSON when unknown,
 *  invalid or blocked (not an error). */
CDP_API cdp_status cdp_identity_ordinal_of(const cdp_identity_graph *g, uint32_t type, const char *value,
                                           size_t value_len, uint32_t *out_ordinal);
/** Many values of one type: out[i] for values[i] (`value_lens[i]` bytes). */
CDP_API cdp_status cdp_identity_ordinals_of(const cdp_identity_graph *g, uint32_t type, size_t n,
                                            const char *const *values, const size_t *value_lens, uint32_t *out);
/** The key of an ordinal (0 when the ordinal is free). */
CDP_API cdp_status cdp_identity_key_of(const cdp_identity_graph *g, uint32_t ordinal, uint64_t *out_key);
/** The live ordinal of a key, following merges (CDP_NO_PERSON when erased or unknown). */
CDP_API cdp_status cdp_identity_ordinal_of_key(const cdp_identity_graph *g, uint64_t key, uint32_t *out_ordinal);
/** The current key of a key (the survivor when merged away; 0 when erased or unknown). */
CDP_API cdp_status cdp_identity_resolve_key(const cdp_identity_graph *g, uint64_t key, uint64_t *out_key);
/** A person's identifiers (all when `type` is CDP_NO_TYPE) as a JSON array of
 *  {"id","type","type_name","value","last_seen","records","blocked"}. Free with cdp_free. */
CDP_API cdp_status cdp_identity_identifiers_of(const cdp_identity_graph *g, uint32_t ordinal, uint32_t type,
                                               char **out_json);
/** The live persons. Free with cdp_bitmap_free. */
CDP_API cdp_status cdp_identity_persons(const cdp_identity_graph *g, cdp_bitmap **out);
/** One more than the largest ordinal ever used. */
CDP_API cdp_status cdp_identity_ordinal_capacity(const cdp_identity_graph *g, uint32_t *out);
/** {"identifiers","persons","records","occurrences","blocked","memory_bytes"}. Free with cdp_free. */
CDP_API cdp_status cdp_identity_stats(const cdp_identity_graph *g, char **out_json);

/* ---- change log and listeners --------------------------------------------------- */

/** Change-log entries with seq > cursor (at most `limit`) as a JSON array of
 *  {"seq","kind","cause","time","source","record","ordinal","key","absorbed",
 *  "absorbed_key","parts":[{"ordinal","key","identifiers"}]}. Free with cdp_free. */
CDP_API cdp_status cdp_identity_changes_since(const cdp_identity_graph *g, uint64_t cursor, size_t limit,
                                              char **out_json);
CDP_API cdp_status cdp_identity_last_change(const cdp_identity_graph *g, uint64_t *out_seq);

#define CDP_IDENTITY_LISTENER_VERSION 1
/** Callbacks told of each change inside the batch's transaction (see
 *  IdentityListener). `event_json` is one change-log entry as JSON (with
 *  "values" per split part), valid during the call. A non-zero return
 *  aborts the batch (it then fails with CDP_ECANCELLED). Any callback may be NULL. */
typedef struct cdp_identity_listener {
  unsigned version; /**< CDP_IDENTITY_LISTENER_VERSION */
  void *user_data;  /**< identifies the listener for cdp_identity_remove_listener */
  int (*on_merged)(void *user_data, uint32_t survivor, uint64_t survivor_key, uint32_t absorbed,
                   uint64_t absorbed_key, const char *event_json, size_t event_len);
  int (*on_split)(void *user_data, uint32_t ordinal, uint64_t key, const char *event_json, size_t event_len);
  int (*on_erased)(void *user_data, uint32_t ordinal, uint64_t key, const char *event_json, size_t event_len);
  void (*on_rolled_back)(void *user_data);
} cdp_identity_listener;

/** Registers a listener (the struct is copied). */
CDP_API cdp_status cdp_identity_add_listener(cdp_identity_graph *g, const cdp_identity_listener *listener);
/** Removes the listener registered with `user_data`. */
CDP_API cdp_status cdp_identity_remove_listener(cdp_identity_graph *g, void *user_data);

/* ---- conflicts, blocks, removal ------------------------------------------------------ */

/** Refused links with id > cursor as a JSON array. Free with cdp_free. */
CDP_API cdp_status cdp_identity_conflicts(const cdp_identity_graph *g, uint64_t cursor, size_t limit,
                                          char **out_json);
/** Blocked values as a JSON array. Free with cdp_free. */
CDP_API cdp_status cdp_identity_blocked(const cdp_identity_graph *g, char **out_json);

#define CDP_IDENTITY_REMOVE_OPTIONS_VERSION 1
typedef struct cdp_identity_remove_options {
  unsigned version; /**< CDP_IDENTITY_REMOVE_OPTIONS_VERSION */
  int dry_run;      /**< report what would change, change nothing */
  int suppress;     /**< keep the keyed hash of removed values in the suppression list */
  int64_t time;     /**< recorded in the change log */
  const char *note; /**< recorded as the change's source */
  size_t note_len;
} cdp_identity_remove_options;
#define CDP_IDENTITY_REMOVE_OPTIONS_INIT {CDP_IDENTITY_REMOVE_OPTIONS_VERSION, 0, 0, 0, NULL, 0}

CDP_API cdp_status cdp_identity_remove_options_init(cdp_identity_remove_options *opts, unsigned version);

/* Each of the following writes a JSON report (free with cdp_free) to
 * `*out_report` when it is not NULL: {"dry_run","removed_identifiers" (values
 * masked),"records_removed","occurrences_removed","erased_persons","splits"}. */

/** Blocks a value: it never links again; its links are dropped now. */
CDP_API cdp_status cdp_identity_block(cdp_identity_graph *g, uint32_t type, const char *value, size_t value_len,
                                      const cdp_identity_remove_options *opts, char **out_report);
/** Lifts a block; `*out_was_blocked` (may be NULL) says whether it was blocked. */
CDP_API cdp_status cdp_identity_unblock(cdp_identity_graph *g, uint32_t type, const char *value, size_t value_len,
                                        int *out_was_blocked);
CDP_API cdp_status cdp_identity_remove_identifier(cdp_identity_graph *g, uint32_t type, const char *value,
                                                  size_t value_len, const cdp_identity_remove_options *opts,
                                                  char **out_report);
/** CDP_ENOTFOUND for an unknown or removed record. */
CDP_API cdp_status cdp_identity_remove_record(cdp_identity_graph *g, uint64_t record,
                                              const cdp_identity_remove_options *opts, char **out_report);
/** Right to erasure: no raw value of the person's identifiers remains in
 *  memory or in the workspace file. CDP_ENOTFOUND for a free ordinal. */
CDP_API cdp_status cdp_identity_erase_person(cdp_identity_graph *g, uint32_t ordinal,
                                             const cdp_identity_remove_options *opts, char **out_report);
CDP_API cdp_status cdp_identity_expire(cdp_identity_graph *g, int64_t as_of, const cdp_identity_remove_options *opts,
                                       char **out_report);
CDP_API cdp_status cdp_identity_is_suppressed(const cdp_identity_graph *g, uint32_t type, const char *value,
                                              size_t value_len, int *out);

/* ---- explanations ---------------------------------------------------------------------- */

/** Why two values are the same person, as JSON {"same_person", "steps":
 *  [{"record","time","source","from":{…},"to":{…}}]}. Free with cdp_free. */
CDP_API cdp_status cdp_identity_explain(const cdp_identity_graph *g, uint32_t type_a, const char *a, size_t a_len,
                                        uint32_t type_b, const char *b, size_t b_len, char **out_json);
/** Graphviz DOT of one person's identifiers and records (values masked unless
 *  `mask_values` is 0). NUL-terminated; free with cdp_free. */
CDP_API cdp_status cdp_identity_to_dot(const cdp_identity_graph *g, uint32_t ordinal, int mask_values,
                                       char **out_dot, size_t *out_len);

#define CDP_IDENTITY_DOT_OPTIONS_VERSION 1
/** Options of cdp_identity_to_dot_v2. Initialise with
 *  CDP_IDENTITY_DOT_OPTIONS_INIT or cdp_identity_dot_options_init(). */
typedef struct cdp_identity_dot_options {
  unsigned version;   /**< CDP_IDENTITY_DOT_OPTIONS_VERSION */
  int mask_values;    /**< mask identifier values (default 1) */
  int show_conflicts; /**< draw refused links as dashed edges (default 1) */
} cdp_identity_dot_options;

#define CDP_IDENTITY_DOT_OPTIONS_INIT {CDP_IDENTITY_DOT_OPTIONS_VERSION, 1, 1}

CDP_API cdp_status cdp_identity_dot_options_init(cdp_identity_dot_options *opts, unsigned version);

/** cdp_identity_to_dot with options (`opts` may be NULL: the defaults). */
CDP_API cdp_status cdp_identity_to_dot_v2(const cdp_identity_graph *g, uint32_t ordinal,
                                          const cdp_identity_dot_options *opts, char **out_dot, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif
