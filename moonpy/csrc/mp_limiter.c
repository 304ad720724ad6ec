/* mp_limiter.c - MoonGen's software rate limiter thread: frames from a ring leave one at
 * a time, custom, cbr or poisson; poisson gaps are drawn ahead (struct gap_pool) so that a
 * late frame can take a long gap drawn for later. */
#include <math.h>
#include <sched.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "mp_api.h"
#include "mp_limiter.h"
#include "mp_pacing.h"
#include "mp_port.h"
#include "mp_tx.h"

/* Drawn gaps and preemption. A thread that does not run for 30 us (this VM's hypervisor
 * does that ~360 times a second) makes one gap 30 us long, whatever was drawn for it; to
 * keep the rate, later gaps must be shorter, and shortening 1 % of the time out of every
 * gap moves an exponential's CDF by ~1 %/e (KS D 0.004: a clear fail over 200,000 gaps).
 * Instead the pacer draws ahead: the next GAP_POOL gaps wait in departure order, and when a
 * frame finds itself late, it takes the gap it needs from the upcoming ones (the shortest
 * one at least as long as the time since the previous frame's ideal departure), and the
 * gap it had goes where that one was. The gaps on the wire are then the gaps drawn, in a
 * slightly different order, and the schedule is not behind (a later gap got used earlier).
 * The poisson limiter draws its gaps itself and keeps GAP_POOL of them ahead; sendWithDelay
 * has the script's gaps of the burst it was given (delay_swap). Only a frame later than
 * PACE_STALL_NS looks for a swap: a few ns late is what catch-up is for. A stall longer
 * than any gap there is paid back from later gaps (struct repay). */
#define GAP_POOL 1024
struct gap_pool {
    double x[GAP_POOL]; /* upcoming draws of Exp(1), in departure order from `head` */
    double max;         /* none of them is longer (exact after a search that found none) */
    uint32_t head;
    uint32_t stale;     /* the slots before `head` already used and not drawn again (-1) */
    uint64_t rng;
};

/* xorshift64* (one state per limiter call; quality far beyond what gap tests resolve) */
static inline double uniform01(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

static inline double exp1(uint64_t *rng) { return -log(1.0 - uniform01(rng)); }

static void gap_pool_init(struct gap_pool *gp, uint64_t seed)
{
    gp->rng = seed | 1;
    gp->head = gp->stale = 0;
    gp->max = 0;
    for (uint32_t i = 0; i < GAP_POOL; i++) {
        gp->x[i] = exp1(&gp->rng);
        gp->max = fmax(gp->max, gp->x[i]);
    }
}

/* Draw the oldest used slots again, at most `n` of them. A draw (a log) takes ~20 ns: done
 * while the limiter has time to wait, not between two departures due back to back. */
static inline void gap_pool_refill(struct gap_pool *gp, uint32_t n)
{
    for (; n > 0 && gp->stale > 0; n--, gp->stale--) {
        uint32_t i = (gp->head + GAP_POOL - gp->stale) % GAP_POOL;
        gp->x[i] = exp1(&gp->rng);
        gp->max = fmax(gp->max, gp->x[i]);
    }
}

/* The next gap in departure order (its slot is drawn again later, gap_pool_refill). */
static inline double gap_pool_next(struct gap_pool *gp)
{
    if (unlikely(gp->stale >= GAP_POOL / 2)) /* never waited long enough to refill */
        gap_pool_refill(gp, 1);
    double x = gp->x[gp->head];
    gp->x[gp->head] = -1; /* a swap never picks it */
    gp->stale++;
    gp->head = (gp->head + 1) % GAP_POOL;
    return x;
}

/* A late frame, whose gap was `had`, needs one of at least `need`: the shortest upcoming gap
 * that long, which `had` replaces in the order. If none is that long, the frame keeps `had`
 * and catches up: taking the longest instead would drain the pool's long gaps after every
 * stall longer than any of them (at 500 kpps most of this VM's are), and a schedule left
 * behind (a starving producer) would then take a long gap for every frame. The search
 * (about 0.5 us) runs only when a gap that long may be there. */
static double gap_pool_swap(struct gap_pool *gp, double had, double need)
{
    if (need > gp->max)
        return had;
    uint32_t best = GAP_POOL;
    double bx = 0, max = 0;
    for (uint32_t i = 0; i < GAP_POOL; i++) {
        double x = gp->x[i];
        max = fmax(max, x);
        if (x >= need && (best == GAP_POOL || x < bx)) {
            best = i;
            bx = x;
        }
    }
    gp->max = max;
    if (best == GAP_POOL)
        return had;
    gp->x[best] = had;
    return bx;
}

#define LIMITER_BATCH 64
#define LIMITER_CUSTOM 0
#define LIMITER_CBR 1
#define LIMITER_POISSON 2

static inline int limiter_running(volatile uint64_t *ctl)
{
    return mp_running(0) && __atomic_load_n(&ctl[1], __ATOMIC_RELAXED) == 0;
}

/* MoonGen's software rate limiter thread (software-rate-limiter.cpp), one frame at a time:
 * custom: udata64 byte times between departures; cbr: `param` cycles; poisson: departures
 * `wire time + Exp(param - wire time)` apart, drawn ahead (struct gap_pool: a frame the
 * thread sends late takes a long gap drawn for later); a frame more than PACE_STALL_NS late
 * that found none goes on the schedule from its departure, the time it lost a debt later
 * draws pay back (struct repay). The schedule restarts as in send_paced
 * (pace_restart: the ring ran dry for more than 1 ms, or more than 100 ms were lost).
 * Returns 0; frames still queued when it stops are freed. */
int mp_limiter_loop(struct rte_ring *ring, uint16_t port, uint16_t queue, uint32_t mode,
                    double param, double cycles_per_byte, volatile uint64_t *ctl)
{
    struct mp_queue_stats *st = &txq_stats[QIDX(port, queue)];
    struct pace_state *ps = &pace[QIDX(port, queue)];
    struct rte_mbuf *bufs[LIMITER_BATCH];
    uint64_t next = 0;
    double carry = 0;
    uint32_t idle = 0;
    pace_reset_stats(ps); /* the achieved rate and precision of this limiter run */
    ps->last_dep = 0;
    catchup_init();
    uint64_t max_shrink = mode == LIMITER_CBR ? catchup_max_shrink : CATCHUP_PROPORTIONAL;
    struct gap_pool pool_mem; /* 16 KiB of the task thread's stack */
    struct gap_pool *pool = NULL;
    if (mode == LIMITER_POISSON) {
        pool = &pool_mem;
        gap_pool_init(pool, rte_rdtsc());
    }
    double mean = 0, had = 0; /* poisson: the gap before this frame: its mean and draw */
    struct repay *rp = &ps->rp;
    rp->debt = 0;
    rp->cut = INFINITY;
    uint64_t refill_slack = rte_get_tsc_hz() / 500000; /* 2 us: 8 draws fit easily */
    while (limiter_running(ctl)) {
        uint32_t nb = rte_ring_dequeue_burst(ring, (void **)bufs, LIMITER_BATCH, NULL);
        if (nb == 0) {
            if (++idle >= 4096) { /* starving: let a producer sharing this core run */
                idle = 0;
                sched_yield();
            }
            continue;
        }
        idle = 0;
        /* the batch's mbuf headers at once: another core (the feeder's) wrote them, and
         * fetching them one or two frames ahead did not hide that transfer at 500 kpps */
        for (uint32_t j = 0; j < nb; j++)
            rte_prefetch0(bufs[j]);
        for (uint32_t j = 0; j < nb && j < 4; j++)
            prefetch_stamp(ps, bufs[j]);
        uint64_t now = rte_rdtsc();
        if (pace_restart(ps, now, next)) {
            next = now;
            carry = 0;
            /* the debt stays: the limiter's schedule is one drawn process that the ring
             * running dry (a feeder that did not run) pauses, and paid without a burst the
             * debt keeps its rate (500 kpps on the development VM, whose benchmark feeder
             * starves the limiter for 1-4 ms once or twice a run: rate error median -0.18 %
             * over 11 runs, -0.49 % over 10 with the debt dropped here) */
            ps->last_dep = 0;
        }
        uint32_t i = 0;
        for (; i < nb; i++) {
            struct rte_mbuf *m = bufs[i];
            /* two departures due back to back are apart by this loop's own cost (a virtual
             * cable's wire time is 67 ns for 60 B): the stamp lines are fetched ahead (for
             * writing: the feeder's core wrote them last), and the gap after this frame is
             * drawn before it leaves */
            if (i + 4 < nb)
                prefetch_stamp(ps, bufs[i + 4]);
            uint32_t len = m->pkt_len;
            double gap, x_next = 0, mean_next = 0;
            uint64_t wire_next = 0;
            if (mode == LIMITER_CBR) {
                gap = param;
            } else if (mode == LIMITER_POISSON) {
                double wire = (double)(len + 24) * cycles_per_byte;
                mean_next = param - wire;
                x_next = repay_draw(rp, gap_pool_next(pool), mean_next);
                gap = wire + (mean_next > 0 ? x_next * mean_next : 0);
                wire_next = (uint64_t)wire;
            } else {
                gap = (double)gap_bytes(m) * cycles_per_byte;
            }
            uint64_t due = pace_target(ps, next, ps->last_gap, max_shrink);
            if (pool != NULL && due > ps->last_dep + refill_slack) {
                gap_pool_refill(pool, 8); /* this frame is not due for a while */
                repay_plan(rp);
            }
            uint64_t at = wait_until(ps, due);
            if (at == 0)
                break;
            if (pool != NULL && ps->last_dep != 0 && mean > 0 && at > next + pace_stall) {
                /* late (the thread was not running): take an upcoming gap that fits */
                uint64_t prev_ideal = next - ps->last_gap;
                double need = ((double)(at - prev_ideal) - (double)ps->last_wire) / mean;
                double x = gap_pool_swap(pool, had, need);
                if (x != had) {
                    uint64_t swapped = ps->last_wire + (uint64_t)(x * mean);
                    next = prev_ideal + swapped;
                    ps->last_gap = swapped;
                    at = wait_until(ps, pace_target(ps, next, swapped, max_shrink));
                    if (at == 0)
                        break;
                }
            }
            /* still late: the schedule goes on from this departure, the time is a debt */
            uint64_t base = next;
            if (pool != NULL && at > next + pace_stall) {
                repay_owe(ps, at - next);
                base = at;
            }
            uint64_t tsc = depart_tsc(ps, m, next, at);
            if (!tx_one(port, queue, st, m))
                break;
            pace_account(ps, tsc, len, next);
            ps->last_ideal = base; /* the next gap is judged from where the schedule went on */
            ps->last_dep = tsc;
            st->pkts++;
            st->bytes += len;
            ps->last_wire = wire_next;
            had = x_next;
            mean = mean_next;
            gap += carry;
            uint64_t whole = (uint64_t)gap;
            carry = gap - (double)whole;
            next = base + whole;
            ps->last_gap = whole;
        }
        ps->last_return = rte_rdtsc(); /* the ring ran dry from here on: idle */
        __atomic_fetch_add(&ctl[0], i, __ATOMIC_RELAXED);
        if (i < nb) {
            drop_rest(st, bufs, i, nb);
            break;
        }
    }
    uint32_t nb;
    while ((nb = rte_ring_dequeue_burst(ring, (void **)bufs, LIMITER_BATCH, NULL)) > 0)
        mp_free_bulk(bufs, nb);
    return 0;
}
