/*
 * udp_pushto.c - UDP push/pop with demi_pushto on catnap over 127.0.0.1: a client sends numbered
 * datagrams to a server, which echoes each one back to the address the pop reported (sga_addr).
 */
#include <demi/libos.h>
#include "check.h"
#include "util.h"

#define ROUNDS 200

static demi_qresult_t wait_ok(demi_qtoken_t qt)
{
    demi_qresult_t qr;
    struct timespec t = {5, 0};
    int err = demi_wait(&qr, qt, &t);
    if (err != 0) {
        fprintf(stderr, "FATAL demi_wait: %s\n", strerror(err));
        exit(2);
    }
    return qr;
}

int main(void)
{
    REQUIRE_OK(demi_init(NULL));
    int server = -1, client = -1;
    REQUIRE_OK(demi_socket(&server, AF_INET, SOCK_DGRAM, 0));
    REQUIRE_OK(demi_socket(&client, AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_in server_addr = loopback(free_port(SOCK_DGRAM));
    struct sockaddr_in client_addr = loopback(free_port(SOCK_DGRAM));
    REQUIRE_OK(demi_bind(server, (struct sockaddr *)&server_addr, sizeof(server_addr)));
    REQUIRE_OK(demi_bind(client, (struct sockaddr *)&client_addr, sizeof(client_addr)));

    int echoed = 0;
    for (int i = 0; i < ROUNDS; i++) {
        char text[64];
        int len = snprintf(text, sizeof(text), "datagram %d from the C ABI", i);
        demi_qtoken_t qt;

        /* client -> server */
        demi_sgarray_t sga = demi_sgaalloc((size_t)len);
        REQUIRE_OK(sga.sga_numsegs == 1 ? 0 : ENOMEM);
        memcpy(sga.sga_segs[0].sgaseg_buf, text, (size_t)len);
        REQUIRE_OK(demi_pushto(&qt, client, &sga, (struct sockaddr *)&server_addr, sizeof(server_addr)));
        demi_qresult_t qr = wait_ok(qt);
        CHECK(qr.qr_opcode == DEMI_OPC_PUSH && qr.qr_qd == client);
        /* Free-protected: freeing right after the push completes is fine. */
        CHECK_ERR(demi_sgafree(&sga), 0);

        REQUIRE_OK(demi_pop(&qt, server));
        qr = wait_ok(qt);
        CHECK(qr.qr_opcode == DEMI_OPC_POP && qr.qr_qd == server);
        demi_sgarray_t got = qr.qr_value.sga;
        CHECK((int)got.sga_segs[0].sgaseg_len == len && memcmp(got.sga_segs[0].sgaseg_buf, text, (size_t)len) == 0);
        CHECK(got.sga_addr.sin_family == AF_INET && got.sga_addr.sin_port == client_addr.sin_port &&
              got.sga_addr.sin_addr.s_addr == client_addr.sin_addr.s_addr);

        /* server -> client: push the popped buffer itself back to its source (zero-copy echo). */
        struct sockaddr_in back = got.sga_addr;
        REQUIRE_OK(demi_pushto(&qt, server, &got, (struct sockaddr *)&back, sizeof(back)));
        qr = wait_ok(qt);
        CHECK(qr.qr_opcode == DEMI_OPC_PUSH);
        CHECK_ERR(demi_sgafree(&got), 0);

        REQUIRE_OK(demi_pop(&qt, client));
        qr = wait_ok(qt);
        CHECK(qr.qr_opcode == DEMI_OPC_POP && qr.qr_qd == client);
        if ((int)qr.qr_value.sga.sga_segs[0].sgaseg_len == len &&
            memcmp(qr.qr_value.sga.sga_segs[0].sgaseg_buf, text, (size_t)len) == 0)
            echoed++;
        CHECK(qr.qr_value.sga.sga_addr.sin_port == server_addr.sin_port);
        CHECK_ERR(demi_sgafree(&qr.qr_value.sga), 0);
    }
    CHECK(echoed == ROUNDS);

    /* demi_push on an unconnected UDP socket has no destination: the push fails (EDESTADDRREQ). */
    demi_sgarray_t sga = demi_sgaalloc(4);
    demi_qtoken_t qt;
    int err = demi_push(&qt, client, &sga);
    if (err == 0) {
        demi_qresult_t qr = wait_ok(qt);
        CHECK(qr.qr_opcode == DEMI_OPC_FAILED && qr.qr_ret == EDESTADDRREQ);
    } else {
        CHECK_ERR(err, EDESTADDRREQ);
    }
    CHECK_ERR(demi_sgafree(&sga), 0);

    CHECK_ERR(demi_close(client), 0);
    CHECK_ERR(demi_close(server), 0);
    return check_summary("udp_pushto");
}
