# streams.pxi - per-stream statistics (csrc/mp_streams.c): one C call per burst.


def streams_create(unsigned n_streams) -> int:
    """A new set of ``n_streams`` streams; its id (shared by Lua and Python tasks)."""
    cdef int rc = mp_streams_create(n_streams)
    if rc < 0:
        raise DpdkError(f"cannot create a stream set of {n_streams} streams (error {-rc}); "
                        "1..65536 streams, at most 16 sets")
    return rc


def streams_free(int sid) -> None:
    mp_streams_free(sid)


def streams_reset(int sid) -> None:
    mp_streams_reset(sid)


def streams_size(int sid) -> int:
    return mp_streams_size(sid)


def streams_tx(int sid, unsigned stream, BufArray bufs, int offset) -> int:
    """Write the signature into every buffer of ``bufs`` (before sending)."""
    cdef uint32_t n
    with nogil:
        n = mp_streams_tx(sid, stream, bufs.bufs, bufs.count, offset)
    return n


def streams_rx(int sid, BufArray bufs, int offset, bint rx_ts=False) -> int:
    """Count the received buffers of ``bufs`` by their signature."""
    cdef uint32_t n
    with nogil:
        n = mp_streams_rx(sid, bufs.bufs, bufs.count, offset, MP_STREAMS_RX_TS if rx_ts else 0)
    return n


def streams_send(int sid, unsigned first, unsigned n_streams, Mempool pool, int port,
                 int queue, unsigned length, uint64_t count, int offset, double timeout=0.0,
                 double drain=0.0) -> tuple:
    """The TX side of a trial in one C call (mp_streams_send): ``count`` frames of
    ``length`` bytes, frame i stamped as stream ``first + i % n_streams``, sent on
    port/queue (paced by the queue's rate). Gives up after ``timeout`` s (0: never); its end
    lets ``streams_recv`` run ``drain`` s more (0: leaves it running). Returns (frames sent,
    TSC before the first, TSC after the last left, times the pool was empty)."""
    if n_streams == 0 or first + n_streams > mp_streams_size(sid):
        raise ValueError(f"streams {first}..{first + n_streams - 1} are not in stream set {sid}")
    if length > pool.data_room or <unsigned>offset + 16 > length:
        raise ValueError(f"a {length}-byte frame cannot carry the signature at offset {offset} "
                         f"(or exceeds the pool's {pool.data_room}-byte buffers)")
    pool._check()
    cdef uint64_t hz = rte_get_tsc_hz()
    cdef uint64_t deadline = rte_rdtsc() + <uint64_t>(timeout * hz) if timeout > 0 else 0
    cdef uint64_t dr = <uint64_t>(drain * hz) if drain > 0 else 0
    cdef uint64_t out[3]
    cdef uint64_t sent
    with nogil:
        sent = mp_streams_send(sid, first, n_streams, pool.pool, <uint16_t>port,
                               <uint16_t>queue, length, count, offset, deadline, dr, out)
    return sent, out[0], out[1], out[2]


def streams_recv(int sid, int port, int queue, int offset) -> tuple:
    """The RX side of a trial in one C call (mp_streams_recv): receive with the RX TSC of
    each burst, count and free until the run stops or the set's RX stop passes. Returns
    (frames received, of them with this set's signature, seconds the loop was preempted,
    seconds it ran)."""
    cdef uint64_t out[4]
    with nogil:
        mp_streams_recv(sid, <uint16_t>port, <uint16_t>queue, offset, out)
    cdef double hz = <double>rte_get_tsc_hz()
    return out[0], out[1], out[2] / hz, out[3] / hz


def streams_recv_stop(int sid, double after=0.0) -> None:
    """``streams_recv`` on this set returns ``after`` s from now."""
    mp_streams_recv_stop(sid, rte_rdtsc() + <uint64_t>(max(after, 0.0) * rte_get_tsc_hz()))


def streams_read(int sid, unsigned stream) -> dict:
    cdef mp_stream_counters c
    if mp_streams_read(sid, stream, &c) < 0:
        raise ValueError(f"stream {stream} is not in stream set {sid}")
    d = {"tx_pkts": c.tx_pkts, "tx_bytes": c.tx_bytes, "tx_short": c.tx_short,
         "rx_pkts": c.rx_pkts, "rx_bytes": c.rx_bytes, "first_seq": c.first_seq,
         "gaps": c.gaps, "out_of_order": c.out_of_order, "duplicates": c.duplicates,
         "late": c.late, "negative_latency": c.negative_latency, "lat_count": c.lat_count,
         "lat_min_ns": c.lat_min_ns, "lat_max_ns": c.lat_max_ns, "lat_sum_ns": c.lat_sum_ns,
         "lat_sum2_ns": c.lat_sum2_ns, "jitter_ns": c.jitter_ns}
    return d


def streams_read_set(int sid) -> dict:
    cdef mp_streams_set_counters c
    if mp_streams_read_set(sid, &c) < 0:
        raise ValueError(f"no stream set {sid}")
    return {"counted": c.counted, "short_frames": c.short_frames, "foreign": c.foreign,
            "bad_stream": c.bad_stream, "rx_tsc": c.rx_tsc}


def streams_percentile(int sid, unsigned stream, double pct) -> float:
    return mp_streams_percentile(sid, stream, pct)


def streams_hist(int sid, unsigned stream) -> list:
    """The histogram's non-empty buckets: [(lowest value in ns, count)]."""
    cdef uint32_t cap = 8192, k
    cdef uint64_t *v = <uint64_t *>PyMem_Malloc(cap * 8)
    cdef uint64_t *c = <uint64_t *>PyMem_Malloc(cap * 8)
    if v == NULL or c == NULL:
        PyMem_Free(v)
        PyMem_Free(c)
        raise MemoryError()
    k = mp_streams_hist(sid, stream, v, c, cap)
    out = [(v[i], c[i]) for i in range(k)]
    PyMem_Free(v)
    PyMem_Free(c)
    return out


def stamp_departures(int port, int queue, int offset) -> None:
    """A paced queue writes each frame's departure TSC at ``offset`` (< 0: off)."""
    mp_api_get().stamp_departures(<uint16_t>port, <uint16_t>queue, <int32_t>offset)


def pacer_stats(int port, int queue) -> list:
    """A paced TX queue's own counts (mp_api.pacer_stats): first/last departure TSC, frames,
    bytes, gaps judged, gaps within +-256 ns, frames > 256 ns late, cycles not run, debt."""
    cdef uint64_t out[MP_PACER_STATS]
    mp_pacer_stats(<uint16_t>port, <uint16_t>queue, out)
    return [out[i] for i in range(MP_PACER_STATS)]


def police_loop(int rx_port, int rx_queue, int tx_port, int tx_queue, double rate,
                double depth, int offset) -> int:
    """A software device under test (self-tests): forward rx -> tx, dropping above ``rate``
    frames/s (bucket of ``depth`` frames, judged at the frames' TX TSC) until the run stops.
    Returns the frames dropped."""
    cdef uint64_t d
    with nogil:
        d = mp_streams_police(<uint16_t>rx_port, <uint16_t>rx_queue, <uint16_t>tx_port,
                              <uint16_t>tx_queue, rate, depth, offset)
    return d
