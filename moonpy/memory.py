"""Mempools and buffer arrays (MoonGen's ``memory`` module, Python names).

Buffers keep their data across free and alloc: only metadata is reset. Write a
template once (``create_mempool(init=...)`` or ``template=...``), then patch a
few fields per packet, exactly as MoonGen scripts do.

    pool = memory.create_mempool(init=lambda pkt: pkt.fill(length=60, udp_dport=319))
    bufs = pool.buf_array()
    bufs.alloc(60)
    for pkt in bufs:
        pkt.ip4.src = random.getrandbits(32)
    bufs.offload_udp_checksums()
    queue.send(bufs)
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

from moonpy import _dpdk
from moonpy.packet import Packet
from moonpy.proto import Layout, decode, template_bytes

INIT_SIZE = 1522  # what MoonGen allocates buffers with before calling a pool's init function
_INIT_CHUNK = 4096

TemplateLike = Any  # bytes, bytearray, memoryview or a Scapy packet


class Mempool:
    """A pool of DPDK mbufs. Create with :func:`create_mempool`; freed at shutdown."""

    def __init__(self, raw: _dpdk.Mempool, layout: Layout | None = None) -> None:
        self.raw = raw
        self.layout = layout  # the header layout the pool's buffers were filled with

    @property
    def size(self) -> int:
        return self.raw.size

    @property
    def buf_size(self) -> int:
        return self.raw.data_room

    @property
    def avail(self) -> int:
        """Buffers in the pool right now."""
        return self.raw.avail

    @property
    def address(self) -> int:
        return self.raw.address

    def buf_array(self, n: int = 63) -> BufArray:
        """An array of ``n`` buffers that allocates from this pool."""
        return BufArray(n, self)

    def __repr__(self) -> str:
        return f"<Mempool {self.raw.name} n={self.size} buf_size={self.buf_size}>"


def create_mempool(
    n: int = 2047,
    *,
    buf_size: int = 2048,
    init: Callable[[Packet], object] | None = None,
    template: TemplateLike | None = None,
    socket: int = -1,
) -> Mempool:
    """A pool of ``n`` buffers of ``buf_size`` bytes (DPDK headroom added).

    ``init`` is called once for each buffer with a :class:`~moonpy.packet.Packet`
    of 1522 bytes (MoonGen's ``createMemPool(function(buf) ... end)``);
    ``template`` (bytes or a Scapy packet) is copied into every buffer instead,
    in C. Either way the pool remembers the header layout for its packet views.
    """
    raw = _dpdk.create_mempool(n=n, buf_size=buf_size, socket=socket)
    layout: Layout | None = None
    if template is not None:
        data = template_bytes(template)
        _dpdk.pool_write_template(raw, data, len(data))
        layout = decode(bytearray(data))
    if init is not None:
        layout = _run_init(raw, init) or layout
    return Mempool(raw, layout)


def _run_init(raw: _dpdk.Mempool, init: Callable[[Packet], object]) -> Layout | None:
    """Hand every buffer of a fresh pool to ``init`` once, then give them back."""
    size = min(INIT_SIZE, raw.data_room)
    arrays: list[_dpdk.BufArray] = []
    layout: Layout | None = None
    try:
        left = raw.avail
        while left > 0:
            k = min(left, _INIT_CHUNK)
            arr = _dpdk.BufArray(k)
            arr.alloc(raw, size)
            arrays.append(arr)
            left -= k
            for pkt in _dpdk.mbuf_views(arr, Packet):
                init(pkt)
                if layout is None and pkt.layout is not None:
                    layout = pkt.layout
    finally:
        for arr in arrays:
            arr.free()
    return layout


class BufArray:
    """A batch of buffers (MoonGen's bufArray): allocate, iterate packet views,
    request checksum offloads, send or receive — one C call per batch."""

    def __init__(self, n: int = 63, pool: Mempool | None = None) -> None:
        self.raw = _dpdk.BufArray(n)
        self.pool = pool
        self.layout: Layout | None = pool.layout if pool is not None else None
        _live_arrays.add(self)

    @property
    def capacity(self) -> int:
        return self.raw.capacity

    def __len__(self) -> int:
        return len(self.raw)

    def alloc(self, size: int, n: int | None = None) -> int:
        """Fill the array (or its first ``n`` entries) with buffers of ``size`` bytes."""
        if self.pool is None:
            raise ValueError("this buf array has no mempool (memory.buf_array() is for receiving)")
        return self.raw.alloc(self.pool.raw, size, n)

    def packets(self) -> list[Packet]:
        """A view of every buffer in the array."""
        return _dpdk.mbuf_views(self.raw, Packet, self.layout)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Packet]:
        return iter(self.packets())

    def __getitem__(self, i: int) -> Packet:
        if i < 0:
            i += len(self)
        return _dpdk.mbuf_view(self.raw, i, Packet, self.layout)  # type: ignore[no-any-return]

    def total_bytes(self) -> int:
        """The frame lengths of the buffers held, summed (CRC excluded; one C call)."""
        return _dpdk.bufarray_bytes(self.raw)  # type: ignore[no-any-return]

    def free(self) -> None:
        """Give every buffer back to its pool (MoonGen's ``freeAll``)."""
        self.raw.free()

    free_all = free

    # ---- offloads (MoonGen's bufArray:offload*Checksums) ----------------------------

    def offload_ip_checksums(self, ipv4: bool = True, l2_len: int = 14, l3_len: int | None = None):
        """Request the IPv4 header checksum from the NIC (software on virtual ports)."""
        _dpdk.bufarray_offload(self.raw, 0, ipv4, l2_len, l3_len or (20 if ipv4 else 40))

    def offload_udp_checksums(
        self, ipv4: bool = True, l2_len: int = 14, l3_len: int | None = None
    ) -> None:
        """Request IP and UDP checksums: sets the offload flags and writes the
        pseudo-header sum, as MoonGen does; virtual ports finish the checksums in
        software when the frame leaves (null ports skip that)."""
        l3 = l3_len or (20 if ipv4 else 40)
        _dpdk.bufarray_offload(self.raw, _dpdk.FE_F_UDP, ipv4, l2_len, l3)

    def offload_tcp_checksums(
        self, ipv4: bool = True, l2_len: int = 14, l3_len: int | None = None
    ) -> None:
        """The same for TCP."""
        l3 = l3_len or (20 if ipv4 else 40)
        _dpdk.bufarray_offload(self.raw, _dpdk.FE_F_TCP, ipv4, l2_len, l3)

    def set_vlans(self, vlan: int, pcp: int = 0, cfi: int = 0) -> None:
        """VLAN insertion offload on every buffer (tag ``vlan + pcp<<13 + cfi<<12``)."""
        _dpdk.bufarray_set_vlans(self.raw, (vlan & 0xFFF) | (pcp & 7) << 13 | (cfi & 1) << 12)

    def __repr__(self) -> str:
        return f"[BufArray: size={self.capacity}]"


_live_arrays: weakref.WeakSet[BufArray] = weakref.WeakSet()


def free_all_arrays() -> int:
    """Give back the buffers every BufArray still holds (end of a run, once
    tasks have stopped); returns how many."""
    n = 0
    for arr in list(_live_arrays):
        n += len(arr.raw)
        arr.raw.free()
    return n


def buf_array(n: int = 63) -> BufArray:
    """A buffer array without a pool, for receiving (MoonGen's ``memory.bufArray``)."""
    return BufArray(n)
