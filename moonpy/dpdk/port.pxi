# port.pxi - creating, configuring and querying ethdev ports, and their counters.

cdef list _cable_rings = []  # addresses of every ring inside a cable


cdef int _check_port(int port) except -1:
    if port < 0 or port >= MP_MAX_PORTS or not rte_eth_dev_is_valid_port(<uint16_t>port):
        raise DeviceError(f"DPDK port {port} does not exist")
    return 0


# the port flags of mp_api.h, for core/engine.py (one definition: the C header)
PORT_DROP_ON_FULL = MP_PORT_DROP_ON_FULL
PORT_SW_CSUM = MP_PORT_SW_CSUM
PORT_CONFIGURED = MP_PORT_CONFIGURED
PORT_TX_PREPARE = MP_PORT_TX_PREPARE
PORT_SW_STEER = MP_PORT_SW_STEER


def probe_vdev(str devargs) -> int:
    """Create a virtual device from EAL devargs (``net_null0``, ``net_pcap0,tx_pcap=f``...).

    Returns the DPDK port id of the new port.
    """
    cdef bytes b = devargs.encode()
    cdef const char *cb = b
    cdef int rc
    with nogil:
        rc = rte_dev_probe(cb)
    if rc < 0:
        raise convert_error(rc, f"cannot create virtual device '{devargs}'",
                            "check the port's options (file paths, interface names) "
                            "and the EAL messages above")
    cdef uint16_t pid
    cdef bytes name = devargs.split(",")[0].encode()
    rc = rte_eth_dev_get_port_by_name(name, &pid)
    if rc < 0:
        raise convert_error(rc, f"virtual device '{devargs}' created no ethdev port")
    return pid


MAX_QUEUES = MP_MAX_QUEUES  # queues per port and direction moonpy's counters have
cdef unsigned _cable_ring_serial = 0  # ring names are unique for the whole process


def create_cable(str name_a, str name_b):
    """Two ports joined by a virtual cable; returns ``(port_a, port_b)``.

    The ports are ring PMD ethdevs with one queue pair each (link, MAC); the frames
    travel through moonpy's own RX rings, made when an end is configured
    (``cable_configure``): the sending end steers each frame to one of them as the
    receiving end's NIC would (csrc/mp_cable.c).
    """
    global _cable_ring_serial
    cdef rte_ring *dummy[2]
    cdef int i
    cdef bytes rname
    for i in range(2):
        rname = f"cbl_eth{_cable_ring_serial}".encode()
        _cable_ring_serial += 1
        dummy[i] = rte_ring_create(rname, 2, -1, RING_F_SP_ENQ | RING_F_SC_DEQ)
        if dummy[i] == NULL:
            raise DeviceError(f"cannot create cable ring {rname.decode()}: "
                              f"{_strerror(rte_errno)}; give DPDK more memory")
    cdef int rc = rte_eth_from_rings(name_a.encode(), &dummy[1], 1, &dummy[0], 1, 0)
    if rc < 0:
        raise DeviceError(f"cannot create cable port {name_a}: {_strerror(rte_errno)}")
    pa = rc
    rc = rte_eth_from_rings(name_b.encode(), &dummy[0], 1, &dummy[1], 1, 0)
    if rc < 0:
        raise DeviceError(f"cannot create cable port {name_b}: {_strerror(rte_errno)}")
    return pa, rc


cdef dict _cable_end_rings = {}  # DPDK port -> addresses of its RX rings


def cable_configure(int port, unsigned nrx, unsigned ntx, unsigned ring_size,
                    bint drop_enable):
    """Cable end ``port`` receives on RX queues ``0 .. nrx - 1`` from now on (0: it
    stops receiving: its peer's frames leave and are missed), each a ring of
    ``ring_size`` slots (a power of two), and sends on ``ntx`` TX queues.
    ``drop_enable`` False: a full RX ring holds the peer's sender back (flow control)
    instead of missing the frame. Set after both ends' flags (``port_set_flags``)."""
    if port < 0 or port >= MP_MAX_PORTS:
        raise DeviceError(f"DPDK port {port} does not exist")
    if nrx > MP_MAX_QUEUES or ntx > MP_MAX_QUEUES:
        raise DeviceError(f"a cable end has at most {MP_MAX_QUEUES} queues, asked for "
                          f"rx={nrx} tx={ntx}")
    global _cable_ring_serial
    cdef rte_ring *rings[MP_MAX_QUEUES]
    cdef unsigned q
    cdef bytes rname
    have = _cable_end_rings.setdefault(port, [])
    if nrx and (ring_size < 2 or ring_size & (ring_size - 1)):
        raise DeviceError(f"cable ring size must be a power of two, got {ring_size}")
    while len(have) < nrx:  # rings stay with the port: the peer may still be reading them
        rname = f"cbl_rx{_cable_ring_serial}".encode()
        _cable_ring_serial += 1
        r = rte_ring_create(rname, ring_size, -1, RING_F_SP_ENQ | RING_F_SC_DEQ)
        if r == NULL:
            raise DeviceError(f"cannot create cable ring {rname.decode()}: "
                              f"{_strerror(rte_errno)}; give DPDK more memory")
        have.append(<uintptr_t>r)
        _cable_rings.append(<uintptr_t>r)
    for q in range(nrx):
        rings[q] = <rte_ring *><uintptr_t>have[q]
    mp_cable_end(<uint16_t>port, <uint16_t>nrx, <uint16_t>ntx, 0 if drop_enable else 1,
                 rings)


def swsteer_configure(int port, unsigned nrx, bint keep_unmatched=False,
                      unsigned ring_size=4096):
    """Port ``port`` (not a cable end) applies its filters (``cable_filter_add``) in
    moonpy's RX path from now on, over RX queues ``0 .. nrx - 1``, each with an inbox
    ring of ``ring_size`` slots for the frames other queues' polls hand it
    (csrc/mp_swsteer.c). ``nrx`` 0: off, and the port's filters are cleared."""
    if port < 0 or port >= MP_MAX_PORTS:
        raise DeviceError(f"DPDK port {port} does not exist")
    if nrx > MP_MAX_QUEUES:
        raise DeviceError(f"a port has at most {MP_MAX_QUEUES} rx queues, asked for {nrx}")
    global _cable_ring_serial
    cdef rte_ring *rings[MP_MAX_QUEUES]
    cdef unsigned q
    cdef bytes rname
    have = _cable_end_rings.setdefault(port, [])
    while len(have) < nrx:  # kept with the port (freed by port_close, drained by drain_cables)
        rname = f"sws_rx{_cable_ring_serial}".encode()
        _cable_ring_serial += 1
        r = rte_ring_create(rname, ring_size, -1, RING_F_SC_DEQ)
        if r == NULL:
            raise DeviceError(f"cannot create ring {rname.decode()}: "
                              f"{_strerror(rte_errno)}; give DPDK more memory")
        have.append(<uintptr_t>r)
        _cable_rings.append(<uintptr_t>r)
    for q in range(nrx):
        rings[q] = <rte_ring *><uintptr_t>have[q]
    mp_swsteer_set(<uint16_t>port, <uint16_t>nrx, 1 if keep_unmatched else 0, rings)


def cable_filter_add(int port, int kind, int queue, list values):
    """One NIC filter on cable end ``port`` (moonpy.cable checks the fields)."""
    cdef mp_cable_filter f
    memset(&f, 0, sizeof(f))
    f.kind = <uint8_t>kind
    f.queue = <int16_t>queue
    if kind == 1:
        f.etype = values[0]
    elif kind == 2:
        (f.src_ip, f.src_mask, f.dst_ip, f.dst_mask, f.sport, f.sport_mask, f.dport,
         f.dport_mask, f.proto, f.proto_mask, f.priority) = values
    else:
        f.flex[0], f.flex[1] = values
    cdef int rc = mp_cable_filter_add(<uint16_t>port, &f)
    if rc < 0:
        hint = ("this ethertype has a filter already" if rc == -EEXIST
                else "a NIC has room for 8 ethertype and 128 five-tuple filters")
        raise convert_error(rc, f"cannot add a filter to port {port}", hint)


def cable_filter_list(int port) -> list:
    """``[(kind, queue, values)]`` of cable end ``port``, in the order they apply."""
    cdef mp_cable_filter f
    out = []
    cdef int i = 0
    while mp_cable_filter_get(<uint16_t>port, i, &f) == 0:
        if f.kind == 1:
            values = [f.etype]
        elif f.kind == 2:
            values = [f.src_ip, f.src_mask, f.dst_ip, f.dst_mask, f.sport, f.sport_mask,
                      f.dport, f.dport_mask, f.proto, f.proto_mask, f.priority]
        else:
            values = [f.flex[0], f.flex[1]]
        out.append((f.kind, f.queue, values))
        i += 1
    return out


def drain_cables() -> int:
    """Free every frame still inside a cable's rings (whether or not the
    receiving end was ever configured); returns how many."""
    cdef void *objs[64]
    cdef unsigned n, total = 0
    cdef rte_ring *r
    for addr in _cable_rings:
        r = <rte_ring *><uintptr_t>addr
        while True:
            n = rte_ring_dequeue_burst(r, objs, 64, NULL)
            if n == 0:
                break
            mp_free_bulk(<rte_mbuf **>objs, n)
            total += n
    return total


def port_by_name(str name) -> int:
    """The DPDK port id of a probed device (a PCI address such as 0000:03:00.0)."""
    cdef uint16_t pid
    cdef int rc = rte_eth_dev_get_port_by_name(name.encode(), &pid)
    if rc < 0:
        raise DeviceError(f"no DPDK port named '{name}'; is the device bound to vfio-pci "
                          "(dpdk-devbind.py --status)?")
    return pid


def port_count() -> int:
    return rte_eth_dev_count_avail()


def port_info(int port) -> dict:
    """Driver name, device name, queue limits, offload capabilities, socket."""
    _check_port(port)
    cdef rte_eth_dev_info info
    check(rte_eth_dev_info_get(<uint16_t>port, &info), f"cannot query port {port}")
    cdef char name[64]
    memset(name, 0, sizeof(name))
    rte_eth_dev_get_name_by_port(<uint16_t>port, name)
    return {
        "driver": info.driver_name.decode() if info.driver_name != NULL else "unknown",
        "name": name.decode(),
        "max_rx_queues": info.max_rx_queues,
        "max_tx_queues": info.max_tx_queues,
        "rx_offload_capa": info.rx_offload_capa,
        "tx_offload_capa": info.tx_offload_capa,
        "rx_desc_max": info.rx_desc_lim.nb_max,
        "tx_desc_max": info.tx_desc_lim.nb_max,
        "socket": rte_eth_dev_socket_id(<uint16_t>port),
    }


TX_OFFLOAD_CHECKSUMS = (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM
                        | RTE_ETH_TX_OFFLOAD_TCP_CKSUM)


def port_configure(int port, unsigned n_rx, unsigned n_tx, unsigned rx_descs,
                   unsigned tx_descs, list rx_pools, unsigned long long tx_offloads=0,
                   uint64_t rss_types=0):
    """Configure ``n_rx``/``n_tx`` queues, set them up and start the port.

    ``rx_pools`` holds one Mempool per RX queue (where received frames land).
    ``rss_types`` (``RTE_ETH_RSS_*``): RSS in the port for those its PMD hashes
    (``port_reta_size`` > 0; the redirection table: ``port_set_reta``).

    Returns the descriptor counts DPDK accepted, ``(rx_descs, tx_descs)``.
    """
    _check_port(port)
    if n_rx > MP_MAX_QUEUES or n_tx > MP_MAX_QUEUES:
        raise DeviceError(f"port {port}: moonpy supports at most {MP_MAX_QUEUES} queues "
                          f"per direction, asked for rx={n_rx} tx={n_tx}")
    info = port_info(port)
    if n_rx > info["max_rx_queues"] or n_tx > info["max_tx_queues"]:
        raise DeviceError(
            f"port {port} ({info['driver']}) has at most {info['max_rx_queues']} rx and "
            f"{info['max_tx_queues']} tx queues, asked for rx={n_rx} tx={n_tx}; "
            "configure fewer queues")
    cdef rte_eth_conf conf
    memset(&conf, 0, sizeof(conf))
    conf.txmode.offloads = tx_offloads
    if rss_types:
        mp_eth_conf_rss(<uint16_t>port, &conf, rss_types)
    what = f"cannot configure port {port} ({info['driver']})"
    check(rte_eth_dev_configure(<uint16_t>port, n_rx, n_tx, &conf), what)
    cdef uint16_t nrx = rx_descs, ntx = tx_descs
    check(rte_eth_dev_adjust_nb_rx_tx_desc(<uint16_t>port, &nrx, &ntx), what)
    cdef int sock = rte_eth_dev_socket_id(<uint16_t>port)
    if sock < 0:
        sock = 0
    if len(rx_pools) != n_rx:
        raise DeviceError(f"port {port}: {n_rx} rx queues need {n_rx} mempools, "
                          f"got {len(rx_pools)}")
    cdef unsigned q
    cdef Mempool pool
    for q in range(n_rx):
        pool = rx_pools[q]
        pool._check()
        check(rte_eth_rx_queue_setup(<uint16_t>port, q, nrx, sock, NULL, pool.pool),
              f"cannot set up rx queue {q} of port {port}")
    for q in range(n_tx):
        check(rte_eth_tx_queue_setup(<uint16_t>port, q, ntx, sock, NULL),
              f"cannot set up tx queue {q} of port {port}")
    check(rte_eth_dev_start(<uint16_t>port), f"cannot start port {port}")
    return nrx, ntx


def port_stop(int port):
    _check_port(port)
    rte_eth_dev_stop(<uint16_t>port)


def port_close(int port):
    _check_port(port)
    cdef void *objs[64]
    cdef unsigned n
    cdef rte_ring *r
    if port < MP_MAX_PORTS:  # the port id may name another device later
        mp_cable_end(<uint16_t>port, 0, 0, 0, NULL)
    for addr in _cable_end_rings.pop(port, []):
        r = <rte_ring *><uintptr_t>addr
        while True:
            n = rte_ring_dequeue_burst(r, objs, 64, NULL)
            if n == 0:
                break
            mp_free_bulk(<rte_mbuf **>objs, n)
        _cable_rings.remove(addr)
        rte_ring_free(r)
    rte_eth_dev_close(<uint16_t>port)


def port_set_flags(int port, unsigned flags, int peer=-1):
    mp_port_set(<uint16_t>port, flags, peer)


RSS_DEFAULT_TYPES = mp_rss_default_types()


def port_reta_size(int port) -> int:
    """Entries of the port's RSS redirection table; 0 where its PMD has no RSS."""
    _check_port(port)
    return mp_port_reta_size(<uint16_t>port)


def port_set_reta(int port, unsigned nq, unsigned base):
    """libmoon's redirection table (entry i: queue ``base + i % nq``) in a port with RSS."""
    _check_port(port)
    check(mp_port_set_reta(<uint16_t>port, <uint16_t>nq, <uint16_t>base),
          f"cannot set up the RSS redirection table of port {port}")


def port_get_reta(int port) -> list:
    """The port's RSS redirection table."""
    _check_port(port)
    cdef uint16_t out[512]
    cdef int n = mp_port_get_reta(<uint16_t>port, out, 512)
    check(n, f"cannot read the RSS redirection table of port {port}")
    return [out[i] for i in range(n)]


def cable_rss(int port, unsigned nq, unsigned base, uint64_t types):
    """Spread what arrives at cable end ``port`` over its RX queues ``base`` to
    ``base + nq - 1`` by RSS hash of ``types`` (``RTE_ETH_RSS_*``); ``nq`` < 2: off.
    Set after both ends' flags (``port_set_flags``), before traffic."""
    if base + nq > MP_MAX_QUEUES:
        raise DeviceError(f"RSS over queues {base} to {base + nq - 1}: a cable has at most "
                          f"{MP_MAX_QUEUES} queues")
    mp_cable_rss(<uint16_t>port, <uint16_t>nq, <uint16_t>base, types)


def port_mac(int port) -> bytes:
    _check_port(port)
    cdef rte_ether_addr mac
    check(rte_eth_macaddr_get(<uint16_t>port, &mac), f"cannot read the MAC of port {port}")
    return PyBytes_FromStringAndSize(<char *>mac.addr_bytes, 6)


def port_link(int port) -> tuple:
    """``(up, speed_mbit, full_duplex)`` without waiting."""
    _check_port(port)
    cdef rte_eth_link link
    memset(&link, 0, sizeof(link))
    check(rte_eth_link_get_nowait(<uint16_t>port, &link), f"cannot read link of port {port}")
    return bool(link.link_status), int(link.link_speed), bool(link.link_duplex)


def port_set_promisc(int port, bint on):
    _check_port(port)
    cdef int rc = rte_eth_promiscuous_enable(<uint16_t>port) if on else \
        rte_eth_promiscuous_disable(<uint16_t>port)
    if rc < 0 and rc != -95:  # -ENOTSUP: virtual ports without the notion
        raise convert_error(rc, f"cannot set promiscuous mode on port {port}")


def port_hw_stats(int port) -> dict:
    """The PMD's own counters (``rte_eth_stats_get``)."""
    _check_port(port)
    cdef rte_eth_stats st
    check(rte_eth_stats_get(<uint16_t>port, &st), f"cannot read counters of port {port}")
    return {"ipackets": st.ipackets, "opackets": st.opackets, "ibytes": st.ibytes,
            "obytes": st.obytes, "imissed": st.imissed, "ierrors": st.ierrors,
            "oerrors": st.oerrors, "rx_nombuf": st.rx_nombuf}


def port_sw_stats(int port, unsigned nqueues=MP_MAX_QUEUES) -> dict:
    """moonpy's own per-queue counters, kept by the fast path.

    ``cable_missed`` counts frames the peer of a cable end dropped because
    this end's RX ring was full (reported as ``imissed``).
    """
    if port < 0 or port >= MP_MAX_PORTS:
        raise DeviceError(f"DPDK port {port} does not exist")
    cdef unsigned q
    cdef mp_queue_stats *t
    cdef mp_queue_stats *r
    txq, rxq = [], []
    for q in range(min(nqueues, MP_MAX_QUEUES)):
        t = mp_txq_stats(<uint16_t>port, <uint16_t>q)
        r = mp_rxq_stats(<uint16_t>port, <uint16_t>q)
        txq.append((t.pkts, t.bytes, t.drops))
        rxq.append((r.pkts, r.bytes, r.missed))
    return {
        "tx_pkts": sum(x[0] for x in txq), "tx_bytes": sum(x[1] for x in txq),
        "tx_drops": sum(x[2] for x in txq),
        "rx_pkts": sum(x[0] for x in rxq), "rx_bytes": sum(x[1] for x in rxq),
        "rx_missed": sum(x[2] for x in rxq),  # software filters (mp_swsteer.c)
        "cable_missed": mp_drops_into(<uint16_t>port),
        "txq": txq, "rxq": rxq,
    }


def cable_arrived(int port) -> tuple:
    """What reached cable end ``port`` from its peer, as a NIC counts it:
    ``(frames put into its RX rings, their bytes, frames missed, their bytes)``;
    zeros for other ports."""
    if port < 0 or port >= MP_MAX_PORTS:
        raise DeviceError(f"DPDK port {port} does not exist")
    cdef uint64_t out[4]
    mp_cable_arrived(<uint16_t>port, out)
    return out[0], out[1], out[2], out[3]


def port_xstats(int port) -> dict:
    _check_port(port)
    cdef int n = rte_eth_xstats_get(<uint16_t>port, NULL, 0)
    if n <= 0:
        return {}
    cdef rte_eth_xstat *vals = <rte_eth_xstat *>PyMem_Malloc(n * sizeof(rte_eth_xstat))
    cdef rte_eth_xstat_name *names = <rte_eth_xstat_name *>PyMem_Malloc(
        n * sizeof(rte_eth_xstat_name))
    out = {}
    try:
        n = min(rte_eth_xstats_get(<uint16_t>port, vals, n),
                rte_eth_xstats_get_names(<uint16_t>port, names, n))
        for i in range(n):
            out[names[i].name.decode()] = vals[i].value
    finally:
        PyMem_Free(vals)
        PyMem_Free(names)
    return out


def set_queue_rate(int port, int queue, double mbit=0.0, double mpps=0.0):
    """Software pacing of one TX queue: ``mbit`` counts frame + CRC bytes as
    MoonGen's setRate does; ``mpps`` paces by packets. 0 and 0 turn it off."""
    if port < 0 or port >= MP_MAX_PORTS or queue < 0 or queue >= MP_MAX_QUEUES:
        raise DeviceError(f"no tx queue {queue} on port {port}")
    cdef mp_pacer *pc = mp_pacer_get(<uint16_t>port, <uint16_t>queue)
    cdef double hz = rte_get_tsc_hz()
    pc.cycles_per_byte = hz * 8.0 / (mbit * 1e6) if mbit > 0 else 0.0
    pc.cycles_per_pkt = hz / (mpps * 1e6) if mpps > 0 else 0.0
    pc.next_tsc = 0


def pacer_report(int port, int queue):
    """What the software pacer did on one TX queue (setRate, sendWithDelay, a rate limiter
    task), or None if it sent nothing there: frames and bytes, the achieved rate
    (``mpps``, ``mbit`` counting frame + CRC bytes), ``gaps_within_256ns`` (share of gaps
    within +-256 ns of their ideal gap), ``late_256ns`` (share of frames that left more than
    256 ns behind their schedule), ``thread_lost`` (share of the time the sending thread
    did not run while it waited: preemption) and ``made_up`` (share of the time frames
    that left late after a stall had the schedule take from later drawn gaps: Poisson
    pacing), shares in percent."""
    if port < 0 or port >= MP_MAX_PORTS or queue < 0 or queue >= MP_MAX_QUEUES:
        raise DeviceError(f"no tx queue {queue} on port {port}")
    cdef uint64_t s[MP_PACER_STATS]
    mp_pacer_stats(<uint16_t>port, <uint16_t>queue, s)
    if s[2] < 2 or s[1] <= s[0]:
        return None
    cdef double secs = (s[1] - s[0]) / <double>rte_get_tsc_hz()
    return {
        "frames": s[2],
        "bytes": s[3],
        "seconds": secs,
        "mpps": (s[2] - 1) / secs / 1e6,
        "mbit": (s[3] + 4 * s[2]) * 8 / secs / 1e6 * (s[2] - 1) / s[2],
        "gaps_within_256ns": 100.0 * s[5] / s[4] if s[4] else 0.0,
        "late_256ns": 100.0 * s[6] / s[2],
        "thread_lost": 100.0 * s[7] / rte_get_tsc_hz() / secs,
        "made_up": 100.0 * s[8] / rte_get_tsc_hz() / secs,
    }


def port_set_mac(int port, bytes mac):
    """Set the port's MAC address (6 bytes)."""
    _check_port(port)
    if len(mac) != 6:
        raise ValueError(f"a MAC address has 6 bytes, got {len(mac)}")
    cdef rte_ether_addr addr
    memcpy(addr.addr_bytes, <char *>mac, 6)
    cdef int rc = rte_eth_dev_default_mac_addr_set(<uint16_t>port, &addr)
    if rc < 0 and rc != -95:
        raise convert_error(rc, f"cannot set the MAC address of port {port}")
