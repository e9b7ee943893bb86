/*
 * tcp_pingpong.c - TCP ping-pong between two PROCESSES on catnap over 127.0.0.1.
 *   tcp_pingpong                 forks and execs itself as server and client, checks both
 *   tcp_pingpong server PORT FD  listens, writes one byte to FD when ready, echoes, expects EOF
 *   tcp_pingpong client PORT     connects, sends ROUNDS messages, checks each echo, closes
 * The parent never calls demi_*: each child initializes its own libOS after exec.
 */
#include <demi/libos.h>
#include <sys/wait.h>
#include "check.h"
#include "util.h"

#define ROUNDS 500
#define MSG 64

static demi_qresult_t wait_ok(demi_qtoken_t qt)
{
    demi_qresult_t qr;
    struct timespec t = {10, 0};
    int err = demi_wait(&qr, qt, &t);
    if (err != 0) {
        fprintf(stderr, "FATAL demi_wait: %s\n", strerror(err));
        exit(2);
    }
    return qr;
}

/* TCP is a byte stream: pop until `len` bytes arrived. Returns bytes read (less at end of stream). */
static int pop_exact(int qd, char *dst, int len)
{
    int have = 0;
    while (have < len) {
        demi_qtoken_t qt;
        REQUIRE_OK(demi_pop(&qt, qd));
        demi_qresult_t qr = wait_ok(qt);
        if (qr.qr_opcode != DEMI_OPC_POP) {
            fprintf(stderr, "pop failed: %s\n", strerror((int)qr.qr_ret));
            exit(2);
        }
        int n = (int)qr.qr_value.sga.sga_segs[0].sgaseg_len;
        if (n == 0) { /* end of stream */
            demi_sgafree(&qr.qr_value.sga);
            return have;
        }
        if (have + n > len) {
            fprintf(stderr, "peer sent more than one message\n");
            exit(2);
        }
        memcpy(dst + have, qr.qr_value.sga.sga_segs[0].sgaseg_buf, (size_t)n);
        have += n;
        CHECK_ERR(demi_sgafree(&qr.qr_value.sga), 0);
    }
    return have;
}

static void push_all(int qd, const char *src, int len)
{
    demi_sgarray_t sga = demi_sgaalloc((size_t)len);
    REQUIRE_OK(sga.sga_numsegs == 1 ? 0 : ENOMEM);
    memcpy(sga.sga_segs[0].sgaseg_buf, src, (size_t)len);
    demi_qtoken_t qt;
    REQUIRE_OK(demi_push(&qt, qd, &sga));
    demi_qresult_t qr = wait_ok(qt);
    CHECK(qr.qr_opcode == DEMI_OPC_PUSH && qr.qr_qt == qt);
    CHECK_ERR(demi_sgafree(&sga), 0);
}

static int server(uint16_t port, int ready_fd)
{
    REQUIRE_OK(demi_init(NULL));
    int listener = -1;
    REQUIRE_OK(demi_socket(&listener, AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = loopback(port);
    REQUIRE_OK(demi_bind(listener, (struct sockaddr *)&a, sizeof(a)));
    REQUIRE_OK(demi_listen(listener, 16));
    if (write(ready_fd, "r", 1) != 1)
        return 2;
    close(ready_fd);

    demi_qtoken_t qt;
    REQUIRE_OK(demi_accept(&qt, listener));
    demi_qresult_t qr = wait_ok(qt);
    CHECK(qr.qr_opcode == DEMI_OPC_ACCEPT && qr.qr_qd == listener);
    int conn = qr.qr_value.ares.qd;
    CHECK(conn >= 500 && conn != listener);
    CHECK(qr.qr_value.ares.addr.sin_family == AF_INET && qr.qr_value.ares.addr.sin_addr.s_addr == htonl(INADDR_LOOPBACK));

    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    CHECK_ERR(demi_getpeername(conn, (struct sockaddr *)&peer, &len), 0);
    CHECK(len == sizeof(peer) && peer.sin_port == qr.qr_value.ares.addr.sin_port);

    char buf[MSG];
    int rounds = 0;
    for (;;) {
        int n = pop_exact(conn, buf, MSG);
        if (n == 0)
            break; /* the client closed: end of stream */
        CHECK(n == MSG);
        buf[0] = 'P'; /* ping -> Pong */
        push_all(conn, buf, MSG);
        rounds++;
    }
    CHECK(rounds == ROUNDS);
    CHECK_ERR(demi_close(conn), 0);
    CHECK_ERR(demi_close(listener), 0);
    return check_summary("tcp_pingpong server");
}

static int client(uint16_t port)
{
    REQUIRE_OK(demi_init(NULL));
    int qd = -1;
    REQUIRE_OK(demi_socket(&qd, AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = loopback(port);
    demi_qtoken_t qt;
    REQUIRE_OK(demi_connect(&qt, qd, (struct sockaddr *)&a, sizeof(a)));
    demi_qresult_t qr = wait_ok(qt);
    CHECK(qr.qr_opcode == DEMI_OPC_CONNECT && qr.qr_qd == qd);
    if (qr.qr_opcode != DEMI_OPC_CONNECT) {
        fprintf(stderr, "connect failed: %s\n", strerror((int)qr.qr_ret));
        return 2;
    }
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    CHECK_ERR(demi_getpeername(qd, (struct sockaddr *)&peer, &len), 0);
    CHECK(peer.sin_port == a.sin_port && peer.sin_addr.s_addr == a.sin_addr.s_addr);

    char msg[MSG], reply[MSG];
    int good = 0;
    double start = now_seconds();
    for (int i = 0; i < ROUNDS; i++) {
        memset(msg, 0, sizeof(msg));
        snprintf(msg, sizeof(msg), "ping %d", i);
        push_all(qd, msg, MSG);
        int n = pop_exact(qd, reply, MSG);
        msg[0] = 'P';
        if (n == MSG && memcmp(msg, reply, MSG) == 0)
            good++;
    }
    double took = now_seconds() - start;
    CHECK(good == ROUNDS);
    printf("tcp_pingpong: %d round trips of %d bytes, %.1f us each\n", ROUNDS, MSG, took * 1e6 / ROUNDS);
    CHECK_ERR(demi_close(qd), 0);
    return check_summary("tcp_pingpong client");
}

static int spawn(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        perror("execv");
        _exit(127);
    }
    return pid;
}

static int exit_code(pid_t pid)
{
    int status = 0;
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "server") == 0)
        return server((uint16_t)atoi(argv[2]), atoi(argv[3]));
    if (argc == 3 && strcmp(argv[1], "client") == 0)
        return client((uint16_t)atoi(argv[2]));

    uint16_t port = free_port(SOCK_STREAM);
    int ready[2];
    if (port == 0 || pipe(ready) != 0)
        return 2;
    char port_text[16], fd_text[16];
    snprintf(port_text, sizeof(port_text), "%u", port);
    snprintf(fd_text, sizeof(fd_text), "%d", ready[1]);
    char *server_argv[] = {argv[0], "server", port_text, fd_text, NULL};
    pid_t server_pid = spawn(server_argv);
    close(ready[1]);
    char byte;
    if (read(ready[0], &byte, 1) != 1) { /* the server died before listening */
        fprintf(stderr, "server never became ready (exit %d)\n", exit_code(server_pid));
        return 1;
    }
    char *client_argv[] = {argv[0], "client", port_text, NULL};
    pid_t client_pid = spawn(client_argv);
    int client_rc = exit_code(client_pid);
    int server_rc = exit_code(server_pid);
    printf("tcp_pingpong: client exit %d, server exit %d\n", client_rc, server_rc);
    return client_rc == 0 && server_rc == 0 ? 0 : 1;
}
