# replay.pxi - sending preloaded frames (csrc/mp_replay.c) for `moonpy replay`.

cdef extern from "mp_replay.h" nogil:
    uint64_t mp_replay(uint16_t port, uint16_t queue, rte_mempool *pool, const uint8_t *blob,
                       const uint64_t *offs, const uint32_t *lens, const uint64_t *dep,
                       uint32_t n, uint64_t loops, uint64_t *cycles_out,
                       uint64_t *late_sum, uint64_t *late_max)


def replay_frames(int port, int queue, Mempool pool, const uint8_t[:] blob,
                  const uint64_t[:] offsets, const uint32_t[:] lengths, departures,
                  uint64_t loops) -> tuple:
    """Send ``len(lengths)`` frames from ``blob`` ``loops`` times (0: until stopped).

    ``departures`` (TSC cycles after the start of each loop, or None for as fast as
    possible) gives each frame its departure time. Returns ``(sent, seconds,
    mean_late_ns, max_late_ns)``: how late frames left against their due time.
    """
    cdef uint32_t n = lengths.shape[0]
    if offsets.shape[0] != n:
        raise ValueError("offsets and lengths differ in length")
    cdef const uint64_t[:] dep
    cdef const uint64_t *dep_ptr = NULL
    if departures is not None:
        dep = departures
        if dep.shape[0] != n:
            raise ValueError("departures and lengths differ in length")
        if n:
            dep_ptr = &dep[0]
    pool._check()
    cdef uint64_t cycles = 0, sent = 0, late_sum = 0, late_max = 0
    if n == 0:
        return 0, 0.0, 0.0, 0.0
    with nogil:
        sent = mp_replay(<uint16_t>port, <uint16_t>queue, pool.pool, &blob[0], &offsets[0],
                         &lengths[0], dep_ptr, n, loops, &cycles, &late_sum, &late_max)
    cdef double ns = 1e9 / <double>rte_get_tsc_hz()
    return (sent, cycles / <double>rte_get_tsc_hz(), late_sum * ns / max(sent, 1),
            late_max * ns)


def recv_frames(int port, int queue, unsigned max_frames=64) -> list:
    """One RX burst: a list of ``(bytes, tsc)``; the buffers go back to their pool."""
    if max_frames == 0 or max_frames > 512:
        raise ValueError("max_frames must be 1..512")
    cdef rte_mbuf *bufs[512]
    cdef uint32_t nb
    with nogil:
        nb = mp_rx_burst(<uint16_t>port, <uint16_t>queue, bufs, max_frames)
    cdef uint64_t tsc = rte_rdtsc()
    out = []
    for i in range(nb):
        out.append((PyBytes_FromStringAndSize(<char *>bufs[i].buf_addr + bufs[i].data_off,
                                              bufs[i].data_len), tsc))
    mp_free_bulk(bufs, nb)
    return out
