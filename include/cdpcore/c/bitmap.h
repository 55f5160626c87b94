/* cdpcore — C ABI: compressed bitmaps of person ordinals (audiences, tags,
 * consent filters). Serialised in Roaring's portable format, which CRoaring,
 * pyroaring and RoaringBitmap for Java/Go read and write. */
#ifndef CDPCORE_C_BITMAP_H
#define CDPCORE_C_BITMAP_H

#include "cdpcore/c/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A set of uint32 person ordinals. A value: concurrent reads of one bitmap
 *  are safe; a write needs exclusive access. */
typedef struct cdp_bitmap cdp_bitmap;

/** Set operations of cdp_bitmap_combine and cdp_bitmap_cardinality_of. */
typedef int32_t cdp_bitmap_op;
#define CDP_BITMAP_AND    0 /**< members of every input */
#define CDP_BITMAP_OR     1 /**< members of any input */
#define CDP_BITMAP_ANDNOT 2 /**< members of the first input and of no other */
#define CDP_BITMAP_XOR    3 /**< members of an odd number of inputs */

/** An empty bitmap. Free with cdp_bitmap_free. */
CDP_API cdp_status cdp_bitmap_new(cdp_bitmap **out);

/** The `count` ordinals (any order, duplicates allowed). Free with cdp_bitmap_free. */
CDP_API cdp_status cdp_bitmap_from_ordinals(cdp_bitmap **out, const uint32_t *ordinals, size_t count);

/** The ordinals in [begin, end). Free with cdp_bitmap_free. */
CDP_API cdp_status cdp_bitmap_from_range(cdp_bitmap **out, uint32_t begin, uint32_t end);

/** Reads Roaring's portable format from exactly the first bytes of `bytes`
 *  (at most `len`; trailing bytes are ignored). The input is checked
 *  completely first: malformed or truncated bytes fail with CDP_EPARSE and
 *  the offset in the message; nothing is printed. Free with cdp_bitmap_free. */
CDP_API cdp_status cdp_bitmap_deserialize(cdp_bitmap **out, const uint8_t *bytes, size_t len);

/** Checks `len` bytes as Roaring's portable format and writes the number of
 *  bytes the bitmap occupies to `*out_size` (CDP_EPARSE when malformed). */
CDP_API cdp_status cdp_bitmap_portable_size(const uint8_t *bytes, size_t len, size_t *out_size);

/** A copy. Free with cdp_bitmap_free. */
CDP_API cdp_status cdp_bitmap_copy(cdp_bitmap **out, const cdp_bitmap *b);

/** Frees a bitmap. NULL is a no-op. */
CDP_API void cdp_bitmap_free(cdp_bitmap *b);

CDP_API cdp_status cdp_bitmap_add(cdp_bitmap *b, uint32_t ordinal);
CDP_API cdp_status cdp_bitmap_add_many(cdp_bitmap *b, const uint32_t *ordinals, size_t count);
/** Adds [begin, end). */
CDP_API cdp_status cdp_bitmap_add_range(cdp_bitmap *b, uint32_t begin, uint32_t end);
CDP_API cdp_status cdp_bitmap_remove(cdp_bitmap *b, uint32_t ordinal);

/** 1 when `ordinal` is a member, 0 when not (or `b` is NULL). */
CDP_API int cdp_bitmap_contains(const cdp_bitmap *b, uint32_t ordinal);

/** Number of members (0 for NULL). */
CDP_API uint64_t cdp_bitmap_cardinality(const cdp_bitmap *b);

/** 1 when both hold the same members, else 0. */
CDP_API int cdp_bitmap_equals(const cdp_bitmap *a, const cdp_bitmap *b);

/** Writes the members in ascending order to the caller's buffer `out` of
 *  `capacity` slots, and their number to `*out_count`. When the buffer is too
 *  small nothing is written, `*out_count` says how many slots are needed and
 *  the call fails with CDP_ELIMIT. `out` may be NULL with capacity 0 to ask
 *  for the size. */
CDP_API cdp_status cdp_bitmap_to_array(const cdp_bitmap *b, uint32_t *out, size_t capacity, size_t *out_count);

/** The members in ascending order in a buffer the library allocates
 *  (`*out`, `*out_count` values; NULL when empty). Free with cdp_free. */
CDP_API cdp_status cdp_bitmap_to_array_alloc(const cdp_bitmap *b, uint32_t **out, size_t *out_count);

/** Roaring's portable serialisation in a buffer the library allocates
 *  (`*out_len` bytes). Free with cdp_free. */
CDP_API cdp_status cdp_bitmap_serialize(const cdp_bitmap *b, uint8_t **out, size_t *out_len);

/** A new bitmap combining `count` inputs with `op` (an empty bitmap when
 *  count is 0). Free with cdp_bitmap_free. */
CDP_API cdp_status cdp_bitmap_combine(cdp_bitmap **out, cdp_bitmap_op op, const cdp_bitmap *const *inputs,
                                      size_t count);

/** `a = a op b`, in place. */
CDP_API cdp_status cdp_bitmap_apply(cdp_bitmap *a, cdp_bitmap_op op, const cdp_bitmap *b);

/** The cardinality of `a op b` without building it. */
CDP_API cdp_status cdp_bitmap_cardinality_of(const cdp_bitmap *a, cdp_bitmap_op op, const cdp_bitmap *b,
                                             uint64_t *out);

/** Bytes of memory the bitmap uses. */
CDP_API size_t cdp_bitmap_memory_bytes(const cdp_bitmap *b);

#ifdef __cplusplus
}
#endif

#endif
