/* mp_pacing.c - software pacing (setRate): the per-queue pacer state, catch-up and the
 * stalls' debt (struct repay), the frames a paced burst holds while the application
 * prepares its next one, and the achieved rate and precision (pacer_stats). */
#include <math.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "mp_api.h"
#include "mp_delay.h"
#include "mp_pacing.h"
#include "mp_port.h"
#include "mp_tx.h"

struct pace_state pace[MP_MAX_PORTS * MP_MAX_QUEUES];

/* The queue (QIDX) whose paced burst this thread still holds frames of (mp_pacing.h). */
__thread int held_queue = -1;

/* catch-up bounds and the precision reported (mp_pacing.h), in cycles, set on first use */
uint64_t catchup_max_shrink;
double catchup_horizon;
uint64_t catchup_quarter;
uint64_t pace_tolerance;
uint64_t pace_stall;
double repay_horizon, repay_max;

/* When a paced call starts behind its schedule: if the application was away for more than
 * 1 ms since the last call returned (idle, or sending at a lower rate), the schedule
 * restarts now: no burst to make up for time nobody wanted to send in. If it came back
 * sooner, the delay happened while frames were waiting in the pacer (the thread was
 * preempted or the PMD was slow): those frames catch up, so the rate holds on a busy
 * machine, unless more than 100 ms were lost. */
#define PACE_IDLE_DIV 1000
#define PACE_CATCHUP_DIV 10

int pace_restart(const struct pace_state *ps, uint64_t now, uint64_t next)
{
    uint64_t hz = rte_get_tsc_hz();
    if (next == 0 || now <= next)
        return next == 0;
    return now - ps->last_return > hz / PACE_IDLE_DIV || now - next > hz / PACE_CATCHUP_DIV;
}

void catchup_init(void)
{
    if (unlikely(catchup_max_shrink == 0)) {
        uint64_t hz = rte_get_tsc_hz();
        pace_tolerance = hz * PACE_TOLERANCE_NS / 1000000000;
        pace_stall = hz * PACE_STALL_NS / 1000000000;
        repay_horizon = (double)hz * REPAY_HORIZON_MS / 1000;
        repay_max = (double)hz * REPAY_MAX_MS / 1000;
        catchup_horizon = (double)hz * CATCHUP_HORIZON_MS / 1000;
        catchup_quarter = (uint64_t)(catchup_horizon / 4);
        catchup_max_shrink = RTE_MAX(hz / 5000000, (uint64_t)1);
    }
}

/* The cut for the debt now: D for a share rho = debt/horizon of the time, or every gap at 0
 * for a debt over REPAY_MAX_MS. A few logs, so it is called where the thread has time: when
 * the debt grows, and while it waits. */
void repay_plan(struct repay *rp)
{
    if (rp->debt <= 0) {
        rp->cut = INFINITY;
        return;
    }
    double rho = rp->debt / repay_horizon, d = 1;
    if (rho < 1 && rp->debt <= repay_max) {
        d = rho / 8;
        for (int k = 0; k < 6; k++) /* d = rho / (1 + ln(1/d)): a contraction for d < 1 */
            d = rho / (1 - log(d));
    }
    rp->cut = d < 1 ? -log(d) : 0;
}

/* A frame that left `late` cycles behind its schedule, which goes on from its departure
 * (counted for pacer_stats: the time the schedule had to take from later gaps). */
void repay_owe(struct pace_state *ps, uint64_t late)
{
    ps->owed_cycles += late;
    ps->rp.debt += (double)late;
    repay_plan(&ps->rp);
}

/* Send one paced frame at its departure time (busy-wait on the TSC, never sleep). 1: gone;
 * 0: the run stopped first and the caller still owns the frame. */
static inline int paced_one(uint16_t port, uint16_t queue, struct mp_pacer *pc,
                            struct pace_state *ps, struct mp_queue_stats *st, struct rte_mbuf *m)
{
    uint32_t len = m->pkt_len;
    uint64_t at = wait_until(ps, paced_due(ps, pc));
    if (at == 0)
        return 0;
    uint64_t tsc = depart_tsc(ps, m, pc->next_tsc, at);
    if (!tx_one(port, queue, st, m))
        return 0;
    pace_account(ps, tsc, len, pc->next_tsc);
    ps->last_wire = 0;
    st->pkts++;
    st->bytes += len;
    double step = pc->cycles_per_pkt + pc->cycles_per_byte * (len + 4) + ps->carry;
    uint64_t whole = (uint64_t)step;
    ps->carry = step - (double)whole;
    pc->next_tsc += whole;
    ps->last_dep = tsc;
    ps->last_gap = whole;
    return 1;
}

/* Send this thread's held frames: those already due (block = 0), or all of them, each at
 * its time (block = 1). Frames the run stopped for are freed and counted as drops. */
void held_service(int block)
{
    int qi = held_queue;
    uint16_t port = (uint16_t)(qi / MP_MAX_QUEUES), queue = (uint16_t)(qi % MP_MAX_QUEUES);
    struct pace_state *ps = &pace[qi];
    struct mp_pacer *pc = &pacers[qi];
    struct mp_queue_stats *st = &txq_stats[qi];
    while (ps->next_held < ps->nheld) {
        uint32_t h = ps->next_held;
        struct rte_mbuf *m = ps->held[h];
        uint64_t now = rte_rdtsc();
        if (ps->held_delayed) {
            /* late (the application kept the thread busy, or it did not run): a longer
             * gap from the held frames after it, if one fits; it and the frames up to the
             * one it swapped with then leave that much later. Before the due check, so
             * that a poll never waits for a frame the swap moved. */
            uint64_t shift = 0;
            int swapped = delay_swap_if_late(ps, m, ps->held_dep[h], now, ps->held + h + 1,
                                             ps->nheld - h - 1, &shift);
            for (int j = 0; j <= swapped; j++)
                ps->held_dep[h + (uint32_t)j] += shift;
        }
        uint64_t dep = ps->held_dep[h];
        uint64_t due = ps->held_delayed ? delayed_due(ps, dep) : paced_due(ps, pc);
        if (!block && now < due)
            return;
        int swapped = -1;
        uint64_t shift = 0, rebased = 0;
        int ok = ps->held_delayed ? delayed_one(port, queue, ps, st, m, dep, NULL, 0, &shift,
                                                &swapped, &rebased)
                                  : paced_one(port, queue, pc, ps, st, m);
        if (!ok) {
            drop_rest(st, ps->held, ps->next_held, ps->nheld);
            break;
        }
        ps->next_held++;
        if (rebased > 0) { /* the held frames after it and the next burst's clock */
            for (uint32_t j = ps->next_held; j < ps->nheld; j++)
                ps->held_dep[j] += rebased;
            ps->wire_next += rebased;
        }
    }
    ps->nheld = ps->next_held = 0;
    held_queue = -1;
    ps->last_return = rte_rdtsc();
}

/* The end of a task: its held frames leave on schedule (or are freed if the run stopped). */
void mp_pace_flush(void)
{
    if (held_queue >= 0)
        held_service(1);
}

/* Software pacing (setRate): one frame at a time at its departure time, so the gaps on the
 * wire follow the target rate. Departures follow an exact schedule (fractions of a cycle
 * carried over); late frames catch up smoothly (pace_target), see pace_restart for when the
 * schedule starts over instead. The last frames of the burst are held (PACE_HOLD_MAX).
 * Returns the frames sent or held; the rest (the run stopped) are freed. */
uint32_t send_paced(uint16_t port, uint16_t queue, struct mp_pacer *pc,
                    struct mp_queue_stats *st, struct rte_mbuf **bufs, uint32_t n)
{
    struct pace_state *ps = &pace[QIDX(port, queue)];
    uint32_t sent = 0;
    if (held_queue >= 0)
        held_service(1); /* earlier frames first */
    if (pc->next_tsc == 0) { /* a new rate: new schedule, new achieved-rate count */
        ps->carry = 0;
        pace_reset_stats(ps);
    }
    catchup_init();
    uint64_t now = rte_rdtsc();
    if (pace_restart(ps, now, pc->next_tsc)) {
        pc->next_tsc = now;
        ps->carry = 0;
        ps->last_dep = 0;
    }
    uint32_t keep = 0;
    if (n > 0) {
        double gap = pc->cycles_per_pkt + pc->cycles_per_byte * (bufs[n - 1]->pkt_len + 4);
        double window = (double)rte_get_tsc_hz() * PACE_HOLD_US / 1e6;
        if (gap > 0 && gap < window)
            keep = RTE_MIN((uint32_t)(window / gap), RTE_MIN(n, (uint32_t)PACE_HOLD_MAX));
    }
    for (; sent < n - keep; sent++)
        if (!paced_one(port, queue, pc, ps, st, bufs[sent]))
            break;
    if (sent == n - keep && keep > 0) {
        memcpy(ps->held, bufs + sent, keep * sizeof(*bufs));
        ps->held_delayed = 0;
        ps->nheld = keep;
        ps->next_held = 0;
        held_queue = (int)QIDX(port, queue);
        sent = n;
    }
    ps->last_return = rte_rdtsc();
    if (sent < n)
        drop_rest(st, bufs, sent, n);
    return sent;
}

void mp_stamp_departures(uint16_t port, uint16_t queue, int32_t offset)
{
    if (port < MP_MAX_PORTS && queue < MP_MAX_QUEUES) {
        pace[QIDX(port, queue)].stamp_off = offset < 0 ? 0 : offset + 1;
        pace[QIDX(port, queue)].stamp_seq = 0;
    }
}

void mp_pacer_stats(uint16_t port, uint16_t queue, uint64_t *out)
{
    const struct pace_state *ps = &pace[QIDX(port % MP_MAX_PORTS, queue % MP_MAX_QUEUES)];
    out[0] = ps->first_tsc;
    out[1] = ps->last_tsc;
    out[2] = ps->pkts;
    out[3] = ps->bytes;
    out[4] = ps->gaps;
    out[5] = ps->gaps_ok;
    out[6] = ps->late;
    out[7] = ps->lost_cycles;
    out[8] = ps->owed_cycles;
}
