#ifndef MP_STAGES_H
#define MP_STAGES_H
/* mp_stages.h - per-stage TSC accounting of the sending path (mp_stages.c, bench only). */
#include <stdint.h>

struct rte_mempool;

/* what the loop does per burst: the bench scenarios, or testpmd txonly's preparation */
enum {
    MP_STAGES_FIXED = 0,
    MP_STAGES_RANDOM = 1,    /* random source IP + UDP port, offload request */
    MP_STAGES_HEAVY = 2,     /* 8 random fields, offload request */
    MP_STAGES_TXONLY = 3,    /* testpmd txonly: metadata + headers copied per packet */
    MP_STAGES_TXONLY_MF = 4, /* ... --txonly-multi-flow: + source IP, IPv4 checksum */
};

/* the stages, in the order out[] has them: cycles per packet (CLOCK: per TSC read) */
enum {
    MP_STAGE_GET = 0,  /* rte_mempool_get_bulk */
    MP_STAGE_RESET,    /* metadata reset (moonpy's alloc) or txonly's per-packet prepare */
    MP_STAGE_FILL,     /* the random fields */
    MP_STAGE_PASS,     /* the send's pass: byte count, offload request (cables: checksums) */
    MP_STAGE_SEND,     /* tx_burst: the driver, which on a null port frees the burst */
    MP_STAGE_FREE,     /* rte_pktmbuf_free_bulk alone (every other burst, instead of SEND) */
    MP_STAGE_TOTAL,    /* a sent burst, all stages */
    MP_STAGE_CLOCK,    /* one TSC read, subtracted from the others */
    MP_STAGE_COUNT
};

/* Run for `seconds`; out[MP_STAGE_COUNT] gets the median cycles per packet of each stage.
 * Returns the bursts run, or -errno. */
int mp_bench_stages(int scenario, uint16_t port, uint16_t queue, struct rte_mempool *pool,
                    uint32_t size, double seconds, double *out);
#endif /* MP_STAGES_H */
