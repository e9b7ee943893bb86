// The DPDK fast path as exported functions. rte_eth_rx_burst/tx_burst, mbuf alloc/free and the
// refcount helpers are static inline in DPDK's headers (not exported by its .so files), so a
// P/Invoke needs this shim. Every function here works on a whole burst: C# makes one call per burst.
// rte_pktmbuf_pool_create_extbuf is marked experimental in 22.11 (stable since 20.11 in practice).
#define ALLOW_EXPERIMENTAL_API 1
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_version.h>

#define DEMI_EXPORT __attribute__((visibility("default")))

// The layout C# relies on; checked at start-up against what this build of DPDK says.
struct demi_layout {
    uint32_t mbuf_size, buf_addr, data_off, refcnt, nb_segs, ol_flags, pkt_len, data_len, pool;
};

// One received frame: in place (index >= 0: the mbuf's buffer is pool buffer `index`) or a frame
// C# must copy (index == -1: `data` points at it; the mbuf is freed by demi_dpdk_free_bulk).
struct demi_rx_desc {
    int32_t index;
    uint16_t offset;
    uint16_t length;
    void *data;
    struct rte_mbuf *mbuf;
};

// One frame to transmit: pool buffer `index`, window [offset, offset + length).
struct demi_tx_desc {
    int32_t index;
    uint16_t offset;
    uint16_t length;
};

struct demi_port_info {
    uint8_t mac[6];
    uint16_t mtu;
    uint16_t max_rx_queues, max_tx_queues;
    uint16_t rx_desc, tx_desc;
    uint64_t rx_offload_capa, tx_offload_capa, rss_capa;
    uint64_t rx_offloads, tx_offloads, rss_hf;
    char driver[64];
};

struct demi_port_stats {
    uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
};

DEMI_EXPORT void demi_dpdk_layout(struct demi_layout *l)
{
    l->mbuf_size = sizeof(struct rte_mbuf);
    l->buf_addr = offsetof(struct rte_mbuf, buf_addr);
    l->data_off = offsetof(struct rte_mbuf, data_off);
    l->refcnt = offsetof(struct rte_mbuf, refcnt);
    l->nb_segs = offsetof(struct rte_mbuf, nb_segs);
    l->ol_flags = offsetof(struct rte_mbuf, ol_flags);
    l->pkt_len = offsetof(struct rte_mbuf, pkt_len);
    l->data_len = offsetof(struct rte_mbuf, data_len);
    l->pool = offsetof(struct rte_mbuf, pool);
}

DEMI_EXPORT const char *demi_dpdk_version(void) { return rte_version(); }

// What Demi asks for with several queues: addresses and ports (masked against dev_info later).
DEMI_EXPORT uint64_t demi_dpdk_rss_default(void) { return RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP; }

DEMI_EXPORT int demi_dpdk_errno(void) { return rte_errno; }

DEMI_EXPORT const char *demi_dpdk_strerror(int e) { return rte_strerror(e); }

DEMI_EXPORT int demi_dpdk_eal_init(int argc, char **argv)
{
    int rc = rte_eal_init(argc, argv);
    return rc < 0 ? -(rte_errno ? rte_errno : EINVAL) : rc;
}

// Attaches a virtual device (hotplug) in the calling thread's network namespace, so AF_PACKET and
// AF_XDP sockets are opened where the interface lives. Returns its port id or -errno.
DEMI_EXPORT int demi_dpdk_vdev_attach(const char *devargs, const char *name)
{
    int rc = rte_dev_probe(devargs);
    if (rc < 0)
        return rc;
    uint16_t port;
    if (rte_eth_dev_get_port_by_name(name, &port) != 0)
        return -ENODEV;
    return port;
}

DEMI_EXPORT int demi_dpdk_port_count(void) { return rte_eth_dev_count_avail(); }

DEMI_EXPORT int demi_dpdk_port_name(uint16_t port, char *name, int len)
{
    char buf[RTE_ETH_NAME_MAX_LEN];
    int rc = rte_eth_dev_get_name_by_port(port, buf);
    if (rc != 0)
        return rc;
    snprintf(name, len, "%s", buf);
    return 0;
}

// Reads the device's capabilities; nothing is configured.
DEMI_EXPORT int demi_dpdk_port_info(uint16_t port, struct demi_port_info *out)
{
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0)
        return rc;
    memset(out, 0, sizeof(*out));
    struct rte_ether_addr mac;
    if ((rc = rte_eth_macaddr_get(port, &mac)) != 0)
        return rc;
    memcpy(out->mac, mac.addr_bytes, 6);
    rte_eth_dev_get_mtu(port, &out->mtu);
    out->max_rx_queues = info.max_rx_queues;
    out->max_tx_queues = info.max_tx_queues;
    out->rx_offload_capa = info.rx_offload_capa;
    out->tx_offload_capa = info.tx_offload_capa;
    out->rss_capa = info.flow_type_rss_offloads;
    snprintf(out->driver, sizeof(out->driver), "%s", info.driver_name ? info.driver_name : "?");
    return 0;
}

static void ring_pair_port_started(uint16_t port);

// Configures and starts a port with `queues` RX/TX queue pairs. Every requested offload and RSS
// bit is masked against dev_info first: virtual PMDs reject bits they lack. `out` reports what
// was applied. Returns 0 or -errno; `stage` names the step that failed.
DEMI_EXPORT int demi_dpdk_port_start(uint16_t port, uint16_t queues, uint16_t rx_desc, uint16_t tx_desc,
    struct rte_mempool *pool, uint16_t mtu, uint64_t rx_offloads, uint64_t tx_offloads, uint64_t rss_hf,
    int promiscuous, struct demi_port_info *out, const char **stage)
{
    struct rte_eth_dev_info info;
    int rc;
    *stage = "rte_eth_dev_info_get";
    if ((rc = rte_eth_dev_info_get(port, &info)) != 0)
        return rc;
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    conf.rxmode.offloads = rx_offloads & info.rx_offload_capa;
    conf.txmode.offloads = tx_offloads & info.tx_offload_capa;
    rss_hf &= info.flow_type_rss_offloads;
    if (queues > 1 && rss_hf != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
    }
    *stage = "rte_eth_dev_configure";
    if ((rc = rte_eth_dev_configure(port, queues, queues, &conf)) != 0)
        return rc;
    *stage = "rte_eth_dev_adjust_nb_rx_tx_desc";
    if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc)) != 0)
        return rc;
    if (mtu != 0) {
        *stage = "rte_eth_dev_set_mtu";
        rc = rte_eth_dev_set_mtu(port, mtu);
        if (rc == -ENOTSUP) {
            // A PMD with no device to apply it to (net_ring) has no mtu_set: the ethdev layer takes the
            // MTU from the configuration instead, checked against dev_info's limits.
            conf.rxmode.mtu = mtu;
            *stage = "rte_eth_dev_configure (MTU)";
            rc = rte_eth_dev_configure(port, queues, queues, &conf);
        }
        if (rc != 0)
            return rc;
    }
    int socket = rte_eth_dev_socket_id(port);
    if (socket < 0)
        socket = 0;
    for (uint16_t q = 0; q < queues; q++) {
        struct rte_eth_rxconf rxc = info.default_rxconf;
        rxc.offloads = conf.rxmode.offloads;
        *stage = "rte_eth_rx_queue_setup";
        if ((rc = rte_eth_rx_queue_setup(port, q, rx_desc, socket, &rxc, pool)) != 0)
            return rc;
        struct rte_eth_txconf txc = info.default_txconf;
        txc.offloads = conf.txmode.offloads;
        *stage = "rte_eth_tx_queue_setup";
        if ((rc = rte_eth_tx_queue_setup(port, q, tx_desc, socket, &txc)) != 0)
            return rc;
    }
    *stage = "rte_eth_dev_start";
    if ((rc = rte_eth_dev_start(port)) != 0)
        return rc;
    ring_pair_port_started(port);
    if (promiscuous) {
        // Not every virtual PMD has it (net_ring does not); the stack filters by MAC anyway.
        (void)rte_eth_promiscuous_enable(port);
    }
    *stage = "demi_dpdk_port_info";
    if ((rc = demi_dpdk_port_info(port, out)) != 0)
        return rc;
    out->rx_desc = rx_desc;
    out->tx_desc = tx_desc;
    out->rx_offloads = conf.rxmode.offloads;
    out->tx_offloads = conf.txmode.offloads;
    out->rss_hf = conf.rx_adv_conf.rss_conf.rss_hf;
    *stage = "";
    return 0;
}

// 1 when the link is up, 0 when down, -errno on error.
DEMI_EXPORT int demi_dpdk_link_up(uint16_t port)
{
    struct rte_eth_link link;
    int rc = rte_eth_link_get_nowait(port, &link);
    return rc != 0 ? rc : link.link_status == RTE_ETH_LINK_UP;
}

DEMI_EXPORT int demi_dpdk_port_stats(uint16_t port, struct demi_port_stats *out)
{
    struct rte_eth_stats s;
    int rc = rte_eth_stats_get(port, &s);
    if (rc != 0)
        return rc;
    out->ipackets = s.ipackets; out->opackets = s.opackets; out->ibytes = s.ibytes; out->obytes = s.obytes;
    out->imissed = s.imissed; out->ierrors = s.ierrors; out->oerrors = s.oerrors; out->rx_nombuf = s.rx_nombuf;
    return 0;
}

// Closing a virtual device releases it (its sockets, rings); removing it frees the name.
static int close_and_remove(uint16_t port)
{
    struct rte_eth_dev_info info;
    struct rte_device *dev = NULL;
    if (rte_eth_dev_info_get(port, &info) == 0)
        dev = info.device;
    int rc = rte_eth_dev_close(port);
    if (dev != NULL)
        (void)rte_dev_remove(dev);
    return rc;
}

static void ring_pair_port_stopped(uint16_t port);

DEMI_EXPORT int demi_dpdk_port_stop(uint16_t port)
{
    int rc = rte_eth_dev_stop(port);
    ring_pair_port_stopped(port);
    int rc2 = close_and_remove(port);
    return rc != 0 ? rc : rc2;
}

// The mbuf pool over the caller's buffer region (pinned external buffers: mbuf `i`'s data room is
// `region + i * elt_size`, so a pool buffer index and an mbuf name the same memory). All mbufs are
// taken out of the mempool and written to `table` by buffer index: C# owns them all and lends
// some back (demi_dpdk_lend) for the PMDs to receive into.
DEMI_EXPORT struct rte_mempool *demi_dpdk_pool_create(const char *name, uint32_t count, void *region,
    uint16_t elt_size, struct rte_mbuf **table, uint32_t cache_size)
{
    struct rte_pktmbuf_extmem ext = {
        .buf_ptr = region,
        .buf_iova = (rte_iova_t)(uintptr_t)region, // IOVA as VA (--iova-mode=va); virtual PMDs copy anyway
        .buf_len = (size_t)count * elt_size,
        .elt_size = elt_size,
    };
    struct rte_mempool *mp = rte_pktmbuf_pool_create_extbuf(name, count, cache_size, 0, elt_size, SOCKET_ID_ANY, &ext, 1);
    if (mp == NULL)
        return NULL;
    for (uint32_t i = 0; i < count; i++) {
        struct rte_mbuf *m;
        if (rte_mempool_get(mp, (void **)&m) != 0) {
            rte_mempool_free(mp);
            rte_errno = ENOBUFS;
            return NULL;
        }
        uintptr_t index = ((uintptr_t)m->buf_addr - (uintptr_t)region) / elt_size;
        table[index] = m;
    }
    return mp;
}

DEMI_EXPORT void demi_dpdk_pool_free(struct rte_mempool *mp) { rte_mempool_free(mp); }

// Makes the calling (shard) thread an lcore, so that mempool gets and puts on it, the PMDs' per-packet
// RX allocations and TX frees included, go through its per-lcore cache instead of the shared ring's
// compare-and-swap. Returns the lcore id; -2 when the thread already is an lcore (nothing to undo);
// -1 when none is free (the thread then works without a cache).
DEMI_EXPORT int32_t demi_dpdk_thread_register(void)
{
    if (rte_lcore_id() != LCORE_ID_ANY)
        return -2;
    if (rte_thread_register() != 0 || rte_lcore_id() == LCORE_ID_ANY)
        return -1;
    return (int32_t)rte_lcore_id();
}

static void flush_own_cache(struct rte_mempool *mp, void *arg)
{
    (void)arg;
    struct rte_mempool_cache *cache = rte_mempool_default_cache(mp, rte_lcore_id());
    if (cache != NULL)
        rte_mempool_cache_flush(cache, mp);
}

// Undoes demi_dpdk_thread_register on the same thread: the thread's cache of every mempool goes back
// to its ring (so that a pool's owner can take every mbuf back), then the lcore id is released.
DEMI_EXPORT void demi_dpdk_thread_release(void)
{
    if (rte_lcore_id() == LCORE_ID_ANY)
        return;
    rte_mempool_walk(flush_own_cache, NULL);
    rte_thread_unregister();
}

DEMI_EXPORT uint32_t demi_dpdk_pool_avail(struct rte_mempool *mp) { return rte_mempool_avail_count(mp); }

// Puts the mbufs of pool buffers `indices` into the mempool, where the PMDs allocate RX mbufs.
DEMI_EXPORT void demi_dpdk_lend(struct rte_mempool *mp, struct rte_mbuf **table, const int32_t *indices, uint32_t n)
{
    struct rte_mbuf *burst[64];
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = table[indices[i]];
        rte_mbuf_refcnt_set(m, 1);
        m->nb_segs = 1;
        m->next = NULL;
        burst[k++] = m;
        if (k == 64) {
            rte_mempool_put_bulk(mp, (void **)burst, k);
            k = 0;
        }
    }
    if (k)
        rte_mempool_put_bulk(mp, (void **)burst, k);
}

// Takes up to n mbufs back out of the mempool; writes their buffer indices. Returns how many.
DEMI_EXPORT uint32_t demi_dpdk_reclaim(struct rte_mempool *mp, void *region, uint16_t elt_size, int32_t *indices, uint32_t n)
{
    uint32_t got = 0;
    while (got < n) {
        struct rte_mbuf *m;
        if (rte_mempool_get(mp, (void **)&m) != 0)
            break;
        indices[got++] = (int32_t)(((uintptr_t)m->buf_addr - (uintptr_t)region) / elt_size);
    }
    return got;
}

DEMI_EXPORT void demi_dpdk_free_bulk(struct rte_mbuf **mbufs, uint32_t n) { rte_pktmbuf_free_bulk(mbufs, n); }

// One RX burst. Frames in our pool's single-segment mbufs that only the PMD held are handed out in
// place; anything else (another pool's mbuf, a frame still referenced by a sibling port's TX on
// net_ring) is described for copying; multi-segment frames are dropped and counted in *dropped.
DEMI_EXPORT uint16_t demi_dpdk_rx(uint16_t port, uint16_t queue, struct rte_mempool *mp, void *region,
    uint16_t elt_size, struct rte_mbuf **scratch, struct demi_rx_desc *out, uint16_t n, uint32_t *dropped)
{
    uint16_t got = rte_eth_rx_burst(port, queue, scratch, n);
    uint16_t k = 0;
    for (uint16_t i = 0; i < got; i++) {
        struct rte_mbuf *m = scratch[i];
        if (m->nb_segs != 1) {
            rte_pktmbuf_free(m);
            (*dropped)++;
            continue;
        }
        struct demi_rx_desc *d = &out[k++];
        d->offset = m->data_off;
        d->length = m->data_len;
        d->mbuf = m;
        if (m->pool == mp && rte_mbuf_refcnt_read(m) == 1) {
            d->index = (int32_t)(((uintptr_t)m->buf_addr - (uintptr_t)region) / elt_size);
            d->data = NULL;
        } else {
            d->index = -1;
            d->data = rte_pktmbuf_mtod(m, void *);
        }
    }
    return k;
}

// Fills in a frame's TX checksum offload request: flags, header lengths, and the pseudo-header sum
// the device expects in the L4 checksum field (DPDK's contract for RTE_MBUF_F_TX_*_CKSUM).
static void request_checksums(struct rte_mbuf *m, uint8_t *frame, uint16_t len)
{
    if (len < 14 + 20 || frame[12] != 0x08 || frame[13] != 0x00)
        return;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + 14);
    uint16_t ihl = (ip->version_ihl & 0x0f) * 4;
    if (ihl < 20 || 14 + ihl > len)
        return;
    m->l2_len = 14;
    m->l3_len = ihl;
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    ip->hdr_checksum = 0;
    if ((rte_be_to_cpu_16(ip->fragment_offset) & 0x1fff) != 0)
        return; // not the first fragment: no L4 header here
    uint8_t *l4 = frame + 14 + ihl;
    if (ip->next_proto_id == IPPROTO_UDP && 14 + ihl + 8 <= len) {
        m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
        ((struct rte_udp_hdr *)l4)->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
    } else if (ip->next_proto_id == IPPROTO_TCP && 14 + ihl + 20 <= len) {
        m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
        ((struct rte_tcp_hdr *)l4)->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
    }
}

// One TX burst of pool buffers. An mbuf sent in place gets a second reference first: the PMD drops
// its own when done and the mbuf never goes back to the mempool behind the pool's back (C# sees
// the refcount fall to 1 and releases the buffer). A buffer already in flight (refcount > 1) is
// copied into a fresh mbuf of `copy_pool` and flagged in `copied`, so C# releases it at once. Returns how many descs were taken (a prefix).
DEMI_EXPORT uint16_t demi_dpdk_tx(uint16_t port, uint16_t queue, struct rte_mbuf **table, struct rte_mempool *copy_pool,
    const struct demi_tx_desc *descs, uint16_t n, int checksum_offload, uint8_t *copied)
{
    struct rte_mbuf *burst[256];
    if (n > 256)
        n = 256;
    uint16_t k = 0;
    for (; k < n; k++) {
        const struct demi_tx_desc *d = &descs[k];
        struct rte_mbuf *m = table[d->index];
        copied[k] = 0;
        if (rte_mbuf_refcnt_read(m) != 1) {
            struct rte_mbuf *c = rte_pktmbuf_alloc(copy_pool);
            if (c == NULL)
                break;
            rte_memcpy(rte_pktmbuf_mtod(c, void *), (uint8_t *)m->buf_addr + d->offset, d->length);
            c->data_len = c->pkt_len = d->length;
            copied[k] = 1;
            m = c;
        } else {
            m->data_off = d->offset;
            m->data_len = d->length;
            m->pkt_len = d->length;
            m->nb_segs = 1;
            m->next = NULL;
            m->ol_flags &= RTE_MBUF_F_EXTERNAL;
            rte_mbuf_refcnt_set(m, 2);
        }
        if (checksum_offload)
            request_checksums(m, rte_pktmbuf_mtod(m, uint8_t *), d->length);
        burst[k] = m;
    }
    uint16_t sent = rte_eth_tx_burst(port, queue, burst, k);
    for (uint16_t i = sent; i < k; i++) {
        if (copied[i])
            rte_pktmbuf_free(burst[i]);
        else
            rte_mbuf_refcnt_set(burst[i], 1);
    }
    return sent;
}

// An ordinary mbuf pool (its own data rooms), for frames copied on TX.
DEMI_EXPORT struct rte_mempool *demi_dpdk_pool_create_plain(const char *name, uint32_t count)
{
    return rte_pktmbuf_pool_create(name, count, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
}

// Stops a port the EAL (or demi_dpdk_ring_pair) created, leaving it attached for a later start.
DEMI_EXPORT int demi_dpdk_port_pause(uint16_t port)
{
    int rc = rte_eth_dev_stop(port);
    ring_pair_port_stopped(port);
    return rc;
}

// ---- net_ring port pairs: two ports in one process whose rings are crossed, A's TX queue q being
// B's RX queue q and vice versa (rte_eth_ring's own vdev arguments can only loop a port onto itself).
// A ring carries the sender's mbufs: the receiver copies and frees them, which drops the sender's
// in-flight reference. Rings are single-producer (one TX queue, one shard) but multi-consumer: a
// stopping port takes back what its peer has not received yet, while the peer may still be polling,
// so that no mbuf of a pool about to be freed stays in a ring. The pair table is control path only.

#define DEMI_RING_PAIRS 32
#define DEMI_RING_QUEUES RTE_PMD_RING_MAX_RX_RINGS
#define DEMI_RING_SIZE 1024
#define DEMI_RING_NAME_MAX 16

struct demi_ring_pair {
    int used;
    uint16_t port[2];
    uint16_t queues;
    int started[2];
    // rx[s][q]: side s's RX ring q, which is side 1 - s's TX ring q.
    struct rte_ring *rx[2][DEMI_RING_QUEUES];
};

static struct demi_ring_pair ring_pairs[DEMI_RING_PAIRS];
static pthread_mutex_t ring_pairs_lock = PTHREAD_MUTEX_INITIALIZER;

typedef __typeof__(rte_eth_from_rings) eth_from_rings_fn;

// rte_eth_from_rings lives in the ring PMD, which the EAL loads as a plug-in: looked up at run time
// (not linked) so that the shim, and every other PMD, works on a machine without it. Lock held.
static eth_from_rings_fn *lookup_from_rings(void)
{
    static eth_from_rings_fn *from_rings;
    if (from_rings == NULL) {
        void *pmd = dlopen("librte_net_ring.so.23", RTLD_NOW);
        if (pmd != NULL)
            from_rings = (eth_from_rings_fn *)dlsym(pmd, "rte_eth_from_rings");
    }
    return from_rings;
}

// The pair and side a port belongs to (lock held), or NULL.
static struct demi_ring_pair *ring_pair_of(uint16_t port, int *side)
{
    for (int i = 0; i < DEMI_RING_PAIRS; i++) {
        struct demi_ring_pair *p = &ring_pairs[i];
        if (!p->used)
            continue;
        for (int s = 0; s < 2; s++) {
            if (p->port[s] == port) {
                *side = s;
                return p;
            }
        }
    }
    return NULL;
}

static void ring_drain(struct rte_ring *r)
{
    struct rte_mbuf *burst[64];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(r, (void **)burst, 64, NULL)) > 0)
        rte_pktmbuf_free_bulk(burst, n);
}

static void ring_pair_release(struct demi_ring_pair *p)
{
    for (int s = 0; s < 2; s++)
        for (uint16_t q = 0; q < p->queues; q++)
            rte_ring_free(p->rx[s][q]); // NULL-safe
    memset(p, 0, sizeof(*p));
}

static void ring_pair_port_started(uint16_t port)
{
    int side;
    pthread_mutex_lock(&ring_pairs_lock);
    struct demi_ring_pair *p = ring_pair_of(port, &side);
    if (p != NULL)
        p->started[side] = 1;
    pthread_mutex_unlock(&ring_pairs_lock);
}

// After rte_eth_dev_stop: this side's shards no longer poll or send. Its RX rings hold the peer's
// frames (freed: the peer reclaims them); its TX rings hold its own that the peer has not taken
// (freed too, possibly while the peer dequeues concurrently: the rings are multi-consumer).
static void ring_pair_port_stopped(uint16_t port)
{
    int side;
    pthread_mutex_lock(&ring_pairs_lock);
    struct demi_ring_pair *p = ring_pair_of(port, &side);
    if (p != NULL) {
        p->started[side] = 0;
        for (uint16_t q = 0; q < p->queues; q++) {
            ring_drain(p->rx[side][q]);
            ring_drain(p->rx[1 - side][q]);
        }
    }
    pthread_mutex_unlock(&ring_pairs_lock);
}

// Creates `queues` crossed ring pairs and two ports over them, net_ring_`name`_a and _b, with the given
// (locally administered) MACs: net_ring ports otherwise all share one. Returns 0 or -errno; nothing
// is left behind on failure.
DEMI_EXPORT int demi_dpdk_ring_pair(const char *name, uint16_t queues, const uint8_t *mac_a, const uint8_t *mac_b,
    uint16_t *port_a, uint16_t *port_b)
{
    size_t len = strnlen(name, DEMI_RING_NAME_MAX + 1);
    if (len == 0 || len > DEMI_RING_NAME_MAX)
        return -ENAMETOOLONG;
    if (queues == 0 || queues > DEMI_RING_QUEUES)
        return -EINVAL;
    pthread_mutex_lock(&ring_pairs_lock);
    eth_from_rings_fn *from_rings = lookup_from_rings();
    if (from_rings == NULL) {
        pthread_mutex_unlock(&ring_pairs_lock);
        return -ELIBACC;
    }
    struct demi_ring_pair *p = NULL;
    for (int i = 0; i < DEMI_RING_PAIRS && p == NULL; i++)
        if (!ring_pairs[i].used)
            p = &ring_pairs[i];
    if (p == NULL) {
        pthread_mutex_unlock(&ring_pairs_lock);
        return -ENOSPC;
    }
    memset(p, 0, sizeof(*p));
    p->queues = queues;
    int rc = 0, made = 0;
    for (int s = 0; s < 2 && rc == 0; s++) {
        for (uint16_t q = 0; q < queues; q++) {
            char ring_name[RTE_RING_NAMESIZE];
            // "ab": from A to B (B's RX); "ba": from B to A.
            snprintf(ring_name, sizeof(ring_name), "%s_%s%u", name, s == 1 ? "ab" : "ba", q);
            p->rx[s][q] = rte_ring_create(ring_name, DEMI_RING_SIZE, rte_socket_id(), RING_F_SP_ENQ);
            if (p->rx[s][q] == NULL) {
                rc = -(rte_errno ? rte_errno : ENOMEM);
                break;
            }
        }
    }
    const uint8_t *macs[2] = { mac_a, mac_b };
    for (int s = 0; s < 2 && rc == 0; s++) {
        char port_name[RTE_RING_NAMESIZE];
        snprintf(port_name, sizeof(port_name), "%s_%c", name, s == 0 ? 'a' : 'b');
        int id = from_rings(port_name, p->rx[s], queues, p->rx[1 - s], queues, rte_socket_id());
        if (id < 0 || id >= RTE_MAX_ETHPORTS) {
            rc = -(rte_errno ? rte_errno : EINVAL);
            break;
        }
        p->port[s] = (uint16_t)id;
        made++;
        struct rte_ether_addr mac;
        memcpy(mac.addr_bytes, macs[s], RTE_ETHER_ADDR_LEN);
        if (!rte_is_unicast_ether_addr(&mac)) {
            rc = -EINVAL;
            break;
        }
        rc = rte_eth_dev_default_mac_addr_set(p->port[s], &mac);
        if (rc == -ENOTSUP) {
            // net_ring has no mac_addr_set; its default address is all zeros, which mac_addr_add
            // takes for a free slot: the address lands in slot 0, the default.
            struct rte_ether_addr got;
            rc = rte_eth_dev_mac_addr_add(p->port[s], &mac, 0);
            if (rc == 0 && (rc = rte_eth_macaddr_get(p->port[s], &got)) == 0 && !rte_is_same_ether_addr(&got, &mac))
                rc = -ENOTSUP;
        }
    }
    if (rc != 0) {
        for (int s = 0; s < made; s++)
            close_and_remove(p->port[s]);
        ring_pair_release(p);
        pthread_mutex_unlock(&ring_pairs_lock);
        return rc;
    }
    p->used = 1;
    *port_a = p->port[0];
    *port_b = p->port[1];
    pthread_mutex_unlock(&ring_pairs_lock);
    return 0;
}

// Closes both ports of the pair `port` belongs to and frees its rings. -EBUSY while either port is
// started (stop its backend first), -ENODEV if `port` is not a pair's.
DEMI_EXPORT int demi_dpdk_ring_pair_free(uint16_t port)
{
    int side;
    pthread_mutex_lock(&ring_pairs_lock);
    struct demi_ring_pair *p = ring_pair_of(port, &side);
    int rc = 0;
    if (p == NULL)
        rc = -ENODEV;
    else if (p->started[0] || p->started[1])
        rc = -EBUSY;
    else {
        // Both stopped: each stop emptied the rings it could (see ring_pair_port_stopped).
        for (int s = 0; s < 2; s++)
            close_and_remove(p->port[s]);
        ring_pair_release(p);
    }
    pthread_mutex_unlock(&ring_pairs_lock);
    return rc;
}
