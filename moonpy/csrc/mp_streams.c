/*
 * mp_streams.c - per-stream statistics in the fast path.
 *
 * Signature (16 bytes at a byte offset the caller chooses, 42 = a UDP/IPv4 payload):
 *   u16 magic 0x4D50 ("MP") | u16 stream id | u32 sequence number | u64 TX TSC
 * It fits a 64-byte frame (60 bytes without CRC). A paced queue with stamp_departures at
 * offset + 8 overwrites the TX TSC with the frame's real departure time.
 *
 * Threads: one TX thread per stream writes its `tx` line, one RX thread per set writes the
 * `rx` part; readers (stats, Python) read 64-bit fields, which x86 reads whole.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "mp_api.h"
#include "mp_streams.h"

#define SIG_MAGIC 0x4D50u
#define SIG_LEN 16u
#define MAX_SETS 16
#define WINDOW 4096u /* sequence numbers remembered for duplicate / reorder detection */
/* log-linear histogram of latency in ns: values < 2^SUB_BITS exact, above it 2^(SUB_BITS-1)
 * buckets per power of two: relative error below 2^-(SUB_BITS-1) = 0.4 % */
#define SUB_BITS 9u
#define SUB (1u << SUB_BITS)
#define HALF (SUB >> 1)
#define MAX_EXP 42u /* up to 2^42 ns (73 minutes); larger values land in the last bucket */
#define HBUCKETS (SUB + (MAX_EXP - SUB_BITS + 1) * HALF)

struct stream {
    /* TX side, written by the sending thread */
    uint64_t tx_pkts, tx_bytes, tx_short;
    uint32_t tx_seq;
    uint32_t _pad0;
    uint64_t _pad1[4];
    /* RX side, written by the receiving thread */
    struct mp_stream_counters c;
    int64_t last_transit;
    uint64_t max_seq; /* highest sequence number seen, extended to 64 bits */
    uint64_t window[WINDOW / 64];
    uint64_t hist[HBUCKETS];
};

struct set {
    uint32_t n;
    double ns_per_cycle;
    struct mp_streams_set_counters sc;
    struct stream *s;
    /* mp_streams_recv's end: the TSC after which it returns (0: not yet), set by
     * mp_streams_send's end or mp_streams_recv_stop from another thread */
    volatile uint64_t rx_stop;
};

static struct set *sets[MAX_SETS];
/* A freed set stays readable for a while: another thread (the console's sampler) may have
 * looked it up just before. Its memory goes when its slot is reused, PARK_MS later. */
#define PARK_MS 500
static struct set *parked[MAX_SETS];
static uint64_t parked_tsc[MAX_SETS];

static inline struct set *get_set(int id)
{
    return (id >= 0 && id < MAX_SETS) ? sets[id] : NULL;
}

static inline uint32_t hidx(uint64_t v)
{
    if (v < SUB)
        return (uint32_t)v;
    uint32_t msb = 63u - (uint32_t)__builtin_clzll(v);
    if (msb > MAX_EXP)
        return HBUCKETS - 1;
    uint32_t shift = msb - SUB_BITS + 1;
    return SUB + (msb - SUB_BITS) * HALF + (uint32_t)((v >> shift) - HALF);
}

/* the lowest and highest value of bucket i */
static inline uint64_t hlow(uint32_t i)
{
    if (i < SUB)
        return i;
    uint32_t k = (i - SUB) / HALF, j = (i - SUB) % HALF;
    return (uint64_t)(HALF + j) << (k + 1);
}

static inline uint64_t hhigh(uint32_t i)
{
    if (i < SUB)
        return i;
    uint32_t k = (i - SUB) / HALF;
    return hlow(i) + (1ull << (k + 1)) - 1;
}

int mp_streams_create(uint32_t n_streams)
{
    if (n_streams == 0 || n_streams > 65536)
        return -EINVAL;
    uint64_t now = rte_rdtsc(), grace = rte_get_tsc_hz() / 1000 * PARK_MS;
    for (int i = 0; i < MAX_SETS; i++) {
        if (sets[i] != NULL || (parked[i] != NULL && now - parked_tsc[i] < grace))
            continue;
        if (parked[i] != NULL) {
            free(parked[i]->s);
            free(parked[i]);
            parked[i] = NULL;
        }
        struct set *st = calloc(1, sizeof(*st));
        if (st == NULL)
            return -ENOMEM;
        st->s = aligned_alloc(64, sizeof(struct stream) * n_streams);
        if (st->s == NULL) {
            free(st);
            return -ENOMEM;
        }
        st->n = n_streams;
        st->ns_per_cycle = 1e9 / (double)rte_get_tsc_hz();
        sets[i] = st;
        mp_streams_reset(i);
        return i;
    }
    return -ENOSPC;
}

void mp_streams_free(int id)
{
    struct set *st = get_set(id);
    if (st == NULL)
        return;
    sets[id] = NULL;
    if (parked[id] != NULL) { /* parked earlier, never reused: readers are long gone */
        free(parked[id]->s);
        free(parked[id]);
    }
    parked[id] = st;
    parked_tsc[id] = rte_rdtsc();
}

void mp_streams_reset(int id)
{
    struct set *st = get_set(id);
    if (st == NULL)
        return;
    memset(st->s, 0, sizeof(struct stream) * st->n);
    memset(&st->sc, 0, sizeof(st->sc));
    st->rx_stop = 0;
    for (uint32_t i = 0; i < st->n; i++)
        st->s[i].c.lat_min_ns = UINT64_MAX;
}

uint32_t mp_streams_size(int id)
{
    struct set *st = get_set(id);
    return st == NULL ? 0 : st->n;
}

/* Write stream s's next signature into m (1), or count it as too short (0). */
static inline uint32_t stamp_one(struct stream *s, uint32_t sid, struct rte_mbuf *m,
                                 int32_t offset, uint64_t tsc)
{
    if ((uint32_t)offset + SIG_LEN > m->data_len) {
        s->tx_short++;
        return 0;
    }
    uint8_t *p = rte_pktmbuf_mtod_offset(m, uint8_t *, offset);
    uint16_t magic = SIG_MAGIC, id16 = (uint16_t)sid;
    memcpy(p, &magic, 2);
    memcpy(p + 2, &id16, 2);
    memcpy(p + 4, &s->tx_seq, 4);
    memcpy(p + 8, &tsc, 8);
    s->tx_seq++;
    s->tx_pkts++;
    s->tx_bytes += m->pkt_len;
    return 1;
}

uint32_t mp_streams_tx(int id, uint32_t stream, struct rte_mbuf **bufs, uint32_t n,
                       int32_t offset)
{
    struct set *st = get_set(id);
    if (st == NULL || stream >= st->n || offset < 0)
        return 0;
    struct stream *s = &st->s[stream];
    uint64_t tsc = rte_rdtsc();
    uint32_t done = 0;
    for (uint32_t i = 0; i < n; i++)
        done += stamp_one(s, stream, bufs[i], offset, tsc);
    return done;
}

static inline void window_clear(struct stream *s, uint64_t from, uint64_t to)
{
    /* forget sequence numbers from..to (inclusive) wrapping in the window */
    if (to - from + 1 >= WINDOW) {
        memset(s->window, 0, sizeof(s->window));
        return;
    }
    for (uint64_t q = from; q <= to; q++)
        s->window[(q % WINDOW) / 64] &= ~(1ull << (q % 64));
}

static inline void count_one(struct set *st, struct stream *s, uint32_t seq32, uint64_t tx_tsc,
                             uint64_t rx_tsc, uint32_t len)
{
    struct mp_stream_counters *c = &s->c;
    c->rx_pkts++;
    c->rx_bytes += len;
    uint64_t seq;
    if (c->rx_pkts == 1) {
        seq = seq32;
        window_clear(s, 0, WINDOW);
        s->max_seq = seq;
        c->first_seq = seq;
        s->window[(seq % WINDOW) / 64] |= 1ull << (seq % 64);
    } else {
        /* extend to 64 bits around the highest seen (wraps after 2^32 frames) */
        int32_t d = (int32_t)(seq32 - (uint32_t)s->max_seq);
        seq = s->max_seq + (int64_t)d;
        if (d > 0) {
            if (d > 1)
                c->gaps++;
            window_clear(s, s->max_seq + 1, seq);
            s->max_seq = seq;
            s->window[(seq % WINDOW) / 64] |= 1ull << (seq % 64);
        } else if (s->max_seq - seq >= WINDOW) {
            c->late++; /* too old to tell a duplicate from a late frame */
        } else {
            uint64_t bit = 1ull << (seq % 64), *w = &s->window[(seq % WINDOW) / 64];
            if (*w & bit) {
                c->duplicates++;
            } else {
                c->out_of_order++;
                *w |= bit;
            }
        }
    }
    /* latency and RFC 3550 jitter from this frame's transit time */
    int64_t transit = (int64_t)(rx_tsc - tx_tsc);
    if (transit < 0) {
        c->negative_latency++;
        return;
    }
    uint64_t ns = (uint64_t)((double)transit * st->ns_per_cycle + 0.5);
    if (ns < c->lat_min_ns)
        c->lat_min_ns = ns;
    if (ns > c->lat_max_ns)
        c->lat_max_ns = ns;
    c->lat_sum_ns += ns;
    c->lat_sum2_ns += (double)ns * (double)ns;
    c->lat_count++;
    s->hist[hidx(ns)]++;
    if (c->lat_count > 1) {
        double dd = fabs((double)((int64_t)ns - s->last_transit));
        c->jitter_ns += (dd - c->jitter_ns) / 16.0;
    }
    s->last_transit = (int64_t)ns;
}

uint32_t mp_streams_rx(int id, struct rte_mbuf **bufs, uint32_t n, int32_t offset,
                       uint32_t flags)
{
    struct set *st = get_set(id);
    if (st == NULL || offset < 0)
        return 0;
    int32_t uoff = mp_api_get()->udata64_offset;
    uint64_t now = rte_rdtsc();
    uint32_t ok = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *m = bufs[i];
        if ((uint32_t)offset + SIG_LEN > m->data_len) {
            st->sc.short_frames++;
            continue;
        }
        const uint8_t *p = rte_pktmbuf_mtod_offset(m, const uint8_t *, offset);
        uint16_t magic, sid;
        uint32_t seq;
        uint64_t tx;
        memcpy(&magic, p, 2);
        if (magic != SIG_MAGIC) {
            st->sc.foreign++;
            continue;
        }
        memcpy(&sid, p + 2, 2);
        if (sid >= st->n) {
            st->sc.bad_stream++;
            continue;
        }
        memcpy(&seq, p + 4, 4);
        memcpy(&tx, p + 8, 8);
        uint64_t rx = now;
        if ((flags & MP_STREAMS_RX_TS) && uoff >= 0)
            rx = *RTE_MBUF_DYNFIELD(m, uoff, uint64_t *);
        count_one(st, &st->s[sid], seq, tx, rx, m->pkt_len);
        ok++;
    }
    st->sc.counted += ok;
    if ((flags & MP_STREAMS_RX_TS) && uoff >= 0)
        st->sc.rx_tsc += ok;
    return ok;
}

int mp_streams_read(int id, uint32_t stream, struct mp_stream_counters *out)
{
    struct set *st = get_set(id);
    if (st == NULL || stream >= st->n)
        return -EINVAL;
    struct stream *s = &st->s[stream];
    *out = s->c;
    out->tx_pkts = s->tx_pkts;
    out->tx_bytes = s->tx_bytes;
    out->tx_short = s->tx_short;
    if (out->lat_count == 0)
        out->lat_min_ns = 0;
    return 0;
}

int mp_streams_read_set(int id, struct mp_streams_set_counters *out)
{
    struct set *st = get_set(id);
    if (st == NULL)
        return -EINVAL;
    *out = st->sc;
    return 0;
}

double mp_streams_percentile(int id, uint32_t stream, double pct)
{
    struct set *st = get_set(id);
    if (st == NULL || stream >= st->n)
        return -1.0;
    struct stream *s = &st->s[stream];
    uint64_t total = s->c.lat_count;
    if (total == 0)
        return -1.0;
    if (pct < 0)
        pct = 0;
    if (pct > 100)
        pct = 100;
    /* the value at or below which pct % of the samples lie (HdrHistogram: the highest
     * value equivalent to the bucket's), never above the maximum seen */
    uint64_t want = (uint64_t)ceil(pct / 100.0 * (double)total);
    if (want == 0)
        want = 1;
    uint64_t acc = 0;
    for (uint32_t i = 0; i < HBUCKETS; i++) {
        acc += s->hist[i];
        if (acc >= want) {
            uint64_t v = hhigh(i);
            return (double)(v > s->c.lat_max_ns ? s->c.lat_max_ns : v);
        }
    }
    return (double)s->c.lat_max_ns;
}

uint32_t mp_streams_hist(int id, uint32_t stream, uint64_t *values, uint64_t *counts,
                         uint32_t max)
{
    struct set *st = get_set(id);
    if (st == NULL || stream >= st->n)
        return 0;
    struct stream *s = &st->s[stream];
    uint32_t k = 0;
    for (uint32_t i = 0; i < HBUCKETS && k < max; i++) {
        if (s->hist[i] == 0)
            continue;
        values[k] = hlow(i);
        counts[k] = s->hist[i];
        k++;
    }
    return k;
}

/* The generator of a trial (RFC 2544, tests), all in C: `count` frames of `len` bytes from
 * `pool`, frame i stamped as stream first + i % n_streams, sent on port/queue in bursts of
 * SEND_BURST; the queue's pacer (setRate) spaces them. Stops early when the run stops or at
 * TSC `deadline` (0: none). Its end sets the set's RX stop `drain` cycles later (0: leaves
 * it). out[0] = TSC before the first frame, out[1] = TSC after the last one left (held paced
 * frames flushed), out[2] = times the pool was empty (frames still in flight). Returns the
 * frames sent. */
#define SEND_BURST 32u
uint64_t mp_streams_send(int id, uint32_t first, uint32_t n_streams, struct rte_mempool *pool,
                         uint16_t port, uint16_t queue, uint32_t len, uint64_t count,
                         int32_t offset, uint64_t deadline, uint64_t drain, uint64_t *out)
{
    struct set *st = get_set(id);
    out[0] = out[1] = out[2] = 0;
    if (st == NULL || n_streams == 0 || first >= st->n || n_streams > st->n - first ||
        offset < 0 || (uint32_t)offset + SIG_LEN > len || pool == NULL)
        return 0;
    struct rte_mbuf *bufs[SEND_BURST];
    uint64_t sent = 0, empty = 0;
    uint32_t next = 0; /* the stream of the next frame, relative to first */
    out[0] = rte_rdtsc();
    while (sent < count && mp_running(0)) {
        if (deadline != 0 && rte_rdtsc() > deadline)
            break;
        uint32_t k = (uint32_t)RTE_MIN((uint64_t)SEND_BURST, count - sent);
        if (mp_alloc_bulk(pool, bufs, k, len) < 0) {
            empty++; /* the receiver has not freed enough yet */
            rte_pause();
            continue;
        }
        uint64_t tsc = rte_rdtsc();
        uint32_t stamped[SEND_BURST];
        for (uint32_t i = 0; i < k; i++) {
            stamped[i] = next;
            stamp_one(&st->s[first + next], first + next, bufs[i], offset, tsc);
            next = next + 1 == n_streams ? 0 : next + 1;
        }
        uint32_t ok = mp_send_all(port, queue, bufs, k);
        /* frames the run stopped before they left were freed: they never count as sent */
        for (uint32_t i = ok; i < k; i++) {
            struct stream *s = &st->s[first + stamped[i]];
            if (s->tx_pkts) {
                s->tx_pkts--;
                s->tx_bytes -= len;
            }
        }
        sent += ok;
        if (ok < k)
            break;
    }
    mp_pace_flush();
    out[1] = rte_rdtsc();
    out[2] = empty;
    if (drain != 0)
        st->rx_stop = out[1] + drain;
    return sent;
}

/* The receiver of a trial, all in C: RX bursts on port/queue with the RX TSC taken right
 * after each burst (rx_burst_ts), counted by signature and freed, until the run stops or
 * the set's RX stop passed (mp_streams_send's end, mp_streams_recv_stop). out[0] = frames
 * received, out[1] = of them with a signature of this set, out[2] = cycles the loop did not
 * run (two passes more than RECV_STALL_NS apart: the thread was preempted, and frames
 * waited in the ring meanwhile, which their latency shows), out[3] = cycles it ran.
 * Returns out[0]. */
#define RECV_STALL_NS 10000
uint64_t mp_streams_recv(int id, uint16_t port, uint16_t queue, int32_t offset, uint64_t *out)
{
    struct set *st = get_set(id);
    out[0] = out[1] = out[2] = out[3] = 0;
    if (st == NULL || offset < 0)
        return 0;
    const struct mp_api *api = mp_api_get();
    struct rte_mbuf *bufs[64];
    uint64_t got = 0, counted = 0, lost = 0;
    uint64_t stall = rte_get_tsc_hz() / (1000000000 / RECV_STALL_NS);
    uint64_t start = rte_rdtsc(), prev = start, now = start;
    while (mp_running(0)) {
        uint32_t n = api->rx_burst_ts(port, queue, bufs, 64);
        if (n) {
            counted += mp_streams_rx(id, bufs, n, offset, MP_STREAMS_RX_TS);
            mp_free_bulk(bufs, n);
            got += n;
        }
        now = rte_rdtsc();
        if (now - prev > stall)
            lost += now - prev;
        prev = now;
        uint64_t stop = st->rx_stop;
        if (stop != 0 && now >= stop)
            break;
        if (n == 0)
            rte_pause();
    }
    out[0] = got;
    out[1] = counted;
    out[2] = lost;
    out[3] = now - start;
    return got;
}

/* mp_streams_recv on this set returns once the TSC passes `tsc` (0: runs on) */
void mp_streams_recv_stop(int id, uint64_t tsc)
{
    struct set *st = get_set(id);
    if (st != NULL)
        st->rx_stop = tsc;
}

/* A software device under test for self-tests (tests, docs/rfc2544.md): forward rx -> tx,
 * dropping what exceeds `rate` frames/s with a bucket of `depth` frames, judged at each
 * frame's departure TSC from its signature (frames without one: at the time of the poll),
 * so the drops depend on the offered load and not on when this loop ran. Until stop. */
uint64_t mp_streams_police(uint16_t rx_port, uint16_t rx_queue, uint16_t tx_port,
                           uint16_t tx_queue, double rate, double depth, int32_t offset)
{
    struct rte_mbuf *bufs[64], *fwd[64], *drop[64];
    double per_cycle = rate / (double)rte_get_tsc_hz(), tokens = depth;
    uint64_t last = 0, dropped = 0;
    while (mp_running(0)) {
        uint32_t n = mp_rx_burst(rx_port, rx_queue, bufs, 64), nf = 0, nd = 0;
        uint64_t now = rte_rdtsc();
        for (uint32_t i = 0; i < n; i++) {
            uint64_t ts = now;
            uint16_t magic;
            if ((uint32_t)offset + SIG_LEN <= bufs[i]->data_len) {
                const uint8_t *p = rte_pktmbuf_mtod_offset(bufs[i], const uint8_t *, offset);
                memcpy(&magic, p, 2);
                if (magic == SIG_MAGIC)
                    memcpy(&ts, p + 8, 8);
            }
            if (last != 0 && ts > last)
                tokens += (double)(ts - last) * per_cycle;
            if (tokens > depth)
                tokens = depth;
            if (ts > last)
                last = ts;
            if (tokens >= 1.0) {
                tokens -= 1.0;
                fwd[nf++] = bufs[i];
            } else {
                drop[nd++] = bufs[i];
            }
        }
        if (nf)
            mp_send_all(tx_port, tx_queue, fwd, nf);
        if (nd)
            mp_free_bulk(drop, nd);
        dropped += nd;
    }
    return dropped;
}
