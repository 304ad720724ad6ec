# fieldengine.pxi - what the Python API (moonpy.packet, moonpy.memory,
# moonpy.device, moonpy.fieldengine) needs from C: packet views over mbuf
# memory, the batch field engine and its nogil send loop, and per-burst helpers
# (checksum-offload requests, software timestamps, waiting receives).
#
# Rule: one C call per burst. Nothing here runs Python per packet except the
# view constructors, which serve the (documented as slow) per-packet path.

from cpython.buffer cimport PyBUF_FORMAT

cdef extern from "mp_fieldengine.h" nogil:
    enum: MP_FE_MAX_OPS
    enum: MP_FE_RANDOM
    enum: MP_FE_INC
    enum: MP_FE_DEC
    enum: MP_FE_LIST
    enum: MP_FE_LIST_BYTES
    enum: MP_FE_RANDOM_LIST
    enum: MP_FE_SIZE
    enum: MP_FE_LENGTHS
    enum: MP_FE_IP4_CSUM
    enum: MP_FE_L4_CSUM
    enum: MP_FE_OFFLOAD
    enum: MP_FE_F_IPV6
    enum: MP_FE_F_UDP
    enum: MP_FE_F_TCP

    struct mp_fe_op:
        uint32_t kind
        uint32_t offset
        uint32_t width
        uint32_t shift
        uint64_t mask
        uint64_t min
        uint64_t max
        uint64_t step
        uint64_t cur
        uint64_t held
        uint32_t every
        uint32_t left
        uint32_t count
        uint32_t l4_offset
        uint32_t l3_len
        uint32_t flags
        const uint64_t *values
        const uint8_t *bytes

    struct mp_fe_prog:
        uint32_t n_ops
        uint32_t n_sizes
        uint32_t size_idx
        uint32_t size_random
        uint64_t rng
        const uint16_t *sizes
        mp_fe_op ops[64]

    void mp_fe_apply(mp_fe_prog *p, rte_mbuf **bufs, uint32_t n)
    void mp_fe_offload(rte_mbuf **bufs, uint32_t n, uint32_t l4, int ipv4, uint32_t l2_len,
                       uint32_t l3_len)
    void mp_fe_stamp_tsc(rte_mbuf **bufs, uint32_t n, uint32_t offset)
    uint32_t mp_fe_rx_burst_ts(uint16_t port, uint16_t queue, rte_mbuf **bufs, uint32_t n)
    void mp_fe_write_template(rte_mbuf **bufs, uint32_t n, const uint8_t *tpl, uint32_t len,
                              uint32_t fill_len)

cdef extern from "rte_pause.h" nogil:
    void rte_pause()

cdef extern from "rte_mbuf_core.h" nogil:
    uint64_t RTE_MBUF_F_TX_VLAN

FE_RANDOM = MP_FE_RANDOM
FE_INC = MP_FE_INC
FE_DEC = MP_FE_DEC
FE_LIST = MP_FE_LIST
FE_LIST_BYTES = MP_FE_LIST_BYTES
FE_RANDOM_LIST = MP_FE_RANDOM_LIST
FE_SIZE = MP_FE_SIZE
FE_LENGTHS = MP_FE_LENGTHS
FE_IP4_CSUM = MP_FE_IP4_CSUM
FE_L4_CSUM = MP_FE_L4_CSUM
FE_OFFLOAD = MP_FE_OFFLOAD
FE_F_IPV6 = MP_FE_F_IPV6
FE_F_UDP = MP_FE_F_UDP
FE_F_TCP = MP_FE_F_TCP
FE_MAX_OPS = MP_FE_MAX_OPS


# ---- packet views --------------------------------------------------------------


cdef class MbufView:
    """A window on one buffer of a BufArray: its data room as a writable buffer
    (``memoryview(view)``) plus the mbuf fields scripts use.

    Valid while the buffer is in its array: once the array is sent or freed,
    every access raises instead of touching a recycled buffer. (A memoryview
    taken earlier is not tracked: do not keep one past ``send``.)
    Python subclasses (moonpy.packet.Packet) add the header accessors.
    """
    cdef rte_mbuf *m
    cdef BufArray owner
    cdef unsigned idx
    cdef public object layout  # the header layout, when the array knows it (moonpy.proto)
    cdef Py_ssize_t _shape[1]
    cdef Py_ssize_t _strides[1]

    def __init__(self):
        raise TypeError("packet views come from a BufArray (iterate over it)")

    cdef inline int _check(self) except -1:
        if self.owner is None or self.idx >= self.owner.count \
                or self.owner.bufs[self.idx] != self.m:
            raise ValueError("this packet's buffer was already sent or freed; "
                             "views are valid until the BufArray is sent or freed")
        return 0

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        self._check()
        cdef rte_mbuf *m = self.m
        self._shape[0] = m.buf_len - m.data_off
        self._strides[0] = 1
        buffer.buf = <char *>m.buf_addr + m.data_off
        buffer.obj = self
        buffer.len = self._shape[0]
        buffer.readonly = 0
        buffer.itemsize = 1
        buffer.format = NULL
        if flags & PyBUF_FORMAT:
            buffer.format = b"B"
        buffer.ndim = 1
        buffer.shape = self._shape
        buffer.strides = self._strides
        buffer.suboffsets = NULL
        buffer.internal = NULL

    def __releasebuffer__(self, Py_buffer *buffer):
        pass

    @property
    def valid(self) -> bool:
        """Whether the buffer still belongs to its array."""
        return not (self.owner is None or self.idx >= self.owner.count
                    or self.owner.bufs[self.idx] != self.m)

    @property
    def index(self) -> int:
        return self.idx

    @property
    def size(self) -> int:
        """The frame length (``pkt_len``/``data_len``, CRC excluded)."""
        self._check()
        return self.m.data_len

    @size.setter
    def size(self, unsigned n):
        self._check()
        if n > <unsigned>(self.m.buf_len - self.m.data_off):
            raise ValueError(f"a frame of {n} bytes does not fit this buffer "
                             f"({self.m.buf_len - self.m.data_off} bytes)")
        self.m.pkt_len = n
        self.m.data_len = n

    @property
    def capacity(self) -> int:
        """Bytes of data room from the start of the frame."""
        self._check()
        return self.m.buf_len - self.m.data_off

    @property
    def ol_flags(self) -> int:
        self._check()
        return self.m.ol_flags

    @ol_flags.setter
    def ol_flags(self, uint64_t v):
        self._check()
        self.m.ol_flags = v

    @property
    def tx_offload(self) -> int:
        self._check()
        return self.m.tx_offload

    @tx_offload.setter
    def tx_offload(self, uint64_t v):
        self._check()
        self.m.tx_offload = v

    @property
    def vlan_tci(self) -> int:
        self._check()
        return self.m.vlan_tci

    @vlan_tci.setter
    def vlan_tci(self, uint16_t v):
        self._check()
        self.m.vlan_tci = v

    @property
    def udata64(self) -> int:
        """moonpy's 8-byte user field: the RX TSC after ``recv_with_timestamps``."""
        self._check()
        return (<uint64_t *>(<char *>self.m + _udata64_offset))[0]

    @udata64.setter
    def udata64(self, uint64_t v):
        self._check()
        (<uint64_t *>(<char *>self.m + _udata64_offset))[0] = v

    def read_tsc(self, unsigned offset=48) -> int:
        """The 8-byte host-order value at ``offset`` (a software TX timestamp)."""
        self._check()
        if offset + 8 > <unsigned>(self.m.buf_len - self.m.data_off):
            raise ValueError(f"offset {offset} is outside the buffer")
        cdef uint64_t v
        memcpy(&v, <char *>self.m.buf_addr + self.m.data_off + offset, 8)
        return v

    def get_bytes(self) -> bytes:
        """A copy of the frame (``size`` bytes)."""
        self._check()
        return PyBytes_FromStringAndSize(<char *>self.m.buf_addr + self.m.data_off,
                                         self.m.data_len)

    def set_bytes(self, const uint8_t[:] data, bint resize=True):
        """Copy ``data`` to the start of the frame; ``resize`` sets the size to its length."""
        self._check()
        cdef unsigned n = data.shape[0]
        if n > <unsigned>(self.m.buf_len - self.m.data_off):
            raise ValueError(f"{n} bytes do not fit a buffer of "
                             f"{self.m.buf_len - self.m.data_off}")
        if n:
            memcpy(<char *>self.m.buf_addr + self.m.data_off, &data[0], n)
        if resize:
            self.m.pkt_len = n
            self.m.data_len = n


def mbuf_views(BufArray arr, type cls=MbufView, layout=None) -> list:
    """One view (an instance of ``cls``, a MbufView subclass) per filled buffer,
    each with ``layout`` as its header layout hint."""
    if not issubclass(cls, MbufView):
        raise TypeError(f"{cls.__name__} is not a MbufView subclass")
    cdef list out = []
    cdef MbufView v
    cdef unsigned i
    for i in range(arr.count):
        if arr.bufs[i] == NULL:
            continue
        v = <MbufView>cls.__new__(cls)
        v.m = arr.bufs[i]
        v.owner = arr
        v.idx = i
        v.layout = layout
        out.append(v)
    return out


def mbuf_view(BufArray arr, unsigned i, type cls=MbufView, layout=None):
    """The view of buffer ``i`` of ``arr``."""
    if not issubclass(cls, MbufView):
        raise TypeError(f"{cls.__name__} is not a MbufView subclass")
    arr._get(i)
    cdef MbufView v = <MbufView>cls.__new__(cls)
    v.m = arr.bufs[i]
    v.owner = arr
    v.idx = i
    v.layout = layout
    return v


# ---- the field engine ---------------------------------------------------------------


cdef class FieldProgram:
    """A compiled field-engine program (see moonpy.fieldengine): C ops applied
    to whole bursts. One program belongs to one sending loop at a time."""
    cdef mp_fe_prog *prog
    cdef list _keep

    def __cinit__(self, list ops, sizes=None, bint size_random=False, uint64_t seed=0):
        self.prog = <mp_fe_prog *>PyMem_Malloc(sizeof(mp_fe_prog))
        if self.prog == NULL:
            raise MemoryError()
        memset(self.prog, 0, sizeof(mp_fe_prog))
        self._keep = []
        if len(ops) > MP_FE_MAX_OPS:
            raise ValueError(f"a field program holds at most {MP_FE_MAX_OPS} ops, "
                             f"got {len(ops)}")
        cdef mp_fe_op *op
        cdef const uint8_t[:] raw
        for k, spec in enumerate(ops):
            op = &self.prog.ops[k]
            (kind, offset, width, shift, mask, vmin, vmax, step, start, every,
             l4_offset, l3_len, flags, values, count) = spec
            op.kind = kind
            op.offset = offset
            op.width = width
            op.shift = shift
            op.mask = mask
            op.min = vmin
            op.max = vmax
            op.step = step
            op.cur = start
            op.every = every
            op.left = 0
            op.l4_offset = l4_offset
            op.l3_len = l3_len
            op.flags = flags
            op.count = count
            if values is not None:
                if count == 0:
                    raise ValueError("a list op needs at least one value")
                raw = values
                self._keep.append(values)
                if kind == MP_FE_LIST_BYTES:
                    op.bytes = &raw[0]
                else:
                    op.values = <const uint64_t *>&raw[0]
            elif kind in (MP_FE_LIST, MP_FE_LIST_BYTES, MP_FE_RANDOM_LIST):
                raise ValueError("a list op needs its values")
        self.prog.n_ops = len(ops)
        self.prog.rng = seed
        cdef const uint8_t[:] sz
        if sizes is not None:
            if len(sizes) == 0 or len(sizes) % 2:
                raise ValueError("sizes must be packed uint16 values")
            sz = sizes
            self._keep.append(sizes)
            self.prog.sizes = <const uint16_t *>&sz[0]
            self.prog.n_sizes = len(sizes) // 2
            self.prog.size_random = size_random

    def __dealloc__(self):
        PyMem_Free(self.prog)

    def apply(self, BufArray arr):
        """Run the program over the filled buffers of ``arr`` (one C call)."""
        cdef unsigned i
        for i in range(arr.count):
            if arr.bufs[i] == NULL:
                raise ValueError("apply needs a fully allocated BufArray")
        with nogil:
            mp_fe_apply(self.prog, arr.bufs, arr.count)

    def state(self) -> list:
        """``(cur, left, held)`` of each op (tests and debugging)."""
        return [(self.prog.ops[k].cur, self.prog.ops[k].left, self.prog.ops[k].held)
                for k in range(self.prog.n_ops)]


def pool_write_template(Mempool pool, const uint8_t[:] template, unsigned fill_len):
    """Write ``template`` into every free buffer of ``pool`` (zeroes up to
    ``fill_len``). Buffers keep their data across alloc/free: this is the
    template the field engine patches."""
    pool._check()
    cdef unsigned n = rte_mempool_avail_count(pool.pool)
    if n == 0:
        return 0
    cdef unsigned tlen = template.shape[0]
    if tlen > pool.data_room or fill_len > pool.data_room:
        raise ValueError(f"a template of {max(tlen, fill_len)} bytes does not fit the pool's "
                         f"{pool.data_room}-byte buffers")
    cdef rte_mbuf **arr = <rte_mbuf **>PyMem_Malloc(n * sizeof(rte_mbuf *))
    if arr == NULL:
        raise MemoryError()
    cdef int rc
    cdef const uint8_t *tp = &template[0] if tlen else NULL
    try:
        with nogil:
            rc = mp_alloc_bulk(pool.pool, arr, n, fill_len)
            if rc >= 0:
                mp_fe_write_template(arr, n, tp, tlen, fill_len)
                mp_free_bulk(arr, n)
        if rc < 0:
            raise PoolExhausted(f"cannot take the {n} free buffers of {pool.name} to write "
                                "the template")
    finally:
        PyMem_Free(arr)
    return n


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


# ---- per-burst helpers of the Python API --------------------------------------------


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
