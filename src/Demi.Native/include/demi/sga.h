/* demi/sga.h - scatter-gather array allocation (Demi's implementation of the Demikernel C ABI). */
#ifndef DEMI_SGA_H_IS_INCLUDED
#define DEMI_SGA_H_IS_INCLUDED

#include <stddef.h>
#include <demi/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Allocates a scatter-gather array of `size` bytes in memory the libOS can transmit from.
 * On failure (size 0, too large, before demi_init) the array has sga_buf NULL and sga_numsegs 0.
 */
extern demi_sgarray_t demi_sgaalloc(size_t size);

/**
 * Releases a scatter-gather array (from demi_sgaalloc or a pop). A push in flight keeps the
 * buffer alive until it completes. EINVAL (nothing is freed): NULL, not a live array, a segment count
 * other than 1, or a segment reaching outside its allocation (demi_sgafree(3)'s "invalid size").
 */
extern int demi_sgafree(demi_sgarray_t *sga);

#ifdef __cplusplus
}
#endif

#endif /* DEMI_SGA_H_IS_INCLUDED */
