"""A BPF-style filter for captures: a subset of tcpdump's expression language,
compiled to a Python predicate over the raw frame bytes.

Supported: ``ether``, ``vlan``, ``arp``, ``ip``, ``ip6``, ``icmp``, ``icmp6``, ``udp``,
``tcp``; ``host A``, ``src host A``, ``dst host A`` (IPv4 or IPv6); ``port N``,
``src port N``, ``dst port N``; ``ether src|dst|host MAC``; ``len <= N``/``len >= N``;
``and``/``&&``, ``or``/``||``, ``not``/``!``, parentheses. Frames that are too short
for a test simply do not match: received frames are hostile.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from collections.abc import Callable

from moonpy.errors import ConfigError

Pred = Callable[[bytes], bool]
_TOKEN = re.compile(r"\s*(\(|\)|&&|\|\||!|<=|>=|[^\s()!]+)")


def _l3(frame: bytes) -> tuple[int, int]:
    """(ethertype, offset of the L3 header), skipping VLAN tags."""
    if len(frame) < 14:
        return -1, 0
    off = 12
    etype = struct.unpack_from("!H", frame, off)[0]
    while etype in (0x8100, 0x88A8) and len(frame) >= off + 6:
        off += 4
        etype = struct.unpack_from("!H", frame, off)[0]
    return etype, off + 2


def _l4(frame: bytes) -> tuple[int, int]:
    """(IP protocol, offset of the L4 header), or (-1, 0)."""
    etype, off = _l3(frame)
    if etype == 0x0800 and len(frame) >= off + 20:
        ihl = (frame[off] & 0x0F) * 4
        return (frame[off + 9], off + ihl) if ihl >= 20 else (-1, 0)
    if etype == 0x86DD and len(frame) >= off + 40:
        return frame[off + 6], off + 40
    return -1, 0


def _proto(name: str) -> Pred:
    if name == "ether":
        return lambda f: len(f) >= 14
    if name == "vlan":
        return lambda f: len(f) >= 16 and f[12:14] in (b"\x81\x00", b"\x88\xa8")
    etypes = {"ip": 0x0800, "ip6": 0x86DD, "arp": 0x0806}
    if name in etypes:
        want = etypes[name]
        return lambda f: _l3(f)[0] == want
    protos = {"icmp": 1, "tcp": 6, "udp": 17, "icmp6": 58}
    want = protos[name]
    return lambda f: _l4(f)[0] == want


def _host(addr: str, where: str) -> Pred:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        raise ConfigError(f"filter: '{addr}' is not an IP address") from None
    raw = ip.packed
    v4 = ip.version == 4

    def match(f: bytes) -> bool:
        etype, off = _l3(f)
        if v4 and etype == 0x0800 and len(f) >= off + 20:
            src, dst = f[off + 12 : off + 16], f[off + 16 : off + 20]
        elif not v4 and etype == 0x86DD and len(f) >= off + 40:
            src, dst = f[off + 8 : off + 24], f[off + 24 : off + 40]
        else:
            return False
        return (where != "dst" and src == raw) or (where != "src" and dst == raw)

    return match


def _port(value: str, where: str) -> Pred:
    try:
        port = int(value)
    except ValueError:
        raise ConfigError(f"filter: '{value}' is not a port number") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"filter: port {port} is out of range; ports are 0 to 65535")

    def match(f: bytes) -> bool:
        proto, off = _l4(f)
        if proto not in (6, 17) or len(f) < off + 4:
            return False
        sport, dport = struct.unpack_from("!HH", f, off)
        return (where != "dst" and sport == port) or (where != "src" and dport == port)

    return match


def _ether(value: str, where: str) -> Pred:
    try:
        mac = bytes(int(x, 16) for x in value.replace("-", ":").split(":"))
        assert len(mac) == 6
    except (ValueError, AssertionError):
        raise ConfigError(f"filter: '{value}' is not a MAC address") from None
    return lambda f: (
        len(f) >= 12 and ((where != "src" and f[0:6] == mac) or (where != "dst" and f[6:12] == mac))
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [t for t in _TOKEN.findall(text) if t]
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise ConfigError(f"filter '{self.text}': unexpected end of expression")
        self.pos += 1
        return tok

    def expr(self) -> Pred:
        left = self.term()
        while self.peek() in ("or", "||"):
            self.take()
            right = self.term()
            left = (lambda a, b: lambda f: a(f) or b(f))(left, right)
        return left

    def term(self) -> Pred:
        left = self.factor()
        while self.peek() in ("and", "&&"):
            self.take()
            right = self.factor()
            left = (lambda a, b: lambda f: a(f) and b(f))(left, right)
        return left

    def factor(self) -> Pred:
        tok = self.take()
        if tok in ("not", "!"):
            inner = self.factor()
            return lambda f: not inner(f)
        if tok == "(":
            inner = self.expr()
            if self.take() != ")":
                raise ConfigError(f"filter '{self.text}': missing ')'")
            return inner
        if tok in ("ether",) and self.peek() in ("src", "dst", "host"):
            where = self.take()
            return _ether(self.take(), where)
        if tok in ("ether", "vlan", "arp", "ip", "ip6", "icmp", "icmp6", "udp", "tcp"):
            return _proto(tok)
        where = "any"
        if tok in ("src", "dst"):
            where, tok = tok, self.take()
        if tok == "host":
            return _host(self.take(), where)
        if tok == "port":
            return _port(self.take(), where)
        if tok == "len":
            op, value = self.take(), self.take()
            n = int(value) if value.isdigit() else -1
            if op not in ("<=", ">=") or n < 0:
                raise ConfigError(f"filter '{self.text}': use len <= N or len >= N")
            return (lambda f: len(f) <= n) if op == "<=" else (lambda f: len(f) >= n)
        raise ConfigError(
            f"filter '{self.text}': unsupported term '{tok}'; supported: ether, "
            "vlan, arp, ip, ip6, icmp, icmp6, udp, tcp, [src|dst] host A, "
            "[src|dst] port N, ether src|dst|host MAC, len <=|>= N, and, or, not"
        )


def compile_filter(text: str) -> Pred:
    """Compile a filter expression; a ConfigError names what is not understood."""
    p = _Parser(text)
    pred = p.expr()
    if p.peek() is not None:
        raise ConfigError(f"filter '{text}': unexpected '{p.peek()}'")
    return pred
