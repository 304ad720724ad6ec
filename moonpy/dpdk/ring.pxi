# ring.pxi - DPDK rings for pipes between tasks (freed at shutdown only).

cdef dict _rings = {}
cdef int _ring_seq = 0


def create_ring(unsigned size=512, bint single_producer=False,
                bint single_consumer=False) -> int:
    """A ring of ``size`` slots (rounded up to a power of two); returns its address."""
    global _ring_seq
    cdef unsigned count = 2
    while count < size + 1:
        count <<= 1
    _ring_seq += 1
    cdef bytes name = f"mp_ring_{_ring_seq}".encode()
    cdef unsigned flags = (RING_F_SP_ENQ if single_producer else 0) | \
        (RING_F_SC_DEQ if single_consumer else 0)
    cdef rte_ring *r = rte_ring_create(name, count, -1, flags)
    if r == NULL:
        raise EalError(f"cannot create a ring of {count} slots: {_strerror(rte_errno)}")
    addr = <uintptr_t>r
    _rings[addr] = name
    return addr


def free_all_rings():
    for addr in list(_rings):
        rte_ring_free(<rte_ring *><uintptr_t>addr)
    _rings.clear()
