/*
 * bench_pushto.c - ns per demi_pushto + demi_wait round trip through the C ABI (catnap): a UDP
 * datagram to a kernel socket on 127.0.0.1 that never reads (the kernel drops what overflows),
 * waiting for each push's completion. Same shape as tests/c/bench/Program.cs for the C# API.
 *   bench_pushto [N] [WARMUP]     defaults 100000 and 10000
 */
#include <demi/libos.h>
#include "check.h"
#include "util.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    long warmup = argc > 2 ? atol(argv[2]) : 10000;
    if (n < 1 || n > 100000000 || warmup < 0 || warmup > 100000000)
        return 2;

    /* The sink: a plain kernel socket on loopback. */
    uint16_t port = free_port(SOCK_DGRAM);
    struct sockaddr_in dst = loopback(port);
    int sink = socket(AF_INET, SOCK_DGRAM, 0);
    if (sink < 0 || bind(sink, (struct sockaddr *)&dst, sizeof(dst)) != 0)
        return 2;

    REQUIRE_OK(demi_init(NULL));
    int qd = -1;
    REQUIRE_OK(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0));
    demi_sgarray_t sga = demi_sgaalloc(64);
    REQUIRE_OK(sga.sga_numsegs == 1 ? 0 : ENOMEM);
    memset(sga.sga_segs[0].sgaseg_buf, 'b', 64);

    demi_qtoken_t qt;
    demi_qresult_t qr;
    long failed = 0;
    double start = 0;
    for (long i = 0; i < warmup + n; i++) {
        if (i == warmup)
            start = now_seconds();
        REQUIRE_OK(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&dst, sizeof(dst)));
        REQUIRE_OK(demi_wait(&qr, qt, NULL));
        failed += qr.qr_opcode != DEMI_OPC_PUSH;
    }
    double took = now_seconds() - start;
    printf("C ABI: demi_pushto + demi_wait: %.0f ns per round trip (N=%ld, warmup %ld, %ld failed)\n",
           took * 1e9 / (double)n, n, warmup, failed);

    /* The boundary alone: a call the LibOS rejects at once (EBADF: qd not open), no thread hand-off. */
    long calls = 10 * n;
    long wrong = 0;
    start = now_seconds();
    for (long i = 0; i < calls; i++)
        wrong += demi_pushto(&qt, 99999, &sga, (struct sockaddr *)&dst, sizeof(dst)) != EBADF;
    took = now_seconds() - start;
    printf("C ABI: demi_pushto rejected (EBADF): %.1f ns per call (N=%ld)\n", took * 1e9 / (double)calls, calls);
    failed += wrong;
    demi_sgafree(&sga);
    demi_close(qd);
    close(sink);
    return failed == 0 ? 0 : 1;
}
