#ifndef MP_PACING_H
#define MP_PACING_H
/* mp_pacing.h - software rate control shared by the paced senders: setRate and the held
 * frames (mp_pacing.c), sendWithDelay (mp_delay.c), the rate limiter task (mp_limiter.c).
 * The per-frame steps are inline here: each paced departure runs them between two TSC
 * reads, and their cost is the floor under back-to-back gaps. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>

#include "mp_internal.h"
#include "mp_port.h"
#include "mp_tx.h"

MP_INTERNAL_BEGIN
/* A paced send returns before the last frames of its burst are due: up to PACE_HOLD_MAX
 * frames, those due within PACE_HOLD_US of the return. The application meanwhile prepares
 * its next burst, and the allocation of that burst sends the held frames when they are
 * due (mp_alloc_bulk polls between buffers), as do receive polls (mp_rx_burst) and busy
 * sleeps (mp_delay_cycles) while the application waits; an idle sleep, the next paced
 * send, or the end of the task (mp_pace_flush) sends what is left. Without this, the
 * first frame of every burst leaves late by the time the application needs between two
 * sends (about 4 us to allocate 63 frames on a cable: 1 Mpps gaps are 1 us). */
#define PACE_HOLD_MAX 32
#define PACE_HOLD_US 8

/* Time a Poisson schedule fell behind and could not take from a drawn gap (a stall longer
 * than any gap it could swap for, struct gap_pool: on the development VM the hypervisor or a
 * kernel thread takes the CPU for 0.2-4 ms about twice a second) is a debt, paid back from
 * the gaps to come, while the schedule goes on from the late frame's departure. Sending
 * the frames due in the stall at once, or every following gap a quarter shorter until the
 * schedule is met again (the catch-up setRate uses), makes a share f of the run's time come
 * from gaps drawn short, which moves an exponential's CDF by about f/e. The least any change
 * of the draws can move the CDF (sup |G - F| = D) for lowering the mean gap by a share f is
 * D with D * (1 + ln(1/D)) = f (G - F <= D and G <= 1 bound the area between them): the CDF
 * raised by D everywhere, G = min(1, F + D). That is the exponential with its top D
 * quantile (draws over ln(1/D) mean gaps) moved to 0, so a frame whose draw is that long
 * leaves right after the previous one's wire time instead: every gap stays an independent
 * draw of G, and a 1 % debt costs KS D 0.0013 instead of 0.0037. The debt is paid over a
 * horizon, not at once: a nearly constant D takes the most for the CDF it moves (the mixture
 * of several moves it by their mean), and a debt left when the run ends counts against the
 * achieved rate (a run that loses 1 % of its time to stalls leaves ~1 % of the horizon).
 * The same for sendWithDelay when the script's gaps spread like a distribution's (their
 * coefficient of variation at least REPAY_MIN_CV; an exponential's is 1): those over
 * ln(1/D) times their running mean go to 0. For any distribution, setting a share of the
 * gaps to 0 moves its CDF by exactly that share, and the longest pay the most for it; where
 * the cut is not the top D quantile (not exponential), the debt it leaves or pays moves D
 * until it is. Gaps that are all alike (a constant rate) have no long ones to pay from: they
 * catch up (pace_target). */
#define REPAY_HORIZON_MS 100
/* A debt over this is sent at once (gaps at 0, as setRate's catch-up beyond its horizon): a
 * machine that takes more of the thread than a small D can pay back keeps the rate then (a
 * CPU hog beside the limiter on the development VM, 23-29 % of its time lost: rate -0.6 to
 * -1.0 %, where a 200 ms horizon alone lost 44 %), and the end of the run or a schedule
 * restart of sendWithDelay (pace_restart: the script's next train) never forgives more. */
#define REPAY_MAX_MS 10
#define REPAY_MIN_CV 0.5
#define GAP_STATS_N 1024 /* sendWithDelay's running mean: over about this many gaps */

struct repay {
    double debt; /* cycles behind the drawn schedule */
    double cut;  /* draws longer than this many mean gaps go to 0 (ln(1/D)); inf: no debt */
};

/* Private per-queue state of the paced paths, written only by the queue's owner. */
struct pace_state {
    double carry;         /* send_paced: fraction of a cycle owed to the next departure */
    uint64_t wire_next;   /* send_delayed: TSC at which the emulated wire is free again */
    double wire_carry;    /* ... and its fraction of a cycle */
    uint64_t first_tsc;   /* achieved rate: first and last departure, frames, bytes */
    uint64_t last_tsc;
    uint64_t pkts;
    uint64_t bytes;
    uint64_t last_return; /* when the last paced call returned to the application */
    uint64_t last_dep;    /* actual departure TSC of the previous frame (0: none yet) */
    uint64_t last_gap;    /* its ideal gap to the frame after it, in cycles */
    uint64_t last_ideal;  /* the previous frame's ideal departure (pace_account) */
    uint64_t last_wire;   /* the previous frame's wire time (0: not emulated), cycles */
    double wire_cpb;      /* send_delayed: cycles per byte of the emulated wire */
    int32_t stamp_off;    /* departure TSC written at stamp_off - 1; 0 = off */
    uint32_t stamp_seq;   /* ... and this departure number after it */
    uint64_t gaps;        /* gaps judged, those within the tolerance, frames behind schedule */
    uint64_t gaps_ok;
    uint64_t late;
    uint64_t lost_cycles; /* time the waiting thread did not run (wait_until) */
    uint64_t owed_cycles; /* time late frames left the schedule to pay back (repay_owe) */
    uint32_t nheld;       /* send_paced: the burst's tail, held[next_held..nheld) unsent */
    uint32_t next_held;
    uint32_t held_delayed; /* the held frames are sendWithDelay's, each with its held_dep */
    struct rte_mbuf *held[PACE_HOLD_MAX];
    uint64_t held_dep[PACE_HOLD_MAX];
    struct repay rp;      /* poisson limiter, sendWithDelay's spread gaps: the stalls' debt */
    double gap_mean;      /* sendWithDelay: the script's gaps (bytes), running mean ... */
    double gap_sq;        /* ... and mean square: is there spread to pay a debt from? */
} __rte_cache_aligned;

extern struct pace_state pace[MP_MAX_PORTS * MP_MAX_QUEUES];

int pace_restart(const struct pace_state *ps, uint64_t now, uint64_t next);
void catchup_init(void);
void repay_plan(struct repay *rp);
void repay_owe(struct pace_state *ps, uint64_t late);
void held_service(int block);
uint32_t send_paced(uint16_t port, uint16_t queue, struct mp_pacer *pc,
                    struct mp_queue_stats *st, struct rte_mbuf **bufs, uint32_t n);
void mp_stamp_departures(uint16_t port, uint16_t queue, int32_t offset);

/* Catch-up after a late departure (the thread was preempted, an interrupt, a slow PMD or
 * mempool call, or the application needed longer than one gap between two calls). Sending the
 * next frame at its ideal time would make one short gap for every late one (a frame 400 ns
 * late at 1 Mpps: a 1400 ns gap, then a 600 ns one), or a burst of back-to-back frames when
 * it was late by more than a gap; instead each following gap shrinks by at most a quarter of
 * itself and at most 200 ns until the schedule is met again (smooth catch-up), so one late
 * frame puts one gap out of place, not two. A long preemption is caught up the same way, as
 * far as that takes at most CATCHUP_HORIZON_MS (1 ms behind at 1 Mpps, 100 us at 100 kpps,
 * where 200 ns a gap catch up slowly); what is further behind leaves at once, so that the
 * rate holds within a run (a lag left at its end counts against the achieved rate: a 20 ms
 * horizon cost 0.5-0.9 % of a 2 s run at 100-500 kpps on the development VM).
 * The 200 ns bound is for constant rates (setRate, the "cbr" limiter), whose gaps should
 * stay within a few hundred ns of the target. Gaps drawn from a distribution (sendWithDelay,
 * the "custom" limiter, and the "poisson" limiter; a frame more than PACE_STALL_NS late
 * on a schedule of spread gaps pays the time back instead, struct repay) shrink by a
 * quarter without bound
 * (CATCHUP_PROPORTIONAL): a catch-up gap is then a scaled draw of the same distribution,
 * rather than every gap cut by the same 200 ns (on the development VM the two measured
 * alike within run-to-run noise, KS D 0.004-0.010 at 100 kpps Poisson; the scaled draw is
 * kept as the one that does not change the distribution's shape).
 * Returns when a frame whose ideal departure is `ideal`, `gap` cycles after the previous
 * frame's, leaves. */
extern uint64_t catchup_max_shrink; /* cycles (200 ns), set on first use */
#define CATCHUP_PROPORTIONAL UINT64_MAX
#define CATCHUP_HORIZON_MS 5
extern double catchup_horizon; /* cycles */
extern uint64_t catchup_quarter; /* a quarter of it: how far proportional catch-up reaches */

/* The precision the pacer reports (pace_account, wait_until), in cycles. */
#define PACE_TOLERANCE_NS 256 /* MoonGen's paper judges gaps at +-64/128/256/512 ns */
#define PACE_STALL_NS 1000
extern uint64_t pace_tolerance;
extern uint64_t pace_stall;
extern double repay_horizon, repay_max; /* cycles */

static inline uint64_t pace_target(const struct pace_state *ps, uint64_t ideal, uint64_t gap,
                                   uint64_t max_shrink)
{
    if (ps->last_dep == 0)
        return ideal;
    /* only the filler after the previous frame's wire time can shrink (sendWithDelay, the
     * poisson limiter): two frames never overlap on the emulated wire */
    uint64_t room = gap > ps->last_wire ? gap - ps->last_wire : 0;
    uint64_t shrink = RTE_MIN(room / 4, max_shrink);
    uint64_t t = ps->last_dep + gap - shrink;
    if (t <= ideal)
        return ideal;
    /* what smooth catch-up makes up within CATCHUP_HORIZON_MS; the rest leaves at once
     * (but after the previous frame's wire time) */
    uint64_t cap = ideal + (max_shrink == CATCHUP_PROPORTIONAL
                                ? catchup_quarter /* (gap / 4) * horizon / gap */
                                : (uint64_t)((double)RTE_MIN(gap / 4, max_shrink) *
                                             catchup_horizon / (double)RTE_MAX(gap, (uint64_t)1)));
    if (t < cap)
        return t;
    uint64_t wire_free = ps->last_dep + ps->last_wire;
    return cap > wire_free ? cap : wire_free;
}

/* The departure TSC `tsc` (when the pacer's wait for this frame ended, right before its TX
 * burst), also written into the frame when stampDepartures asked for it, with the frame's
 * departure number right after it (so that a receiver can tell a lost frame from a late
 * one) and the TSC the schedule wanted it to leave at (`ideal`). The wait's own TSC rather
 * than a fresh read: a fresh read came 20-30 ns after the wait ended (its loop, this call),
 * an offset that cancels out between two frames that waited, but not when a frame is due
 * one wire time after the previous one (no wait): those gaps were measured 30 ns long. */
static inline uint64_t depart_tsc(struct pace_state *ps, struct rte_mbuf *m, uint64_t ideal,
                                  uint64_t tsc)
{
    if (unlikely(ps->stamp_off != 0)) {
        uint32_t off = (uint32_t)ps->stamp_off - 1;
        uint8_t *p = rte_pktmbuf_mtod_offset(m, uint8_t *, off);
        if (off + 8 <= m->data_len)
            memcpy(p, &tsc, 8);
        if (off + 12 <= m->data_len)
            memcpy(p + 8, &ps->stamp_seq, 4);
        if (off + 20 <= m->data_len)
            memcpy(p + 12, &ideal, 8);
        ps->stamp_seq++;
    }
    return tsc;
}

/* The line depart_tsc will write in `m`, fetched ahead (its header must be in cache). */
static inline void prefetch_stamp(const struct pace_state *ps, struct rte_mbuf *m)
{
    if (unlikely(ps->stamp_off != 0))
        rte_prefetch0_write(rte_pktmbuf_mtod_offset(m, uint8_t *, ps->stamp_off - 1));
}

/* Counts behind pacer_stats, for the precision every paced run reports: the achieved rate,
 * the gaps within +-PACE_TOLERANCE_NS of their ideal gap, the frames that left more than
 * that behind their schedule. Called before ps->last_dep moves on (0: the schedule just
 * started, no gap to judge). */
static inline void pace_account(struct pace_state *ps, uint64_t tsc, uint32_t len, uint64_t ideal)
{
    if (ps->pkts == 0)
        ps->first_tsc = tsc;
    if (ps->last_dep != 0) {
        int64_t err = (int64_t)(tsc - ps->last_dep) - (int64_t)(ideal - ps->last_ideal);
        ps->gaps++;
        ps->gaps_ok += err <= (int64_t)pace_tolerance && err >= -(int64_t)pace_tolerance;
    }
    ps->late += tsc > ideal + pace_tolerance;
    ps->last_ideal = ideal;
    ps->last_tsc = tsc;
    ps->pkts++;
    ps->bytes += len;
}

static inline void pace_reset_stats(struct pace_state *ps)
{
    ps->pkts = ps->bytes = ps->gaps = ps->gaps_ok = ps->late = 0;
    ps->lost_cycles = ps->owed_cycles = 0;
}

/* Hand one frame to the PMD. 1: gone (a full cable drops it, like a wire); 0: the run
 * stopped first and the caller still owns the frame. */
static inline int tx_one(uint16_t port, uint16_t queue, struct mp_queue_stats *st,
                         struct rte_mbuf *m)
{
    while (tx_burst(port, queue, &m, 1) == 0) {
        if (port_flags[port] & MP_PORT_DROP_ON_FULL) {
            cable_miss(st, &m, 0, 1); /* sent on the wire, missed by the peer */
            return 1;
        }
        if (!mp_running(0))
            return 0;
    }
    return 1;
}

/* Busy-wait until `when`; the TSC then, or 0 if the run stopped first. Two TSC reads of
 * this loop more than PACE_STALL_NS apart mean the thread did not run in between (preempted by the kernel or,
 * in a VM, the hypervisor): that time is counted, the measure of how much a machine
 * disturbs the pacer. */
static inline uint64_t wait_until(struct pace_state *ps, uint64_t when)
{
    uint64_t prev = rte_rdtsc();
    while (prev < when) {
        if (unlikely(!mp_running(0)))
            return 0;
        uint64_t now = rte_rdtsc();
        if (unlikely(now - prev > pace_stall))
            ps->lost_cycles += now - prev;
        prev = now;
    }
    return prev; /* the TSC it returned at */
}

static inline uint64_t udata64_of(struct rte_mbuf *m)
{
    return udata64_offset >= 0 ? *RTE_MBUF_DYNFIELD(m, udata64_offset, uint64_t *) : 0;
}

/* A frame's gap in byte times (MoonGen: (uint32_t)udata64); a negative delay, i.e. a rate
 * above line rate, means back to back. */
static inline uint32_t gap_bytes(struct rte_mbuf *m)
{
    uint32_t gap = (uint32_t)udata64_of(m);
    return (gap & 0x80000000u) ? 0 : gap;
}

/* The draw `x` of Exp(1) (a gap of x * mean cycles) as the debt takes it: a compare. */
static inline double repay_draw(struct repay *rp, double x, double mean)
{
    if (likely(x <= rp->cut) || mean <= 0)
        return x;
    double paid = x * mean;
    if (paid >= rp->debt) { /* the last of it: keep what is not owed */
        double y = x - rp->debt / mean;
        rp->debt = 0;
        rp->cut = INFINITY;
        return y;
    }
    rp->debt -= paid;
    return 0;
}

/* The queue (QIDX) whose paced burst this thread still holds frames of; -1: none. A queue
 * has one owner thread, so the held frames are only ever touched by that thread. */
extern __thread int held_queue;

static inline int held_pending(void) { return held_queue >= 0; }

/* When the next frame may leave: setRate's schedule (bounded catch-up), sendWithDelay's
 * frame due at `dep` (proportional catch-up). Shared by the senders and held_service. */
static inline uint64_t paced_due(const struct pace_state *ps, const struct mp_pacer *pc)
{
    return pace_target(ps, pc->next_tsc, ps->last_gap, catchup_max_shrink);
}

static inline uint64_t delayed_due(const struct pace_state *ps, uint64_t dep)
{
    return pace_target(ps, dep, dep - ps->last_ideal, CATCHUP_PROPORTIONAL);
}

/* mp_alloc_bulk's check between groups of buffers: cheap when nothing is held. */
static inline void held_poll(void)
{
    if (unlikely(held_queue >= 0))
        held_service(0);
}
MP_INTERNAL_END
#endif /* MP_PACING_H */
