"""`make otg-conformance CONFORMANCE=path`: the plain-traffic tests of the OTG conformance
suite (open-traffic-generator/conformance, feature/b2b/packet: udp, tcp, vxlan), unchanged,
against ``moonpy serve`` on a virtual cable (its two ends are the suite's two ports), with
the suite's capture checks on. The suite is read from the user's own checkout; nothing of
it is stored here. Prints one line per test and exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITES = ("feature/b2b/packet/udp", "feature/b2b/packet/tcp", "feature/b2b/packet/vxlan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m moonpy.tools.otg_conformance")
    p.add_argument("--conformance", required=True, help="a checkout of the conformance suite")
    p.add_argument("--port", type=int, default=0, help="the server's TCP port (default: free)")
    args = p.parse_args(argv)
    suite = Path(args.conformance).resolve()
    if not (suite / "helpers" / "otg" / "otg.py").is_file():
        print(f"otg-conformance: {suite} is not a checkout of open-traffic-generator/"
              "conformance (no helpers/otg/otg.py)", file=sys.stderr)  # fmt: skip
        return 2
    if importlib.util.find_spec("pcapfile") is None:  # the suite reads captures with it
        print("otg-conformance: the suite needs pypcapfile: pip install pypcapfile",
              file=sys.stderr)  # fmt: skip
        return 2
    port = args.port or _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "moonpy", "serve", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    assert server.stdout is not None
    first = server.stdout.readline()
    if "OTG API on" not in first:
        server.kill()
        print(f"otg-conformance: moonpy serve did not start: {first}{server.stdout.read()}")
        return 1
    try:
        with tempfile.TemporaryDirectory() as work:
            # the suite reads test-config.yaml from its working directory
            Path(work, "test-config.yaml").write_text(
                f"otg_host: http://127.0.0.1:{port}\n"
                'otg_ports: ["0", "1"]\notg_speed: speed_1_gbps\notg_capture_check: true\n'
            )
            report = Path(work, "report.xml")
            tests = [str(suite / s) for s in SUITES if (suite / s).is_dir()]
            subprocess.run(
                [sys.executable, "-m", "pytest", "-c", str(suite / "pytest.ini"),
                 "--rootdir", str(suite), "-p", "no:cacheprovider", "-o", "addopts=", "-q",
                 f"--junitxml={report}", *tests],
                cwd=work, env=dict(os.environ, PYTHONPATH=str(suite)),
            )  # fmt: skip
            results = _results(report)
    finally:
        server.terminate()
        server.communicate(timeout=20)
    for name, outcome in results:
        print(f"{outcome:6}  {name}")
    passed = sum(1 for _, o in results if o == "PASS")
    print(f"{passed} of {len(results)} conformance tests pass against moonpy serve")
    return 0 if results and passed == len(results) else 1


def _results(report: Path) -> list[tuple[str, str]]:
    if not report.exists():
        return []
    out = []
    for case in ET.parse(report).iter("testcase"):
        failed = any(case.find(t) is not None for t in ("failure", "error"))
        skipped = case.find("skipped") is not None
        name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        out.append((name, "FAIL" if failed else "SKIP" if skipped else "PASS"))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
