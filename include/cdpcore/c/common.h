/* cdpcore — C ABI: status codes, errors, versions and memory.
 *
 * Conventions that hold for every cdp_ function:
 *  - A function that can fail returns cdp_status: CDP_OK (0) on success, a
 *    negative code otherwise. The message of the last failure on the calling
 *    thread is cdp_last_error(). Nothing throws across this boundary.
 *  - Expected outcomes are not errors: a denied consent check or an unknown
 *    identifier is a result, reported through out-parameters.
 *  - Constructors write the new handle to an out-parameter (`cdp_x **out`);
 *    destructors (`cdp_x_free`, `cdp_x_close`) accept NULL.
 *  - Strings are UTF-8 with an explicit length in bytes; invalid UTF-8 is
 *    rejected with CDP_EUTF8 and the byte offset in the message.
 *  - Memory the library allocates for the caller is freed with cdp_free().
 *  - Options structs start with `unsigned version`; initialise them with the
 *    CDP_..._OPTIONS_INIT macro or cdp_..._options_init(). */
#ifndef CDPCORE_C_COMMON_H
#define CDPCORE_C_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "cdpcore/c/export.h"
#include "cdpcore/c/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes. 0 is success; every failure is negative. Codes are frozen:
 *  new ones are only ever added. */
typedef int32_t cdp_status;
#define CDP_OK            0   /**< success */
#define CDP_ERROR        -1   /**< an internal or unclassified failure */
#define CDP_EINVAL       -2   /**< an argument is invalid (NULL, out of range, bad option) */
#define CDP_ENOTFOUND    -3   /**< a named thing does not exist */
#define CDP_EPARSE       -4   /**< input text or bytes do not parse (position in the message) */
#define CDP_ECONFLICT    -5   /**< the request conflicts with existing state */
#define CDP_EIO          -6   /**< reading or writing a file failed */
#define CDP_ECORRUPT     -7   /**< stored data is not what it should be (not a workspace, bad checksum) */
#define CDP_EVERSION     -8   /**< written by a newer version of the library */
#define CDP_ENOMEM       -9   /**< out of memory */
#define CDP_ELIMIT      -10   /**< a configured limit would be exceeded */
#define CDP_EUTF8       -11   /**< a string is not valid UTF-8 (byte offset in the message) */
#define CDP_EUNSUPPORTED -12  /**< a valid but unsupported feature (objective, format version) */
#define CDP_ETYPE       -13   /**< a type mismatch (rule or column types) */
#define CDP_ECANCELLED  -14   /**< a progress callback asked to stop */
#define CDP_EBUSY       -15   /**< the database is locked by another connection */
#define CDP_ESTATE      -16   /**< the object is not in a state that allows the call */

/** The message of the last failure on this thread: never NULL ("" when there
 *  was none). Owned by the library; valid until the next cdp_ call on this
 *  thread. */
CDP_API const char *cdp_last_error(void);

/** The status code of the last failure on this thread (CDP_OK when none). */
CDP_API cdp_status cdp_last_error_code(void);

/** Forgets the last failure on this thread. */
CDP_API void cdp_clear_error(void);

/** A short English name for a status code ("CDP_EPARSE"); never NULL. */
CDP_API const char *cdp_status_name(cdp_status status);

/** The library's version string ("0.1.0"), static storage. */
CDP_API const char *cdp_version(void);

/** The library's CDP_VERSION_NUMBER, to compare with the header's. */
CDP_API int32_t cdp_version_number(void);

/** Frees memory that the library allocated for the caller. NULL is a no-op. */
CDP_API void cdp_free(void *ptr);

/** Progress callback for long batch work: `done` of `total` units. Return
 *  non-zero to cancel; the operation then fails with CDP_ECANCELLED and
 *  applies nothing. */
typedef int (*cdp_progress_fn)(void *user_data, uint64_t done, uint64_t total);

#ifdef __cplusplus
}
#endif

#endif
