# mempool.pxi - mbuf pools. Pools live until shutdown (the registry), so raw
# pointers held by LuaJIT VMs or C loops never dangle.

cdef dict _pools = {}
cdef int _pool_seq = 0


cdef class Mempool:
    """A DPDK mbuf pool. Create with ``create_mempool``; freed at shutdown."""
    cdef rte_mempool *pool
    cdef readonly unsigned size
    cdef readonly unsigned data_room
    cdef readonly int id
    cdef readonly str name

    def __init__(self):
        raise TypeError("Mempool cannot be instantiated directly; use create_mempool()")

    @staticmethod
    cdef Mempool _new(rte_mempool *pool, unsigned size, unsigned data_room, int pid, str name):
        cdef Mempool m = Mempool.__new__(Mempool)
        m.pool = pool
        m.size = size
        m.data_room = data_room
        m.id = pid
        m.name = name
        return m

    @property
    def address(self) -> int:
        """The ``struct rte_mempool *`` as an integer (exact below 2^53 in Lua)."""
        return <uintptr_t>self.pool

    @property
    def avail(self) -> int:
        """Buffers in the pool right now, per-lcore caches included."""
        self._check()
        return rte_mempool_avail_count(self.pool)

    @property
    def in_use(self) -> int:
        self._check()
        return rte_mempool_in_use_count(self.pool)

    def reclaim(self) -> int:
        """Put back every buffer of this pool that is not in it; returns how many.

        Only for the end of a run whose tasks have all stopped and whose ports are
        closed (nothing can be in flight): a task that died on an error leaves what it
        held, and nothing else can tell its own buffers from ones it had sent.
        """
        self._check()
        cdef int n
        with nogil:
            n = mp_mempool_reclaim(self.pool)
        if n < 0:
            raise MemoryError(f"mempool {self.name}: no memory to look for lost buffers")
        return n

    cdef int _check(self) except -1:
        if self.pool == NULL:
            raise DpdkError(f"mempool {self.name} was already freed")
        return 0

    def __repr__(self):
        return f"<Mempool {self.name} size={self.size} data_room={self.data_room}>"


def create_mempool(unsigned n=2047, unsigned cache=0, unsigned buf_size=2048,
                   int socket=-1) -> Mempool:
    """Create a pool of ``n`` mbufs with ``buf_size`` bytes of data room each.

    ``buf_size`` excludes DPDK's headroom, as in MoonGen (headroom is added).
    ``cache`` 0 picks a per-lcore cache suited to ``n``.
    """
    global _pool_seq
    if not _eal_up:
        raise EalError("DPDK is not initialised; start the engine first")
    if n < 1:
        raise ValueError(f"a mempool needs at least one buffer, got n={n}")
    if buf_size + RTE_PKTMBUF_HEADROOM > 65535:
        raise ValueError(f"bufSize {buf_size} is too large; the maximum is "
                         f"{65535 - RTE_PKTMBUF_HEADROOM}")
    if cache == 0:
        cache = min(256, max(0, (n // 8)))
        # DPDK requires cache <= n / 1.5
        while cache and cache * 3 > n * 2:
            cache //= 2
    _pool_seq += 1
    name = f"mp_pool_{_pool_seq}"
    cdef bytes bname = name.encode()
    cdef const char *cname = bname
    cdef unsigned data_room = buf_size + RTE_PKTMBUF_HEADROOM
    cdef rte_mempool *pool
    with nogil:
        pool = rte_pktmbuf_pool_create(cname, n, cache, 0, <uint16_t>data_room, socket)
    if pool == NULL:
        raise PoolExhausted(
            f"cannot create a mempool of {n} buffers x {data_room} bytes: "
            f"{_strerror(rte_errno)}; give DPDK more memory (--memory MB) or use "
            "fewer/smaller buffers")
    m = Mempool._new(pool, n, buf_size, _pool_seq, name)
    _pools[_pool_seq] = m
    return m


def mempool_by_address(uintptr_t addr) -> Mempool:
    for m in _pools.values():
        if (<Mempool>m).address == addr:
            return m
    raise KeyError(f"no mempool at address {addr:#x}")


def all_mempools() -> list:
    return list(_pools.values())


def free_all_mempools():
    """Free every pool (shutdown, after ports are stopped and drained)."""
    cdef Mempool m
    for m in _pools.values():
        if m.pool != NULL:
            rte_mempool_free(m.pool)
            m.pool = NULL
    _pools.clear()
