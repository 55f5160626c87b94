/* cdpcore — C ABI: the profile store (typed attributes per person and an
 * event log per event type). See cdpcore/profile.hpp for the semantics.
 *
 * Batches are column-oriented: one cdp_column per attribute or property,
 * row-aligned with the keys. Strings use Arrow's large_string layout (an
 * int64 offsets array of rows+1 entries into one UTF-8 buffer). A batch is
 * validated completely and written in one transaction: a malformed row fails
 * the whole batch with its index in the message, unless best_effort is set
 * (then the bad rows are skipped and listed in the report). */
#ifndef CDPCORE_C_PROFILE_H
#define CDPCORE_C_PROFILE_H

#include "cdpcore/c/bitmap.h"
#include "cdpcore/c/common.h"
#include "cdpcore/c/workspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A profile store. Not thread-safe for writes: one writer at a time; reads
 *  (and rule evaluation) may run concurrently when nobody writes. */
typedef struct cdp_profile_store cdp_profile_store;

/** Value types of attributes and event properties. */
typedef int32_t cdp_value_type;
#define CDP_TYPE_BOOL 1
#define CDP_TYPE_INT64 2
#define CDP_TYPE_DOUBLE 3
#define CDP_TYPE_STRING 4
#define CDP_TYPE_TIMESTAMP 5  /**< int64 microseconds since the epoch, UTC */
#define CDP_TYPE_STRING_SET 6 /**< attributes only */

/** How attribute values combine when two persons merge. */
typedef int32_t cdp_merge_policy;
#define CDP_MERGE_LATEST 0
#define CDP_MERGE_FIRST 1
#define CDP_MERGE_MIN 2
#define CDP_MERGE_MAX 3
#define CDP_MERGE_SUM 4
#define CDP_MERGE_UNION 5

/** An in-memory store (`ws` NULL) or one bound to a workspace, whose schema
 *  and data are loaded. The store keeps the workspace open. Free with
 *  cdp_profile_store_free. */
CDP_API cdp_status cdp_profile_store_new(cdp_profile_store **out, cdp_workspace *ws);

/** Frees the store. NULL is a no-op. */
CDP_API void cdp_profile_store_free(cdp_profile_store *s);

/* ---- schema ------------------------------------------------------------- */

/** Adds an attribute (an identical definition is a no-op; another type is
 *  CDP_ECONFLICT). */
CDP_API cdp_status cdp_profile_define_attribute(cdp_profile_store *s, const char *name, size_t name_len,
                                                cdp_value_type type, cdp_merge_policy merge);

/** One property of an event type. */
typedef struct cdp_property_def {
  const char *name;
  size_t name_len;
  cdp_value_type type;
} cdp_property_def;

/** Adds an event type, or new properties to an existing one. */
CDP_API cdp_status cdp_profile_define_event_type(cdp_profile_store *s, const char *name, size_t name_len,
                                                 const cdp_property_def *properties, size_t count);

/** The schema as JSON: {"attributes":[{"name","type","merge"}…],
 *  "event_types":[{"name","properties":[{"name","type"}…]}…]}.
 *  Free *out with cdp_free. */
CDP_API cdp_status cdp_profile_schema_json(const cdp_profile_store *s, char **out, size_t *out_len);

/* ---- batches ------------------------------------------------------------ */

#define CDP_COLUMN_VERSION 1
/** One column of a batch (a view: the caller keeps the data alive during
 *  the call). Fill the pointer matching `type`:
 *   - CDP_TYPE_BOOL: `bools` (0/1);
 *   - CDP_TYPE_INT64, CDP_TYPE_TIMESTAMP: `int64s`;
 *   - CDP_TYPE_DOUBLE: `doubles` (NaN is null) — or `int64s`;
 *   - CDP_TYPE_STRING: `string_offsets` (rows+1) and `string_data`; or
 *     dictionary codes `codes` (-1 = null) with `dict_offsets`
 *     (dict_count+1) and `dict_data`;
 *   - CDP_TYPE_STRING_SET: `set_offsets` (rows+1, uint32) into the strings
 *     given as for CDP_TYPE_STRING (string_offsets has set_offsets[rows]+1
 *     entries).
 *  `valid` (optional, one byte per row, 0 = null) marks nulls. A timestamp
 *  column may also be given as ISO 8601 strings. */
typedef struct cdp_column {
  unsigned version; /**< CDP_COLUMN_VERSION */
  const char *name;
  size_t name_len;
  cdp_value_type type;
  const uint8_t *bools;
  const int64_t *int64s;
  const double *doubles;
  const int64_t *string_offsets;
  const char *string_data;
  const uint32_t *set_offsets;
  const int32_t *codes;
  const int64_t *dict_offsets;
  const char *dict_data;
  size_t dict_count;
  const uint8_t *valid;
} cdp_column;

#define CDP_COLUMN_INIT {CDP_COLUMN_VERSION, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL}

#define CDP_WRITE_OPTIONS_VERSION 1
/** Options of a write batch. Initialise with CDP_WRITE_OPTIONS_INIT or
 *  cdp_write_options_init(). */
typedef struct cdp_write_options {
  unsigned version;          /**< CDP_WRITE_OPTIONS_VERSION */
  int best_effort;           /**< skip malformed rows instead of failing the batch */
  int nulls_clear;           /**< a null cell clears the stored attribute value */
  int create_persons;        /**< identifier keys unknown to the graph create persons (default 1) */
  int64_t time;              /**< time recorded for identifiers an attribute batch adds */
  cdp_progress_fn progress;  /**< may be NULL */
  void *progress_user_data;
} cdp_write_options;

#define CDP_WRITE_OPTIONS_INIT {CDP_WRITE_OPTIONS_VERSION, 0, 0, 1, 0, NULL, NULL}

/** Fills `opts` with the defaults of `version`. */
CDP_API cdp_status cdp_write_options_init(cdp_write_options *opts, unsigned version);

/** What a batch did. Free with cdp_write_report_free. */
typedef struct cdp_write_report cdp_write_report;

/** Rows keyed by person ordinal (`ordinals`), or — when `ordinals` is NULL —
 *  by identifiers of `identifier_type` given in `id_offsets` (rows+1) and
 *  `id_data`, resolved through the identity graph (see
 *  cdp_profile_attach_identity in a later version; until then
 *  identifier-keyed rows fail with CDP_ESTATE). */
typedef struct cdp_row_keys {
  const uint32_t *ordinals;
  const char *identifier_type;
  size_t identifier_type_len;
  const int64_t *id_offsets;
  const char *id_data;
  size_t rows;
} cdp_row_keys;

/** Sets attribute values. `opts` may be NULL; `out_report` may be NULL. */
CDP_API cdp_status cdp_profile_upsert(cdp_profile_store *s, const cdp_row_keys *keys, const cdp_column *columns,
                                      size_t column_count, const cdp_write_options *opts,
                                      cdp_write_report **out_report);

/** Appends events of one type; `times` has `keys->rows` entries. */
CDP_API cdp_status cdp_profile_append_events(cdp_profile_store *s, const char *event_type, size_t event_type_len,
                                             const cdp_row_keys *keys, const int64_t *times,
                                             const cdp_column *columns, size_t column_count,
                                             const cdp_write_options *opts, cdp_write_report **out_report);

#define CDP_FILE_LOAD_OPTIONS_VERSION 1
/** Options of cdp_profile_load_csv / cdp_profile_load_jsonl (NUL-terminated
 *  names; NULL means the default). */
typedef struct cdp_file_load_options {
  unsigned version;             /**< CDP_FILE_LOAD_OPTIONS_VERSION */
  const char *event_type;       /**< NULL: the file holds attributes */
  const char *key_column;       /**< default "person" */
  const char *identifier_type;  /**< NULL: the key is an ordinal */
  const char *time_column;      /**< default "time" */
  cdp_write_options write;
} cdp_file_load_options;

#define CDP_FILE_LOAD_OPTIONS_INIT {CDP_FILE_LOAD_OPTIONS_VERSION, NULL, NULL, NULL, NULL, CDP_WRITE_OPTIONS_INIT}

/** Loads a CSV file (header row, RFC 4180). Errors name the line. */
CDP_API cdp_status cdp_profile_load_csv(cdp_profile_store *s, const char *path, size_t path_len,
                                        const cdp_file_load_options *opts, cdp_write_report **out_report);
/** Loads a JSON Lines file (one object per line). */
CDP_API cdp_status cdp_profile_load_jsonl(cdp_profile_store *s, const char *path, size_t path_len,
                                          const cdp_file_load_options *opts, cdp_write_report **out_report);

/** Rows applied by the batch. */
CDP_API uint64_t cdp_write_report_rows_applied(const cdp_write_report *r);
/** Rows skipped (best effort). */
CDP_API size_t cdp_write_report_rejected_count(const cdp_write_report *r);
/** The i-th skipped row: its index and the message (owned by the report). */
CDP_API cdp_status cdp_write_report_rejected(const cdp_write_report *r, size_t i, uint64_t *out_index,
                                             const char **out_message);
/** The persons the batch changed (for incremental tag evaluation). Free
 *  *out with cdp_bitmap_free. */
CDP_API cdp_status cdp_write_report_touched(const cdp_write_report *r, cdp_bitmap **out);
/** Frees a report. NULL is a no-op. */
CDP_API void cdp_write_report_free(cdp_write_report *r);

/** Writes one double per ordinal into a double attribute (created with
 *  merge policy latest when missing); NaN clears. For traits and scores. */
CDP_API cdp_status cdp_profile_write_doubles(cdp_profile_store *s, const char *attribute, size_t attribute_len,
                                             const uint32_t *ordinals, const double *values, size_t count);

/* ---- reads -------------------------------------------------------------- */

/** One more than the largest ordinal with data. */
CDP_API cdp_status cdp_profile_person_count(const cdp_profile_store *s, size_t *out);

/** Doubles of a numeric attribute for `count` ordinals into `out` (NaN for
 *  null). CDP_ETYPE for a string attribute. */
CDP_API cdp_status cdp_profile_read_doubles(const cdp_profile_store *s, const char *attribute, size_t attribute_len,
                                            const uint32_t *ordinals, size_t count, double *out);

/** One value as JSON text ("null", 42, 4.5, true, "text", ["a","b"];
 *  timestamps as integers). Free *out with cdp_free. */
CDP_API cdp_status cdp_profile_value_json(const cdp_profile_store *s, uint32_t person, const char *attribute,
                                          size_t attribute_len, char **out, size_t *out_len);

/** A person's events of one type in time order, as a JSON array of
 *  {"time": …, "<property>": …}. Free *out with cdp_free. */
CDP_API cdp_status cdp_profile_person_events_json(const cdp_profile_store *s, uint32_t person,
                                                  const char *event_type, size_t event_type_len, char **out,
                                                  size_t *out_len);

/** Events of a type. */
CDP_API cdp_status cdp_profile_event_count(const cdp_profile_store *s, const char *event_type,
                                           size_t event_type_len, uint64_t *out);

/** Sorts pending events into the logs (reads are fastest afterwards). */
CDP_API cdp_status cdp_profile_compact(cdp_profile_store *s);

/** Memory used by attributes and events, and the number of events. */
CDP_API cdp_status cdp_profile_memory_usage(const cdp_profile_store *s, uint64_t *attribute_bytes,
                                            uint64_t *event_bytes, uint64_t *events);

/* ---- person changes (for stores fed by another identity system) ---------- */

/** Merges `absorbed` into `survivor`: attributes combine by their merge
 *  policy, events move to the survivor. */
CDP_API cdp_status cdp_profile_merge_persons(cdp_profile_store *s, uint32_t survivor, uint32_t absorbed);
/** Removes every attribute value and event of the person. */
CDP_API cdp_status cdp_profile_erase_person(cdp_profile_store *s, uint32_t person);

#ifdef __cplusplus
}
#endif

#endif
