"""The field engine: per-packet variations declared once, applied in C.

    stream = Stream(
        template=UDP4.build(length=60, ip4_dst="10.1.0.1", udp_dport=319),
        vary=[Random("ip4.src"), Increment("udp.sport", 1000, 1999)],
        fix=[OffloadChecksums()],
    )
    queue.send_stream(stream, duration=10)

Python describes the traffic; ``compile()`` turns it into an array of C ops
(``struct mp_fe_op``) and ``send_stream`` runs the loop alloc -> apply -> send
with the GIL released, one C call per step and burst: no Python per packet.

Variations name a field by path (``"ip4.src"``, ``"udp.sport"``,
``"eth.dst"``, ``"vlan.vlan"``, ``"ip6.dst"`` ...), resolved against the
template's headers. Fixups run after the variations: lengths from the frame
size, software checksums, or MoonGen-style checksum offload requests. Packet
sizes can follow a distribution (:data:`IMIX`).
"""

from __future__ import annotations

import random as _random
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as _field  # a Var has a member called field
from typing import TYPE_CHECKING, Any, Protocol

from moonpy.proto import Field, IPv6Field, Layout, decode, template_bytes

if TYPE_CHECKING:
    from moonpy import _dpdk
    from moonpy.memory import BufArray, Mempool

# op kinds and flags (mp_fieldengine.h); kept here so compile() needs no DPDK
FE_RANDOM, FE_INC, FE_DEC, FE_LIST, FE_LIST_BYTES, FE_RANDOM_LIST = 1, 2, 3, 4, 5, 6
FE_SIZE, FE_LENGTHS, FE_IP4_CSUM, FE_L4_CSUM, FE_OFFLOAD = 10, 11, 12, 13, 14
F_IPV6, F_UDP, F_TCP = 0x1, 0x2, 0x4
MAX_OPS = 64
MAX_SIZE_TABLE = 4096

OpSpec = tuple[Any, ...]


# ---- variations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Var:
    """Base of the variations: a field path and how many packets share each value."""

    field: str
    every: int = _field(default=1, kw_only=True)


@dataclass(frozen=True)
class Random(Var):
    """A uniformly random value in ``[min, max]`` per packet (default: the
    field's whole range). Addresses may be given as strings."""

    min: Any = None
    max: Any = None


@dataclass(frozen=True)
class Increment(Var):
    """``start, start+step, ...`` wrapping from ``max`` back to ``min``.

    ``count`` values from ``min`` instead of ``max``: ``Increment("ip4.src",
    "10.0.0.1", count=256)``. ``start`` defaults to ``min``.
    """

    min: Any = None
    max: Any = None
    step: int = _field(default=1, kw_only=True)
    start: Any = _field(default=None, kw_only=True)
    count: int | None = _field(default=None, kw_only=True)


@dataclass(frozen=True)
class Decrement(Increment):
    """``start, start-step, ...`` wrapping from ``min`` back to ``max``;
    ``start`` defaults to ``max``."""


@dataclass(frozen=True)
class FromList(Var):
    """Values from ``values`` in turn (or at random with ``random=True``)."""

    values: Sequence[Any] = ()
    random: bool = _field(default=False, kw_only=True)


# ---- fixups --------------------------------------------------------------------------


class Fixup:
    """Base of the fixups; they run after every variation, in the order
    lengths, IPv4 checksum, L4 checksum, offload request."""

    order = 0


@dataclass(frozen=True)
class Lengths(Fixup):
    """IPv4 total length or IPv6 payload length, and UDP length, from each
    frame's size (added automatically when sizes vary)."""

    order = 1


@dataclass(frozen=True)
class Ipv4Checksum(Fixup):
    """Compute the IPv4 header checksum in software, per packet."""

    order = 2


@dataclass(frozen=True)
class L4Checksum(Fixup):
    """Compute the UDP or TCP checksum (IPv4 or IPv6) in software, per packet."""

    order = 3


UdpChecksum = L4Checksum
TcpChecksum = L4Checksum


@dataclass(frozen=True)
class OffloadChecksums(Fixup):
    """MoonGen's ``offloadUdpChecksums``/``offloadTcpChecksums``: set the
    offload flags and the pseudo-header sum; the NIC finishes the checksums
    (moonpy does on virtual ports; null ports skip it)."""

    order = 4


# ---- sizes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """Frame sizes (CRC excluded) with weights: ``Sizes([(60, 7), (590, 4),
    (1514, 1)])``. Sizes come in a fixed interleaved order (smooth weighted
    round robin) unless ``random=True``."""

    dist: tuple[tuple[int, float], ...]
    random: bool = False

    def __post_init__(self) -> None:
        dist = tuple((int(s), float(w)) for s, w in self.dist)
        if not dist or any(w <= 0 or s <= 0 for s, w in dist):
            raise ValueError("Sizes needs (size, weight) pairs with positive values")
        object.__setattr__(self, "dist", dist)

    @property
    def max_size(self) -> int:
        return max(s for s, _ in self.dist)

    @property
    def min_size(self) -> int:
        return min(s for s, _ in self.dist)

    def table(self) -> list[int]:
        """One period of sizes in the order they are sent."""
        weights = [w for _, w in self.dist]
        if all(w.is_integer() for w in weights) and sum(weights) <= MAX_SIZE_TABLE:
            ints = [int(w) for w in weights]
        else:
            total = sum(weights)
            ints = [max(1, round(w / total * 1000)) for w in weights]
        current = [0] * len(ints)
        out: list[int] = []
        for _ in range(sum(ints)):
            for i, w in enumerate(ints):
                current[i] += w
            best = max(range(len(ints)), key=lambda i: current[i])
            current[best] -= sum(ints)
            out.append(self.dist[best][0])
        return out

    def average(self) -> float:
        t = self.table()
        return sum(t) / len(t)


IMIX = Sizes(((60, 7), (590, 4), (1514, 1)))
"""The simple IMIX: 7:4:1 of 64, 594 and 1518-byte frames (60/590/1514 without CRC)."""


# ---- the stream and its compiled form ------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """Traffic described once: a template, per-packet variations, fixups, sizes.

    ``template``: bytes or a Scapy packet (``moonpy.proto`` stacks build
    them: ``UDP4.build(length=60, ...)``). ``size``: a frame size, or
    :class:`Sizes` (default: the template's length). ``seed`` makes random
    variations repeatable.
    """

    template: Any
    vary: Sequence[Var] = ()
    fix: Sequence[Fixup] = ()
    size: int | Sizes | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "template", template_bytes(self.template))
        object.__setattr__(self, "vary", tuple(self.vary))
        object.__setattr__(self, "fix", tuple(self.fix))
        for v in self.vary:
            if not isinstance(v, Var):
                raise TypeError(f"vary takes Random/Increment/Decrement/FromList, got {v!r}")
        for f in self.fix:
            if not isinstance(f, Fixup):
                raise TypeError(f"fix takes Lengths/Ipv4Checksum/L4Checksum/OffloadChecksums, "
                                f"got {f!r}")  # fmt: skip

    def compile(self) -> Program:
        """Resolve field paths against the template and build the op array."""
        return _compile(self)


@dataclass
class Program:
    """A compiled stream: the template (padded to the largest size), its
    header layout, the ops for C, and the size table."""

    template: bytes
    layout: Layout
    ops: list[OpSpec]
    pkt_len: int
    max_size: int
    sizes: bytes | None = None
    size_random: bool = False
    seed: int | None = None

    def native(self, seed: int | None = None) -> _dpdk.FieldProgram:
        """A fresh C program (its own counters and random state)."""
        from moonpy import _dpdk

        s = seed if seed is not None else self.seed
        if s is None:
            s = _random.SystemRandom().getrandbits(64)
        return _dpdk.FieldProgram(self.ops, self.sizes, self.size_random, s & (2**64 - 1))

    def make_pool(self, n: int = 4095) -> Mempool:
        """A mempool whose buffers all hold the template."""
        from moonpy import _dpdk
        from moonpy.memory import Mempool

        raw = _dpdk.create_mempool(n=n, buf_size=max(2048, self.max_size))
        _dpdk.pool_write_template(raw, self.template, len(self.template))
        return Mempool(raw, self.layout)


def _values(f: Field, path: str, *values: Any) -> list[int | None]:
    out: list[int | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        try:
            out.append(f.to_int(v))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: {e}") from None
    return out


def _var_op(v: Var, layout: Layout, tpl: bytearray, max_size: int) -> OpSpec:
    f, hdr = layout.field(v.field)
    if v.every < 1:
        raise ValueError(f"{v.field}: every must be at least 1, got {v.every}")
    off, width, shift, mask = hdr + f.offset, f.width, f.shift, f.mask
    if off + width > max_size:
        raise ValueError(f"{v.field} (bytes {off}..{off + width}) lies beyond the frame")
    top = f.max_value
    wide = isinstance(f, IPv6Field)
    if isinstance(v, FromList):
        vals = [x for x in _values(f, v.field, *v.values) if x is not None]
        if not vals:
            raise ValueError(f"{v.field}: FromList needs at least one value")
        if wide:
            raw = b"".join(x.to_bytes(16, "big") for x in vals)
            return (FE_LIST_BYTES, off, 16, 0, 0, 0, 0, 0, 0, v.every, 0, 0, 0, raw, len(vals))
        packed = b"".join(x.to_bytes(8, "little") for x in vals)
        kind = FE_RANDOM_LIST if v.random else FE_LIST
        return (kind, off, width, shift, mask, 0, 0, 0, 0, v.every, 0, 0, 0, packed, len(vals))
    assert isinstance(v, (Random, Increment)), v
    lo, hi = _values(f, v.field, v.min, v.max)
    start = None
    step = 1
    if isinstance(v, Increment):
        step = v.step
        if step < 1:
            raise ValueError(f"{v.field}: step must be at least 1, got {step}")
        (start,) = _values(f, v.field, v.start)
        if lo is None:
            lo = start if start is not None and not isinstance(v, Decrement) else 0
        if v.count is not None:
            if v.count < 1:
                raise ValueError(f"{v.field}: count must be at least 1")
            if isinstance(v, Decrement) and hi is None and start is not None:
                hi, lo = start, start - (v.count - 1) * step
            else:
                hi = lo + (v.count - 1) * step
    lo = 0 if lo is None else lo
    hi = top if hi is None else hi
    if not 0 <= lo <= hi <= top:
        raise ValueError(f"{v.field}: range {lo}..{hi} is empty or outside the field")
    if start is None:
        start = hi if isinstance(v, Decrement) else lo
    if not lo <= start <= hi:
        raise ValueError(f"{v.field}: start {start} is outside {lo}..{hi}")
    if wide:
        # 128-bit addresses vary in their low 64 bits; the high half comes from the range
        if lo >> 64 != hi >> 64:
            raise ValueError(f"{v.field}: an IPv6 range may vary only the low 64 bits")
        tpl[off : off + 8] = (lo >> 64).to_bytes(8, "big")
        mask64 = (1 << 64) - 1
        lo, hi, start, off, width = lo & mask64, hi & mask64, start & mask64, off + 8, 8
    if isinstance(v, Random):
        kind = FE_RANDOM
    elif isinstance(v, Decrement):
        kind = FE_DEC
    elif isinstance(v, Increment):
        kind = FE_INC
    else:
        raise TypeError(f"unknown variation {v!r}")
    return (kind, off, width, shift, mask, lo, hi, step, start, v.every, 0, 0, 0, None, 0)


def _l3_l4(layout: Layout, what: str) -> tuple[int, int, int, int]:
    """(l3 offset, l3 length, l4 offset, flags) for a fixup."""
    ip4, ip6 = layout.find("ip4"), layout.find("ip6")
    if ip4 is None and ip6 is None:
        raise ValueError(f"{what}: the template ({layout}) has no IPv4 or IPv6 header")
    flags = 0
    if ip4 is not None:
        l3 = ip4[1]
        after = [off for _, _, off in layout.entries if off > l3]
        l3_len = after[0] - l3 if after else layout.end - l3
    else:
        assert ip6 is not None
        l3, l3_len, flags = ip6[1], 40, F_IPV6
    l4 = 0
    for member, flag in (("udp", F_UDP), ("tcp", F_TCP)):
        hit = layout.find(member)
        if hit is not None and hit[1] > l3:
            l4, flags = hit[1], flags | flag
            break
    return l3, l3_len, l4, flags


def _compile(stream: Stream) -> Program:
    tpl = bytearray(stream.template)
    layout = decode(bytearray(tpl))
    sizes: bytes | None = None
    size_random = False
    if isinstance(stream.size, Sizes):
        table = stream.size.table()
        max_size = stream.size.max_size
        if stream.size.min_size < layout.end:
            raise ValueError(
                f"size {stream.size.min_size} is shorter than the template's headers "
                f"({layout}, {layout.end} bytes)"
            )
        sizes = b"".join(s.to_bytes(2, "little") for s in table)
        size_random = stream.size.random
        pkt_len = table[0]
    else:
        pkt_len = len(tpl) if stream.size is None else int(stream.size)
        if pkt_len < 14:
            raise ValueError(f"frame size {pkt_len} is too small")
        max_size = max(pkt_len, len(tpl))
    if len(tpl) < max_size:
        tpl.extend(bytes(max_size - len(tpl)))
    if max_size > 65535 - 128:
        raise ValueError(f"frame size {max_size} is too large")
    ops: list[OpSpec] = []
    if sizes is not None:
        ops.append((FE_SIZE, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, None, 0))
    for v in stream.vary:
        ops.append(_var_op(v, layout, tpl, max_size))
    fixups = sorted(set(stream.fix) | ({Lengths()} if sizes is not None else set()),
                    key=lambda f: f.order)  # fmt: skip
    for fx in fixups:
        l3, l3_len, l4, flags = _l3_l4(layout, type(fx).__name__)
        if isinstance(fx, Lengths):
            ops.append((FE_LENGTHS, l3, 0, 0, 0, 0, 0, 0, 0, 1, l4, l3_len, flags, None, 0))
        elif isinstance(fx, Ipv4Checksum):
            if flags & F_IPV6:
                raise ValueError(f"Ipv4Checksum: the template ({layout}) is IPv6")
            ops.append((FE_IP4_CSUM, l3, 0, 0, 0, 0, 0, 0, 0, 1, l4, l3_len, flags, None, 0))
        elif isinstance(fx, L4Checksum):
            if not l4:
                raise ValueError(f"L4Checksum: the template ({layout}) has no UDP or TCP header")
            ops.append((FE_L4_CSUM, l3, 0, 0, 0, 0, 0, 0, 0, 1, l4, l3_len, flags, None, 0))
        elif isinstance(fx, OffloadChecksums):
            ops.append((FE_OFFLOAD, l3, 0, 0, 0, 0, 0, 0, 0, 1, l4, l3_len, flags, None, 0))
    if len(ops) > MAX_OPS:
        raise ValueError(f"a stream compiles to at most {MAX_OPS} ops, this one to {len(ops)}")
    return Program(bytes(tpl), layout, ops, pkt_len, max_size, sizes, size_random, stream.seed)


# ---- running -------------------------------------------------------------------------


class TxQueue(Protocol):
    """What the send loop needs of a queue (moonpy.device.TxQueue has it): a protocol,
    so the field engine sits below the device API that calls it."""

    qid: int

    @property
    def _dpdk_port(self) -> int: ...


def send_stream(
    queue: TxQueue,
    stream: Stream | Program,
    *,
    count: int = 0,
    duration: float = 0.0,
    pool: Mempool | None = None,
    batch: int = 63,
    seed: int | None = None,
) -> int:
    """Send ``stream`` on ``queue`` until the run stops, ``count`` packets
    (0: no limit) or ``duration`` seconds (0: no limit); returns the packets
    sent. The loop runs in C without the GIL; the queue's rate limit applies.

    ``pool``: a mempool already holding the template (default: a new one of
    4095 buffers; pools live until the end of the run).
    """
    from moonpy import _dpdk

    prog = stream if isinstance(stream, Program) else stream.compile()
    if pool is None:
        pool = prog.make_pool()
    native = prog.native(seed)
    return _dpdk.fe_send_loop(  # type: ignore[no-any-return]
        queue._dpdk_port, queue.qid, pool.raw, native, prog.pkt_len, count, duration, batch
    )


def apply(program: _dpdk.FieldProgram, bufs: BufArray) -> None:
    """Run a native program over an allocated BufArray (one C call), for loops
    that mix the field engine with Python: ``alloc -> apply -> send``."""
    program.apply(bufs.raw)


def template(stack: Any = "udp", length: int = 60, **fields: Any) -> bytes:
    """Build a template frame: ``template("udp", 60, ip4_dst="10.1.0.1")``."""
    from moonpy.proto import Stack

    return Stack.parse(stack).build(length, **fields)


__all__ = [
    "IMIX", "Decrement", "Fixup", "FromList", "Increment", "Ipv4Checksum", "L4Checksum",
    "Lengths", "OffloadChecksums", "Program", "Random", "Sizes", "Stream", "TcpChecksum",
    "UdpChecksum", "Var", "apply", "send_stream", "template",
]  # fmt: skip
