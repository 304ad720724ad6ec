"""`make compat-wild`: run the entries of cases.py and print the table (Markdown)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from moonpy.tools.compat import run_case
from moonpy.tools.compat_wild.cases import WILD_CASES


def run_wild(wild: Path, moongen: Path | None, only: str | None) -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, case in enumerate(WILD_CASES):
            if only and only not in f"{case.repo}/{case.script}":
                continue
            workdir = Path(tmp) / str(n) / "run"
            workdir.mkdir(parents=True)
            result, reason = run_case(case, wild / case.repo, workdir, moongen)
            if result == "FAIL" and case.blocked:
                result, reason = "BLOCKED", f"blocked on: {case.blocked}; {reason}"
            rows.append((case, result, reason))
            print(f"{result:<7} {case.repo}/{case.script}", file=sys.stderr, flush=True)
    print(
        "| script | arguments | ports | original (2 ports, enough cores) | verdict | moonpy | why |"
    )
    print("|---|---|---|---|---|---|---|")
    for case, result, reason in rows:
        ports = " + ".join(p.split(",")[0] for p in case.ports)
        print(
            f"| {case.repo}/{case.script}@{case.commit} | {' '.join(case.args)} | {ports} "
            f"| {case.original} | {case.verdict} | {result} | {reason} |"
        )
    counts: dict[str, int] = {}
    for _, result, _ in rows:
        counts[result] = counts.get(result, 0) + 1
    repos = {case.repo for case, _, _ in rows}
    print(
        f"\n{len(rows)} scripts from {len(repos)} repositories: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    failed = [c for c, r, _ in rows if r == "FAIL"]
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="moonpy-compat-wild", description="third-party MoonGen scripts against moonpy"
    )
    ap.add_argument("--wild", required=True, help="folder of checkouts as OWNER/NAME/")
    ap.add_argument("--moongen", help="a MoonGen checkout (scripts that load its rfc2544 utils)")
    ap.add_argument("--only", help="substring of the script paths to run")
    args = ap.parse_args(argv)
    return run_wild(Path(args.wild), Path(args.moongen) if args.moongen else None, args.only)


if __name__ == "__main__":
    sys.exit(main())
