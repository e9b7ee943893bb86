/*
 * exit_drain.c - a process that pushes N bytes on TCP and exits as soon as its last push completed
 * loses nothing: the peer (a kernel socket reading slowly) reads exactly N bytes, then end of stream
 * (no ECONNRESET), RUNS of RUNS times (issue 16 item 3); between namespaces, the exit also leaves no XDP
 * program on the client's interface. The client's configuration carries
 * Demikernel's default tcp_socket_options.linger {enabled: true, time_seconds: 0}, which must not turn
 * its close into an abort. The exit goes through libdemi's atexit handler (LibOS.Dispose's drain).
 * By default on 127.0.0.1 with catnap. run.sh also runs it with catpowder between namespaces:
 *   DEMI_TEST_SERVER_IP          the listener's address (the parent's namespace)
 *   DEMI_TEST_CLIENT_NETNS       the namespace the Demi client enters (/run/netns/NAME)
 *   DEMI_TEST_CLIENT_CONFIG      the client's CONFIG_PATH (must also set the linger key)
 */
#define _GNU_SOURCE
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/wait.h>
#include "check.h"
#include "util.h"

#define RUNS 50
#define CHUNK 16384
#define CHUNKS 16
#define TOTAL (CHUNK * CHUNKS)

static int client(struct sockaddr_in server)
{
    const char *netns = getenv("DEMI_TEST_CLIENT_NETNS");
    if (netns != NULL) {
        char path[128];
        snprintf(path, sizeof(path), "/run/netns/%s", netns);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
            perror("setns");
            return 3;
        }
        close(fd);
    }
    int qd;
    demi_qtoken_t qt;
    demi_qresult_t qr;
    struct timespec t = {10, 0};
    if (demi_init(NULL) != 0 || demi_socket(&qd, AF_INET, SOCK_STREAM, 0) != 0)
        return 4;
    if (demi_connect(&qt, qd, (const struct sockaddr *)&server, sizeof(server)) != 0 || demi_wait(&qr, qt, &t) != 0 || qr.qr_opcode != DEMI_OPC_CONNECT)
        return 5;
    for (int i = 0; i < CHUNKS; i++) {
        demi_sgarray_t sga = demi_sgaalloc(CHUNK);
        if (sga.sga_numsegs != 1)
            return 6;
        memset(sga.sga_segs[0].sgaseg_buf, 'a' + i % 26, CHUNK);
        if (demi_push(&qt, qd, &sga) != 0 || demi_wait(&qr, qt, &t) != 0 || qr.qr_opcode != DEMI_OPC_PUSH)
            return 7;
        demi_sgafree(&sga);
    }
    exit(0); /* at once: no close, no wait for the peer */
}

int main(void)
{
    const char *ip = getenv("DEMI_TEST_SERVER_IP");
    char dir[] = "/tmp/demi-drain-XXXXXX";
    if (getenv("DEMI_TEST_CLIENT_CONFIG") != NULL) {
        setenv("CONFIG_PATH", getenv("DEMI_TEST_CLIENT_CONFIG"), 1);
    } else {
        if (mkdtemp(dir) == NULL)
            return 2;
        char path[128];
        snprintf(path, sizeof(path), "%s/client.yaml", dir);
        FILE *f = fopen(path, "w");
        if (f == NULL)
            return 2;
        fputs("tcp_socket_options:\n  linger: { enabled: true, time_seconds: 0 }\n", f);
        fclose(f);
        setenv("CONFIG_PATH", path, 1);
    }

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096; /* a slow reader: the client's bytes back up in its send buffer */
    setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in server = loopback(0);
    if (ip != NULL)
        inet_pton(AF_INET, ip, &server.sin_addr);
    socklen_t len = sizeof(server);
    if (bind(lfd, (struct sockaddr *)&server, sizeof(server)) != 0 || listen(lfd, 4) != 0 ||
        getsockname(lfd, (struct sockaddr *)&server, &len) != 0) {
        perror("listen");
        return 2;
    }

    int intact = 0;
    for (int run = 0; run < RUNS; run++) {
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            _exit(client(server));
        }
        struct pollfd p = {lfd, POLLIN, 0};
        if (poll(&p, 1, 20000) != 1) {
            fprintf(stderr, "run %d: no connection; the listener's sockets:\n", run);
            fflush(stderr);
            char cmd[512];
            const char *client_ns = getenv("DEMI_TEST_CLIENT_NETNS");
            snprintf(cmd, sizeof(cmd), "ss -tanoi >&2; ip neigh show >&2; %s%s%s",
                     client_ns ? "ip -n " : "", client_ns ? client_ns : "",
                     client_ns ? " -d link show >&2; ip netns exec $DEMI_TEST_CLIENT_NETNS sh -c 'for i in /sys/class/net/*; do ethtool -S ${i##*/}; done' 2>&1 | grep -iE 'xdp|drop|:$' >&2" : "");
            if (system(cmd) != 0)
                fprintf(stderr, "(diagnostics failed)\n");
            int status = 0;
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "run %d: client %s %d\n", run, WIFEXITED(status) ? "exited" : "killed by signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            break;
        }
        int cfd = accept(lfd, NULL, NULL);
        struct timeval rto = {20, 0};
        setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &rto, sizeof(rto));
        usleep(20000); /* let the client push everything and exit while most of it is unsent */
        long total = 0;
        int err = 0;
        char buf[1024];
        while (1) {
            ssize_t n = recv(cfd, buf, sizeof(buf), 0);
            if (n > 0) {
                total += n;
                usleep(50); /* keep reading slowly */
            } else {
                err = n < 0 ? errno : 0;
                break;
            }
        }
        close(cfd);
        int status = 0;
        waitpid(pid, &status, 0);
        int ok = total == TOTAL && err == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok)
            fprintf(stderr, "run %d: read %ld of %d bytes, then %s; client exit %d\n", run, total, TOTAL,
                    err == 0 ? "end of stream" : strerror(err), WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        /* The exit also released the AF_XDP socket and detached its program: none is left on the
         * client's interface (a leftover would steer the next client's frames into a dead socket). */
        const char *client_ns = getenv("DEMI_TEST_CLIENT_NETNS");
        if (ok && client_ns != NULL) {
            char cmd[256];
            snprintf(cmd, sizeof(cmd), "ip -n %s -d link show | grep -q 'prog/xdp'", client_ns);
            if (system(cmd) == 0) {
                fprintf(stderr, "run %d: an XDP program is still attached after the client exited\n", run);
                ok = 0;
            }
        }
        intact += ok;
    }
    close(lfd);
    printf("exit_drain: %d of %d runs delivered exactly %d bytes then end of stream\n", intact, RUNS, TOTAL);
    CHECK(intact == RUNS);
    if (getenv("DEMI_TEST_CLIENT_CONFIG") == NULL) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return check_summary("exit_drain");
}
