# flows.pxi - the send and receive loops of generated flows (the OTG server,
# moonpy/app/otg): a field-engine program stamped with a per-stream signature, and a
# receive loop counting every frame by its signature. One C call per burst, no GIL.

cdef extern from "<time.h>" nogil:
    cdef struct timespec:
        long tv_sec
        long tv_nsec
    int nanosleep(const timespec *req, timespec *rem)

# an RX loop that found nothing this many polls in a row naps (the machine may be shared)
DEF RX_IDLE_POLLS = 256
DEF RX_NAP_NS = 20000
DEF RX_BURST = 64
DEF MAX_RX_QUEUES = 32


def flow_send_loop(int port, int queue, Mempool pool, FieldProgram prog, FieldProgram post,
                   unsigned pkt_len, int stream_set, unsigned stream, int offset,
                   uint64_t max_packets=0, double seconds=0.0, double pps=0.0,
                   double bps=0.0, unsigned overhead=4, unsigned batch=63,
                   bytes template=None) -> int:
    """A generated flow's TX loop: per burst, wait for its departure time, alloc from
    ``pool`` (buffers hold the template), apply ``prog``, write stream ``stream``'s
    signature of set ``stream_set`` at ``offset`` (set < 0: none), apply ``post`` (the
    checksums, which cover the signature; may be None), send. Paced here, not by the
    queue, so the signature's TX TSC is the departure: ``pps`` frames/s or ``bps`` bits/s
    counting ``overhead`` bytes per frame besides the frame (4: CRC; 24: the wire's
    preamble and gap too); 0 and 0: as fast as the queue takes them. Stops when the run
    stops, after ``max_packets`` (0: no limit) or ``seconds`` (0: no limit). Returns the
    packets handed to the queue. ``template``: write it into every buffer first (a pool
    whose buffers hold something else: one taken over from other flows)."""
    if batch == 0 or batch > 512:
        raise ValueError(f"batch must be 1..512, got {batch}")
    if port < 0 or port >= MP_MAX_PORTS or queue < 0 or queue >= MP_MAX_QUEUES:
        raise DeviceError(f"no tx queue {queue} on DPDK port {port}")
    pool._check()
    if pkt_len > pool.data_room:
        raise ValueError(f"packet size {pkt_len} exceeds the pool's buffer size {pool.data_room}")
    if stream_set >= 0 and mp_streams_size(stream_set) <= stream:
        raise ValueError(f"stream {stream} is not in stream set {stream_set}")
    cdef rte_mbuf *bufs[512]
    cdef uint64_t total = 0
    cdef uint64_t deadline = 0
    cdef uint32_t k, j
    cdef rte_mempool *mp = pool.pool
    cdef mp_fe_prog *p = prog.prog
    cdef mp_fe_prog *fix = post.prog if post is not None else NULL
    cdef double hz = rte_get_tsc_hz()
    cdef double per_pkt = hz / pps if pps > 0 else 0.0
    cdef double per_byte = hz * 8.0 / bps if bps > 0 else 0.0
    cdef double due = 0.0, now, wire
    cdef uint64_t wait_ns
    cdef timespec nap
    nap.tv_sec = 0
    cdef const uint8_t *tpl = NULL
    cdef uint32_t tlen = 0
    if template is not None:
        if len(template) > pool.data_room:
            raise ValueError(f"a template of {len(template)} bytes does not fit the pool")
        tpl = <const uint8_t *><char *>template
        tlen = <uint32_t>len(template)
    if seconds > 0:
        deadline = rte_rdtsc() + <uint64_t>(seconds * hz)
    with nogil:
        due = <double>rte_rdtsc()
        while mp_running(0):
            if max_packets and total >= max_packets:
                break
            if per_pkt > 0 or per_byte > 0:
                now = <double>rte_rdtsc()
                if now - due > 0.1 * hz:
                    # stalled over 100 ms (the machine's other work): go on from now
                    # rather than send that much at once; shorter stalls are caught up
                    due = now
                if due - now > 100e-6 * hz:
                    # naps of at most 10 ms: a stop is seen soon at any rate
                    wait_ns = <uint64_t>((due - now) / hz * 1e9) - 50000
                    nap.tv_nsec = <long>(wait_ns if wait_ns < 10000000 else 10000000)
                    nanosleep(&nap, NULL)
                    continue
                if due > now:
                    rte_pause()
                    continue
            if deadline and rte_rdtsc() >= deadline:
                break
            k = batch
            if (per_pkt > 0 or per_byte > 0) and due < now:
                # behind schedule (descheduled): the frames due now, in one burst
                behind = (now - due) / (per_pkt + per_byte * (pkt_len + overhead)) + 1
                if behind > k:
                    k = <uint32_t>(behind if behind < 63 else 63)
            if max_packets and max_packets - total < k:
                k = <uint32_t>(max_packets - total)
            if mp_alloc_bulk(mp, bufs, k, pkt_len) < 0:
                rte_pause()  # buffers in flight (a cable ring): wait for them
                continue
            if tpl != NULL:
                mp_fe_write_template(bufs, k, tpl, tlen, tlen)
            mp_fe_apply(p, bufs, k)
            if per_pkt > 0 or per_byte > 0:
                wire = 0.0
                for j in range(k):
                    wire += bufs[j].pkt_len + overhead
                due += per_pkt * k + per_byte * wire
            if stream_set >= 0:
                mp_streams_tx(stream_set, stream, bufs, k, offset)
            if fix != NULL:
                mp_fe_apply(fix, bufs, k)
            total += mp_send_all(<uint16_t>port, <uint16_t>queue, bufs, k)
    return total


def streams_rx_loop(int stream_set, list queues, int offset, bint timestamps=True,
                    object capture=None, unsigned capture_max=0) -> int:
    """Receive on every ``(port, queue)`` of ``queues`` in turn until the run stops,
    count each frame by its signature in stream set ``stream_set`` (RX TSC per frame with
    ``timestamps``) and free it. ``capture``: a dict {port: list} whose lists get the bytes
    of each frame received on that port (at most ``capture_max`` per list), the only part
    that holds the GIL per burst. Returns the frames received."""
    cdef int n = len(queues)
    if n == 0 or n > MAX_RX_QUEUES:
        raise ValueError(f"1..{MAX_RX_QUEUES} rx queues, got {n}")
    cdef uint16_t ports[MAX_RX_QUEUES]
    cdef uint16_t qids[MAX_RX_QUEUES]
    cdef bint grab[MAX_RX_QUEUES]
    cdef int i
    for i in range(n):
        pq = queues[i]
        if pq[0] < 0 or pq[0] >= MP_MAX_PORTS or pq[1] < 0 or pq[1] >= MP_MAX_QUEUES:
            raise DeviceError(f"no rx queue {pq[1]} on DPDK port {pq[0]}")
        ports[i], qids[i] = pq[0], pq[1]
        grab[i] = capture is not None and pq[0] in capture
    if stream_set >= 0 and mp_streams_size(stream_set) == 0:
        raise ValueError(f"no stream set {stream_set}")
    cdef rte_mbuf *bufs[RX_BURST]
    cdef uint64_t total = 0
    cdef uint32_t nb, j
    cdef unsigned idle = 0
    cdef timespec nap
    nap.tv_sec = 0
    nap.tv_nsec = RX_NAP_NS
    cdef uint32_t flags = MP_STREAMS_RX_TS if timestamps else 0
    with nogil:
        while mp_running(0):
            nb = 0
            for i in range(n):
                if timestamps:
                    nb = mp_fe_rx_burst_ts(ports[i], qids[i], bufs, RX_BURST)
                else:
                    nb = mp_rx_burst(ports[i], qids[i], bufs, RX_BURST)
                if nb == 0:
                    continue
                idle = 0
                total += nb
                if stream_set >= 0:
                    mp_streams_rx(stream_set, bufs, nb, offset, flags)
                if grab[i]:
                    with gil:
                        _capture(capture[ports[i]], bufs, nb, capture_max)
                mp_free_bulk(bufs, nb)
            idle += 1
            if idle >= RX_IDLE_POLLS:
                nanosleep(&nap, NULL)
    return total


cdef void _capture(list into, rte_mbuf **bufs, uint32_t nb, unsigned limit):
    cdef uint32_t j
    cdef rte_mbuf *m
    for j in range(nb):
        if limit and <unsigned>len(into) >= limit:
            return
        m = bufs[j]
        if m.nb_segs != 1:
            continue  # generated frames are one segment; others are not captured
        into.append(PyBytes_FromStringAndSize(
            <char *>m.buf_addr + m.data_off, m.data_len))
