"""``moonpy serve``: the OTG HTTP/JSON API (the endpoints snappi's HttpApi calls) over this
process's moonpy ports, and over ports of other moonpy servers named in port locations
(``host:port/ID``): this server, the one the client talks to, sends each of them its part
(the same configuration, ports it does not own marked elsewhere), arms all before any
sends, and merges their counts into one set of metrics.

    moonpy [moonpy options] serve [--listen 127.0.0.1:8443] [--tls-cert F --tls-key F]
"""

from __future__ import annotations

import argparse
import copy
import json
import signal
import ssl
import struct
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moonpy.app.otg.errors import OtgError, unsupported
from moonpy.app.otg.model import ELSEWHERE, Conf, parse
from moonpy.app.otg.remote import VIA_HEADER, Remote
from moonpy.app.otg.runner import LocalFlows
from moonpy.app.report import report_leaks
from moonpy.core.config import Config
from moonpy.core.engine import Engine

API_SPEC = ">=1.0.0,<2.0.0"  # the OTG model versions whose subset this server speaks


class Controller:
    """What the endpoints do: this server's flows plus those of the servers it drives."""

    def __init__(self, local: LocalFlows, own: str) -> None:
        self.local = local
        self.own = own
        self.conf: Conf | None = None
        self.remotes: dict[str, Remote] = {}
        self.lock = threading.RLock()
        # sent along to the servers this one drives: a location that names this server
        # under another name (localhost for 127.0.0.1) must not make it wait for itself
        self.instance = uuid.uuid4().hex

    # ---- /config ---------------------------------------------------------------------

    def set_config(self, raw: Any) -> dict[str, Any]:
        with self.lock:
            conf = parse(raw, self.own)
            servers = sorted({p.server for p in conf.ports.values() if p.server})
            remotes = {s: self.remotes.get(s) or Remote(s, self.instance) for s in servers}
            for url, r in remotes.items():
                part = copy.deepcopy(conf.raw)
                for p in part.get("ports") or []:
                    pc = conf.ports[p["name"]]
                    p["location"] = pc.remote_port if pc.server == url else ELSEWHERE
                r.call("POST", "/config", part)
            self.local.load(conf)
            self.conf, self.remotes = conf, remotes
            return {"warnings": []}

    def get_config(self) -> Any:
        return self.conf.raw if self.conf else {}

    # ---- /control/state ----------------------------------------------------------------

    def control(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise OtgError("control_state: expected an object")
        choice = body.get("choice")
        if choice == "traffic":
            t = body.get("traffic") or {}
            if t.get("choice", "flow_transmit") != "flow_transmit":
                raise unsupported(f"control_state.traffic.{t.get('choice')}")
            ft = t.get("flow_transmit") or {}
            state, names = ft.get("state"), list(ft.get("flow_names") or [])
            if state == "start":
                self.phase("arm", names)
                self.phase("go", names)
            elif state == "stop":
                self.phase("stop", names)
            else:
                raise unsupported(f"control_state.traffic.flow_transmit.state = {state!r}",
                                  "start and stop")  # fmt: skip
        elif choice == "port":
            pt = body.get("port") or {}
            if pt.get("choice", "capture") != "capture":
                raise unsupported(f"control_state.port.{pt.get('choice')}", "capture only")
            cap = pt.get("capture") or {}
            state = cap.get("state")
            if state not in ("start", "stop"):
                raise OtgError(f"control_state.port.capture.state: {state!r} is not start/stop")
            self.phase("capture_" + state, list(cap.get("port_names") or []))
        else:
            raise unsupported(f"control_state.{choice}", "traffic and port capture only; "
                              "moonpy serve runs no protocols")  # fmt: skip
        return {"warnings": []}

    def phase(self, action: str, names: list[str]) -> None:
        """One step on every server: arm (counters from zero, RX on) everywhere before
        any server sends (go), so no frame arrives at a server that has not started."""
        with self.lock:
            for r in self.remotes.values():
                r.call("POST", "/moonpy/control", {"action": action, "names": names})
            self.local_phase(action, names)

    def local_phase(self, action: str, names: list[str]) -> None:
        if action == "arm":
            self.local.arm(names)
        elif action == "go":
            self.local.go(names)
        elif action == "stop":
            self.local.stop(names)
        elif action in ("capture_start", "capture_stop"):
            self.local.capture(names, action == "capture_start")
        else:
            raise OtgError(f"unknown action {action!r}")

    # ---- /monitor/metrics --------------------------------------------------------------

    def metrics(self, body: Any) -> dict[str, Any]:
        conf = self._conf()
        if not isinstance(body, dict):
            raise OtgError("metrics_request: expected an object")
        choice = body.get("choice", "port")
        if choice == "flow":
            req = body.get("flow") or {}
            return {"choice": "flow_metrics", "flow_metrics": self.flow_metrics(req, conf)}
        if choice == "port":
            req = body.get("port") or {}
            return {"choice": "port_metrics", "port_metrics": self.port_metrics(req, conf)}
        raise unsupported(f"metrics_request.{choice}", "port and flow metrics only")

    def raw_flows(self) -> list[list[dict[str, Any]]]:
        with self.lock:
            parts = [self.local.flow_metrics()]
            for r in self.remotes.values():
                parts.append(r.call("POST", "/moonpy/metrics", {"choice": "flow"}))
            return parts

    def flow_metrics(self, req: dict[str, Any], conf: Conf) -> list[dict[str, Any]]:
        names = list(req.get("flow_names") or [])
        for n in names:
            if n not in {f.name for f in conf.flows}:
                raise OtgError(f"metrics_request.flow.flow_names: no flow named {n!r}")
        if req.get("tagged_metrics", {}).get("include"):
            raise unsupported("metrics_request.flow.tagged_metrics")
        parts = self.raw_flows()
        out = []
        for i, f in enumerate(conf.flows):
            if not f.metrics or (names and f.name not in names):
                continue
            rows = [p[i] for p in parts]
            tx = next((r for r in rows if r["local_tx"]), rows[0])
            m = {k: tx[k] for k in ("name", "transmit", "frames_tx", "bytes_tx", "frames_tx_rate")}
            m["port_tx"] = f.tx
            if f.rx:
                m["port_rx"] = f.rx[0]
            for k in ("frames_rx", "bytes_rx", "frames_rx_rate"):
                m[k] = sum(r[k] for r in rows)
            sent = m["frames_tx"]
            m["loss"] = max(0.0, (sent - m["frames_rx"]) / sent * 100) if sent else 0.0
            owners = {conf.ports[p].server for p in [f.tx, *f.rx]}
            if f.latency and len(owners) == 1:
                # one server's clock stamped and read the frames: latency is meaningful
                lat = next((r["latency"] for r in rows if "latency" in r), None)
                if lat:
                    m["latency"] = lat
            out.append(m)
        return out

    def port_metrics(self, req: dict[str, Any], conf: Conf) -> list[dict[str, Any]]:
        names = list(req.get("port_names") or [])
        for n in names:
            if n not in conf.ports:
                raise OtgError(f"metrics_request.port.port_names: no port named {n!r}")
        with self.lock:
            rows = self.local.port_metrics()
            for remote in self.remotes.values():
                rows += remote.call("POST", "/moonpy/metrics", {"choice": "port"})
        by_name = {row["name"]: row for row in rows}
        out = []
        for name, pc in conf.ports.items():
            if names and name not in names:
                continue
            row = by_name.get(name)
            if row is not None:
                row["location"] = pc.location
                out.append(row)
        return out

    def raw(self, choice: str) -> Any:
        """/moonpy/metrics: this server's own rows, for the server that drives it."""
        return self.local.flow_metrics() if choice == "flow" else self.local.port_metrics()

    # ---- /monitor/capture ----------------------------------------------------------------

    def capture(self, body: Any) -> bytes:
        conf = self._conf()
        name = str((body or {}).get("port_name"))
        pc = conf.ports.get(name)
        if pc is None:
            raise OtgError(f"capture_request.port_name: no port named {name!r}")
        if pc.server:
            data = self.remotes[pc.server].call("POST", "/monitor/capture", body, raw=True)
            return data  # type: ignore[no-any-return]
        return pcap(self.local.captured(name))

    def _conf(self) -> Conf:
        if self.conf is None:
            raise OtgError("no configuration: set_config first")
        return self.conf


def pcap(frames: list[bytes]) -> bytes:
    """A pcap file (microsecond timestamps, Ethernet) of ``frames``, each ending with its
    FCS as OTG captures have it (computed: virtual links carry none); the time is now."""
    now = time.time()
    sec, usec = int(now), int((now % 1) * 1e6)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for f in frames:
        n = len(f) + 4
        out.append(struct.pack("<IIII", sec, usec, n, n))
        out.append(f)
        out.append(zlib.crc32(f).to_bytes(4, "little"))
    return b"".join(out)


class Handler(BaseHTTPRequestHandler):
    """The OTG endpoints (snappi's HttpApi paths) and two internal ones under /moonpy/."""

    controller: Controller
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass  # requests are not logged; errors are answered to the client

    def _body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError as e:
            raise OtgError(f"the request body is not JSON: {e}") from None

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, obj: Any) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json")

    def _route(self, method: str) -> None:
        c = self.controller
        path = self.path.split("?", 1)[0]
        try:
            body = self._body() if method in ("POST", "PATCH") else None
            if self.headers.get(VIA_HEADER) == c.instance:
                raise OtgError("config.ports: a location names this moonpy serve itself "
                               "under another address; give its port id ('0') instead")  # fmt: skip
            if (method, path) == ("GET", "/capabilities/version"):
                from moonpy import __version__

                self._json(200, {"api_spec_version": API_SPEC, "sdk_version": "",
                                 "app_version": f"moonpy {__version__}"})  # fmt: skip
            elif (method, path) == ("POST", "/config"):
                self._json(200, c.set_config(body))
            elif (method, path) == ("GET", "/config"):
                self._json(200, c.get_config())
            elif (method, path) == ("POST", "/control/state"):
                self._json(200, c.control(body))
            elif (method, path) == ("POST", "/monitor/metrics"):
                self._json(200, c.metrics(body))
            elif (method, path) == ("POST", "/monitor/capture"):
                self._send(200, c.capture(body), "application/octet-stream")
            elif (method, path) == ("POST", "/moonpy/control"):
                req = body if isinstance(body, dict) else {}
                c.local_phase(str(req.get("action")), list(req.get("names") or []))
                self._json(200, {"warnings": []})
            elif (method, path) == ("POST", "/moonpy/metrics"):
                req = body if isinstance(body, dict) else {}
                self._json(200, c.raw(str(req.get("choice", "port"))))
            elif path in ("/config", "/config/append", "/config/delete"):
                raise unsupported(f"{method} {path}", "send the whole configuration with "
                                  "POST /config")  # fmt: skip
            elif path in ("/control/action", "/monitor/states"):
                raise unsupported(f"{method} {path}", "moonpy serve runs no protocols")
            else:
                raise OtgError(f"{method} {path}: no such OTG endpoint", code=404)
        except OtgError as e:
            self._json(e.code, e.body())
        except Exception as e:  # a bug or a DPDK failure: still an OTG-shaped answer
            err = OtgError(f"{type(e).__name__}: {e}", code=500, kind="internal")
            self._json(500, err.body())

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PATCH(self) -> None:
        self._route("PATCH")


def serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="moonpy serve",
        description="Serve the Open Traffic Generator API (snappi's HTTP transport) over "
        "moonpy's ports. Port locations: a port id ('0') or another moonpy serve's port "
        "('host:8444/0'). See docs/otg.md.",
    )
    p.add_argument("--listen", default="127.0.0.1:8443", metavar="HOST:PORT",
                   help="address to listen on (default 127.0.0.1:8443)")  # fmt: skip
    p.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate")
    p.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    return p


def main(argv: list[str], cfg: Config, grace: float = 2.0) -> int:
    try:
        args = serve_parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    host, _, port_text = args.listen.rpartition(":")
    if not host or not port_text.isdigit():
        print(f"moonpy serve: error: --listen {args.listen}: give HOST:PORT "
              "(e.g. 127.0.0.1:8443)", file=sys.stderr)  # fmt: skip
        return 1
    if bool(args.tls_cert) != bool(args.tls_key):
        print("moonpy serve: error: give both --tls-cert and --tls-key", file=sys.stderr)
        return 1
    try:
        httpd = ThreadingHTTPServer((host, int(port_text)), Handler)
    except OSError as e:
        print(f"moonpy serve: error: cannot listen on {args.listen}: {e.strerror}",
              file=sys.stderr)  # fmt: skip
        return 1
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    engine = Engine(cfg).start()
    local = LocalFlows(engine, grace=grace)
    Handler.controller = Controller(local, f"{host}:{port_text}")
    scheme = "https" if args.tls_cert else "http"
    ports = ", ".join(f"{p.id} ({p.describe()})" for p in engine.ports)
    print(f"[INFO]  moonpy serve: OTG API on {scheme}://{args.listen}, ports {ports}",
          flush=True)  # fmt: skip

    def end(signo: int, frame: object) -> None:
        # serve_forever runs in this (the main) thread: it is told to end from another
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGINT, end)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        local.close()
        leaks = engine.shutdown()
    print("[INFO]  moonpy serve: stopped", flush=True)
    return report_leaks(leaks, 0)
