/*
 * errors.c - every documented error of every demi_* function (Demikernel man pages + Demi's
 * header), on catnap over 127.0.0.1. The full demi_pushto list is in test_pushto().
 */
#include <demi/libos.h>
#include <netinet/tcp.h>
#include "check.h"
#include "util.h"

static const struct timespec zero_timeout = {0, 0};
static const int not_a_qd = 12345; /* descriptors start at 500; this one is never opened here */

static int udp_socket(void)
{
    int qd = -1;
    REQUIRE_OK(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0));
    return qd;
}

static int tcp_socket(void)
{
    int qd = -1;
    REQUIRE_OK(demi_socket(&qd, AF_INET, SOCK_STREAM, 0));
    return qd;
}

static void test_before_init(void)
{
    int qd = 0, n = 0;
    demi_qtoken_t qt = 0;
    demi_qresult_t qr;
    demi_sgarray_t sga;
    struct sockaddr_in a = loopback(1);
    socklen_t len = sizeof(a);
    int v = 0;

    CHECK_ERR(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), ENOSYS);
    CHECK_ERR(demi_bind(500, (struct sockaddr *)&a, sizeof(a)), ENOSYS);
    CHECK_ERR(demi_listen(500, 16), ENOSYS);
    CHECK_ERR(demi_accept(&qt, 500), ENOSYS);
    CHECK_ERR(demi_connect(&qt, 500, (struct sockaddr *)&a, sizeof(a)), ENOSYS);
    CHECK_ERR(demi_close(500), ENOSYS);
    memset(&sga, 0, sizeof(sga));
    CHECK_ERR(demi_push(&qt, 500, &sga), ENOSYS);
    CHECK_ERR(demi_pushto(&qt, 500, &sga, (struct sockaddr *)&a, sizeof(a)), ENOSYS);
    CHECK_ERR(demi_pop(&qt, 500), ENOSYS);
    CHECK_ERR(demi_setsockopt(500, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)), ENOSYS);
    CHECK_ERR(demi_getsockopt(500, SOL_SOCKET, SO_KEEPALIVE, &v, &len), ENOSYS);
    CHECK_ERR(demi_getpeername(500, (struct sockaddr *)&a, &len), ENOSYS);
    sga = demi_sgaalloc(64);
    CHECK(sga.sga_buf == NULL && sga.sga_numsegs == 0);
    CHECK_ERR(demi_sgafree(&sga), ENOSYS);
    CHECK_ERR(demi_wait(&qr, 1, &zero_timeout), ENOSYS);
    CHECK_ERR(demi_wait_any(&qr, &n, &qt, 1, &zero_timeout), ENOSYS);
    CHECK_ERR(demi_wait_next_n(&qr, 1, &n, &zero_timeout), ENOSYS);
}

static void test_init(void)
{
    CHECK_ERR(demi_init(NULL), 0);
    CHECK_ERR(demi_init(NULL), EEXIST);
    struct demi_args args = {0, NULL, NULL};
    CHECK_ERR(demi_init(&args), EEXIST);
}

static void test_socket(void)
{
    int qd = -1;
    CHECK_ERR(demi_socket(NULL, AF_INET, SOCK_DGRAM, 0), EINVAL);
    CHECK_ERR(demi_socket(&qd, AF_INET6, SOCK_DGRAM, 0), ENOTSUP);
    CHECK_ERR(demi_socket(&qd, AF_UNIX, SOCK_STREAM, 0), ENOTSUP);
    CHECK_ERR(demi_socket(&qd, AF_INET, SOCK_RAW, 0), ENOTSUP);
    CHECK_ERR(demi_socket(&qd, AF_INET, SOCK_SEQPACKET, 0), ENOTSUP);
    CHECK_ERR(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), 0);
    CHECK(qd >= 500); /* Demikernel's descriptors start at 500 */
    CHECK_ERR(demi_close(qd), 0);
    CHECK_ERR(demi_socket(&qd, AF_INET, SOCK_STREAM, IPPROTO_TCP), 0);
    CHECK_ERR(demi_close(qd), 0);
}

static void test_bind(void)
{
    int qd = udp_socket();
    uint16_t port = free_port(SOCK_DGRAM);
    struct sockaddr_in a = loopback(port);
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof(a6));
    a6.sin6_family = AF_INET6;

    CHECK_ERR(demi_bind(qd, NULL, sizeof(a)), EINVAL);
    CHECK_ERR(demi_bind(qd, (struct sockaddr *)&a, sizeof(a) - 1), EINVAL);
    CHECK_ERR(demi_bind(qd, (struct sockaddr *)&a, sizeof(a) + 4), EINVAL);
    CHECK_ERR(demi_bind(qd, (struct sockaddr *)&a6, sizeof(a)), EINVAL);
    CHECK_ERR(demi_bind(not_a_qd, (struct sockaddr *)&a, sizeof(a)), EBADF);
    CHECK_ERR(demi_bind(-1, (struct sockaddr *)&a, sizeof(a)), EBADF);
    CHECK_ERR(demi_bind(qd, (struct sockaddr *)&a, sizeof(a)), 0);

    int other = udp_socket();
    CHECK_ERR(demi_bind(other, (struct sockaddr *)&a, sizeof(a)), EADDRINUSE);
    /* 192.0.2.1 (TEST-NET-1) is not an address of this host; bind sends nothing. */
    struct sockaddr_in foreign = loopback(port);
    foreign.sin_addr.s_addr = inet_addr("192.0.2.1");
    CHECK_ERR(demi_bind(other, (struct sockaddr *)&foreign, sizeof(foreign)), EADDRNOTAVAIL);
    CHECK_ERR(demi_close(other), 0);

    CHECK_ERR(demi_close(qd), 0);
    CHECK_ERR(demi_bind(qd, (struct sockaddr *)&a, sizeof(a)), EBADF); /* closed */
}

static void test_listen(void)
{
    int qd = tcp_socket();
    CHECK_ERR(demi_listen(qd, 16), EDESTADDRREQ); /* not bound */
    struct sockaddr_in a = loopback(free_port(SOCK_STREAM));
    REQUIRE_OK(demi_bind(qd, (struct sockaddr *)&a, sizeof(a)));
    CHECK_ERR(demi_listen(qd, 0), EINVAL);
    CHECK_ERR(demi_listen(qd, -1), EINVAL);
    CHECK_ERR(demi_listen(qd, 4097), EINVAL); /* above SOMAXCONN */
    CHECK_ERR(demi_listen(not_a_qd, 16), EBADF);
    CHECK_ERR(demi_listen(qd, 16), 0);
    CHECK_ERR(demi_listen(qd, 16), EADDRINUSE); /* already listening */
    demi_qtoken_t qt = 0;
    CHECK_ERR(demi_connect(&qt, qd, (struct sockaddr *)&a, sizeof(a)), EINVAL); /* demi_connect(3): listening: at call time */
    int second = tcp_socket();
    CHECK_ERR(demi_bind(second, (struct sockaddr *)&a, sizeof(a)), EADDRINUSE); /* demi_bind(3) */
    CHECK_ERR(demi_close(second), 0);
    int udp = -1;
    REQUIRE_OK(demi_socket(&udp, AF_INET, SOCK_DGRAM, 0));
    CHECK_ERR(demi_listen(udp, 16), EINVAL); /* demi_listen(3): a queue that does not support listen */
    CHECK_ERR(demi_accept(&qt, udp), EINVAL); /* demi_accept(3): at once */
    CHECK_ERR(demi_close(udp), 0);
    int idle = tcp_socket();
    CHECK_ERR(demi_accept(&qt, idle), EINVAL); /* not listening: at once */
    CHECK_ERR(demi_close(idle), 0);
    CHECK_ERR(demi_close(qd), 0);
    CHECK_ERR(demi_listen(qd, 16), EBADF);
}

static void test_accept_connect(void)
{
    demi_qtoken_t qt = 0;
    int qd = tcp_socket();
    struct sockaddr_in a = loopback(free_port(SOCK_STREAM));
    CHECK_ERR(demi_accept(NULL, qd), EINVAL);
    CHECK_ERR(demi_accept(&qt, not_a_qd), EBADF);
    CHECK_ERR(demi_connect(NULL, qd, (struct sockaddr *)&a, sizeof(a)), EINVAL);
    CHECK_ERR(demi_connect(&qt, qd, NULL, sizeof(a)), EINVAL);
    CHECK_ERR(demi_connect(&qt, qd, (struct sockaddr *)&a, 8), EINVAL);
    CHECK_ERR(demi_connect(&qt, not_a_qd, (struct sockaddr *)&a, sizeof(a)), EBADF);
    CHECK_ERR(demi_close(qd), 0);
    CHECK_ERR(demi_accept(&qt, qd), EBADF);
    CHECK_ERR(demi_connect(&qt, qd, (struct sockaddr *)&a, sizeof(a)), EBADF);

    /* Connecting to a port nobody listens on completes as failed with ECONNREFUSED. */
    qd = tcp_socket();
    demi_qresult_t qr;
    CHECK_ERR(demi_connect(&qt, qd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timespec t = {5, 0};
    CHECK_ERR(demi_wait(&qr, qt, &t), 0);
    CHECK(qr.qr_opcode == DEMI_OPC_FAILED && qr.qr_ret == ECONNREFUSED && qr.qr_qt == qt && qr.qr_qd == qd);
    CHECK_ERR(demi_close(qd), 0);
}

/* demi_close(3) lists "qd does not refer to a valid I/O queue" under EINVAL and "not a valid I/O queue
 * descriptor" under EBADF: Demi answers as Linux close(2), EBADF for every descriptor that is not open. */
static void test_close(void)
{
    int qd = udp_socket();
    CHECK_ERR(demi_close(not_a_qd), EBADF);
    CHECK_ERR(demi_close(-1), EBADF);
    CHECK_ERR(demi_close(0), EBADF); /* stdin's fd is no queue */
    CHECK_ERR(demi_close(qd), 0);
    CHECK_ERR(demi_close(qd), EBADF);
    int tcp = tcp_socket();
    CHECK_ERR(demi_close(tcp), 0);
    CHECK_ERR(demi_close(tcp), EBADF);

    /* Closing completes pending operations as failed with ECANCELED. */
    qd = udp_socket();
    struct sockaddr_in a = loopback(free_port(SOCK_DGRAM));
    REQUIRE_OK(demi_bind(qd, (struct sockaddr *)&a, sizeof(a)));
    demi_qtoken_t qt;
    demi_qresult_t qr;
    REQUIRE_OK(demi_pop(&qt, qd));
    CHECK_ERR(demi_wait(&qr, qt, &zero_timeout), ETIMEDOUT);
    CHECK_ERR(demi_close(qd), 0);
    struct timespec t = {5, 0};
    CHECK_ERR(demi_wait(&qr, qt, &t), 0);
    CHECK(qr.qr_opcode == DEMI_OPC_FAILED && qr.qr_ret == ECANCELED);
}

/* The demi_pushto man page's list, plus Demi's checks of the segment. */
static void test_pushto(void)
{
    int qd = udp_socket();
    int rx = udp_socket();
    struct sockaddr_in dst = loopback(free_port(SOCK_DGRAM));
    REQUIRE_OK(demi_bind(rx, (struct sockaddr *)&dst, sizeof(dst)));
    demi_qtoken_t qt = 0;
    demi_qresult_t qr;
    demi_sgarray_t sga = demi_sgaalloc(32);
    REQUIRE_OK(sga.sga_numsegs == 1 && sga.sga_buf != NULL ? 0 : ENOMEM);
    memset(sga.sga_segs[0].sgaseg_buf, 'x', 32);

    /* EINVAL: dest_addr not a valid socket address structure */
    CHECK_ERR(demi_pushto(&qt, qd, &sga, NULL, sizeof(dst)), EINVAL);
    struct sockaddr_in wrong_family = dst;
    wrong_family.sin_family = AF_INET6;
    CHECK_ERR(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&wrong_family, sizeof(dst)), EINVAL);
    wrong_family.sin_family = AF_UNSPEC;
    CHECK_ERR(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&wrong_family, sizeof(dst)), EINVAL);
    /* EINVAL: size not valid */
    CHECK_ERR(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&dst, 0), EINVAL);
    CHECK_ERR(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&dst, sizeof(dst) - 1), EINVAL);
    CHECK_ERR(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&dst, sizeof(struct sockaddr_in6)), EINVAL);
    /* EINVAL: sga not a valid scatter-gather array */
    CHECK_ERR(demi_pushto(&qt, qd, NULL, (struct sockaddr *)&dst, sizeof(dst)), EINVAL);
    demi_sgarray_t bad = sga;
    bad.sga_numsegs = 0;
    CHECK_ERR(demi_pushto(&qt, qd, &bad, (struct sockaddr *)&dst, sizeof(dst)), EINVAL);
    bad = sga;
    bad.sga_numsegs = 2;
    CHECK_ERR(demi_pushto(&qt, qd, &bad, (struct sockaddr *)&dst, sizeof(dst)), EINVAL);
    demi_sgarray_t failed = demi_sgaalloc(0); /* a failed allocation */
    CHECK_ERR(demi_pushto(&qt, qd, &failed, (struct sockaddr *)&dst, sizeof(dst)), EINVAL);
    bad = sga;
    bad.sga_buf = (void *)0x1000; /* not a buffer of ours */
    CHECK_ERR(demi_pushto(&qt, qd, &bad, (struct sockaddr *)&dst, sizeof(dst)), EINVAL);
    bad = sga;
    bad.sga_segs[0].sgaseg_len = 1 << 20; /* beyond the allocation */
    CHECK_ERR(demi_pushto(&qt, qd, &bad, (struct sockaddr *)&dst, sizeof(dst)), EINVAL);
    /* EINVAL: zero-length buffer */
    bad = sga;
    bad.sga_segs[0].sgaseg_len = 0;
    CHECK_ERR(demi_pushto(&qt, qd, &bad, (struct sockaddr *)&dst, sizeof(dst)), EINVAL);
    /* EBADF: not a socket queue, or closed */
    CHECK_ERR(demi_pushto(&qt, not_a_qd, &sga, (struct sockaddr *)&dst, sizeof(dst)), EBADF);
    CHECK_ERR(demi_pushto(&qt, -1, &sga, (struct sockaddr *)&dst, sizeof(dst)), EBADF);
    CHECK_ERR(demi_pushto(&qt, 0, &sga, (struct sockaddr *)&dst, sizeof(dst)), EBADF); /* stdin's fd is no queue */
    int closed = udp_socket();
    REQUIRE_OK(demi_close(closed));
    CHECK_ERR(demi_pushto(&qt, closed, &sga, (struct sockaddr *)&dst, sizeof(dst)), EBADF);
    /* NULL qt_out */
    CHECK_ERR(demi_pushto(NULL, qd, &sga, (struct sockaddr *)&dst, sizeof(dst)), EINVAL);

    /* Success, also with a segment shrunk inside its allocation. */
    qt = 0;
    CHECK_ERR(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&dst, sizeof(dst)), 0);
    CHECK(qt != 0);
    CHECK_ERR(demi_wait(&qr, qt, NULL), 0);
    CHECK(qr.qr_opcode == DEMI_OPC_PUSH && qr.qr_qt == qt && qr.qr_qd == qd && qr.qr_ret == 0);
    demi_sgarray_t shrunk = sga;
    shrunk.sga_segs[0].sgaseg_buf = (char *)sga.sga_segs[0].sgaseg_buf + 8;
    shrunk.sga_segs[0].sgaseg_len = 16;
    CHECK_ERR(demi_pushto(&qt, qd, &shrunk, (struct sockaddr *)&dst, sizeof(dst)), 0);
    CHECK_ERR(demi_wait(&qr, qt, NULL), 0);
    CHECK(qr.qr_opcode == DEMI_OPC_PUSH);
    /* The receiver got both datagrams: 32 then 16 bytes. */
    int sizes[2] = {32, 16};
    for (int i = 0; i < 2; i++) {
        struct timespec t = {5, 0};
        REQUIRE_OK(demi_pop(&qt, rx));
        CHECK_ERR(demi_wait(&qr, qt, &t), 0);
        CHECK(qr.qr_opcode == DEMI_OPC_POP && (int)qr.qr_value.sga.sga_segs[0].sgaseg_len == sizes[i]);
        if (qr.qr_opcode == DEMI_OPC_POP)
            CHECK_ERR(demi_sgafree(&qr.qr_value.sga), 0);
    }

    /* A freed sga is no longer valid. */
    CHECK_ERR(demi_sgafree(&sga), 0);
    CHECK_ERR(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&dst, sizeof(dst)), EINVAL);
    CHECK_ERR(demi_close(qd), 0);
    CHECK_ERR(demi_close(rx), 0);
}

static void test_push(void)
{
    int qd = udp_socket();
    demi_qtoken_t qt = 0;
    demi_sgarray_t sga = demi_sgaalloc(8);
    demi_sgarray_t bad = sga;
    CHECK_ERR(demi_push(NULL, qd, &sga), EINVAL);
    CHECK_ERR(demi_push(&qt, qd, NULL), EINVAL);
    bad.sga_numsegs = 0;
    CHECK_ERR(demi_push(&qt, qd, &bad), EINVAL);
    bad = sga;
    bad.sga_numsegs = 2;
    CHECK_ERR(demi_push(&qt, qd, &bad), EINVAL);
    bad = sga;
    bad.sga_buf = (void *)0x1000; /* not a buffer of ours */
    CHECK_ERR(demi_push(&qt, qd, &bad), EINVAL);
    bad = sga;
    bad.sga_segs[0].sgaseg_len = 1 << 20; /* beyond the allocation */
    CHECK_ERR(demi_push(&qt, qd, &bad), EINVAL);
    bad = sga;
    bad.sga_segs[0].sgaseg_len = 0;
    CHECK_ERR(demi_push(&qt, qd, &bad), EINVAL);
    CHECK_ERR(demi_push(&qt, not_a_qd, &sga), EBADF);
    CHECK_ERR(demi_push(&qt, -1, &sga), EBADF);
    CHECK_ERR(demi_push(&qt, not_a_qd, NULL), EBADF); /* the descriptor is checked first */
    CHECK_ERR(demi_close(qd), 0);
    CHECK_ERR(demi_push(&qt, qd, &sga), EBADF);
    demi_sgarray_t freed = demi_sgaalloc(8);
    CHECK_ERR(demi_sgafree(&freed), 0);
    qd = udp_socket();
    CHECK_ERR(demi_push(&qt, qd, &freed), EINVAL);
    CHECK_ERR(demi_close(qd), 0);
    CHECK_ERR(demi_sgafree(&sga), 0);
}

/* EAGAIN (no token left) for pop and pushto; also exercises demi_wait_next_n in batches. */
static void test_eagain(void)
{
    int qd = udp_socket();
    struct sockaddr_in a = loopback(free_port(SOCK_DGRAM));
    REQUIRE_OK(demi_bind(qd, (struct sockaddr *)&a, sizeof(a)));
    demi_qtoken_t qt;
    int issued = 0, err = 0;
    /* Default token table: 65,536 operations; pending pops hold theirs. */
    while (issued < 200000 && (err = demi_pop(&qt, qd)) == 0)
        issued++;
    CHECK_ERR(err, EAGAIN);
    CHECK(issued > 0 && issued < 200000);
    demi_sgarray_t sga = demi_sgaalloc(8);
    CHECK_ERR(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&a, sizeof(a)), EAGAIN);
    CHECK_ERR(demi_push(&qt, qd, &sga), EAGAIN);
    CHECK_ERR(demi_accept(&qt, qd), EINVAL); /* demi_accept(3): a UDP socket cannot accept (checked before any token) */

    /* Closing cancels them all; redeem them with demi_wait_next_n. */
    REQUIRE_OK(demi_close(qd));
    static demi_qresult_t results[1024];
    int redeemed = 0, canceled = 0, n = 0;
    struct timespec t = {5, 0};
    while (redeemed < issued && demi_wait_next_n(results, 1024, &n, &t) == 0) {
        for (int i = 0; i < n; i++)
            canceled += results[i].qr_opcode == DEMI_OPC_FAILED && results[i].qr_ret == ECANCELED;
        redeemed += n;
    }
    CHECK(redeemed == issued);
    CHECK(canceled == issued);
    CHECK_ERR(demi_wait_next_n(results, 1024, &n, &zero_timeout), ETIMEDOUT);
    CHECK_ERR(demi_sgafree(&sga), 0);
}

static void test_pop(void)
{
    int qd = udp_socket();
    demi_qtoken_t qt;
    CHECK_ERR(demi_pop(NULL, qd), EINVAL);
    CHECK_ERR(demi_pop(&qt, not_a_qd), EBADF);
    CHECK_ERR(demi_close(qd), 0);
    CHECK_ERR(demi_pop(&qt, qd), EBADF);
}

static void test_sockopt(void)
{
    int qd = tcp_socket();
    struct linger l = {1, 7};
    socklen_t len = sizeof(l);
    int v = 1;
    CHECK_ERR(demi_setsockopt(not_a_qd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), EBADF);
    CHECK_ERR(demi_setsockopt(qd, SOL_SOCKET, SO_LINGER, NULL, sizeof(l)), EINVAL);
    CHECK_ERR(demi_setsockopt(qd, SOL_SOCKET, SO_LINGER, &l, 2), EINVAL);
    CHECK_ERR(demi_setsockopt(qd, SOL_SOCKET, 9999, &v, sizeof(v)), ENOPROTOOPT);
    /* demi_setsockopt(3): an unsupported level is ENOTSUP, an unsupported option ENOPROTOOPT. */
    CHECK_ERR(demi_setsockopt(qd, 9999, SO_LINGER, &l, sizeof(l)), ENOTSUP);
    CHECK_ERR(demi_setsockopt(qd, IPPROTO_IP, SO_LINGER, &l, sizeof(l)), ENOTSUP);
    CHECK_ERR(demi_setsockopt(qd, IPPROTO_TCP, 9999, &v, sizeof(v)), ENOPROTOOPT);
    CHECK_ERR(demi_setsockopt(qd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
    CHECK_ERR(demi_setsockopt(qd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)), 0);
    CHECK_ERR(demi_setsockopt(qd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)), 0);

    struct linger got = {0, 0};
    CHECK_ERR(demi_getsockopt(not_a_qd, SOL_SOCKET, SO_LINGER, &got, &len), EBADF);
    CHECK_ERR(demi_getsockopt(qd, SOL_SOCKET, SO_LINGER, NULL, &len), EINVAL);
    CHECK_ERR(demi_getsockopt(qd, SOL_SOCKET, SO_LINGER, &got, NULL), EINVAL);
    len = 2;
    CHECK_ERR(demi_getsockopt(qd, SOL_SOCKET, SO_LINGER, &got, &len), EINVAL);
    len = sizeof(got);
    CHECK_ERR(demi_getsockopt(qd, SOL_SOCKET, 9999, &got, &len), ENOPROTOOPT);
    CHECK_ERR(demi_getsockopt(qd, 9999, SO_LINGER, &got, &len), ENOTSUP);
    CHECK_ERR(demi_getsockopt(qd, IPPROTO_UDP, SO_LINGER, &got, &len), ENOTSUP);
    len = sizeof(got);
    CHECK_ERR(demi_getsockopt(qd, SOL_SOCKET, SO_LINGER, &got, &len), 0);
    CHECK(len == sizeof(got) && got.l_onoff != 0 && got.l_linger == 7);
    int on = 0;
    len = sizeof(on);
    CHECK_ERR(demi_getsockopt(qd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    CHECK(len == sizeof(on) && on != 0);
    CHECK_ERR(demi_close(qd), 0);
    CHECK_ERR(demi_setsockopt(qd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), EBADF);
}

static void test_getpeername(void)
{
    int qd = tcp_socket();
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    CHECK_ERR(demi_getpeername(not_a_qd, (struct sockaddr *)&a, &len), EBADF);
    CHECK_ERR(demi_getpeername(qd, NULL, &len), EINVAL);
    CHECK_ERR(demi_getpeername(qd, (struct sockaddr *)&a, NULL), EINVAL);
    len = sizeof(a) - 1;
    CHECK_ERR(demi_getpeername(qd, (struct sockaddr *)&a, &len), EINVAL);
    len = sizeof(struct sockaddr_in6);
    CHECK_ERR(demi_getpeername(qd, (struct sockaddr *)&a, &len), EINVAL);
    len = sizeof(a);
    CHECK_ERR(demi_getpeername(qd, (struct sockaddr *)&a, &len), ENOTCONN);
    int udp = udp_socket();
    CHECK_ERR(demi_getpeername(udp, (struct sockaddr *)&a, &len), ENOTSUP);
    CHECK_ERR(demi_close(udp), 0);
    CHECK_ERR(demi_close(qd), 0);
    CHECK_ERR(demi_getpeername(qd, (struct sockaddr *)&a, &len), EBADF);
}

static void test_sga(void)
{
    demi_sgarray_t sga = demi_sgaalloc(0);
    CHECK(sga.sga_buf == NULL && sga.sga_numsegs == 0);
    sga = demi_sgaalloc((size_t)1 << 40);
    CHECK(sga.sga_buf == NULL && sga.sga_numsegs == 0);
    sga = demi_sgaalloc((size_t)-1);
    CHECK(sga.sga_buf == NULL && sga.sga_numsegs == 0);

    sga = demi_sgaalloc(100);
    CHECK(sga.sga_buf != NULL && sga.sga_numsegs == 1 && sga.sga_segs[0].sgaseg_len == 100);
    CHECK(sga.sga_segs[0].sgaseg_buf != NULL);
    memset(sga.sga_segs[0].sgaseg_buf, 0xab, 100); /* the memory is ours to write */
    sga = demi_sgaalloc(100000); /* larger than a pool buffer: Demi has no 64 KiB cap */
    CHECK(sga.sga_numsegs == 1 && sga.sga_segs[0].sgaseg_len == 100000);
    memset(sga.sga_segs[0].sgaseg_buf, 0xcd, 100000);

    CHECK_ERR(demi_sgafree(NULL), EINVAL);
    demi_sgarray_t bad = sga;
    bad.sga_numsegs = 0;
    CHECK_ERR(demi_sgafree(&bad), EINVAL);
    bad = sga;
    bad.sga_numsegs = 2;
    CHECK_ERR(demi_sgafree(&bad), EINVAL);
    bad = sga;
    bad.sga_buf = (void *)0x1000;
    CHECK_ERR(demi_sgafree(&bad), EINVAL);
    /* demi_sgafree(3) "an invalid size": a segment reaching outside its allocation frees nothing. */
    bad = sga;
    bad.sga_segs[0].sgaseg_len = 100001;
    CHECK_ERR(demi_sgafree(&bad), EINVAL);
    bad = sga;
    bad.sga_segs[0].sgaseg_buf = (char *)sga.sga_segs[0].sgaseg_buf + 100000;
    CHECK_ERR(demi_sgafree(&bad), EINVAL);
    CHECK_ERR(demi_sgafree(&sga), 0);
    CHECK_ERR(demi_sgafree(&sga), EINVAL); /* double free */
}

static void test_wait(void)
{
    demi_qresult_t qr;
    demi_qtoken_t qt, qts[2];
    int offset = -1, n = 0;
    int qd = udp_socket();
    struct sockaddr_in a = loopback(free_port(SOCK_DGRAM));
    REQUIRE_OK(demi_bind(qd, (struct sockaddr *)&a, sizeof(a)));
    REQUIRE_OK(demi_pop(&qt, qd));

    CHECK_ERR(demi_wait(NULL, qt, &zero_timeout), EINVAL);
    CHECK_ERR(demi_wait(&qr, 0, &zero_timeout), EINVAL);            /* never issued */
    CHECK_ERR(demi_wait(&qr, 0xdeadbeef12345ull, &zero_timeout), EINVAL);
    struct timespec bad = {0, 1000000000};
    CHECK_ERR(demi_wait(&qr, qt, &bad), EINVAL);
    bad.tv_sec = -1;
    bad.tv_nsec = 0;
    CHECK_ERR(demi_wait(&qr, qt, &bad), EINVAL);
    CHECK_ERR(demi_wait(&qr, qt, &zero_timeout), ETIMEDOUT);        /* zero polls once */
    struct timespec ms20 = {0, 20 * 1000 * 1000};
    double start = now_seconds();
    CHECK_ERR(demi_wait(&qr, qt, &ms20), ETIMEDOUT);
    double took = now_seconds() - start;
    CHECK(took >= 0.019 && took < 2.0);

    /* wait_any */
    CHECK_ERR(demi_wait_any(&qr, &offset, &qt, -1, &zero_timeout), EINVAL);
    CHECK_ERR(demi_wait_any(&qr, &offset, &qt, 0, &zero_timeout), EINVAL);
    CHECK_ERR(demi_wait_any(&qr, &offset, NULL, 1, &zero_timeout), EINVAL);
    CHECK_ERR(demi_wait_any(&qr, NULL, &qt, 1, &zero_timeout), EINVAL);
    CHECK_ERR(demi_wait_any(NULL, &offset, &qt, 1, &zero_timeout), EINVAL);
    qts[0] = qt;
    qts[1] = 0xdeadbeef12345ull; /* invalid token in the list */
    CHECK_ERR(demi_wait_any(&qr, &offset, qts, 2, &zero_timeout), EINVAL);
    CHECK_ERR(demi_wait_any(&qr, &offset, &qt, 1, &ms20), ETIMEDOUT);
    CHECK_ERR(demi_wait_any(&qr, &offset, &qt, 1, &bad), EINVAL);

    /* wait_next_n */
    CHECK_ERR(demi_wait_next_n(&qr, 0, &n, &zero_timeout), EINVAL);
    CHECK_ERR(demi_wait_next_n(&qr, -1, &n, &zero_timeout), EINVAL);
    CHECK_ERR(demi_wait_next_n(NULL, 1, &n, &zero_timeout), EINVAL);
    CHECK_ERR(demi_wait_next_n(&qr, 1, NULL, &zero_timeout), EINVAL);
    CHECK_ERR(demi_wait_next_n(&qr, 1, &n, &ms20), ETIMEDOUT);

    /* wait_any returns the index of the completed token; the other stays pending. */
    int tx = udp_socket();
    demi_sgarray_t sga = demi_sgaalloc(4);
    memcpy(sga.sga_segs[0].sgaseg_buf, "ping", 4);
    demi_qtoken_t push_qt;
    REQUIRE_OK(demi_pushto(&push_qt, tx, &sga, (struct sockaddr *)&a, sizeof(a)));
    struct timespec five = {5, 0};
    CHECK_ERR(demi_wait(&qr, push_qt, &five), 0);
    CHECK(qr.qr_opcode == DEMI_OPC_PUSH);
    CHECK_ERR(demi_wait(&qr, push_qt, &zero_timeout), EINVAL);      /* consumed */
    demi_qtoken_t second;
    REQUIRE_OK(demi_pop(&second, tx));                              /* never completes */
    qts[0] = second;
    qts[1] = qt;
    CHECK_ERR(demi_wait_any(&qr, &offset, qts, 2, &five), 0);
    CHECK(offset == 1 && qr.qr_opcode == DEMI_OPC_POP && qr.qr_qt == qt);
    CHECK(qr.qr_value.sga.sga_segs[0].sgaseg_len == 4 && memcmp(qr.qr_value.sga.sga_segs[0].sgaseg_buf, "ping", 4) == 0);
    CHECK(qr.qr_value.sga.sga_addr.sin_family == AF_INET);
    CHECK_ERR(demi_sgafree(&qr.qr_value.sga), 0);
    CHECK_ERR(demi_wait(&qr, second, &zero_timeout), ETIMEDOUT);   /* still pending */
    /* demi_wait_any(3): a list holding an invalid token is EINVAL even when another token of it is
     * ready, and nothing is consumed. */
    demi_qtoken_t ready;
    REQUIRE_OK(demi_pushto(&ready, tx, &sga, (struct sockaddr *)&a, sizeof(a)));
    CHECK_ERR(demi_wait(&qr, ready, &five), 0);
    REQUIRE_OK(demi_pushto(&ready, tx, &sga, (struct sockaddr *)&a, sizeof(a)));
    CHECK_ERR(demi_wait(&qr, ready, &five), 0);
    demi_qtoken_t popped, later;
    REQUIRE_OK(demi_pop(&popped, qd));
    REQUIRE_OK(demi_pop(&later, qd));
    /* Pops complete in the order they were posted: once the later one has its datagram, the first
     * token of the list is ready when wait_any looks at it (no sleep standing in for that). */
    CHECK_ERR(demi_wait(&qr, later, &five), 0);
    CHECK(qr.qr_opcode == DEMI_OPC_POP);
    if (qr.qr_opcode == DEMI_OPC_POP)
        CHECK_ERR(demi_sgafree(&qr.qr_value.sga), 0);
    qts[0] = popped;
    qts[1] = 0xdeadbeef12345ull;
    CHECK_ERR(demi_wait_any(&qr, &offset, qts, 2, &five), EINVAL);
    /* Ready at once: it was ready when wait_any refused the list (the premise of this check), and
     * the failed wait_any did not consume it. */
    CHECK_ERR(demi_wait(&qr, popped, &zero_timeout), 0);
    CHECK(qr.qr_opcode == DEMI_OPC_POP && qr.qr_value.sga.sga_segs[0].sgaseg_len == 4);
    if (qr.qr_opcode == DEMI_OPC_POP)
        CHECK_ERR(demi_sgafree(&qr.qr_value.sga), 0);
    CHECK_ERR(demi_close(tx), 0);
    CHECK_ERR(demi_wait(&qr, second, &five), 0);
    CHECK(qr.qr_opcode == DEMI_OPC_FAILED && qr.qr_ret == ECANCELED);
    CHECK_ERR(demi_sgafree(&sga), 0);
    CHECK_ERR(demi_close(qd), 0);
}

int main(void)
{
    test_before_init();
    test_init();
    test_socket();
    test_bind();
    test_listen();
    test_accept_connect();
    test_close();
    test_pushto();
    test_push();
    test_pop();
    test_sockopt();
    test_getpeername();
    test_sga();
    test_wait();
    test_eagain();
    return check_summary("errors");
}
