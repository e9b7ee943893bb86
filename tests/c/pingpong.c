/*
 * pingpong.c - TCP or UDP ping-pong between two PROCESSES, a server and a client, each with its own
 * libOS (the parent never calls demi_*: each child initializes after exec).
 *   pingpong tcp|udp                       forks+execs a server and a client, checks both exit 0
 *   pingpong server tcp|udp PORT READY_FD  binds, writes one byte to READY_FD, echoes with 'P' first
 *   pingpong client tcp|udp PORT           sends ROUNDS messages, checks every echo
 * By default both run on 127.0.0.1 with the inherited LIBOS (catnap). For catpowder between network
 * namespaces (run.sh sets these up and removes them), the parent reads:
 *   DEMI_TEST_SERVER_IP                    the server's address (default 127.0.0.1)
 *   DEMI_TEST_SERVER_NETNS / _CLIENT_NETNS the namespace each child enters (nsenter --net=/run/netns/NAME)
 *   DEMI_TEST_SERVER_CONFIG / _CLIENT_CONFIG  the CONFIG_PATH of each child
 */
#include <demi/libos.h>
#include <signal.h>
#include <sys/wait.h>
#include "check.h"
#include "util.h"

#define ROUNDS 500
#define MSG 64

static int tcp;
static struct sockaddr_in server_addr;

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

/* Pops one message. TCP is a byte stream: pop until MSG bytes arrived (0 at end of stream).
 * UDP: one datagram; its source goes to *from. */
static int pop_message(int qd, char *dst, struct sockaddr_in *from)
{
    int have = 0;
    while (have < MSG) {
        demi_qtoken_t qt;
        REQUIRE_OK(demi_pop(&qt, qd));
        demi_qresult_t qr = wait_ok(qt);
        if (qr.qr_opcode != DEMI_OPC_POP) {
            fprintf(stderr, "pop failed: %s\n", strerror((int)qr.qr_ret));
            exit(2);
        }
        int n = (int)qr.qr_value.sga.sga_segs[0].sgaseg_len;
        if (n == 0 || have + n > MSG || (!tcp && n != MSG)) { /* end of stream, or a UDP goodbye/odd size */
            if (from != NULL)
                *from = qr.qr_value.sga.sga_addr;
            CHECK_ERR(demi_sgafree(&qr.qr_value.sga), 0);
            return n == 0 ? have : -1;
        }
        memcpy(dst + have, qr.qr_value.sga.sga_segs[0].sgaseg_buf, (size_t)n);
        have += n;
        if (from != NULL)
            *from = qr.qr_value.sga.sga_addr;
        CHECK_ERR(demi_sgafree(&qr.qr_value.sga), 0);
        if (!tcp)
            return n;
    }
    return have;
}

static void push_message(int qd, const char *src, int len, const struct sockaddr_in *to)
{
    demi_sgarray_t sga = demi_sgaalloc((size_t)len);
    REQUIRE_OK(sga.sga_numsegs == 1 ? 0 : ENOMEM);
    memcpy(sga.sga_segs[0].sgaseg_buf, src, (size_t)len);
    demi_qtoken_t qt;
    if (to == NULL)
        REQUIRE_OK(demi_push(&qt, qd, &sga));
    else
        REQUIRE_OK(demi_pushto(&qt, qd, &sga, (const struct sockaddr *)to, sizeof(*to)));
    demi_qresult_t qr = wait_ok(qt);
    CHECK(qr.qr_opcode == DEMI_OPC_PUSH && qr.qr_qt == qt);
    CHECK_ERR(demi_sgafree(&sga), 0);
}

static int server(int ready_fd)
{
    REQUIRE_OK(demi_init(NULL));
    int qd = -1;
    REQUIRE_OK(demi_socket(&qd, AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0));
    REQUIRE_OK(demi_bind(qd, (struct sockaddr *)&server_addr, sizeof(server_addr)));
    if (tcp)
        REQUIRE_OK(demi_listen(qd, 16));
    if (write(ready_fd, "r", 1) != 1)
        return 2;
    close(ready_fd);

    int conn = qd;
    if (tcp) {
        demi_qtoken_t qt;
        REQUIRE_OK(demi_accept(&qt, qd));
        demi_qresult_t qr = wait_ok(qt);
        CHECK(qr.qr_opcode == DEMI_OPC_ACCEPT && qr.qr_qd == qd);
        conn = qr.qr_value.ares.qd;
        CHECK(conn >= 500 && conn != qd);
        CHECK(qr.qr_value.ares.addr.sin_family == AF_INET);
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        CHECK_ERR(demi_getpeername(conn, (struct sockaddr *)&peer, &len), 0);
        CHECK(len == sizeof(peer) && peer.sin_port == qr.qr_value.ares.addr.sin_port &&
              peer.sin_addr.s_addr == qr.qr_value.ares.addr.sin_addr.s_addr);
    }

    char buf[MSG];
    int rounds = 0;
    for (;;) {
        struct sockaddr_in from;
        int n = pop_message(conn, buf, tcp ? NULL : &from);
        if (n <= 0)
            break; /* TCP: the client closed (end of stream); UDP: the client's goodbye */
        CHECK(n == MSG);
        buf[0] = 'P'; /* ping -> Pong */
        push_message(conn, buf, MSG, tcp ? NULL : &from);
        rounds++;
    }
    CHECK(rounds == ROUNDS);
    if (conn != qd)
        CHECK_ERR(demi_close(conn), 0);
    CHECK_ERR(demi_close(qd), 0);
    return check_summary(tcp ? "pingpong tcp server" : "pingpong udp server");
}

static int client(void)
{
    REQUIRE_OK(demi_init(NULL));
    int qd = -1;
    REQUIRE_OK(demi_socket(&qd, AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0));
    if (tcp) {
        demi_qtoken_t qt;
        REQUIRE_OK(demi_connect(&qt, qd, (struct sockaddr *)&server_addr, sizeof(server_addr)));
        demi_qresult_t qr = wait_ok(qt);
        CHECK(qr.qr_opcode == DEMI_OPC_CONNECT && qr.qr_qd == qd);
        if (qr.qr_opcode != DEMI_OPC_CONNECT) {
            fprintf(stderr, "connect failed: %s\n", strerror((int)qr.qr_ret));
            return 2;
        }
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        CHECK_ERR(demi_getpeername(qd, (struct sockaddr *)&peer, &len), 0);
        CHECK(peer.sin_port == server_addr.sin_port && peer.sin_addr.s_addr == server_addr.sin_addr.s_addr);
    }

    char msg[MSG], reply[MSG];
    int good = 0;
    double start = now_seconds();
    for (int i = 0; i < ROUNDS; i++) {
        memset(msg, 0, sizeof(msg));
        snprintf(msg, sizeof(msg), "ping %d", i);
        push_message(qd, msg, MSG, tcp ? NULL : &server_addr);
        struct sockaddr_in from;
        int n = pop_message(qd, reply, tcp ? NULL : &from);
        msg[0] = 'P';
        if (n == MSG && memcmp(msg, reply, MSG) == 0)
            good++;
        if (!tcp)
            CHECK(from.sin_port == server_addr.sin_port && from.sin_addr.s_addr == server_addr.sin_addr.s_addr);
    }
    double took = now_seconds() - start;
    CHECK(good == ROUNDS);
    printf("pingpong %s: %d round trips of %d bytes, %.1f us each\n", tcp ? "tcp" : "udp", ROUNDS, MSG, took * 1e6 / ROUNDS);
    if (!tcp)
        push_message(qd, "bye", 3, &server_addr); /* not MSG bytes: ends the server's loop */
    CHECK_ERR(demi_close(qd), 0);
    return check_summary(tcp ? "pingpong tcp client" : "pingpong udp client");
}

/* Starts this program as server or client, inside a namespace and with a config when asked. */
static pid_t spawn(const char *self, const char *role, const char *proto, const char *port, const char *fd)
{
    char env_netns[64], env_config[64];
    snprintf(env_netns, sizeof(env_netns), "DEMI_TEST_%s_NETNS", strcmp(role, "server") == 0 ? "SERVER" : "CLIENT");
    snprintf(env_config, sizeof(env_config), "DEMI_TEST_%s_CONFIG", strcmp(role, "server") == 0 ? "SERVER" : "CLIENT");
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    const char *config = getenv(env_config);
    if (config != NULL)
        setenv("CONFIG_PATH", config, 1);
    const char *netns = getenv(env_netns);
    if (netns != NULL) {
        char net[300];
        snprintf(net, sizeof(net), "--net=/run/netns/%s", netns);
        execlp("nsenter", "nsenter", net, self, role, proto, port, fd, (char *)NULL);
    } else {
        execl(self, self, role, proto, port, fd, (char *)NULL);
    }
    perror("exec");
    _exit(127);
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
    const char *ip = getenv("DEMI_TEST_SERVER_IP");
    int is_server = argc == 5 && strcmp(argv[1], "server") == 0;
    int is_client = argc >= 4 && strcmp(argv[1], "client") == 0;
    if (is_server || is_client) {
        tcp = strcmp(argv[2], "tcp") == 0;
        server_addr = loopback((uint16_t)atoi(argv[3]));
        if (ip != NULL)
            inet_pton(AF_INET, ip, &server_addr.sin_addr);
        return is_server ? server(atoi(argv[4])) : client();
    }
    if (argc != 2 || (strcmp(argv[1], "tcp") != 0 && strcmp(argv[1], "udp") != 0)) {
        fprintf(stderr, "usage: %s tcp|udp\n", argv[0]);
        return 2;
    }
    tcp = strcmp(argv[1], "tcp") == 0;
    /* Namespaces are fresh: any port is free there. On loopback ask the kernel for one. */
    uint16_t port = ip != NULL ? 7000 : free_port(tcp ? SOCK_STREAM : SOCK_DGRAM);
    int ready[2];
    if (port == 0 || pipe(ready) != 0)
        return 2;
    char port_text[16], fd_text[16];
    snprintf(port_text, sizeof(port_text), "%u", port);
    snprintf(fd_text, sizeof(fd_text), "%d", ready[1]);
    pid_t server_pid = spawn(argv[0], "server", argv[1], port_text, fd_text);
    close(ready[1]);
    char byte;
    if (read(ready[0], &byte, 1) != 1) { /* the server died before it was ready */
        fprintf(stderr, "server never became ready (exit %d)\n", exit_code(server_pid));
        return 1;
    }
    pid_t client_pid = spawn(argv[0], "client", argv[1], port_text, "-");
    int client_rc = exit_code(client_pid);
    if (client_rc != 0)
        kill(server_pid, SIGKILL); /* the server would wait for a client that is gone */
    int server_rc = exit_code(server_pid);
    printf("pingpong %s: client exit %d, server exit %d\n", argv[1], client_rc, server_rc);
    return client_rc == 0 && server_rc == 0 ? 0 : 1;
}
