/* cdpcore — C ABI: segments (audiences as compressed bitmaps). See
 * cdpcore/segment.hpp for the semantics: definitions in the rule language,
 * three-valued logic, snapshots, holdouts and activation export. Members are
 * returned as cdp_bitmap handles (cdpcore/c/bitmap.h), which give arrays of
 * ordinals or Roaring's portable bytes. */
#ifndef CDPCORE_C_SEGMENT_H
#define CDPCORE_C_SEGMENT_H

#include "cdpcore/c/bitmap.h"
#include "cdpcore/c/common.h"
#include "cdpcore/c/profile.h"
#include "cdpcore/c/workspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The segments of a workspace (or of memory). Not thread-safe: use from one
 *  thread at a time. */
typedef struct cdp_segment_engine cdp_segment_engine;

/** Segments in memory (`ws` NULL) or bound to a workspace, whose stored
 *  definitions and members are loaded. The engine keeps the workspace open.
 *  Free with cdp_segment_engine_free. */
CDP_API cdp_status cdp_segment_engine_new(cdp_segment_engine **out, cdp_workspace *ws);

/** Frees the engine. NULL is a no-op. */
CDP_API void cdp_segment_engine_free(cdp_segment_engine *e);

/* ---- sources ------------------------------------------------------------ */

/** Reads attribute, trait and event conditions from `store` (not owned: it
 *  must outlive the engine or be detached with NULL). */
CDP_API cdp_status cdp_segment_attach_store(cdp_segment_engine *e, const cdp_profile_store *store);

/** Adds or replaces a boolean tag with a copy of `members`. */
CDP_API cdp_status cdp_segment_set_tag(cdp_segment_engine *e, const char *name, size_t name_len,
                                       const cdp_bitmap *members);

/** Adds or replaces a value tag: `count` labels (UTF-8, with lengths) and the
 *  members of each (copied). */
CDP_API cdp_status cdp_segment_set_value_tag(cdp_segment_engine *e, const char *name, size_t name_len,
                                             const char *const *labels, const size_t *label_lens,
                                             const cdp_bitmap *const *members, size_t count);

/** Adds or replaces a trait: `count` doubles indexed by ordinal (NaN = null). */
CDP_API cdp_status cdp_segment_set_trait(cdp_segment_engine *e, const char *name, size_t name_len,
                                         const double *values, size_t count);

/** Deletes a tag; `*out_removed` (may be NULL) is 1 when it existed. */
CDP_API cdp_status cdp_segment_remove_tag(cdp_segment_engine *e, const char *name, size_t name_len,
                                          int *out_removed);

/** Changes one person's membership of a boolean tag (CDP_ENOTFOUND for an unknown tag). */
CDP_API cdp_status cdp_segment_set_person_tag(cdp_segment_engine *e, uint32_t person, const char *tag,
                                              size_t tag_len, int member);

/** The persons `not` ranges over (copied). */
CDP_API cdp_status cdp_segment_set_universe(cdp_segment_engine *e, const cdp_bitmap *persons);

/* ---- definitions -------------------------------------------------------- */

#define CDP_SEGMENT_DEFINE_OPTIONS_VERSION 1
/** Options of cdp_segment_define and cdp_segment_define_fixed. Initialise
 *  with CDP_SEGMENT_DEFINE_OPTIONS_INIT or cdp_segment_define_options_init(). */
typedef struct cdp_segment_define_options {
  unsigned version;        /**< CDP_SEGMENT_DEFINE_OPTIONS_VERSION */
  const char *description; /**< UTF-8, NUL-terminated; NULL for none */
  int replace;             /**< redefine an existing segment (else CDP_ECONFLICT) */
} cdp_segment_define_options;

#define CDP_SEGMENT_DEFINE_OPTIONS_INIT {CDP_SEGMENT_DEFINE_OPTIONS_VERSION, NULL, 0}

/** Fills `opts` with the defaults of `version`. */
CDP_API cdp_status cdp_segment_define_options_init(cdp_segment_define_options *opts, unsigned version);

/** Defines a dynamic segment from a definition in the rule language. Fails
 *  with CDP_EPARSE, CDP_ENOTFOUND (unknown name), CDP_ETYPE, CDP_EINVAL (a
 *  cycle, a bad name) or CDP_ECONFLICT, the line and column in the message.
 *  `opts` may be NULL. */
CDP_API cdp_status cdp_segment_define(cdp_segment_engine *e, const char *name, size_t name_len,
                                      const char *definition, size_t definition_len,
                                      const cdp_segment_define_options *opts);

/** Defines a fixed segment with a copy of `members`. `opts` may be NULL. */
CDP_API cdp_status cdp_segment_define_fixed(cdp_segment_engine *e, const char *name, size_t name_len,
                                            const cdp_bitmap *members, const cdp_segment_define_options *opts);

/** Removes a segment and its snapshots (CDP_ECONFLICT when others use it);
 *  `*out_removed` (may be NULL) is 1 when it existed. */
CDP_API cdp_status cdp_segment_remove(cdp_segment_engine *e, const char *name, size_t name_len, int *out_removed);

/** The segments' names, sorted, as `*out_count` NUL-terminated strings packed
 *  one after another in one buffer (`*out`, NULL when there are none). Free
 *  with cdp_free. */
CDP_API cdp_status cdp_segment_names(const cdp_segment_engine *e, char **out, size_t *out_count);

/** The definition text of a segment ("" for a fixed one). Free with cdp_free. */
CDP_API cdp_status cdp_segment_definition(const cdp_segment_engine *e, const char *name, size_t name_len,
                                          char **out);

/* ---- evaluation --------------------------------------------------------- */

/** Evaluates a segment at `as_of` (UTC microseconds), dependencies first,
 *  stores the members and writes their count to `*out_count` (may be NULL). */
CDP_API cdp_status cdp_segment_evaluate(cdp_segment_engine *e, const char *name, size_t name_len, int64_t as_of,
                                        uint64_t *out_count);

/** Evaluates every dynamic segment at `as_of`; `*out_entered` and
 *  `*out_exited` (may be NULL) total the persons who entered and left. */
CDP_API cdp_status cdp_segment_refresh(cdp_segment_engine *e, int64_t as_of, uint64_t *out_entered,
                                       uint64_t *out_exited);

/** A copy of a segment's stored members (CDP_ESTATE when never evaluated).
 *  Free with cdp_bitmap_free. */
CDP_API cdp_status cdp_segment_members(const cdp_segment_engine *e, const char *name, size_t name_len,
                                       cdp_bitmap **out);

/** The number of stored members. */
CDP_API cdp_status cdp_segment_count(const cdp_segment_engine *e, const char *name, size_t name_len,
                                     uint64_t *out);

/** Evaluates a definition without storing it. Free with cdp_bitmap_free. */
CDP_API cdp_status cdp_segment_preview(cdp_segment_engine *e, const char *definition, size_t definition_len,
                                       int64_t as_of, cdp_bitmap **out);

/** |members(name) ∩ preview(condition)|: the size with an extra condition. */
CDP_API cdp_status cdp_segment_count_with(cdp_segment_engine *e, const char *name, size_t name_len,
                                          const char *condition, size_t condition_len, int64_t as_of,
                                          uint64_t *out);

/** One enter/exit event. Strings are owned by the array's buffer. */
typedef struct cdp_membership_event {
  uint64_t seq;        /**< position in the change log */
  const char *segment; /**< NUL-terminated */
  uint32_t person;
  int entered;         /**< 1 entered, 0 exited */
  int64_t at;
} cdp_membership_event;

/** After an event: re-evaluates for one person the segments that read any of
 *  the `changed_count` names (tags, attributes, traits, event types; none =
 *  all). Writes the enter/exit events to `*out` (one buffer, NULL when none;
 *  free with cdp_free) and their number to `*out_count`. */
CDP_API cdp_status cdp_segment_update_person(cdp_segment_engine *e, uint32_t person, const char *const *changed,
                                             const size_t *changed_lens, size_t changed_count, int64_t as_of,
                                             cdp_membership_event **out, size_t *out_count);

/** Events of the change log with seq > cursor (at most `limit`), as
 *  cdp_segment_update_person returns them. Free with cdp_free. */
CDP_API cdp_status cdp_segment_changes_since(const cdp_segment_engine *e, uint64_t cursor, size_t limit,
                                             cdp_membership_event **out, size_t *out_count);

/** The segments a person is in (from the reverse index), packed like
 *  cdp_segment_names. Free with cdp_free. */
CDP_API cdp_status cdp_segment_segments_of(const cdp_segment_engine *e, uint32_t person, char **out,
                                           size_t *out_count);

/* ---- algebra, samples and holdouts --------------------------------------- */

/** The N x N pairwise intersection sizes of `count` segments into the
 *  caller's `out` (count * count slots, row-major; the diagonal holds sizes). */
CDP_API cdp_status cdp_segment_overlap(const cdp_segment_engine *e, const char *const *names,
                                       const size_t *name_lens, size_t count, uint64_t *out);

/** `k` members chosen deterministically by `seed`. Free with cdp_bitmap_free. */
CDP_API cdp_status cdp_segment_sample(const cdp_bitmap *members, uint64_t k, uint64_t seed, cdp_bitmap **out);

/** Splits members into `count` groups by a stable hash of the person key and
 *  `salt`, with the given proportions (summing to 1). Writes `count` new
 *  bitmaps to `out_groups` (the caller's array); free each with cdp_bitmap_free. */
CDP_API cdp_status cdp_segment_split(const cdp_segment_engine *e, const cdp_bitmap *members, const char *salt,
                                     size_t salt_len, const double *proportions, size_t count,
                                     cdp_bitmap **out_groups);

/* ---- snapshots ---------------------------------------------------------- */

/** Saves a segment's current members as a snapshot taken at `at`. */
CDP_API cdp_status cdp_segment_snapshot(cdp_segment_engine *e, const char *name, size_t name_len, int64_t at,
                                        const char *label, size_t label_len, int64_t *out_id);

/** A snapshot's members. Free with cdp_bitmap_free. */
CDP_API cdp_status cdp_segment_snapshot_members(const cdp_segment_engine *e, int64_t id, cdp_bitmap **out);

/** entered = to − from, exited = from − to. Free both with cdp_bitmap_free. */
CDP_API cdp_status cdp_segment_diff(const cdp_segment_engine *e, int64_t from, int64_t to, cdp_bitmap **out_entered,
                                    cdp_bitmap **out_exited);

/* ---- activation export -------------------------------------------------- */

#define CDP_SEGMENT_EXPORT_OPTIONS_VERSION 2
/** Decides per identifier whether an export may use it (identifier-scoped
 *  consent): return 0 to skip it and try the member's next identifier of
 *  lower priority. Strings are valid during the call. */
typedef int (*cdp_segment_allow_identifier_fn)(void *user_data, uint32_t person, const char *type, size_t type_len,
                                               const char *value, size_t value_len);

/** Options of an export. Initialise with CDP_SEGMENT_EXPORT_OPTIONS_INIT or
 *  cdp_segment_export_options_init(). */
typedef struct cdp_segment_export_options {
  unsigned version;                     /**< CDP_SEGMENT_EXPORT_OPTIONS_VERSION */
  const char *const *identifier_types;  /**< priority order (NUL-terminated names); NULL: person keys */
  size_t identifier_type_count;
  const cdp_bitmap *allowed;            /**< consent: export only these persons; NULL: all */
  size_t batch_size;                    /**< rows per callback (default 10000) */
  /* version 2 */
  cdp_segment_allow_identifier_fn allow_identifier; /**< called on the exporting thread; NULL: every identifier */
  void *allow_identifier_user_data;
} cdp_segment_export_options;

#define CDP_SEGMENT_EXPORT_OPTIONS_INIT {CDP_SEGMENT_EXPORT_OPTIONS_VERSION, NULL, 0, NULL, 10000, NULL, NULL}

CDP_API cdp_status cdp_segment_export_options_init(cdp_segment_export_options *opts, unsigned version);

/** Counts of an export. */
typedef struct cdp_segment_export_report {
  uint64_t members;
  uint64_t exported;
  uint64_t not_allowed;
  uint64_t unreachable;
} cdp_segment_export_report;

/** Receives one batch of `rows` rows (arrays valid during the call): person
 *  ordinals, person keys (NULL without an identity graph), and with
 *  identifier types the chosen identifier's type and value (NUL-terminated;
 *  NULL otherwise). Return non-zero to stop the export. */
typedef int (*cdp_segment_export_fn)(void *user_data, size_t rows, const uint32_t *persons, const uint64_t *keys,
                                     const char *const *identifier_types, const char *const *identifiers);

/** Streams `members` to `fn` in batches. `opts` and `report` may be NULL. */
CDP_API cdp_status cdp_segment_export(const cdp_segment_engine *e, const cdp_bitmap *members,
                                      const cdp_segment_export_options *opts, cdp_segment_export_fn fn,
                                      void *user_data, cdp_segment_export_report *report);

/** Writes `members` to a CSV file at `path` (UTF-8). `opts` and `report` may be NULL. */
CDP_API cdp_status cdp_segment_export_csv(const cdp_segment_engine *e, const cdp_bitmap *members, const char *path,
                                          size_t path_len, const cdp_segment_export_options *opts,
                                          cdp_segment_export_report *report);

#ifdef __cplusplus
}
#endif

#endif
