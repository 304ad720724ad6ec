#ifndef MP_LIFECYCLE_H
#define MP_LIFECYCLE_H
/* mp_lifecycle.h - the run's lifecycle (deadline, stop, signals) and cooperative sharing of
 * a core, for the other parts of the fast path (owner: mp_lifecycle.c). */
#include <stdint.h>

#include <rte_branch_prediction.h>

#include "mp_internal.h"

/* Cooperative sharing of a core. With more tasks than cores (a 2-core laptop or CI
 * runner), two polling tasks pinned to one core get the kernel's time slices, several ms
 * each: a receiver waits that long while its sender fills the ring. A task thread on a
 * shared core (mp_core_share marks the core, mp_thread_core says which core this thread
 * runs on) instead gives the core away where it polls: in running(), in an RX poll that
 * found nothing, in busy sleeps, and while a send waits for room; at most every
 * COOP_YIELD_US, so a task alone on its core (nothing else runnable: sched_yield returns
 * at once) loses little. Threads on cores of their own never look further than the
 * thread-local core id and one byte. */
#define COOP_YIELD_US 10
#define MP_MAX_CORES 1024

MP_INTERNAL_BEGIN
extern uint8_t core_shared[MP_MAX_CORES];
extern __thread int my_core;
extern uint64_t coop_cycles; /* COOP_YIELD_US in TSC cycles, set by mp_init */

void coop_yield_slow(void);
uint64_t mp_rdtsc(void);
void mp_delay_cycles(uint64_t cycles);
void mp_stop_api(void);

static inline void coop_yield(void)
{
    if (unlikely(my_core >= 0) && __atomic_load_n(&core_shared[my_core], __ATOMIC_RELAXED))
        coop_yield_slow();
}
MP_INTERNAL_END
#endif /* MP_LIFECYCLE_H */
