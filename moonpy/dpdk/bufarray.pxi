# bufarray.pxi - batches of mbufs for Python code: one C call per batch.


cdef class BufArray:
    """A fixed-capacity array of mbuf pointers (MoonGen's bufArray, Python side)."""
    cdef rte_mbuf **bufs
    cdef readonly unsigned capacity
    cdef public unsigned count

    def __cinit__(self, unsigned n=63):
        if n == 0 or n > 65535:
            raise ValueError(f"a BufArray holds 1 to 65535 buffers, got {n}")
        self.bufs = <rte_mbuf **>PyMem_Malloc(n * sizeof(rte_mbuf *))
        if self.bufs == NULL:
            raise MemoryError()
        memset(self.bufs, 0, n * sizeof(rte_mbuf *))
        self.capacity = n
        self.count = 0

    def __dealloc__(self):
        PyMem_Free(self.bufs)

    def __len__(self):
        return self.count

    @property
    def address(self) -> int:
        """Address of the ``struct rte_mbuf *[capacity]`` array."""
        return <uintptr_t>self.bufs

    def alloc(self, Mempool pool, unsigned pkt_len, n=None) -> int:
        """Take ``n`` (default: capacity) buffers of ``pkt_len`` bytes from ``pool``."""
        cdef unsigned k = self.capacity if n is None else n
        if k > self.capacity:
            raise ValueError(f"cannot allocate {k} buffers into an array of {self.capacity}")
        if pkt_len > pool.data_room:
            raise ValueError(f"packet size {pkt_len} exceeds the pool's buffer size "
                             f"{pool.data_room}")
        pool._check()
        cdef int rc
        with nogil:
            rc = mp_alloc_bulk(pool.pool, self.bufs, k, pkt_len)
        if rc < 0:
            raise PoolExhausted(
                f"mempool {pool.name} has {rte_mempool_avail_count(pool.pool)} of "
                f"{pool.size} buffers free, {k} requested; free buffers or use a larger pool")
        self.count = k
        return k

    def send(self, int port, int queue) -> int:
        """Send the filled buffers on ``port``/``queue``; they are gone afterwards."""
        cdef uint32_t sent
        with nogil:
            sent = mp_send_all(<uint16_t>port, <uint16_t>queue, self.bufs, self.count)
        memset(self.bufs, 0, self.count * sizeof(rte_mbuf *))
        self.count = 0
        return sent

    def recv(self, int port, int queue) -> int:
        """One RX burst into the array (frees nothing it held: call ``free`` first)."""
        cdef uint32_t nb
        with nogil:
            nb = mp_rx_burst(<uint16_t>port, <uint16_t>queue, self.bufs, self.capacity)
        self.count = nb
        return nb

    def free(self):
        with nogil:
            mp_free_bulk(self.bufs, self.count)
        memset(self.bufs, 0, self.count * sizeof(rte_mbuf *))
        self.count = 0

    cdef rte_mbuf *_get(self, unsigned i) except NULL:
        if i >= self.count or self.bufs[i] == NULL:
            raise IndexError(f"buffer {i} is not filled (count={self.count})")
        return self.bufs[i]

    def get_data(self, unsigned i) -> bytes:
        cdef rte_mbuf *m = self._get(i)
        return PyBytes_FromStringAndSize(<char *>m.buf_addr + m.data_off, m.data_len)

    def set_data(self, unsigned i, const uint8_t[:] data):
        """Copy ``data`` into buffer ``i`` and set its length."""
        cdef rte_mbuf *m = self._get(i)
        cdef unsigned n = data.shape[0]
        if n > m.buf_len - m.data_off:
            raise ValueError(f"{n} bytes do not fit a buffer of {m.buf_len - m.data_off}")
        if n:
            memcpy(<char *>m.buf_addr + m.data_off, &data[0], n)
        m.pkt_len = n
        m.data_len = n

    def get_udata64(self, unsigned i) -> int:
        cdef rte_mbuf *m = self._get(i)
        return (<uint64_t *>(<char *>m + _udata64_offset))[0]


def tx_loop(int port, int queue, Mempool pool, unsigned pkt_len,
            uint64_t max_packets=0, unsigned batch=63) -> int:
    """Send prefilled buffers from ``pool`` until stopped or ``max_packets`` sent.

    The plain Cython batch loop (no per-packet work): alloc, send, repeat,
    with the GIL released. Returns the number of packets accepted.
    """
    if batch == 0 or batch > 512:
        raise ValueError(f"batch must be 1..512, got {batch}")
    pool._check()
    cdef rte_mbuf *bufs[512]
    cdef uint64_t total = 0
    cdef int rc
    with nogil:
        while mp_running(0) and (max_packets == 0 or total < max_packets):
            rc = mp_alloc_bulk(pool.pool, bufs, batch, pkt_len)
            if rc < 0:
                continue  # buffers are in flight (a cable ring); try again
            total += mp_send_all(<uint16_t>port, <uint16_t>queue, bufs, batch)
    return total
