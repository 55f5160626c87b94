/* cdpcore — C ABI: the tag-rule language and the tag engine. See
 * cdpcore/rules.hpp and README.md, "Tag rules" for the language.
 *
 *   tag vip = sum(order.amount, last 365 days) >= 5000
 *             or member_level in ["gold", "platinum"]
 *
 * A rule set is compiled once against a profile store and evaluated many
 * times: for every person (boolean tags → bitmaps, value tags → a label per
 * person and a bitmap per label, traits → doubles), for one person, or for
 * the persons a batch touched. */
#ifndef CDPCORE_C_RULES_H
#define CDPCORE_C_RULES_H

#include "cdpcore/c/bitmap.h"
#include "cdpcore/c/common.h"
#include "cdpcore/c/profile.h"
#include "cdpcore/c/workspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A compiled rule set. Immutable: may be shared across threads. */
typedef struct cdp_rule_set cdp_rule_set;
/** Every rule's result for every person. Not thread-safe for updates. */
typedef struct cdp_tag_results cdp_tag_results;
/** Every rule's result for one person. */
typedef struct cdp_person_tags cdp_person_tags;

/** Tag kinds. */
typedef int32_t cdp_tag_kind;
#define CDP_TAG_BOOLEAN 0
#define CDP_TAG_VALUE 1
#define CDP_TAG_TRAIT 2

#define CDP_RULES_OPTIONS_VERSION 1
/** Limits for untrusted rules and the time zone of calendar windows. Zero
 *  fields keep the defaults. Initialise with CDP_RULES_OPTIONS_INIT. */
typedef struct cdp_rules_options {
  unsigned version;        /**< CDP_RULES_OPTIONS_VERSION */
  uint64_t max_text_bytes; /**< default 256 KiB */
  uint32_t max_depth;      /**< default 64 */
  uint32_t max_nodes;      /**< per rule, default 4096 */
  uint32_t max_rules;      /**< default 10000 */
  uint64_t max_cost;       /**< estimated cost per rule, default 100000 */
  const char *time_zone;   /**< IANA zone; NULL: the store's workspace zone */
} cdp_rules_options;

#define CDP_RULES_OPTIONS_INIT {CDP_RULES_OPTIONS_VERSION, 0, 0, 0, 0, 0, NULL}

/** Fills `opts` with the defaults of `version`. */
CDP_API cdp_status cdp_rules_options_init(cdp_rules_options *opts, unsigned version);

/** Parses and compiles rule text against the store's schema. Errors:
 *  CDP_EPARSE (line, column, token and what was expected in the message),
 *  CDP_ETYPE (both types and where), CDP_ENOTFOUND (the unknown name),
 *  CDP_ELIMIT (depth, size or estimated cost). `opts` may be NULL. Free with
 *  cdp_rules_free. */
CDP_API cdp_status cdp_rules_compile(cdp_rule_set **out, const cdp_profile_store *store, const char *text,
                                     size_t text_len, const cdp_rules_options *opts);
/** The same from the JSON form {"rules":[{"kind","name","expr"}…]}. */
CDP_API cdp_status cdp_rules_compile_json(cdp_rule_set **out, const cdp_profile_store *store, const char *json,
                                          size_t json_len, const cdp_rules_options *opts);
/** Frees a rule set. NULL is a no-op. */
CDP_API void cdp_rules_free(cdp_rule_set *rs);

/** Number of rules. */
CDP_API size_t cdp_rules_count(const cdp_rule_set *rs);
/** The name (owned by the rule set) and kind of rule `i`. */
CDP_API cdp_status cdp_rules_info(const cdp_rule_set *rs, size_t i, const char **out_name, cdp_tag_kind *out_kind);
/** The rule set as text / as JSON. Free *out with cdp_free. */
CDP_API cdp_status cdp_rules_to_text(const cdp_rule_set *rs, char **out, size_t *out_len);
CDP_API cdp_status cdp_rules_to_json(const cdp_rule_set *rs, char **out, size_t *out_len);

/** One expression's text → its JSON tree, and back (for UIs). Free *out
 *  with cdp_free. */
CDP_API cdp_status cdp_rules_expression_to_json(const char *text, size_t text_len, char **out, size_t *out_len);
CDP_API cdp_status cdp_rules_expression_from_json(const char *json, size_t json_len, char **out, size_t *out_len);

/** Every rule for every person at `as_of` (UTC microseconds) on `threads`
 *  threads (0 = every hardware thread). Free *out with cdp_tag_results_free. */
CDP_API cdp_status cdp_rules_evaluate(const cdp_rule_set *rs, const cdp_profile_store *store, int64_t as_of,
                                      unsigned threads, cdp_tag_results **out);

#define CDP_RULES_EVAL_OPTIONS_VERSION 1
/** Options of cdp_rules_evaluate_v2. Initialise with
 *  CDP_RULES_EVAL_OPTIONS_INIT or cdp_rules_eval_options_init(). */
typedef struct cdp_rules_eval_options {
  unsigned version;         /**< CDP_RULES_EVAL_OPTIONS_VERSION */
  unsigned threads;         /**< worker threads (0 = 2) */
  cdp_progress_fn progress; /**< may be NULL */
  void *progress_user_data;
} cdp_rules_eval_options;

#define CDP_RULES_EVAL_OPTIONS_INIT {CDP_RULES_EVAL_OPTIONS_VERSION, 2, NULL, NULL}

CDP_API cdp_status cdp_rules_eval_options_init(cdp_rules_eval_options *opts, unsigned version);

/** cdp_rules_evaluate with options (`opts` may be NULL: the defaults), e.g. a
 *  progress callback (cancelling fails with CDP_ECANCELLED). */
CDP_API cdp_status cdp_rules_evaluate_v2(const cdp_rule_set *rs, const cdp_profile_store *store, int64_t as_of,
                                         const cdp_rules_eval_options *opts, cdp_tag_results **out);
/** Re-evaluates `persons` (e.g. cdp_write_report_touched) in place. */
CDP_API cdp_status cdp_rules_update(const cdp_rule_set *rs, cdp_tag_results *results, const cdp_profile_store *store,
                                    const cdp_bitmap *persons, int64_t as_of);
/** Frees results. NULL is a no-op. */
CDP_API void cdp_tag_results_free(cdp_tag_results *r);

/** Persons the results cover (the length of the per-person arrays). */
CDP_API size_t cdp_tag_results_person_count(const cdp_tag_results *r);
/** Members of rule `tag`: TRUE for boolean tags, with a label for value tags,
 *  non-null for traits. Free *out with cdp_bitmap_free. */
CDP_API cdp_status cdp_tag_results_members(const cdp_tag_results *r, size_t tag, cdp_bitmap **out);
/** Value tags: number of distinct labels. */
CDP_API cdp_status cdp_tag_results_label_count(const cdp_tag_results *r, size_t tag, size_t *out);
/** Value tags: label `i` (owned by the results) and its members (free with
 *  cdp_bitmap_free; `out_members` may be NULL). */
CDP_API cdp_status cdp_tag_results_label(const cdp_tag_results *r, size_t tag, size_t i, const char **out_label,
                                         cdp_bitmap **out_members);
/** Value tags: per person the label index (-1 = none); owned by the results,
 *  valid until they change. */
CDP_API cdp_status cdp_tag_results_codes(const cdp_tag_results *r, size_t tag, const int32_t **out, size_t *out_len);
/** Traits: per person the value (NaN = null); owned by the results. */
CDP_API cdp_status cdp_tag_results_values(const cdp_tag_results *r, size_t tag, const double **out,
                                          size_t *out_len);

/** Every rule for one person (the moment an event arrives). Free *out with
 *  cdp_person_tags_free. */
CDP_API cdp_status cdp_rules_evaluate_person(const cdp_rule_set *rs, const cdp_profile_store *store,
                                             uint32_t person, int64_t as_of, cdp_person_tags **out);
/** Rule `i` for the person: member (TRUE / has a label / has a value), the
 *  label (value tags, owned by `t`, "" otherwise) and the value (traits, NaN
 *  otherwise). Any out-pointer may be NULL. */
CDP_API cdp_status cdp_person_tags_get(const cdp_person_tags *t, size_t i, int *out_member, const char **out_label,
                                       double *out_value);
/** Frees person tags. NULL is a no-op. */
CDP_API void cdp_person_tags_free(cdp_person_tags *t);

/** Stores the rule set's text in the workspace as a new version of `name`. */
CDP_API cdp_status cdp_rules_save(const cdp_rule_set *rs, cdp_workspace *ws, const char *name, size_t name_len,
                                  int64_t *out_version);
/** Loads and compiles a stored version (0 = the latest). CDP_ENOTFOUND when
 *  there is none. Free with cdp_rules_free. */
CDP_API cdp_status cdp_rules_load(cdp_rule_set **out, const cdp_profile_store *store, cdp_workspace *ws,
                                  const char *name, size_t name_len, int64_t version, const cdp_rules_options *opts);

#ifdef __cplusplus
}
#endif

#endif
