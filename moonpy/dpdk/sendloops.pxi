# sendloops.pxi - the field engine's nogil send loop and the per-burst helpers of the
# Python API (moonpy.memory, moonpy.device): checksum-offload requests, VLAN tags, software
# timestamps, waiting receives. Rule: one C call per burst.

cdef extern from "rte_pause.h" nogil:
    void rte_pause()

cdef extern from "rte_mbuf_core.h" nogil:
    uint64_t RTE_MBUF_F_TX_VLAN


def fe_send_loop(int port, int queue, Mempool pool, FieldProgram prog, unsigned pkt_len,
                 uint64_t max_packets=0, double seconds=0.0, unsigned batch=63) -> int:
    """The field engine's TX loop, without the GIL: per burst, alloc from
    ``pool`` (whose buffers hold the template), apply ``prog``, send. Stops
    when the run stops, after ``max_packets`` (0: no limit) or ``seconds``
    (0: no limit). Returns the packets sent."""
    if batch == 0 or batch > 512:
        raise ValueError(f"batch must be 1..512, got {batch}")
    if port < 0 or port >= MP_MAX_PORTS or queue < 0 or queue >= MP_MAX_QUEUES:
        raise DeviceError(f"no tx queue {queue} on DPDK port {port}")
    pool._check()
    if pkt_len > pool.data_room:
        raise ValueError(f"packet size {pkt_len} exceeds the pool's buffer size {pool.data_room}")
    cdef rte_mbuf *bufs[512]
    cdef uint64_t total = 0
    cdef uint64_t deadline = 0
    cdef uint32_t k
    cdef rte_mempool *mp = pool.pool
    cdef mp_fe_prog *p = prog.prog
    if seconds > 0:
        deadline = rte_rdtsc() + <uint64_t>(seconds * rte_get_tsc_hz())
    with nogil:
        while mp_running(0):
            if max_packets and total >= max_packets:
                break
            if deadline and rte_rdtsc() >= deadline:
                break
            k = batch
            if max_packets and max_packets - total < k:
                k = <uint32_t>(max_packets - total)
            if mp_alloc_bulk(mp, bufs, k, pkt_len) < 0:
                rte_pause()  # buffers in flight (a cable ring): wait for them
                continue
            mp_fe_apply(p, bufs, k)
            total += mp_send_all(<uint16_t>port, <uint16_t>queue, bufs, k)
    return total


def bufarray_offload(BufArray arr, unsigned l4, bint ipv4, unsigned l2_len, unsigned l3_len):
    """MoonGen's ``offload{IP,Udp,Tcp}Checksums``: one C call for the array."""
    with nogil:
        mp_fe_offload(arr.bufs, arr.count, l4, ipv4, l2_len, l3_len)


def bufarray_set_vlans(BufArray arr, uint16_t tci):
    """VLAN insertion offload (``setVlans``) for every filled buffer."""
    cdef unsigned i
    for i in range(arr.count):
        if arr.bufs[i] != NULL:
            arr.bufs[i].vlan_tci = tci
            arr.bufs[i].ol_flags |= RTE_MBUF_F_TX_VLAN


def send_stamped(BufArray arr, int port, int queue, unsigned offset=48) -> int:
    """Write the TSC at ``offset`` of every buffer, then send them (software TX timestamps)."""
    cdef uint32_t sent
    with nogil:
        mp_fe_stamp_tsc(arr.bufs, arr.count, offset)
        sent = mp_send_all(<uint16_t>port, <uint16_t>queue, arr.bufs, arr.count)
    memset(arr.bufs, 0, arr.count * sizeof(rte_mbuf *))
    arr.count = 0
    return sent


def rx_wait(BufArray arr, int port, int queue, double timeout=-1.0, bint timestamps=False) -> int:
    """Receive one burst into ``arr``, waiting (without the GIL) until frames
    arrive, the run stops, or ``timeout`` seconds pass (< 0: no timeout, 0: poll
    once). With ``timestamps`` each buffer's udata64 gets the RX TSC. Buffers
    the array still held are freed first."""
    if port < 0 or port >= MP_MAX_PORTS or queue < 0 or queue >= MP_MAX_QUEUES:
        raise DeviceError(f"no rx queue {queue} on DPDK port {port}")
    cdef uint64_t deadline = 0
    cdef bint forever = timeout < 0
    cdef uint32_t nb = 0
    if arr.count:
        with nogil:
            mp_free_bulk(arr.bufs, arr.count)
        memset(arr.bufs, 0, arr.count * sizeof(rte_mbuf *))
        arr.count = 0
    if not forever:
        deadline = rte_rdtsc() + <uint64_t>(timeout * rte_get_tsc_hz())
    with nogil:
        while True:
            if timestamps:
                nb = mp_fe_rx_burst_ts(<uint16_t>port, <uint16_t>queue, arr.bufs, arr.capacity)
            else:
                nb = mp_rx_burst(<uint16_t>port, <uint16_t>queue, arr.bufs, arr.capacity)
            if nb or not mp_running(0):
                break
            if not forever and rte_rdtsc() >= deadline:
                break
            rte_pause()
    arr.count = nb
    return nb


def bufarray_bytes(BufArray arr) -> int:
    """The sum of the frame lengths the array holds (CRC excluded)."""
    cdef uint64_t total = 0
    cdef unsigned i
    for i in range(arr.count):
        if arr.bufs[i] != NULL:
            total += arr.bufs[i].pkt_len
    return total
