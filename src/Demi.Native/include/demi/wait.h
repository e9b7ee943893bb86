/* demi/wait.h - waiting for queue tokens (Demi's implementation of the Demikernel C ABI). */
#ifndef DEMI_WAIT_H_IS_INCLUDED
#define DEMI_WAIT_H_IS_INCLUDED

#include <time.h>
#include <demi/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Waits for `qt` to complete and consumes it. `timeout` is relative: NULL waits forever, zero
 * polls once. Returns 0 (a failed operation still returns 0, with qr_opcode DEMI_OPC_FAILED and
 * its errno in qr_ret), ETIMEDOUT, or EINVAL (unknown or consumed token, NULL qr_out, bad timeout).
 */
extern int demi_wait(demi_qresult_t *qr_out, demi_qtoken_t qt, const struct timespec *timeout);

/**
 * Waits for the first of `num_qts` tokens to complete, consumes it and writes its index to
 * `*ready_offset`. Completions of the other tokens stay for later waits.
 * EINVAL: num_qts < 1, NULL pointers, a bad timeout, or an unknown token anywhere in the list (even
 * when another token of it is ready; nothing is consumed then).
 */
extern int demi_wait_any(demi_qresult_t *qr_out, int *ready_offset, const demi_qtoken_t qts[], int num_qts,
                         const struct timespec *timeout);

/**
 * Waits for the next completions of any operation, oldest first, and writes up to `num_qrs` of them
 * to `qr_out` and their count to `*num_qrs_out` (at least one unless it returns ETIMEDOUT).
 */
extern int demi_wait_next_n(demi_qresult_t *qr_out, int num_qrs, int *num_qrs_out, const struct timespec *timeout);

#ifdef __cplusplus
}
#endif

#endif /* DEMI_WAIT_H_IS_INCLUDED */
