// xdpperf: the minimal AF_XDP UDP echo (the physical-limit reference of this machine) and the
// AF_XDP UDP load generator that drives every UDP row of perf/Demi.Perf.
//
//   xdpperf echo IFACE --ip A.B.C.D [--seconds N] [--skb]
//       Busy-polls queue 0: every IPv4/UDP frame goes back with MAC, IP and UDP ports swapped
//       (checksums are unchanged by a swap), ARP requests for --ip are answered in place. No stack.
//   xdpperf gen IFACE --src-mac M --dst-mac M --src-ip IP --dst-ip IP --sport P --dport P
//               --size N --mode tput|lat [--seconds S] [--warmup S] [--rate R] [--samples FILE]
//               [--timeline MS]
//       tput: open loop, sends prebuilt frames as fast as the TX ring takes them (or at --rate
//             messages/s) and counts echoes. lat: one message in flight at a fixed offered load
//             (--rate), RTT of each written as uint64 ns to --samples. Answers ARP for --src-ip.
//       --timeline MS: also prints "T <ms since start> <echoes received in the interval>" to stderr
//             every MS milliseconds (warm-up included), for time-to-full-speed measurements; first
//             "T0 <start, CLOCK_MONOTONIC ns>".
//
// Both print one JSON object on stdout at the end. Runs are bounded by --seconds; SIGTERM and
// SIGINT stop early and still print. Copy mode only (veth cannot do zero-copy, see
// shared/notes/linux-datapath.md); native (driver) XDP unless --skb.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#define NUM_FRAMES 4096u
#define FRAME_SIZE 2048u
#define RING_SIZE 2048u
#define BATCH 64u
#define ETH_HLEN_ 14u
#define IP_HLEN 20u
#define UDP_HLEN 8u
#define HDRS (ETH_HLEN_ + IP_HLEN + UDP_HLEN)

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct xsk_ctx {
    struct xsk_ring_prod fq, tx;
    struct xsk_ring_cons cq, rx;
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    uint8_t *buf;
    int fd;
    uint64_t free_stack[NUM_FRAMES];
    uint32_t nfree;
};

static void die(const char *what, int err)
{
    fprintf(stderr, "xdpperf: %s: %s\n", what, strerror(err));
    exit(2);
}

static void xsk_open(struct xsk_ctx *c, const char *ifname, int skb)
{
    size_t size = (size_t)NUM_FRAMES * FRAME_SIZE;
    c->buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c->buf == MAP_FAILED)
        die("mmap", errno);
    struct xsk_umem_config ucfg = {
        .fill_size = NUM_FRAMES, .comp_size = NUM_FRAMES, .frame_size = FRAME_SIZE,
        .frame_headroom = 0, .flags = 0,
    };
    // A program left attached by an earlier run (or one still being torn down) makes the create
    // fail with EBUSY: detach whatever is there first. Only this namespace's interface is touched.
    int ifindex = (int)if_nametoindex(ifname);
    if (ifindex == 0)
        die("if_nametoindex", errno);
    bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
    bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
    int rc = xsk_umem__create(&c->umem, c->buf, size, &c->fq, &c->cq, &ucfg);
    if (rc)
        die("xsk_umem__create", -rc);
    struct xsk_socket_config cfg = {
        .rx_size = RING_SIZE, .tx_size = RING_SIZE, .libxdp_flags = 0,
        .xdp_flags = skb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE,
        .bind_flags = XDP_COPY,
    };
    // The previous run's socket may still hold the queue for a moment after its process exited
    // (the kernel releases it asynchronously): retry EBUSY for 3 s.
    for (int attempt = 0; attempt < 60; attempt++) {
        rc = xsk_socket__create(&c->xsk, ifname, 0, c->umem, &c->rx, &c->tx, &cfg);
        if (rc != -EBUSY)
            break;
        usleep(50000);
    }
    if (rc)
        die("xsk_socket__create", -rc);
    c->fd = xsk_socket__fd(c->xsk);
}

static void xsk_close(struct xsk_ctx *c, const char *ifname)
{
    xsk_socket__delete(c->xsk);
    int ifindex = (int)if_nametoindex(ifname);
    if (ifindex) {
        bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
        bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
    }
    xsk_umem__delete(c->umem);
    munmap(c->buf, (size_t)NUM_FRAMES * FRAME_SIZE);
}

// Puts frames on the fill ring; spins until the ring has room (it always does: ring = frame count).
static void fill(struct xsk_ctx *c, const uint64_t *addrs, uint32_t n)
{
    uint32_t idx;
    while (xsk_ring_prod__reserve(&c->fq, n, &idx) != n)
        ;
    for (uint32_t i = 0; i < n; i++)
        *xsk_ring_prod__fill_addr(&c->fq, idx + i) = addrs[i];
    xsk_ring_prod__submit(&c->fq, n);
}

static inline void kick_tx(struct xsk_ctx *c)
{
    // Copy mode transmits only inside this syscall; EAGAIN/EBUSY just mean "try again later".
    sendto(c->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
}

// A busy-polling thread pinned to a core starves ksoftirqd on that core; veth's NAPI work that was
// deferred to ksoftirqd then waits for a whole time slice (milliseconds: seen as 10 ms RTT outliers).
// Yielding now and then while idle lets it run.
// sched_yield is not enough under EEVDF; a 1 us sleep (timer slack set to 1 ns in main) is.
static inline void yield_cpu(void)
{
    struct timespec ts = { 0, 1000 };
    nanosleep(&ts, NULL);
}

struct xdp_stats_out { uint64_t rx_dropped, rx_invalid, tx_invalid, rx_ring_full, fill_empty; };

static void read_stats(struct xsk_ctx *c, struct xdp_stats_out *o)
{
    struct xdp_statistics st;
    socklen_t len = sizeof(st);
    memset(o, 0, sizeof(*o));
    if (getsockopt(c->fd, SOL_XDP, XDP_STATISTICS, &st, &len) == 0) {
        o->rx_dropped = st.rx_dropped;
        o->rx_invalid = st.rx_invalid_descs;
        o->tx_invalid = st.tx_invalid_descs;
        o->rx_ring_full = st.rx_ring_full;
        o->fill_empty = st.rx_fill_ring_empty_descs;
    }
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)((p[i] << 8) | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)(p[len - 1] << 8);
    return sum;
}

// Rewrites an ARP request for my_ip into the reply, in place. Returns 1 if the frame is a reply to send.
static int arp_reply_in_place(uint8_t *pkt, uint32_t len, const uint8_t *my_mac, uint32_t my_ip_be)
{
    if (len < 42 || pkt[12] != 0x08 || pkt[13] != 0x06)
        return 0;
    uint8_t *a = pkt + 14;
    if (a[6] != 0 || a[7] != 1 || memcmp(a + 24, &my_ip_be, 4) != 0)
        return 0; // not a request, or not for us
    uint8_t sha[6], spa[4];
    memcpy(sha, a + 8, 6);
    memcpy(spa, a + 14, 4);
    a[7] = 2;
    memcpy(a + 18, sha, 6);
    memcpy(a + 24, spa, 4);
    memcpy(a + 8, my_mac, 6);
    memcpy(a + 14, &my_ip_be, 4);
    memcpy(pkt, sha, 6);
    memcpy(pkt + 6, my_mac, 6);
    return 1;
}

static int parse_mac(const char *s, uint8_t *mac)
{
    unsigned v[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return 0;
}

// Reads the interface's MAC with SIOCGIFHWADDR in this process's namespace (/sys may belong to
// another namespace under nsenter).
static void get_if_mac(const char *ifname, uint8_t *mac)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) != 0)
        die("SIOCGIFHWADDR", errno);
    close(fd);
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

// ------------------------------------------------------------------ echo

static int run_echo(const char *ifname, uint32_t my_ip, const uint8_t *my_mac, double seconds, int skb)
{
    static struct xsk_ctx c;
    xsk_open(&c, ifname, skb);
    for (uint32_t i = 0; i < NUM_FRAMES; i++)
        c.free_stack[i] = (uint64_t)i * FRAME_SIZE;
    fill(&c, c.free_stack, NUM_FRAMES);
    printf("{\"ready\":true}\n");
    fflush(stdout);

    uint64_t rx = 0, tx = 0, completed = 0, dropped = 0, arp = 0, loops = 0, idle = 0;
    uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
    uint64_t tx_addr[BATCH], drop_addr[BATCH], comp_addr[NUM_FRAMES];
    uint32_t tx_len[BATCH];
    while (!g_stop) {
        loops++;
        if ((loops & 0xffff) == 0 && now_ns() > end)
            break;
        // Completed transmissions give their frames back to the fill ring.
        uint32_t idx;
        uint32_t n = xsk_ring_cons__peek(&c.cq, NUM_FRAMES, &idx);
        if (n) {
            completed += n;
            for (uint32_t i = 0; i < n; i++)
                comp_addr[i] = *xsk_ring_cons__comp_addr(&c.cq, idx + i);
            xsk_ring_cons__release(&c.cq, n);
            fill(&c, comp_addr, n);
        }
        uint32_t got = xsk_ring_cons__peek(&c.rx, BATCH, &idx);
        if (!got) {
            idle++;
            if (tx != completed)
                kick_tx(&c); // a kick can leave frames queued (EAGAIN): keep kicking until they complete
            else if ((idle & 63) == 0)
                yield_cpu();
            continue;
        }
        uint32_t ntx = 0, ndrop = 0;
        for (uint32_t i = 0; i < got; i++) {
            const struct xdp_desc *d = xsk_ring_cons__rx_desc(&c.rx, idx + i);
            uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);
            uint8_t *p = xsk_umem__get_data(c.buf, addr);
            uint32_t len = d->len;
            if (len >= HDRS && p[12] == 0x08 && p[13] == 0x00 && (p[14] >> 4) == 4 && p[14 + 9] == 17) {
                uint32_t ihl = (uint32_t)(p[14] & 0xf) * 4u;
                uint8_t tmp[6];
                memcpy(tmp, p, 6); memcpy(p, p + 6, 6); memcpy(p + 6, tmp, 6);
                memcpy(tmp, p + 26, 4); memcpy(p + 26, p + 30, 4); memcpy(p + 30, tmp, 4);
                uint8_t *u = p + 14 + ihl;
                memcpy(tmp, u, 2); memcpy(u, u + 2, 2); memcpy(u + 2, tmp, 2);
                tx_addr[ntx] = d->addr;
                tx_len[ntx++] = len;
            } else if (arp_reply_in_place(p, len, my_mac, my_ip)) {
                arp++;
                tx_addr[ntx] = d->addr;
                tx_len[ntx++] = len;
            } else {
                dropped++;
                drop_addr[ndrop++] = d->addr;
            }
        }
        xsk_ring_cons__release(&c.rx, got);
        rx += got;
        if (ndrop)
            fill(&c, drop_addr, ndrop);
        if (ntx) {
            uint32_t tidx;
            while (xsk_ring_prod__reserve(&c.tx, ntx, &tidx) != ntx)
                kick_tx(&c); // TX ring full: let the kernel drain it
            for (uint32_t i = 0; i < ntx; i++) {
                struct xdp_desc *t = xsk_ring_prod__tx_desc(&c.tx, tidx + i);
                t->addr = tx_addr[i];
                t->len = tx_len[i];
            }
            xsk_ring_prod__submit(&c.tx, ntx);
            tx += ntx;
            kick_tx(&c);
        }
    }
    struct xdp_stats_out st;
    read_stats(&c, &st);
    printf("{\"mode\":\"echo\",\"rx\":%lu,\"tx\":%lu,\"dropped\":%lu,\"arp\":%lu,\"idle_loops\":%lu,\"loops\":%lu,"
           "\"xsk_rx_dropped\":%lu,\"xsk_rx_ring_full\":%lu,\"xsk_fill_empty\":%lu}\n",
           rx, tx, dropped, arp, idle, loops, st.rx_dropped, st.rx_ring_full, st.fill_empty);
    fflush(stdout);
    xsk_close(&c, ifname);
    return 0;
}

// ------------------------------------------------------------------ generator

struct gen_cfg {
    uint8_t src_mac[6], dst_mac[6];
    uint32_t src_ip, dst_ip; // network order
    uint16_t sport, dport;   // host order
    uint32_t size;           // UDP payload bytes
    int lat;
    double seconds, warmup, rate;
    const char *samples;
    uint32_t timeline_ms; // 0: no timeline
};

// Writes the Ethernet/IPv4/UDP frame with payload (seq at offset 0) and full checksums; returns its length.
static uint32_t build_frame(uint8_t *p, const struct gen_cfg *g, uint64_t seq)
{
    uint32_t ip_len = IP_HLEN + UDP_HLEN + g->size;
    memcpy(p, g->dst_mac, 6);
    memcpy(p + 6, g->src_mac, 6);
    p[12] = 0x08; p[13] = 0x00;
    uint8_t *ip = p + 14;
    ip[0] = 0x45; ip[1] = 0;
    ip[2] = (uint8_t)(ip_len >> 8); ip[3] = (uint8_t)ip_len;
    ip[4] = 0; ip[5] = 0; ip[6] = 0x40; ip[7] = 0; // DF
    ip[8] = 64; ip[9] = 17; ip[10] = 0; ip[11] = 0;
    memcpy(ip + 12, &g->src_ip, 4);
    memcpy(ip + 16, &g->dst_ip, 4);
    uint16_t ic = csum_fold(csum_add(0, ip, IP_HLEN));
    ip[10] = (uint8_t)(ic >> 8); ip[11] = (uint8_t)ic;
    uint8_t *u = ip + IP_HLEN;
    uint32_t ulen = UDP_HLEN + g->size;
    u[0] = (uint8_t)(g->sport >> 8); u[1] = (uint8_t)g->sport;
    u[2] = (uint8_t)(g->dport >> 8); u[3] = (uint8_t)g->dport;
    u[4] = (uint8_t)(ulen >> 8); u[5] = (uint8_t)ulen;
    u[6] = 0; u[7] = 0;
    uint8_t *pl = u + UDP_HLEN;
    memset(pl, 0x5a, g->size);
    if (g->size >= 8)
        memcpy(pl, &seq, 8);
    uint32_t sum = csum_add(0, ip + 12, 8);
    sum += 17u + ulen;
    sum = csum_add(sum, u, ulen);
    uint16_t uc = csum_fold(sum);
    if (uc == 0)
        uc = 0xffff;
    u[6] = (uint8_t)(uc >> 8); u[7] = (uint8_t)uc;
    return ETH_HLEN_ + ip_len;
}

// Returns 1 and the sequence number if the frame is an echo addressed to the generator.
static inline int is_echo(const uint8_t *p, uint32_t len, const struct gen_cfg *g, uint64_t *seq)
{
    if (len < HDRS || p[12] != 0x08 || p[13] != 0x00 || p[14 + 9] != 17)
        return 0;
    uint32_t ihl = (uint32_t)(p[14] & 0xf) * 4u;
    const uint8_t *u = p + 14 + ihl;
    if (((u[2] << 8) | u[3]) != g->sport)
        return 0;
    if (seq && len >= 14 + ihl + UDP_HLEN + 8)
        memcpy(seq, u + UDP_HLEN, 8);
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int run_gen(const char *ifname, struct gen_cfg *g, int skb)
{
    static struct xsk_ctx c;
    xsk_open(&c, ifname, skb);
    // Frames [0, NUM_FRAMES/2 - 1) transmit, the last one of that half is kept for ARP replies,
    // the other half receives.
    const uint32_t half = NUM_FRAMES / 2;
    const uint64_t arp_addr = (uint64_t)(half - 1) * FRAME_SIZE;
    uint32_t frame_len = 0;
    c.nfree = 0;
    for (uint32_t i = 0; i < half - 1; i++) {
        uint64_t a = (uint64_t)i * FRAME_SIZE;
        frame_len = build_frame(c.buf + a, g, 0);
        c.free_stack[c.nfree++] = a;
    }
    uint64_t rx_addrs[NUM_FRAMES / 2];
    for (uint32_t i = 0; i < half; i++)
        rx_addrs[i] = (uint64_t)(half + i) * FRAME_SIZE;
    fill(&c, rx_addrs, half);

    uint64_t cap = 0, nsamples = 0, *samples = NULL;
    if (g->lat) {
        double r = g->rate > 0 ? g->rate : 10000;
        cap = (uint64_t)(r * g->seconds * 1.1) + 16;
        samples = malloc(cap * sizeof(uint64_t));
        if (!samples)
            die("malloc", ENOMEM);
    }

    uint64_t sent = 0, received = 0, lost = 0, arp = 0, other = 0;
    uint64_t sent_m = 0, recv_m = 0; // inside the measured window
    uint64_t t0 = now_ns();
    uint64_t t_meas = t0 + (uint64_t)(g->warmup * 1e9);
    uint64_t t_end = t_meas + (uint64_t)(g->seconds * 1e9);
    double interval = g->rate > 0 ? 1e9 / g->rate : 0;
    uint64_t next_send = t0, seq = 0;
    // lat state
    int outstanding = 0;
    uint64_t t_sent = 0, want = 0;
    uint64_t rxa[BATCH];
    uint64_t now = t0;
    uint32_t arp_pending = 0, arp_len = 0;
    int arp_busy = 0;
    uint64_t idle_loops = 0;
    // Timeline: echoes per interval; the line is written after the interval ends (stderr is unbuffered).
    const uint64_t tl_step = (uint64_t)g->timeline_ms * 1000000ull;
    uint64_t tl_next = t0 + tl_step, tl_recv = 0;
    if (tl_step) // the start on CLOCK_MONOTONIC, so a harness can line the timeline up with its own clock
        fprintf(stderr, "T0 %lu\n", (unsigned long)t0);

    while (!g_stop) {
        now = now_ns();
        if (now >= t_end)
            break;
        if (tl_step && now >= tl_next) {
            fprintf(stderr, "T %lu %lu\n", (unsigned long)((tl_next - t0) / 1000000ull), (unsigned long)(received - tl_recv));
            tl_recv = received;
            tl_next += tl_step;
        }
        int measuring = now >= t_meas;
        uint32_t idx;
        uint32_t n = xsk_ring_cons__peek(&c.cq, NUM_FRAMES, &idx);
        for (uint32_t i = 0; i < n; i++) {
            uint64_t a = *xsk_ring_cons__comp_addr(&c.cq, idx + i);
            if (a == arp_addr)
                arp_busy = 0;
            else
                c.free_stack[c.nfree++] = a;
        }
        if (n)
            xsk_ring_cons__release(&c.cq, n);

        // ---- send
        uint32_t want_tx = 0;
        if (!g->lat) {
            if (interval > 0) {
                if (now >= next_send) {
                    uint64_t due = (uint64_t)((double)(now - next_send) / interval) + 1;
                    want_tx = due > BATCH ? BATCH : (uint32_t)due;
                }
            } else {
                want_tx = BATCH;
            }
        } else if (!outstanding && now >= next_send) {
            want_tx = 1;
        }
        if (want_tx > c.nfree)
            want_tx = c.nfree;
        uint32_t total = want_tx + (arp_pending && !arp_busy ? 1u : 0u);
        if (total) {
            uint32_t tidx;
            uint32_t got = xsk_ring_prod__reserve(&c.tx, total, &tidx);
            if (got == total) {
                uint32_t k = 0;
                if (arp_pending && !arp_busy) {
                    struct xdp_desc *t = xsk_ring_prod__tx_desc(&c.tx, tidx + k++);
                    t->addr = arp_addr;
                    t->len = arp_len;
                    arp_pending = 0;
                    arp_busy = 1;
                }
                for (uint32_t i = 0; i < want_tx; i++) {
                    uint64_t a = c.free_stack[--c.nfree];
                    struct xdp_desc *t = xsk_ring_prod__tx_desc(&c.tx, tidx + k++);
                    t->addr = a;
                    if (g->lat) {
                        want = ++seq;
                        t->len = build_frame(c.buf + a, g, want);
                    } else {
                        t->len = frame_len;
                    }
                }
                if (g->lat) {
                    outstanding = 1;
                    t_sent = now_ns();
                    next_send = next_send + (uint64_t)interval;
                    if (next_send < t_sent - (uint64_t)(interval * 4))
                        next_send = t_sent; // fell behind (timeouts): do not burst to catch up
                } else if (interval > 0) {
                    next_send += (uint64_t)(interval * want_tx);
                }
                xsk_ring_prod__submit(&c.tx, total);
                sent += want_tx;
                if (measuring)
                    sent_m += want_tx;
            }
            kick_tx(&c);
        } else if (c.nfree < half - 1 || arp_busy) {
            kick_tx(&c); // nothing could go: push the kernel to complete what is queued
        }

        // ---- receive
        uint32_t got = xsk_ring_cons__peek(&c.rx, BATCH, &idx);
        for (uint32_t i = 0; i < got; i++) {
            const struct xdp_desc *d = xsk_ring_cons__rx_desc(&c.rx, idx + i);
            uint8_t *p = xsk_umem__get_data(c.buf, d->addr);
            uint64_t s = 0;
            if (is_echo(p, d->len, g, g->lat ? &s : NULL)) {
                received++;
                if (measuring)
                    recv_m++;
                if (g->lat && outstanding && s == want) {
                    uint64_t rtt = now_ns() - t_sent;
                    outstanding = 0;
                    if (measuring && nsamples < cap)
                        samples[nsamples++] = rtt;
                }
            } else if (!arp_pending && !arp_busy && d->len <= FRAME_SIZE) {
                memcpy(c.buf + arp_addr, p, d->len);
                if (arp_reply_in_place(c.buf + arp_addr, d->len, g->src_mac, g->src_ip)) {
                    arp_pending = 1;
                    arp_len = d->len;
                    arp++;
                } else {
                    other++;
                }
            } else {
                other++;
            }
            rxa[i] = d->addr;
        }
        if (got) {
            xsk_ring_cons__release(&c.rx, got);
            fill(&c, rxa, got);
        }
        if (!got && !want_tx && (++idle_loops & 63) == 0)
            yield_cpu();
        if (g->lat && outstanding && now_ns() - t_sent > 10000000ull) {
            outstanding = 0; // 10 ms without the echo: count it lost
            if (measuring)
                lost++;
        }
    }
    if (tl_step && received > tl_recv) // the partial last interval, stamped with its real end
        fprintf(stderr, "T %lu %lu\n", (unsigned long)((now - t0) / 1000000ull), (unsigned long)(received - tl_recv));
    double secs = (double)(now - t_meas) / 1e9;
    if (secs <= 0)
        secs = 1e-9;
    struct xdp_stats_out st;
    read_stats(&c, &st);
    if (g->lat && g->samples) {
        FILE *f = fopen(g->samples, "wb");
        if (!f || fwrite(samples, sizeof(uint64_t), nsamples, f) != nsamples)
            die("write samples", errno);
        fclose(f);
    }
    uint64_t p50 = 0, p99 = 0;
    if (nsamples) {
        qsort(samples, nsamples, sizeof(uint64_t), cmp_u64);
        p50 = samples[nsamples / 2];
        p99 = samples[(nsamples * 99) / 100];
    }
    printf("{\"mode\":\"%s\",\"size\":%u,\"seconds\":%.6f,\"sent\":%lu,\"received\":%lu,\"sent_pps\":%.1f,"
           "\"recv_pps\":%.1f,\"lost\":%lu,\"samples\":%lu,\"p50_ns\":%lu,\"p99_ns\":%lu,\"arp\":%lu,\"other\":%lu,"
           "\"xsk_rx_dropped\":%lu,\"xsk_rx_ring_full\":%lu,\"xsk_fill_empty\":%lu}\n",
           g->lat ? "lat" : "tput", g->size, secs, sent_m, recv_m, sent_m / secs, recv_m / secs, lost, nsamples,
           p50, p99, arp, other, st.rx_dropped, st.rx_ring_full, st.fill_empty);
    fflush(stdout);
    free(samples);
    xsk_close(&c, ifname);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: xdpperf echo IFACE --ip IP [--mac M] [--seconds N] [--skb]\n"
            "       xdpperf gen IFACE --src-mac M --dst-mac M --src-ip IP --dst-ip IP --sport P --dport P\n"
            "               --size N --mode tput|lat [--seconds S] [--warmup S] [--rate R] [--samples FILE] [--skb]\n"
            "               [--timeline MS]\n");
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    const char *cmd = argv[1], *ifname = argv[2];
    struct gen_cfg g = { .size = 64, .seconds = 5, .warmup = 0.5, .sport = 9000, .dport = 7 };
    uint8_t my_mac[6];
    int have_mac = 0, skb = 0, have_ip = 0;
    uint32_t my_ip = 0;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (strcmp(a, "--skb") == 0) skb = 1;
        else if (ARG("--ip")) { if (inet_pton(AF_INET, v, &my_ip) != 1) usage(); have_ip = 1; }
        else if (ARG("--mac")) { if (parse_mac(v, my_mac)) usage(); have_mac = 1; }
        else if (ARG("--seconds")) g.seconds = atof(v);
        else if (ARG("--warmup")) g.warmup = atof(v);
        else if (ARG("--rate")) g.rate = atof(v);
        else if (ARG("--size")) g.size = (uint32_t)atoi(v);
        else if (ARG("--sport")) g.sport = (uint16_t)atoi(v);
        else if (ARG("--dport")) g.dport = (uint16_t)atoi(v);
        else if (ARG("--src-mac")) { if (parse_mac(v, g.src_mac)) usage(); }
        else if (ARG("--dst-mac")) { if (parse_mac(v, g.dst_mac)) usage(); }
        else if (ARG("--src-ip")) { if (inet_pton(AF_INET, v, &g.src_ip) != 1) usage(); }
        else if (ARG("--dst-ip")) { if (inet_pton(AF_INET, v, &g.dst_ip) != 1) usage(); }
        else if (ARG("--mode")) g.lat = strcmp(v, "lat") == 0;
        else if (ARG("--samples")) g.samples = v;
        else if (ARG("--timeline")) { int ms = atoi(v); if (ms <= 0 || ms > 60000) usage(); g.timeline_ms = (uint32_t)ms; }
        else usage();
#undef ARG
    }
    if (g.seconds <= 0 || g.seconds > 600 || g.size < 8 || g.size > 1472)
        usage(); // runs are bounded in time; payload must fit one frame at MTU 1500
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    if (strcmp(cmd, "echo") == 0) {
        if (!have_ip)
            usage();
        if (!have_mac)
            get_if_mac(ifname, my_mac);
        return run_echo(ifname, my_ip, my_mac, g.seconds, skb);
    }
    if (strcmp(cmd, "gen") == 0)
        return run_gen(ifname, &g, skb);
    usage();
    return 1;
}
