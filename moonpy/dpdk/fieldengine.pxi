# fieldengine.pxi - field-engine programs: the C ops of moonpy.fieldengine compiled into
# an mp_fe_prog and applied to whole bursts, and the template a pool's buffers carry.
# The send loop that runs them is in sendloops.pxi, packet views in mbufview.pxi.
#
# Rule: one C call per burst.

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
