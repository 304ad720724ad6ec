"""Pictures of an RFC 2544 report: throughput per frame size, frame-loss-rate curve, latency
percentiles (matplotlib PNGs) and one self-contained HTML file embedding them."""

from __future__ import annotations

import base64
import html
import json
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def _rate(r: dict[str, Any], key: str) -> float:
    if key in r and r[key].get("rate"):
        return float(r[key]["rate"])
    if key == "ndr" and "throughput" in r:
        return float(r["throughput"]["rate"])
    return 0.0


def plots(report: dict[str, Any], stem: str) -> list[str]:
    res = report["results"]
    sizes = [r["size"] for r in res]
    files = []

    fig, ax = plt.subplots(figsize=(7, 4))
    x = range(len(sizes))
    ax.bar([i - 0.2 for i in x], [_rate(r, "ndr") / 1e3 for r in res], 0.4, label="NDR")
    if any("pdr" in r for r in res):
        pdr = report["config"]["pdr"]
        ax.bar([i + 0.2 for i in x], [_rate(r, "pdr") / 1e3 for r in res], 0.4,
               label=f"PDR (loss {pdr:g})")  # fmt: skip
    ax.set_xticks(list(x), [str(s) for s in sizes])
    ax.set_xlabel("frame size (bytes)")
    ax.set_ylabel("throughput (kframes/s)")
    ax.set_title("Throughput per frame size")
    ax.legend()
    files.append(_save(fig, stem + "-throughput.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in res:
        pts = sorted((p["rate"], p["loss_ratio"] * 100) for p in r["loss_curve"])
        ax.plot([p[0] / 1e3 for p in pts], [p[1] for p in pts], marker="o", label=f"{r['size']} B")
    ax.set_xlabel("offered load (kframes/s)")
    ax.set_ylabel("frame loss (%)")
    ax.set_title("Frame loss rate")
    ax.legend()
    files.append(_save(fig, stem + "-loss.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    keys = ["p50", "p90", "p99", "p99.9", "max"]
    for r in res:
        lat = r["latency"].get("ndr") or {}
        ys = [lat.get(k, 0) / 1e3 for k in keys]
        ax.plot(keys, ys, marker="o", label=f"{r['size']} B at NDR")
    ax.set_yscale("log")
    ax.set_ylabel("latency (µs)")
    ax.set_title("Latency percentiles at the NDR")
    ax.legend()
    files.append(_save(fig, stem + "-latency.png"))
    files.append(_html(report, stem, files))
    return files


def _save(fig: Any, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _html(report: dict[str, Any], stem: str, pngs: list[str]) -> str:
    rows = "".join(
        f"<tr><td>{r['size']}</td><td>{_rate(r, 'ndr'):,.0f}</td><td>{_rate(r, 'pdr'):,.0f}</td>"
        f"<td>{r.get('back_to_back', '')}</td></tr>"
        for r in report["results"]
    )
    imgs = "".join(
        f'<p><img alt="{html.escape(p)}" src="data:image/png;base64,'
        f'{base64.b64encode(open(p, "rb").read()).decode()}"></p>'
        for p in pngs
    )
    cfg = html.escape(json.dumps(report["config"]))
    doc = (
        "<!doctype html><meta charset=utf-8><title>moonpy rfc2544</title>"
        "<h1>moonpy rfc2544</h1>"
        f"<p>{len(report['trials'])} trials, {report['invalid_trials']} invalid "
        "(the generator missed its rate; not counted as loss)</p>"
        "<table border=1><tr><th>size (B)</th><th>NDR (fps)</th><th>PDR (fps)</th>"
        f"<th>back-to-back (frames)</th></tr>{rows}</table>{imgs}<pre>{cfg}</pre>"
    )
    path = stem + ".html"
    with open(path, "w") as f:
        f.write(doc)
    return path
