"""The OTG configuration (``POST /config``) checked against the subset moonpy serve
implements and parsed into plain objects. Every key is looked at: a field outside the
subset (or a value of it moonpy cannot honour) is an OTG validation error naming it, never
silently ignored; the defaults snappi writes for fields it always serializes (gaps of 12
bytes, latency mode, layer1 MTU) are accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from moonpy.app.otg.errors import OtgError, unsupported
from moonpy.app.otg.packets import Compiled, compile_packet
from moonpy.fieldengine import Sizes

SIGNATURE_LEN = 16  # moonpy.streams: magic, stream id, sequence number, TX TSC
CRC = 4
WIRE_OVERHEAD = 24  # CRC, preamble and start delimiter, inter-frame gap: a link's share
SPEEDS = {
    "speed_10_fd_mbps": 10e6, "speed_10_hd_mbps": 10e6, "speed_100_fd_mbps": 100e6,
    "speed_100_hd_mbps": 100e6, "speed_1_gbps": 1e9, "speed_10_gbps": 10e9,
    "speed_25_gbps": 25e9, "speed_40_gbps": 40e9, "speed_50_gbps": 50e9,
    "speed_100_gbps": 100e9, "speed_200_gbps": 200e9, "speed_400_gbps": 400e9,
    "speed_800_gbps": 800e9,
}  # fmt: skip
DEFAULT_SPEED = 10e9  # what moonpy says a virtual link is (engine.link)

# a location naming a port of another moonpy server: [http(s)://]host:port/port
REMOTE = re.compile(r"^(?:(https?)://)?([^/\s]+):(\d+)/(\S+)$")
ELSEWHERE = "moonpy-elsewhere"  # a port another server drives (in the parts it is sent)


@dataclass
class PortConf:
    name: str
    location: str
    local: int | None = None  # this server's port id
    server: str | None = None  # another moonpy server's URL
    remote_port: str | None = None  # the port there


@dataclass
class FlowConf:
    name: str
    index: int  # its stream id
    tx: str
    rx: list[str]
    packet: Compiled
    pkt_len: int  # the largest frame, CRC excluded
    sizes: Sizes | None
    avg_size: float  # with CRC
    pps: float
    bps: float
    overhead: int
    packets: int
    seconds: float
    delay: float
    metrics: bool
    latency: bool


@dataclass
class Conf:
    raw: dict[str, Any]
    ports: dict[str, PortConf] = field(default_factory=dict)
    flows: list[FlowConf] = field(default_factory=list)
    captures: dict[str, bool] = field(default_factory=dict)  # port -> overwrite
    offset: int = 42  # where every flow's signature sits


def _keys(obj: Any, path: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise OtgError(f"{path}: expected an object, got {type(obj).__name__}")
    for key in obj:
        if key not in allowed:
            raise unsupported(f"{path}.{key}")
    return obj


def _choice(obj: dict[str, Any], path: str, allowed: set[str], default: str) -> str:
    choice = obj.get("choice", default)
    if choice not in allowed:
        raise unsupported(f"{path}.{choice}", f"choose one of {', '.join(sorted(allowed))}")
    for key in obj:
        if key not in ("choice", choice):
            if isinstance(obj[key], dict) and not obj[key]:
                continue
            raise OtgError(f"{path}: '{key}' given with choice '{choice}'")
    return str(choice)


def _num(v: Any, path: str, lo: float = 0) -> float:
    try:
        n = float(v)
    except (TypeError, ValueError):
        raise OtgError(f"{path}: {v!r} is not a number") from None
    if n < lo:
        raise OtgError(f"{path}: {v!r} is below {lo:g}")
    return n


def parse(raw: Any, own: str = "") -> Conf:
    """Check and parse a configuration; ``own``: this server's host:port (a location
    naming it is local)."""
    top = _keys(raw if raw is not None else {}, "config",
                {"ports", "flows", "layer1", "captures", "lags", "devices", "options",
                 "events", "lldp", "egress_only_tracking"})  # fmt: skip
    for key in ("lags", "devices", "events", "lldp", "egress_only_tracking"):
        if top.get(key):
            raise unsupported(f"config.{key}", "moonpy serve generates flows between ports; "
                              "it emulates no devices or protocols")  # fmt: skip
    if top.get("options"):
        opts = _keys(top["options"], "config.options", {"port_options", "protocol_options"})
        po = _keys(opts.get("port_options") or {}, "config.options.port_options",
                   {"location_preemption"})  # fmt: skip
        del po
    conf = Conf(raw=raw or {})
    for i, p in enumerate(top.get("ports") or []):
        path = f"config.ports[{i}]"
        _keys(p, path, {"name", "location"})
        name = p.get("name")
        if not name or name in conf.ports:
            raise OtgError(f"{path}.name: give every port a unique name")
        if not p.get("location"):
            raise OtgError(f"{path}.location: give the moonpy port (e.g. '0', or "
                           "'host:port/0' on another moonpy server)")  # fmt: skip
        conf.ports[name] = _location(name, str(p["location"]), path, own)
    speeds = _layer1(top.get("layer1") or [], conf)
    for i, c in enumerate(top.get("captures") or []):
        path = f"config.captures[{i}]"
        _keys(c, path, {"name", "port_names", "format", "overwrite", "packet_size", "filters"})
        if c.get("format", "pcap") != "pcap":
            raise unsupported(f"{path}.format = {c['format']!r}", "pcap only")
        if c.get("filters"):
            raise unsupported(f"{path}.filters", "captures take every frame")
        if c.get("packet_size"):
            raise unsupported(f"{path}.packet_size", "frames are captured whole")
        for pn in c.get("port_names") or []:
            _known_port(conf, pn, f"{path}.port_names")
            conf.captures[pn] = bool(c.get("overwrite", True))
    flows = top.get("flows") or []
    for i, f in enumerate(flows):
        conf.flows.append(_flow(f, i, conf, speeds))
    names = [f.name for f in conf.flows]
    if len(set(names)) != len(names):
        raise OtgError("config.flows: flow names must be unique")
    # one place for every flow's signature: after the longest headers (RX counts all
    # flows of a port in one call)
    counted = [f for f in conf.flows if f.metrics]
    conf.offset = max((f.packet.header_len for f in counted), default=42)
    for f in counted:
        shortest = f.sizes.min_size if f.sizes else f.pkt_len
        if shortest < conf.offset + SIGNATURE_LEN:
            raise OtgError(
                f"config.flows[{f.index}].size: frames of {shortest + CRC} bytes leave no room "
                f"for moonpy's {SIGNATURE_LEN}-byte flow signature after byte {conf.offset} "
                f"(the longest headers of a flow with metrics); use at least "
                f"{conf.offset + SIGNATURE_LEN + CRC} bytes or disable its metrics"
            )
    return conf


def _location(name: str, loc: str, path: str, own: str) -> PortConf:
    if loc == ELSEWHERE:
        return PortConf(name, loc)
    m = REMOTE.match(loc)
    if m and f"{m.group(2)}:{m.group(3)}" != own:
        scheme = m.group(1) or "http"
        return PortConf(name, loc, server=f"{scheme}://{m.group(2)}:{m.group(3)}",
                        remote_port=m.group(4))  # fmt: skip
    local = m.group(4) if m else loc
    try:
        return PortConf(name, loc, local=int(local))
    except ValueError:
        raise OtgError(
            f"{path}.location: {loc!r} names no moonpy port; give a port id ('0') or "
            "'host:port/ID' for a port of another moonpy serve"
        ) from None


def _known_port(conf: Conf, name: Any, path: str) -> str:
    if name not in conf.ports:
        raise OtgError(f"{path}: no port named {name!r} in config.ports")
    return str(name)


def _layer1(items: list[Any], conf: Conf) -> dict[str, float]:
    speeds: dict[str, float] = {}
    for i, ly in enumerate(items):
        path = f"config.layer1[{i}]"
        _keys(ly, path, {"name", "port_names", "speed", "mtu", "promiscuous", "media",
                         "ieee_media_defaults", "auto_negotiate", "auto_negotiation",
                         "flow_control"})  # fmt: skip
        if ly.get("promiscuous") is False:
            raise unsupported(f"{path}.promiscuous = false", "moonpy ports are promiscuous")
        if ly.get("flow_control"):
            raise unsupported(f"{path}.flow_control")
        speed = ly.get("speed")
        if speed is not None and speed not in SPEEDS:
            raise OtgError(f"{path}.speed: unknown speed {speed!r}")
        for pn in ly.get("port_names") or []:
            _known_port(conf, pn, f"{path}.port_names")
            if speed is not None:
                speeds[pn] = SPEEDS[speed]
    return speeds


def _flow(f: Any, i: int, conf: Conf, speeds: dict[str, float]) -> FlowConf:
    path = f"config.flows[{i}]"
    _keys(f, path, {"name", "tx_rx", "packet", "size", "rate", "duration", "metrics",
                    "egress_packet"})  # fmt: skip
    if not f.get("name"):
        raise OtgError(f"{path}.name: every flow needs a name")
    if f.get("egress_packet"):
        raise unsupported(f"{path}.egress_packet")
    txrx = _keys(f.get("tx_rx") or {}, f"{path}.tx_rx", {"choice", "port", "device"})
    if _choice(txrx, f"{path}.tx_rx", {"port"}, "port") != "port":
        raise unsupported(f"{path}.tx_rx.device")
    pe = _keys(txrx.get("port") or {}, f"{path}.tx_rx.port", {"tx_name", "rx_name", "rx_names"})
    tx = _known_port(conf, pe.get("tx_name"), f"{path}.tx_rx.port.tx_name")
    rx_names = list(pe.get("rx_names") or ([pe["rx_name"]] if pe.get("rx_name") else []))
    rx = [_known_port(conf, r, f"{path}.tx_rx.port.rx_names") for r in rx_names]
    # size (OTG sizes include the CRC)
    size = _keys(f.get("size") or {}, f"{path}.size", {"choice", "fixed", "increment", "random"})
    how = _choice(size, f"{path}.size", {"fixed", "increment", "random"}, "fixed")
    sizes: Sizes | None = None
    if how == "fixed":
        fixed = int(_num(size.get("fixed", 64), f"{path}.size.fixed", 64))
        pkt_len, avg = fixed - CRC, float(fixed)
    else:
        body = size.get(how) or {}
        keys = ("start", "end", "step") if how == "increment" else ("min", "max")
        _keys(body, f"{path}.size.{how}", set(keys))
        lo = int(_num(body.get(keys[0], 64), f"{path}.size.{how}.{keys[0]}", 64))
        hi = int(_num(body.get(keys[1], 1518), f"{path}.size.{how}.{keys[1]}", lo))
        step = int(_num(body.get("step", 1), f"{path}.size.increment.step", 1))
        table = list(range(lo, hi + 1, step))
        sizes = Sizes(tuple((s - CRC, 1) for s in table), random=how == "random")
        pkt_len, avg = sizes.max_size, sum(table) / len(table)
    if pkt_len + CRC > 9018:
        raise OtgError(f"{path}.size: {pkt_len + CRC} bytes is over moonpy's 9018-byte frames")
    packet = compile_packet(f.get("packet") or [], f"{path}.packet", pkt_len, sizes is not None,
                            sizes.min_size if sizes else pkt_len)  # fmt: skip
    pps, bps, overhead = _rate(f.get("rate") or {}, f"{path}.rate", avg, speeds.get(tx))
    packets, seconds, delay = _duration(f.get("duration") or {}, f"{path}.duration",
                                        speeds.get(tx, DEFAULT_SPEED))  # fmt: skip
    metrics = _keys(f.get("metrics") or {}, f"{path}.metrics",
                    {"enable", "loss", "timestamps", "latency", "predefined_metric_tags",
                     "rx_tx_ratio"})  # fmt: skip
    if metrics.get("timestamps"):
        raise unsupported(f"{path}.metrics.timestamps", "first/last timestamps are not "
                          "measured; metrics.latency.enable gives latency")  # fmt: skip
    if metrics.get("loss"):
        raise unsupported(f"{path}.metrics.loss", "loss durations are not measured")
    if (
        metrics.get("rx_tx_ratio")
        and metrics["rx_tx_ratio"].get("choice", "rx_count") != "rx_count"
    ):
        raise unsupported(f"{path}.metrics.rx_tx_ratio")
    tags = metrics.get("predefined_metric_tags") or {}
    if any(tags.values()):
        raise unsupported(f"{path}.metrics.predefined_metric_tags")
    lat = _keys(metrics.get("latency") or {}, f"{path}.metrics.latency", {"enable", "mode"})
    return FlowConf(
        name=str(f["name"]), index=i, tx=tx, rx=rx, packet=packet, pkt_len=pkt_len, sizes=sizes,
        avg_size=avg, pps=pps, bps=bps, overhead=overhead, packets=packets, seconds=seconds,
        delay=delay, metrics=bool(metrics.get("enable", False)),
        latency=bool(lat.get("enable", False)),
    )  # fmt: skip


def _rate(
    r: dict[str, Any], path: str, avg: float, speed: float | None
) -> tuple[float, float, int]:
    """(pps, bps, per-frame overhead bytes of the bps) of a flow's rate."""
    _keys(r, path, {"choice", "pps", "bps", "kbps", "mbps", "gbps", "percentage"})
    how = _choice(r, path, {"pps", "bps", "kbps", "mbps", "gbps", "percentage"}, "pps")
    defaults = {"pps": 1000, "bps": 1e9, "kbps": 1e6, "mbps": 1000, "gbps": 1, "percentage": 100}
    v = _num(r.get(how, defaults[how]), f"{path}.{how}", 0)
    if v <= 0:
        raise OtgError(f"{path}.{how}: a rate must be above 0")
    scale = {"bps": 1.0, "kbps": 1e3, "mbps": 1e6, "gbps": 1e9}
    if how == "pps":
        return v, 0.0, CRC
    if how == "percentage":
        if v > 100:
            raise OtgError(f"{path}.percentage: {v:g} is over 100")
        return 0.0, v / 100 * (speed or DEFAULT_SPEED), WIRE_OVERHEAD
    del avg
    return 0.0, v * scale[how], CRC


def _duration(d: dict[str, Any], path: str, speed: float) -> tuple[int, float, float]:
    """(packets, seconds, start delay in seconds); 0 packets and 0 seconds: continuous."""
    _keys(d, path, {"choice", "fixed_packets", "fixed_seconds", "continuous", "burst"})
    how = _choice(d, path, {"fixed_packets", "fixed_seconds", "continuous"}, "continuous")
    body = _keys(d.get(how) or {}, f"{path}.{how}", {"packets", "seconds", "gap", "delay"})
    if int(body.get("gap", 12)) != 12:
        raise unsupported(f"{path}.{how}.gap = {body['gap']}", "the rate spaces the frames "
                          "(the gap is the wire's 12 bytes)")  # fmt: skip
    delay = 0.0
    if body.get("delay"):
        dl = _keys(body["delay"], f"{path}.{how}.delay",
                   {"choice", "bytes", "nanoseconds", "microseconds"})  # fmt: skip
        unit = _choice(dl, f"{path}.{how}.delay", {"bytes", "nanoseconds", "microseconds"}, "bytes")
        v = _num(dl.get(unit, 0), f"{path}.{how}.delay.{unit}")
        delay = {"bytes": v * 8 / speed, "nanoseconds": v * 1e-9, "microseconds": v * 1e-6}[unit]
    if how == "fixed_packets":
        n = int(_num(body.get("packets", 1), f"{path}.fixed_packets.packets", 1))
        return n, 0.0, delay
    if how == "fixed_seconds":
        s = _num(body.get("seconds", 1), f"{path}.fixed_seconds.seconds")
        if s <= 0:
            raise OtgError(f"{path}.fixed_seconds.seconds must be above 0")
        return 0, s, delay
    return 0, 0.0, delay
