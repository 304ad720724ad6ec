# api.pxi - publishing the fast path to LuaJIT.


def api_address() -> int:
    """Address of the ``struct mp_api`` (exact as a Lua number: below 2^53)."""
    return <uintptr_t>mp_api_get()


def abi_version() -> int:
    return MP_API_VERSION


def mbuf_layout() -> dict:
    """The rte_mbuf fields scripts use: ``{name: (offset, size, ctype)}``, plus
    ``udata64`` (moonpy's dynfield, valid after ``eal_init``) and ``__size__``."""
    cdef int n = 0
    cdef const mp_field *f = mp_mbuf_fields(&n)
    out = {}
    for i in range(n):
        out[f[i].name.decode()] = (f[i].offset, f[i].size, f[i].ctype.decode())
    if _udata64_offset >= 0:
        out["udata64"] = (_udata64_offset, 8, "uint64_t")
    out["__size__"] = (0, mp_mbuf_size(), "")
    return out


def headroom() -> int:
    return RTE_PKTMBUF_HEADROOM
