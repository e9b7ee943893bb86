/*
 * demi/types.h - Demi's implementation of the Demikernel C ABI types.
 *
 * Every structure is packed (no padding), byte-compatible with Demikernel's headers:
 *   demi_sgaseg_t 12 bytes, demi_sgarray_t 40 bytes, demi_accept_result_t 20 bytes,
 *   demi_qresult_t 64 bytes (qr_opcode 0, qr_qd 4, qr_qt 8, qr_ret 16, qr_value 24),
 *   struct demi_args 20 bytes.
 */
#ifndef DEMI_TYPES_H_IS_INCLUDED
#define DEMI_TYPES_H_IS_INCLUDED

#include <stdint.h>
#include <stddef.h>
#include <netinet/in.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Maximum number of segments in a scatter-gather array. */
#define DEMI_SGARRAY_MAXSIZE 1

/** A queue token: names one asynchronous operation until a wait consumes it. */
typedef uint64_t demi_qtoken_t;

/** One segment of a scatter-gather array. */
typedef struct __attribute__((__packed__)) demi_sgaseg
{
    /** Start of the segment's bytes (may be advanced inside the allocation before a push). */
    void *sgaseg_buf;
    /** Length of the segment in bytes (may be reduced before a push). */
    uint32_t sgaseg_len;
} demi_sgaseg_t;

/** A scatter-gather array. */
typedef struct __attribute__((__packed__)) demi_sgarray
{
    /** The libOS's opaque handle of the underlying buffer. */
    void *sga_buf;
    /** Number of segments: 0 for a failed allocation, else 1. */
    uint32_t sga_numsegs;
    /** The segments. */
    demi_sgaseg_t sga_segs[DEMI_SGARRAY_MAXSIZE];
    /** Source address of a popped UDP datagram; zero otherwise. */
    struct sockaddr_in sga_addr;
} demi_sgarray_t;

/** What a completed operation was. */
typedef enum demi_opcode
{
    DEMI_OPC_INVALID = 0,
    DEMI_OPC_PUSH = 1,
    DEMI_OPC_POP = 2,
    DEMI_OPC_ACCEPT = 3,
    DEMI_OPC_CONNECT = 4,
    DEMI_OPC_CLOSE = 5,
    DEMI_OPC_FAILED = 6,
} demi_opcode_t;

/** The result of an accept: the new connection's queue descriptor and its peer. */
typedef struct __attribute__((__packed__)) demi_accept_result
{
    int32_t qd;
    struct sockaddr_in addr;
} demi_accept_result_t;

/** The result of a completed operation, written by demi_wait, demi_wait_any and demi_wait_next_n. */
typedef struct __attribute__((__packed__)) demi_qresult
{
    /** The operation; DEMI_OPC_FAILED when it failed. */
    demi_opcode_t qr_opcode;
    /** The queue descriptor the operation ran on. */
    int32_t qr_qd;
    /** The operation's queue token. */
    demi_qtoken_t qr_qt;
    /** 0, or the errno of a failed operation. */
    int64_t qr_ret;
    union __attribute__((__packed__))
    {
        /** Push: the pushed array. Pop: the data (the application frees it with demi_sgafree). */
        demi_sgarray_t sga;
        /** Accept: the new connection. */
        demi_accept_result_t ares;
    } qr_value;
} demi_qresult_t;

/** Profiler hook (accepted and ignored by Demi). */
typedef void (*demi_callback_t)(const char *name, uint32_t name_len, uint64_t cycles);

/** Arguments of demi_init. A NULL pointer means no arguments. */
typedef struct __attribute__((__packed__)) demi_args
{
    int argc;
    char *const *argv;
    demi_callback_t callback;
} demi_args_t;

#ifdef __cplusplus
}
#endif

#endif /* DEMI_TYPES_H_IS_INCLUDED */
