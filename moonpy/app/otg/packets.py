"""An OTG flow's ``packet`` (a list of headers whose fields are patterns) compiled to what
moonpy's fast path runs: a template frame and field-engine ops (moonpy.fieldengine's op
tuples, ``struct mp_fe_op``) that vary fields per packet in C, plus the checksum ops that
run after the per-stream signature is written (they cover it).

Field layouts are the wire's, in the OTG model's field names (models: flow/packet-headers).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from moonpy.app.otg.errors import OtgError, unsupported
from moonpy.fieldengine import (
    F_IPV6,
    F_TCP,
    F_UDP,
    FE_DEC,
    FE_INC,
    FE_IP4_CSUM,
    FE_L4_CSUM,
    FE_LENGTHS,
    FE_LIST,
    FE_LIST_BYTES,
    FE_SIZE,
    MAX_OPS,
)

AUTO = object()  # the value comes from the stack (next header, lengths, checksums)

# (name, bits, kind, default); kind: int, mac, ipv4, ipv6, csum (a checksum pattern),
# pad (not an OTG field: reserved bits moonpy writes as 0)
FieldDef = tuple[str, int, str, Any]

HEADERS: dict[str, list[FieldDef]] = {
    "ethernet": [("dst", 48, "mac", 0), ("src", 48, "mac", 0), ("ether_type", 16, "int", AUTO)],
    "vlan": [("priority", 3, "int", 0), ("cfi", 1, "int", 0), ("id", 12, "int", 0),
             ("tpid", 16, "int", AUTO)],
    "ipv4": [("version", 4, "int", 4), ("header_length", 4, "int", 5),
             ("priority", 8, "prio", 0), ("total_length", 16, "int", AUTO),
             ("identification", 16, "int", 0), ("reserved", 1, "int", 0),
             ("dont_fragment", 1, "int", 0), ("more_fragments", 1, "int", 0),
             ("fragment_offset", 13, "int", 0), ("time_to_live", 8, "int", 64),
             ("protocol", 8, "int", AUTO), ("header_checksum", 16, "csum", AUTO),
             ("src", 32, "ipv4", 0), ("dst", 32, "ipv4", 0)],
    "ipv6": [("version", 4, "int", 6), ("traffic_class", 8, "int", 0),
             ("flow_label", 20, "int", 0), ("payload_length", 16, "int", AUTO),
             ("next_header", 8, "int", AUTO), ("hop_limit", 8, "int", 64),
             ("src", 128, "ipv6", 0), ("dst", 128, "ipv6", 0)],
    "udp": [("src_port", 16, "int", 0), ("dst_port", 16, "int", 0), ("length", 16, "int", AUTO),
            ("checksum", 16, "csum", AUTO)],
    "tcp": [("src_port", 16, "int", 0), ("dst_port", 16, "int", 0), ("seq_num", 32, "int", 0),
            ("ack_num", 32, "int", 0), ("data_offset", 4, "int", 5), ("_reserved", 3, "pad", 0),
            ("ecn_ns", 1, "int", 0), ("ecn_cwr", 1, "int", 0), ("ecn_echo", 1, "int", 0),
            ("ctl_urg", 1, "int", 0), ("ctl_ack", 1, "int", 0), ("ctl_psh", 1, "int", 0),
            ("ctl_rst", 1, "int", 0), ("ctl_syn", 1, "int", 0), ("ctl_fin", 1, "int", 0),
            ("window", 16, "int", 0), ("checksum", 16, "csum", AUTO),
            ("_urgent_pointer", 16, "pad", 0)],
    "vxlan": [("flags", 8, "int", 8), ("reserved0", 24, "int", 0), ("vni", 24, "int", 0),
              ("reserved1", 8, "int", 0)],
}  # fmt: skip

# the ipv4 priority byte by its choice: (sub-field, bits) from the most significant bit
PRIORITY = {
    "raw": [("raw", 8)],
    "dscp": [("phb", 6), ("ecn", 2)],
    "tos": [("precedence", 3), ("delay", 1), ("throughput", 1), ("reliability", 1),
            ("monetary", 1), ("unused", 1)],
}  # fmt: skip

# a header's number in the header before it: EtherType, IP protocol / next header
ETHER_TYPES = {"vlan": 0x8100, "ipv4": 0x0800, "ipv6": 0x86DD}
IP_PROTOCOLS = {"udp": 17, "tcp": 6, "ipv4": 4, "ipv6": 41}
IPV4_NO_NEXT, IPV6_NO_NEXT, NO_ETHER_TYPE = 61, 59, 0xFFFF

PATTERN_KEYS = {"choice", "value", "values", "increment", "decrement", "auto", "metric_tags"}


@dataclass
class Compiled:
    """A flow's packet for the fast path: the template, the variation ops (before the
    signature) and the checksum ops (after it), the header length and a description."""

    template: bytes
    ops: list[tuple[Any, ...]]
    post: list[tuple[Any, ...]]
    header_len: int
    stack: list[str] = field(default_factory=list)


def _int(v: Any, kind: str, path: str) -> int:
    try:
        if kind == "mac":
            parts = str(v).split(":")
            if len(parts) != 6:
                raise ValueError(v)
            return int("".join(f"{int(p, 16):02x}" for p in parts), 16)
        if kind in ("ipv4", "ipv6"):
            addr = ipaddress.ip_address(str(v))
            if addr.version != (4 if kind == "ipv4" else 6):
                raise ValueError(v)
            return int(addr)
        return int(v)
    except (TypeError, ValueError):
        raise OtgError(f"{path}: {v!r} is not a valid {kind} value") from None


def _pattern(pat: Any, path: str, bits: int, kind: str) -> tuple[str, Any]:
    """A field pattern as ('fixed', v) | ('auto', None) | ('list', [v]) |
    ('inc'|'dec', (start, step, count))."""
    if pat is None:
        return "default", None
    if not isinstance(pat, dict):
        raise OtgError(f"{path}: expected a pattern object, got {pat!r}")
    for key in pat:
        if key not in PATTERN_KEYS:
            raise unsupported(f"{path}.{key}")
    if pat.get("metric_tags"):
        raise unsupported(f"{path}.metric_tags", "flows are counted as a whole")
    choice = pat.get("choice")
    if choice is None:
        for c in ("value", "values", "increment", "decrement"):
            if c in pat:
                choice = c
                break
        else:
            return "default", None
    top = (1 << bits) - 1

    def num(v: Any, where: str) -> int:
        n = _int(v, kind, where)
        if not 0 <= n <= top:
            raise OtgError(f"{where}: {v!r} does not fit the field's {bits} bits")
        return n

    if choice == "auto":
        return "auto", None
    if choice == "value":
        return "fixed", num(pat.get("value"), f"{path}.value")
    if choice == "values":
        vals = pat.get("values") or []
        if not vals:
            raise OtgError(f"{path}.values: give at least one value")
        return "list", [num(v, f"{path}.values[{i}]") for i, v in enumerate(vals)]
    if choice in ("increment", "decrement"):
        body: dict[str, Any] = pat.get(choice) or {}
        for key in body:
            if key not in ("start", "step", "count"):
                raise unsupported(f"{path}.{choice}.{key}")
        start = num(body.get("start", 0), f"{path}.{choice}.start")
        step = num(body.get("step", 1), f"{path}.{choice}.step")
        count = int(body.get("count", 1))
        if count < 1:
            raise OtgError(f"{path}.{choice}.count must be at least 1")
        if count == 1 or step == 0:
            return "fixed", start
        last = start + (count - 1) * step if choice == "increment" else start - (count - 1) * step
        if not 0 <= last <= top:
            raise unsupported(
                f"{path}.{choice}", f"{count} values from {start} by {step} leave the field's "
                f"{bits} bits (wrapping inside a field is not implemented)"
            )  # fmt: skip
        return ("inc" if choice == "increment" else "dec"), (start, step, count)
    raise unsupported(f"{path}.choice = {choice!r}")


def _place(bit: int, bits: int) -> tuple[int, int, int, int]:
    """(byte offset, container width, shift, mask) of a field at bit ``bit`` (from the frame's
    first bit, most significant first) ``bits`` long; mask 0 = the whole container."""
    first, end = bit // 8, bit + bits
    width = (end + 7) // 8 - first
    shift = width * 8 - (end - first * 8)
    mask = 0 if shift == 0 and bits == width * 8 else ((1 << bits) - 1) << shift
    return first, width, shift, mask


class _Frame:
    """The template being built, bit by bit."""

    def __init__(self, length: int) -> None:
        self.bits = 0
        self.value = 0  # the headers as one big integer, first bit most significant
        self.length = length

    def put(self, bit: int, bits: int, v: int) -> None:
        self.value |= (v & ((1 << bits) - 1)) << (self.bits - bit - bits)

    def grow(self, nbits: int) -> None:
        self.value <<= nbits
        self.bits += nbits

    def head(self) -> bytes:
        return self.value.to_bytes(self.bits // 8, "big")


def _var_op(kind: str, arg: Any, bit: int, bits: int, path: str) -> tuple[Any, ...]:
    off, width, shift, mask = _place(bit, bits)
    if kind == "list":
        if bits > 64:
            if bits % 8 or bit % 8:
                raise unsupported(path, "lists of a wide field that is not whole bytes")
            raw = b"".join(v.to_bytes(bits // 8, "big") for v in arg)
            return (FE_LIST_BYTES, off, bits // 8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, raw, len(arg))
        packed = b"".join(v.to_bytes(8, "little") for v in arg)
        return (FE_LIST, off, width, shift, mask, 0, 0, 0, 0, 1, 0, 0, 0, packed, len(arg))
    start, step, count = arg
    if kind == "inc":
        lo, hi = start, start + (count - 1) * step
    else:
        lo, hi = start - (count - 1) * step, start
    if width > 8:
        # a 128-bit address varies in its low 64 bits; the high ones are the template's
        if lo >> 64 != hi >> 64:
            raise unsupported(path, "an IPv6 increment may change only the low 64 bits")
        m64 = (1 << 64) - 1
        off, width, shift, mask = off + 8, 8, 0, 0
        lo, hi, start = lo & m64, hi & m64, start & m64
    return (FE_INC if kind == "inc" else FE_DEC, off, width, shift, mask, lo, hi, step, start,
            1, 0, 0, 0, None, 0)  # fmt: skip


def compile_packet(
    headers: list[Any], path: str, frame_len: int, sizes_vary: bool, min_len: int
) -> Compiled:
    """Compile ``flows[i].packet`` for frames of ``frame_len`` bytes (CRC excluded; the
    largest when ``sizes_vary``, then lengths are set per packet and ``min_len`` is the
    smallest)."""
    if not headers:
        raise OtgError(f"{path}: a flow needs at least an ethernet header")
    names: list[str] = []
    bodies: list[dict[str, Any]] = []
    for i, h in enumerate(headers):
        where = f"{path}[{i}]"
        if not isinstance(h, dict):
            raise OtgError(f"{where}: expected a header object")
        choice = h.get("choice") or next((k for k in h if k != "choice"), None)
        if choice not in HEADERS:
            raise unsupported(f"{where}.{choice}", "headers: " + ", ".join(HEADERS))
        for key in h:
            if key not in ("choice", choice):
                raise OtgError(f"{where}: '{key}' given with choice '{choice}'")
        names.append(choice)
        bodies.append(h.get(choice) or {})
    if names[0] != "ethernet":
        raise unsupported(f"{path}[0].{names[0]}", "the first header must be ethernet")
    frame = _Frame(frame_len)
    ops: list[tuple[Any, ...]] = []
    post: list[tuple[Any, ...]] = []
    auto: list[tuple[int, int, str, int, str]] = []  # (bit, bits, header, index, field)
    offsets: list[int] = []
    for i, (name, body) in enumerate(zip(names, bodies, strict=True)):
        where = f"{path}[{i}].{name}"
        defs = HEADERS[name]
        known = {d[0] for d in defs if d[2] != "pad"}
        for key in body:
            if key not in known:
                raise unsupported(f"{where}.{key}")
        start_bit = frame.bits
        offsets.append(start_bit // 8)
        frame.grow(sum(d[1] for d in defs))
        bit = start_bit
        for fname, bits, kind, default in defs:
            fpath = f"{where}.{fname}"
            if kind == "pad":
                bit += bits
                continue
            if kind == "prio":
                _priority(body.get(fname), fpath, frame, bit, ops)
                bit += bits
                continue
            if kind == "csum":
                _checksum(body.get(fname), fpath)
                bit += bits
                continue
            how, arg = _pattern(body.get(fname), fpath, bits, kind)
            if how == "default":
                how, arg = ("auto", None) if default is AUTO else ("fixed", default)
            if how == "auto":
                if default is not AUTO:
                    raise unsupported(f"{fpath}.auto", "moonpy has no emulated devices to take "
                                      "it from; give a value")  # fmt: skip
                auto.append((bit, bits, name, i, fname))
            elif how == "fixed":
                frame.put(bit, bits, arg)
            else:
                frame.put(bit, bits, arg[0] if how == "list" else arg[0])
                ops.append(_var_op(how, arg, bit, bits, fpath))
            bit += bits
    hdr_len = frame.bits // 8
    if min_len < hdr_len:
        raise OtgError(
            f"{path}: the headers ({'/'.join(names)}) take {hdr_len} bytes, more than the "
            f"frame size {min_len + 4} (with CRC) leaves"
        )
    # an inner Ethernet frame (VXLAN's) keeps 4 bytes for its own FCS at its end, as
    # ixia-c builds it (the OTG conformance suite checks the inner lengths)
    inner = [i for i, n in enumerate(names) if n == "ethernet" and i > 0]
    if inner and sizes_vary:
        raise unsupported(f"{path}[{inner[0]}].ethernet", "an inner Ethernet frame with sizes "
                          "that vary")  # fmt: skip
    for bit, bits, name, i, fname in auto:
        nxt = names[i + 1] if i + 1 < len(names) else None
        end = frame_len - 4 * sum(1 for j in inner if j <= i)
        frame.put(bit, bits, _auto_value(name, fname, nxt, end, offsets[i]))
    tpl = frame.head() + bytes(frame_len - hdr_len)
    # lengths per packet when sizes vary; checksums last, inner headers first (the outer
    # UDP checksum covers the inner ones), after the signature
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < len(names) else None
        if sizes_vary and name in ("ipv4", "ipv6"):
            flags = (F_IPV6 if name == "ipv6" else 0) | (F_UDP if nxt == "udp" else 0)
            l4 = offsets[i + 1] if nxt == "udp" else 0
            ops.append((FE_LENGTHS, offsets[i], 0, 0, 0, 0, 0, 0, 0, 1, l4, 0, flags, None, 0))
        elif sizes_vary and name == "udp" and (i == 0 or names[i - 1] not in ("ipv4", "ipv6")):
            raise unsupported(f"{path}[{i}].udp", "a UDP header not after IPv4/IPv6 with "
                              "sizes that vary")  # fmt: skip
    for i in range(len(names) - 1, -1, -1):
        name = names[i]
        if name in ("udp", "tcp") and i > 0 and names[i - 1] in ("ipv4", "ipv6"):
            flags = (F_IPV6 if names[i - 1] == "ipv6" else 0) | (F_UDP if name == "udp" else F_TCP)
            l3 = offsets[i - 1]
            l3_len = 20 if names[i - 1] == "ipv4" else 40
            post.append((FE_L4_CSUM, l3, 0, 0, 0, 0, 0, 0, 0, 1, offsets[i], l3_len, flags,
                         None, 0))  # fmt: skip
        elif name in ("udp", "tcp"):
            raise unsupported(f"{path}[{i}].{name}", "UDP/TCP directly after an IPv4/IPv6 "
                              "header only (their checksums need it)")  # fmt: skip
        if name == "ipv4":
            post.append((FE_IP4_CSUM, offsets[i], 0, 0, 0, 0, 0, 0, 0, 1, 0, 20, 0, None, 0))
    if sizes_vary:
        ops.insert(0, (FE_SIZE, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, None, 0))
    if len(ops) > MAX_OPS or len(post) > MAX_OPS:
        raise unsupported(path, f"more than {MAX_OPS} varying fields")
    return Compiled(tpl, ops, post, hdr_len, names)


def _auto_value(name: str, fname: str, nxt: str | None, frame_len: int, off: int) -> int:
    if fname in ("ether_type", "tpid"):
        return ETHER_TYPES.get(nxt or "", NO_ETHER_TYPE)
    if fname == "protocol":
        return IP_PROTOCOLS.get(nxt or "", IPV4_NO_NEXT)
    if fname == "next_header":
        return IP_PROTOCOLS.get(nxt or "", IPV6_NO_NEXT)
    if fname == "total_length":
        return frame_len - off
    if fname == "payload_length":
        return frame_len - off - 40
    if fname == "length":  # udp
        return frame_len - off
    raise AssertionError(f"{name}.{fname} has no automatic value")


def _checksum(pat: Any, path: str) -> None:
    """Checksums are computed per packet (they cover the signature); only 'good' ones."""
    if pat is None:
        return
    if not isinstance(pat, dict):
        raise OtgError(f"{path}: expected a checksum object")
    choice = pat.get("choice", "generated")
    if choice != "generated" or pat.get("generated", "good") != "good":
        raise unsupported(f"{path}", "checksums are always generated good")
    for key in pat:
        if key not in ("choice", "generated"):
            raise unsupported(f"{path}.{key}")


def _priority(pat: Any, path: str, frame: _Frame, bit: int, ops: list[tuple[Any, ...]]) -> None:
    if pat is None:
        return
    choice = pat.get("choice", "dscp")
    if choice not in PRIORITY:
        raise unsupported(f"{path}.{choice}")
    for key in pat:
        if key not in ("choice", choice):
            raise OtgError(f"{path}: '{key}' given with choice '{choice}'")
    if choice == "raw":
        subs: dict[str, Any] = {"raw": pat.get("raw")}
    else:
        subs = pat.get(choice) or {}
    known = {n for n, _ in PRIORITY[choice]}
    for key in subs:
        if key not in known:
            raise unsupported(f"{path}.{choice}.{key}")
    for sub, bits in PRIORITY[choice]:
        where = f"{path}.{choice}" if choice == "raw" else f"{path}.{choice}.{sub}"
        how, arg = _pattern(subs.get(sub), where, bits, "int")
        if how == "auto":
            raise unsupported(f"{where}.auto")
        if how == "fixed":
            frame.put(bit, bits, arg)
        elif how != "default":
            frame.put(bit, bits, arg[0])
            ops.append(_var_op(how, arg, bit, bits, where))
        bit += bits
