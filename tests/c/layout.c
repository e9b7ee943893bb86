/* layout.c - the Demikernel ABI's struct sizes and offsets, as compiled from <demi/libos.h>. */
#include <demi/libos.h>
#include <stddef.h>
#include <time.h>
#include "check.h"

int main(void)
{
    CHECK(DEMI_SGARRAY_MAXSIZE == 1);
    CHECK(sizeof(demi_qtoken_t) == 8);

    CHECK(sizeof(demi_sgaseg_t) == 12);
    CHECK(offsetof(demi_sgaseg_t, sgaseg_buf) == 0);
    CHECK(offsetof(demi_sgaseg_t, sgaseg_len) == 8);

    CHECK(sizeof(demi_sgarray_t) == 40);
    CHECK(offsetof(demi_sgarray_t, sga_buf) == 0);
    CHECK(offsetof(demi_sgarray_t, sga_numsegs) == 8);
    CHECK(offsetof(demi_sgarray_t, sga_segs) == 12);
    CHECK(offsetof(demi_sgarray_t, sga_addr) == 24);
    CHECK(sizeof(struct sockaddr_in) == 16);

    CHECK(sizeof(demi_opcode_t) == 4);
    CHECK(DEMI_OPC_INVALID == 0 && DEMI_OPC_PUSH == 1 && DEMI_OPC_POP == 2 && DEMI_OPC_ACCEPT == 3);
    CHECK(DEMI_OPC_CONNECT == 4 && DEMI_OPC_CLOSE == 5 && DEMI_OPC_FAILED == 6);

    CHECK(sizeof(demi_accept_result_t) == 20);
    CHECK(offsetof(demi_accept_result_t, qd) == 0);
    CHECK(offsetof(demi_accept_result_t, addr) == 4);

    CHECK(sizeof(demi_qresult_t) == 64);
    CHECK(offsetof(demi_qresult_t, qr_opcode) == 0);
    CHECK(offsetof(demi_qresult_t, qr_qd) == 4);
    CHECK(offsetof(demi_qresult_t, qr_qt) == 8);
    CHECK(offsetof(demi_qresult_t, qr_ret) == 16);
    CHECK(offsetof(demi_qresult_t, qr_value) == 24);
    CHECK(offsetof(demi_qresult_t, qr_value.sga) == 24);
    CHECK(offsetof(demi_qresult_t, qr_value.ares) == 24);
    CHECK(offsetof(demi_qresult_t, qr_value.ares.addr) == 28);

    CHECK(sizeof(struct demi_args) == 20);
    CHECK(sizeof(demi_args_t) == 20);
    CHECK(offsetof(struct demi_args, argc) == 0);
    CHECK(offsetof(struct demi_args, argv) == 4);
    CHECK(offsetof(struct demi_args, callback) == 12);

    CHECK(sizeof(struct timespec) == 16);
    return check_summary("layout");
}
