// tcpperf: kernel-socket TCP load generator and the C epoll reference server for perf/Demi.Perf.
//
//   tcpperf server IP ECHO_PORT SINK_PORT [--seconds N]
//       epoll server: ECHO_PORT echoes every byte back, SINK_PORT reads and discards.
//   tcpperf rr IP PORT CONNS SIZE SECONDS WARMUP SAMPLES_FILE
//       CONNS connections, each with one SIZE-byte request in flight; writes each RTT (uint64 ns)
//       measured after WARMUP to SAMPLES_FILE; prints transactions/s.
//   tcpperf udprr IP PORT SOCKETS SIZE SECONDS WARMUP SAMPLES_FILE
//       the same over connected UDP sockets (each its own source port, so the kernel spreads them
//       over a multi-queue device's queues); a request unanswered for 100 ms is sent again and counted
//       as lost.
//   tcpperf bulk IP PORT SECONDS WARMUP
//       one connection writing 64 KiB chunks; after SECONDS it half-closes and waits for the
//       server's FIN, so the figure counts bytes the server actually read.
//
// Prints one JSON object on stdout. Every run is bounded in time; SIGTERM/SIGINT stop early.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "tcpperf: %s: %s\n", what, strerror(errno));
    exit(2);
}

static struct sockaddr_in addr_of(const char *ip, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        errno = EINVAL;
        die("address");
    }
    return a;
}

static int connect_to(const char *ip, int port, int type)
{
    struct sockaddr_in a = addr_of(ip, port);
    for (int attempt = 0; attempt < 50; attempt++) {
        int fd = socket(AF_INET, type, 0);
        if (fd < 0)
            die("socket");
        int one = 1;
        if (type == SOCK_STREAM)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        close(fd);
        usleep(100000); // the server may still be starting: retry for 5 s at most
    }
    die("connect");
    return -1;
}

static int listen_on(const char *ip, int port)
{
    struct sockaddr_in a = addr_of(ip, port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128))
        die("bind/listen");
    return fd;
}

// ------------------------------------------------------------------ server

#define MAXFD 65536
static unsigned char g_is_sink[MAXFD];

static int run_server(const char *ip, int echo_port, int sink_port, double seconds)
{
    int le = listen_on(ip, echo_port), ls = listen_on(ip, sink_port);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN };
    ev.data.fd = le; epoll_ctl(ep, EPOLL_CTL_ADD, le, &ev);
    ev.data.fd = ls; epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    printf("{\"ready\":true}\n");
    fflush(stdout);
    static char buf[1 << 18];
    struct epoll_event evs[64];
    uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
    while (!g_stop && now_ns() < end) {
        int n = epoll_wait(ep, evs, 64, 200);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == le || fd == ls) {
                int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
                if (c < 0 || c >= MAXFD) {
                    if (c >= 0) close(c);
                    continue;
                }
                int one = 1;
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                g_is_sink[c] = fd == ls;
                struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                continue;
            }
            ssize_t r = read(fd, buf, sizeof(buf));
            if (r <= 0) {
                if (r == 0 || (errno != EAGAIN && errno != EINTR))
                    close(fd);
                continue;
            }
            if (!g_is_sink[fd]) {
                // Echo replies are small (request/response); a full send buffer is not expected, so a
                // blocking-style retry loop keeps this reference server simple.
                ssize_t off = 0;
                while (off < r && !g_stop) {
                    ssize_t w = write(fd, buf + off, (size_t)(r - off));
                    if (w > 0) off += w;
                    else if (errno != EAGAIN && errno != EINTR) break;
                }
            }
        }
    }
    return 0;
}

// ------------------------------------------------------------------ request/response

struct conn { int fd; uint32_t got; uint64_t t_sent; };

#define UDP_RESEND_NS 100000000ull

static int run_rr(const char *ip, int port, int type, int conns, int size, double seconds, double warmup, const char *file)
{
    if (conns < 1 || conns > 1024 || size < 1 || size > 65536)
        return 1;
    struct conn *cs = calloc((size_t)conns, sizeof(*cs));
    char *req = malloc((size_t)size), *rbuf = malloc(65536);
    memset(req, 0x5a, (size_t)size);
    int ep = epoll_create1(0);
    for (int i = 0; i < conns; i++) {
        cs[i].fd = connect_to(ip, port, type);
        fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    uint64_t cap = 4000000, n = 0, tx = 0, errors = 0, lost = 0, next_scan = 0;
    uint64_t *samples = malloc(cap * sizeof(uint64_t));
    uint64_t t0 = now_ns(), t_meas = t0 + (uint64_t)(warmup * 1e9), t_end = t_meas + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < conns; i++) {
        cs[i].t_sent = now_ns();
        if (write(cs[i].fd, req, (size_t)size) != size)
            errors++;
    }
    struct epoll_event evs[64];
    uint64_t now = t0;
    while (!g_stop && (now = now_ns()) < t_end) {
        int k = epoll_wait(ep, evs, 64, type == SOCK_DGRAM ? 10 : 100);
        if (type == SOCK_DGRAM && now >= next_scan) {
            // A datagram (request or echo) can be lost: resend what has waited too long.
            next_scan = now + UDP_RESEND_NS / 10;
            for (int i = 0; i < conns; i++) {
                if (now - cs[i].t_sent > UDP_RESEND_NS) {
                    lost++;
                    cs[i].t_sent = now;
                    if (write(cs[i].fd, req, (size_t)size) != size)
                        errors++;
                }
            }
        }
        for (int e = 0; e < k; e++) {
            struct conn *c = &cs[evs[e].data.u32];
            ssize_t r = read(c->fd, rbuf, 65536);
            if (r <= 0) {
                if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    errors++;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                }
                continue;
            }
            c->got += (uint32_t)r;
            while (c->got >= (uint32_t)size) {
                c->got -= (uint32_t)size;
                uint64_t t = now_ns();
                if (t >= t_meas) {
                    tx++;
                    if (n < cap)
                        samples[n++] = t - c->t_sent;
                }
                c->t_sent = t;
                if (write(c->fd, req, (size_t)size) != size)
                    errors++;
            }
        }
    }
    double secs = (double)(now - t_meas) / 1e9;
    if (file) {
        FILE *f = fopen(file, "wb");
        if (!f || fwrite(samples, sizeof(uint64_t), n, f) != n)
            die("write samples");
        fclose(f);
    }
    printf("{\"mode\":\"%s\",\"conns\":%d,\"size\":%d,\"seconds\":%.6f,\"transactions\":%lu,\"tps\":%.1f,"
           "\"samples\":%lu,\"errors\":%lu,\"lost\":%lu}\n", type == SOCK_DGRAM ? "udprr" : "rr", conns, size, secs, tx, tx / secs, n, errors, lost);
    fflush(stdout);
    for (int i = 0; i < conns; i++)
        close(cs[i].fd);
    return 0;
}

// ------------------------------------------------------------------ bulk

static int run_bulk(const char *ip, int port, double seconds, double warmup)
{
    int fd = connect_to(ip, port, SOCK_STREAM);
    static char buf[65536];
    memset(buf, 0x5a, sizeof(buf));
    uint64_t t0 = now_ns(), t_meas = t0 + (uint64_t)(warmup * 1e9), t_end = t_meas + (uint64_t)(seconds * 1e9);
    uint64_t bytes = 0;
    int measuring = 0;
    struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); // a stuck server cannot hang the run
    uint64_t now = t0;
    while (!g_stop && (now = now_ns()) < t_end) {
        if (!measuring && now >= t_meas) {
            measuring = 1;
            bytes = 0;
            t_meas = now;
        }
        ssize_t w = write(fd, buf, sizeof(buf));
        if (w > 0)
            bytes += (uint64_t)w;
        else if (errno != EAGAIN && errno != EINTR)
            break;
    }
    // Half-close and wait (5 s at most) for the server's FIN: then every byte counted was read.
    shutdown(fd, SHUT_WR);
    struct timeval rt = { .tv_sec = 5, .tv_usec = 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof(rt));
    int fin = read(fd, buf, sizeof(buf)) == 0;
    uint64_t t_done = now_ns();
    double secs = (double)(t_done - t_meas) / 1e9;
    printf("{\"mode\":\"bulk\",\"seconds\":%.6f,\"bytes\":%lu,\"gbps\":%.4f,\"fin\":%s}\n",
           secs, bytes, bytes * 8.0 / secs / 1e9, fin ? "true" : "false");
    fflush(stdout);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 5 && strcmp(argv[1], "server") == 0)
        return run_server(argv[2], atoi(argv[3]), atoi(argv[4]), argc >= 7 ? atof(argv[6]) : 600);
    if (argc >= 9 && strcmp(argv[1], "rr") == 0)
        return run_rr(argv[2], atoi(argv[3]), SOCK_STREAM, atoi(argv[4]), atoi(argv[5]), atof(argv[6]), atof(argv[7]), argv[8]);
    if (argc >= 9 && strcmp(argv[1], "udprr") == 0)
        return run_rr(argv[2], atoi(argv[3]), SOCK_DGRAM, atoi(argv[4]), atoi(argv[5]), atof(argv[6]), atof(argv[7]), argv[8]);
    if (argc >= 6 && strcmp(argv[1], "bulk") == 0)
        return run_bulk(argv[2], atoi(argv[3]), atof(argv[4]), atof(argv[5]));
    fprintf(stderr, "usage: tcpperf server IP ECHO_PORT SINK_PORT [--seconds N]\n"
                    "       tcpperf rr IP PORT CONNS SIZE SECONDS WARMUP SAMPLES_FILE\n"
                    "       tcpperf udprr IP PORT SOCKETS SIZE SECONDS WARMUP SAMPLES_FILE\n"
                    "       tcpperf bulk IP PORT SECONDS WARMUP\n");
    return 1;
}
