/* mp_lifecycle.c - when the run ends: the deadline running() checks, stop(), setRuntime,
 * the SIGINT/SIGTERM handlers, busy sleeps; and the cooperative sharing of a core by
 * several polling tasks (coop_yield, mp_lifecycle.h). */
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_pause.h>

#include "mp_api.h"
#include "mp_lifecycle.h"
#include "mp_pacing.h"

/* The stop flag: running() is true while rdtsc() < deadline. UINT64_MAX means
 * "no deadline", checked first so the common case costs one load. */
static volatile uint64_t deadline = UINT64_MAX;
static volatile sig_atomic_t signals_seen;
static volatile sig_atomic_t last_signal;

uint8_t core_shared[MP_MAX_CORES];
__thread int my_core = -1;
static __thread uint64_t my_last_yield;
uint64_t coop_cycles;

void mp_core_share(int core, int shared)
{
    if (core >= 0 && core < MP_MAX_CORES)
        __atomic_store_n(&core_shared[core], shared ? 1 : 0, __ATOMIC_RELAXED);
}

void mp_thread_core(int core) { my_core = core < MP_MAX_CORES ? core : -1; }

void coop_yield_slow(void)
{
    uint64_t now = rte_rdtsc();
    if (now - my_last_yield < coop_cycles)
        return;
    sched_yield();
    my_last_yield = rte_rdtsc();
}

int mp_running(uint64_t extra_cycles)
{
    coop_yield();
    uint64_t d = deadline;
    if (likely(d == UINT64_MAX))
        return 1;
    return rte_rdtsc() < d + extra_cycles;
}

void mp_stop(void)
{
    uint64_t now = rte_rdtsc();
    if (now < deadline)
        deadline = now;
}

/* Clear the stop: a long-lived process (moonpy serve) starts several runs in one EAL. */
void mp_reset_lifecycle(void)
{
    deadline = UINT64_MAX;
    signals_seen = 0;
    last_signal = 0;
}

void mp_set_runtime_cycles(uint64_t cycles)
{
    uint64_t d = rte_rdtsc() + cycles;
    if (d < deadline)
        deadline = d;
}

/* The EAL's runtime directory, copied at install time: the abort path removes it
 * (rmdir is async-signal-safe; the directory is empty with --no-shconf). */
static char runtime_dir[512];

static void on_signal(int signo)
{
    static const char msg[] = "Received more than one SIGINT/SIGTERM, aborting\n";
    /* the first signal only asks the run to stop: say so, since a master or task that
     * never checks mg.running() keeps the run going until a second one */
    static const char first[] =
        "[INFO]  Stopping: tasks and the master end when they next check mg.running() / "
        "moonpy.running(); press Ctrl-C again to abort now\n";
    ssize_t ignored;
    last_signal = signo;
    if (signals_seen++ > 0) {
        ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
        (void)ignored;
        if (runtime_dir[0])
            rmdir(runtime_dir);
        _exit(128 + signo);
    }
    ignored = write(STDERR_FILENO, first, sizeof(first) - 1);
    (void)ignored;
    deadline = rte_rdtsc(); /* async-signal-safe: an instruction and a store */
}

/* A C-level handler, because the main thread may sit inside a Lua call (the
 * master's own loop) where Python signal handlers would never get to run. */
void mp_install_signal_handlers(void)
{
    struct sigaction sa;
    const char *dir = rte_eal_get_runtime_dir();
    if (dir != NULL && strlen(dir) < sizeof(runtime_dir))
        strcpy(runtime_dir, dir);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int mp_signal_received(void) { return last_signal; }

/* Seconds until the deadline (setRuntime), -1 without one; 0 once stopped. */
double mp_time_left(void)
{
    uint64_t d = deadline, now = rte_rdtsc();
    if (d == UINT64_MAX)
        return -1.0;
    return d > now ? (double)(d - now) / (double)rte_get_tsc_hz() : 0.0;
}

uint64_t mp_rdtsc(void) { return rte_rdtsc(); }

/* mg.sleepMillis/sleepMicros: a busy wait, during which held paced frames leave on time. */
void mp_delay_cycles(uint64_t cycles)
{
    uint64_t end = rte_rdtsc() + cycles;
    while (rte_rdtsc() < end) {
        held_poll();
        coop_yield();
        rte_pause();
    }
}

void mp_stop_api(void) { mp_stop(); }
