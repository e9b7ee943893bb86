/*
 * misuse.c - the C ABI under misuse (issue 16 item 10): NULL for every pointer argument of every
 * demi_* function, a double demi_sgafree (also after the buffer went to a new owner), a token waited
 * twice, a descriptor used after close. Each is an errno, never a crash, and never harms another
 * owner's buffer. catnap over 127.0.0.1.
 */
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include "check.h"
#include "util.h"

static const struct timespec zero = {0, 0};

int main(void)
{
    REQUIRE_OK(demi_init(NULL));
    int qd = -1, n = 0, offset = 0;
    demi_qtoken_t qt = 0;
    demi_qresult_t qr;
    struct sockaddr_in a = loopback(free_port(SOCK_DGRAM));
    socklen_t len = sizeof(a);
    int v = 1;

    /* NULL in every pointer position. */
    CHECK_ERR(demi_socket(NULL, AF_INET, SOCK_DGRAM, 0), EINVAL);
    REQUIRE_OK(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0));
    CHECK_ERR(demi_bind(qd, NULL, sizeof(a)), EINVAL);
    REQUIRE_OK(demi_bind(qd, (struct sockaddr *)&a, sizeof(a)));
    CHECK_ERR(demi_accept(NULL, qd), EINVAL);
    CHECK_ERR(demi_connect(NULL, qd, (struct sockaddr *)&a, sizeof(a)), EINVAL);
    CHECK_ERR(demi_connect(&qt, qd, NULL, sizeof(a)), EINVAL);
    demi_sgarray_t sga = demi_sgaalloc(32);
    REQUIRE_OK(sga.sga_numsegs == 1 ? 0 : ENOMEM);
    CHECK_ERR(demi_push(NULL, qd, &sga), EINVAL);
    CHECK_ERR(demi_push(&qt, qd, NULL), EINVAL);
    CHECK_ERR(demi_pushto(NULL, qd, &sga, (struct sockaddr *)&a, sizeof(a)), EINVAL);
    CHECK_ERR(demi_pushto(&qt, qd, NULL, (struct sockaddr *)&a, sizeof(a)), EINVAL);
    CHECK_ERR(demi_pushto(&qt, qd, &sga, NULL, sizeof(a)), EINVAL);
    CHECK_ERR(demi_pop(NULL, qd), EINVAL);
    CHECK_ERR(demi_setsockopt(qd, SOL_SOCKET, SO_KEEPALIVE, NULL, sizeof(v)), EINVAL);
    CHECK_ERR(demi_getsockopt(qd, SOL_SOCKET, SO_KEEPALIVE, NULL, &len), EINVAL);
    CHECK_ERR(demi_getsockopt(qd, SOL_SOCKET, SO_KEEPALIVE, &v, NULL), EINVAL);
    CHECK_ERR(demi_getpeername(qd, NULL, &len), EINVAL);
    CHECK_ERR(demi_getpeername(qd, (struct sockaddr *)&a, NULL), EINVAL);
    CHECK_ERR(demi_sgafree(NULL), EINVAL);
    REQUIRE_OK(demi_pop(&qt, qd));
    CHECK_ERR(demi_wait(NULL, qt, &zero), EINVAL);
    CHECK_ERR(demi_wait_any(NULL, &offset, &qt, 1, &zero), EINVAL);
    CHECK_ERR(demi_wait_any(&qr, NULL, &qt, 1, &zero), EINVAL);
    CHECK_ERR(demi_wait_any(&qr, &offset, NULL, 1, &zero), EINVAL);
    CHECK_ERR(demi_wait_next_n(NULL, 1, &n, &zero), EINVAL);
    CHECK_ERR(demi_wait_next_n(&qr, 1, NULL, &zero), EINVAL);

    /* A token waited twice: the second wait is EINVAL (the first consumed it). */
    demi_qtoken_t push_qt;
    REQUIRE_OK(demi_pushto(&push_qt, qd, &sga, (struct sockaddr *)&a, sizeof(a)));
    struct timespec t = {5, 0};
    CHECK_ERR(demi_wait(&qr, push_qt, &t), 0);
    CHECK_ERR(demi_wait(&qr, push_qt, &zero), EINVAL);
    CHECK_ERR(demi_wait(&qr, qt, &t), 0); /* the pop got the datagram */
    CHECK(qr.qr_opcode == DEMI_OPC_POP);
    demi_sgarray_t popped = qr.qr_value.sga; /* a failed wait clears its result */
    CHECK_ERR(demi_wait(&qr, qt, &zero), EINVAL);
    CHECK_ERR(demi_wait_any(&qr, &offset, &qt, 1, &zero), EINVAL);
    CHECK_ERR(demi_sgafree(&popped), 0);

    /* A double free is EINVAL, also once the buffer has a new owner: the stale handle must not free it. */
    demi_sgarray_t stale = sga;
    CHECK_ERR(demi_sgafree(&sga), 0);
    CHECK_ERR(demi_sgafree(&stale), EINVAL);
    demi_sgarray_t owners[64];
    for (int i = 0; i < 64; i++) /* the pool is LIFO: the freed buffer is among the next ones handed out */
        owners[i] = demi_sgaalloc(32);
    CHECK_ERR(demi_sgafree(&stale), EINVAL);
    for (int i = 0; i < 64; i++) {
        CHECK(owners[i].sga_numsegs == 1);
        CHECK_ERR(demi_sgafree(&owners[i]), 0); /* every new owner still holds its buffer */
    }

    /* A descriptor used after close: EBADF everywhere. */
    CHECK_ERR(demi_close(qd), 0);
    sga = demi_sgaalloc(8);
    CHECK_ERR(demi_close(qd), EBADF);
    CHECK_ERR(demi_bind(qd, (struct sockaddr *)&a, sizeof(a)), EBADF);
    CHECK_ERR(demi_listen(qd, 8), EBADF);
    CHECK_ERR(demi_accept(&qt, qd), EBADF);
    CHECK_ERR(demi_connect(&qt, qd, (struct sockaddr *)&a, sizeof(a)), EBADF);
    CHECK_ERR(demi_push(&qt, qd, &sga), EBADF);
    CHECK_ERR(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&a, sizeof(a)), EBADF);
    CHECK_ERR(demi_pop(&qt, qd), EBADF);
    CHECK_ERR(demi_setsockopt(qd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)), EBADF);
    len = sizeof(v);
    CHECK_ERR(demi_getsockopt(qd, SOL_SOCKET, SO_KEEPALIVE, &v, &len), EBADF);
    len = sizeof(a);
    CHECK_ERR(demi_getpeername(qd, (struct sockaddr *)&a, &len), EBADF);
    CHECK_ERR(demi_sgafree(&sga), 0);
    return check_summary("misuse");
}
