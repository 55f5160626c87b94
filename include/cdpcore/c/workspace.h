/* cdpcore — C ABI: the workspace, one SQLite file holding every component's state. */
#ifndef CDPCORE_C_WORKSPACE_H
#define CDPCORE_C_WORKSPACE_H

#include "cdpcore/c/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An open workspace. Not thread-safe: use one handle from one thread at a
 *  time (open one handle per thread to read concurrently). */
typedef struct cdp_workspace cdp_workspace;

#define CDP_WORKSPACE_OPTIONS_VERSION 1
/** Options for cdp_workspace_open. Initialise with CDP_WORKSPACE_OPTIONS_INIT
 *  or cdp_workspace_options_init(); fields may be added in later versions. */
typedef struct cdp_workspace_options {
  unsigned version;        /**< CDP_WORKSPACE_OPTIONS_VERSION */
  int read_only;           /**< open without writing; fails if the file is missing */
  int create;              /**< create the file when missing (default 1) */
  int32_t busy_timeout_ms; /**< wait this long for a lock held by another connection (default 5000) */
  const char *time_zone;   /**< IANA zone for calendar rules of a new workspace (default "UTC"); NULL keeps the stored one */
} cdp_workspace_options;

#define CDP_WORKSPACE_OPTIONS_INIT {CDP_WORKSPACE_OPTIONS_VERSION, 0, 1, 5000, NULL}

/** Fills `opts` with the defaults of `version`. */
CDP_API cdp_status cdp_workspace_options_init(cdp_workspace_options *opts, unsigned version);

/** Opens or creates the workspace at `path` (UTF-8, `path_len` bytes;
 *  ":memory:" for a private in-memory one). `opts` may be NULL for the
 *  defaults. On success writes a handle to `*out`; free it with
 *  cdp_workspace_close. A file that is not a SQLite database or not a cdpcore
 *  workspace fails with CDP_ECORRUPT, one written by a newer schema with
 *  CDP_EVERSION; neither is modified. */
CDP_API cdp_status cdp_workspace_open(cdp_workspace **out, const char *path, size_t path_len,
                                      const cdp_workspace_options *opts);

/** Closes the workspace. NULL is a no-op. */
CDP_API void cdp_workspace_close(cdp_workspace *ws);

/** The path the workspace was opened with. Owned by the handle. */
CDP_API const char *cdp_workspace_path(const cdp_workspace *ws);

/** The schema version of `component` ("workspace", "identity", …) stored in
 *  the file, or 0 when that component has no tables yet. */
CDP_API cdp_status cdp_workspace_schema_version(const cdp_workspace *ws, const char *component,
                                                size_t component_len, int32_t *out_version);

/** The workspace's IANA time zone ("Asia/Shanghai"). Owned by the handle,
 *  valid until the next call on it. */
CDP_API const char *cdp_workspace_time_zone(const cdp_workspace *ws);

#ifdef __cplusplus
}
#endif

#endif
