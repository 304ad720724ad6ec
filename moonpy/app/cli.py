"""`moonpy`: run a MoonGen-style script, or inspect the ports.

    moonpy [moonpy options] SCRIPT.lua [script arguments...]
    moonpy ports [moonpy options]
    moonpy bench [--time S] [--runs N] [--only a,b] [--json FILE] [--moongen PATH]
    moonpy [moonpy options] replay FILE.pcap --port 0 [--speed X | --rate MBIT] [--loop N]
    moonpy [moonpy options] dump --port 1 -w out.pcap [--filter EXPR] [--snaplen N]
    moonpy [moonpy options] simple start FLOW:TX:RX[:OPTIONS[:OVERRIDES]] ... | list | debug
    moonpy [moonpy options] rfc2544 [--tx 0 --rx 1 --sizes 64,... --mode mlr|binary ...]
    moonpy [moonpy options] serve [--listen 127.0.0.1:8443]

moonpy's own options come before the script; everything after the script
belongs to it (its `configure(parser)` parses them, `--help` included).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import traceback

from moonpy import _dpdk, log
from moonpy.app.report import report_leaks, run_meta
from moonpy.core.config import Config, check_writable, load_file, parse_port_option
from moonpy.core.engine import Engine
from moonpy.core.instances import remove_runtime_dir
from moonpy.errors import ConfigError, MoonpyError

COMMANDS = ("ports", "bench", "replay", "dump", "simple", "rfc2544", "serve")

SUBCOMMANDS = """commands (in place of SCRIPT):
  ports                 list the configured ports and their drivers
  replay FILE.pcap      send a pcap file's frames from a port (moonpy replay --help)
  dump -w FILE.pcap     capture a port's frames to pcap (moonpy dump --help)
  simple start FLOW:TX:RX ...   MoonGen's `simple` flows (moonpy simple help)
  bench                 compare the engines' packet rates (moonpy bench --help)
  serve [--listen H:P]  an Open Traffic Generator API server (snappi; moonpy serve --help)
"""

OUTPUT_KINDS = (".jsonl", ".json", ".csv")
# DPDK's --log-level names (rte_log.h) and their numbers
EAL_LOG_LEVELS = ("emergency", "alert", "critical", "error", "warning", "notice", "info", "debug")
# moonpy options that take a value (the word after them is not the script)
VALUE_OPTIONS = (
    "--config",
    "--port",
    "--cores",
    "--memory",
    "--eal",
    "--eal-log-level",
    "--output",
    "--grace",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="moonpy",
        description="MoonGen-compatible scriptable packet generator (DPDK + LuaJIT).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=SUBCOMMANDS + "\nPorts default to one virtual cable (ports 0 <-> 1). Examples:\n"
        "  moonpy lua_scripts/udp-load.lua 0 1\n  moonpy --port null ports\n"
        "  moonpy --port cable --port pcap,tx=out.pcap SCRIPT.lua 0 2\n",
    )
    from moonpy import __version__

    p.add_argument("--version", action="version", version=f"moonpy {__version__}")
    p.add_argument("--config", metavar="FILE", help="TOML configuration file ([[ports]] ...)")
    p.add_argument(
        "--port",
        metavar="SPEC",
        action="append",
        default=None,
        help="add a port: cable | null | pcap,tx=F,rx=F | tap[,iface=N] | "
        "af_packet,iface=N | pci,address=BDF (repeat; replaces the default)",
    )
    p.add_argument("--cores", metavar="LIST", help="CPU cores, first = master: 0,1 or 0-3")
    p.add_argument("--memory", metavar="MB", type=int, help="DPDK memory in MB (default 512)")
    p.add_argument(
        "--hugepages",
        action="store_true",
        default=None,
        help="take DPDK's memory from reserved hugepages (hugetlbfs): faster; needs "
        "sysctl vm.nr_hugepages and a hugetlbfs mount",
    )
    p.add_argument(
        "--eal",
        metavar="ARG",
        action="append",
        default=[],
        help="extra DPDK EAL argument, passed verbatim (repeat)",
    )
    p.add_argument("--eal-log-level", metavar="LEVEL", help="DPDK log level (default error)")
    p.add_argument(
        "--plain", action="store_true", help="MoonGen's plain text output, no live dashboard"
    )
    p.add_argument(
        "--no-color",
        action="store_true",
        help="no ANSI colours in output (the default when stdout is not a terminal)",
    )
    p.add_argument(
        "--color", action="store_true", help="ANSI colours even when stdout is not a terminal"
    )
    p.add_argument(
        "--output",
        metavar="FILE",
        help="write results: FILE.jsonl (samples + summary) or FILE.csv (MoonGen CSV)",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=3.0,
        metavar="S",
        help="seconds tasks get to stop at the end of a run (default 3)",
    )
    p.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    p.add_argument(
        "target",
        metavar="SCRIPT|COMMAND",
        help="a .lua or .py script, or one of: " + ", ".join(COMMANDS),
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the script")
    return p


def parse_cores(text: str) -> list[int]:
    cores: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part:
                lo, hi = part.split("-", 1)
                cores.extend(range(int(lo), int(hi) + 1))
            elif part.strip():
                cores.append(int(part))
    except ValueError:
        raise ConfigError(f"--cores {text}: use a list such as 0,1 or 0-3") from None
    if not cores:
        raise ConfigError(f"--cores '{text}': no core given; use a list such as 0,1 or 0-3")
    twice = sorted({c for c in cores if cores.count(c) > 1})
    if twice:
        raise ConfigError(
            f"--cores {text}: core {','.join(map(str, twice))} listed twice; each task needs "
            "a core of its own"
        )
    return cores


def join_eal_values(argv: list[str]) -> list[str]:
    """``--eal --huge-dir=/dev/hugepages`` (README's form): argparse takes a value that
    starts with ``-`` for an option, so the EAL argument is joined as ``--eal=VALUE``.
    Only moonpy's own options (before the script) are looked at."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--eal" and i + 1 < len(argv):
            out.append(f"--eal={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        if a in VALUE_OPTIONS:
            if i + 1 < len(argv):
                out.append(argv[i + 1])
            i += 2
            continue
        if not a.startswith("-"):
            return out + argv[i + 1 :]  # the script: the rest is its own
        i += 1
    return out


def check_options(opts: argparse.Namespace) -> None:
    """Options that argparse's types accept but that make no sense: refused before DPDK
    starts, with one line each."""
    if not math.isfinite(opts.grace) or opts.grace < 0:
        raise ConfigError(f"--grace {opts.grace}: give a number of seconds >= 0, such as 3")
    if opts.memory is not None and opts.memory <= 0:
        raise ConfigError(f"--memory {opts.memory}: give a size in MB > 0, such as 512")
    if opts.eal_log_level is not None:
        check_log_level(opts.eal_log_level, "--eal-log-level")
    if opts.output is not None:
        check_output(opts.output)


def check_log_level(level: str, where: str) -> None:
    name = level.split(":")[-1].strip().lower()
    if name in EAL_LOG_LEVELS or (name.isdigit() and 1 <= int(name) <= 8):
        return
    raise ConfigError(
        f"{where} {level}: unknown level; use one of {', '.join(EAL_LOG_LEVELS)} (or 1-8)"
    )


def check_output(path: str) -> None:
    """The results file must be one moonpy can write, and writable, before the run."""
    if not path.endswith(OUTPUT_KINDS):
        raise ConfigError(
            f"--output {path}: unknown file type; use a name ending in "
            f"{', '.join(OUTPUT_KINDS)} (JSON lines or MoonGen CSV)"
        )
    folder = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise ConfigError(f"--output {path}: is a directory; give a file name")
    if not os.path.isdir(folder):
        raise ConfigError(f"--output {path}: directory '{folder}' does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ConfigError(f"--output {path}: not writable (permission denied)")
    check_writable("--output", path)


def make_config(opts: argparse.Namespace) -> Config:
    cfg = load_file(opts.config) if opts.config else Config()
    if opts.port:
        cfg.ports = [parse_port_option(s) for s in opts.port]
    if opts.cores is not None:
        cfg.cores = parse_cores(opts.cores)
    if opts.memory is not None:
        cfg.memory = opts.memory
    if opts.hugepages:
        cfg.hugepages = True
    if opts.eal:
        cfg.eal = cfg.eal + list(opts.eal)
    if opts.eal_log_level:
        cfg.eal_log_level = opts.eal_log_level
    check_log_level(cfg.eal_log_level, "eal_log_level")  # a config file's too
    return cfg.validate()


def cmd_ports(engine: Engine) -> int:
    print(
        f"{'port':>4}  {'kind':<10} {'dpdk':>4}  {'driver':<16} {'mac':<17}  "
        f"{'link':<12} {'queues (rx/tx max)':<18} detail"
    )
    for p in engine.ports:
        mac = ":".join(f"{b:02X}" for b in engine.mac(p.id))
        link = "not started"
        if p.configured:
            up, speed, _ = engine.link(p.id)
            link = f"up {speed}M" if up else "down"
        print(
            f"{p.id:>4}  {p.kind:<10} {p.dpdk_id:>4}  {p.driver:<16} {mac:<17}  {link:<12} "
            f"{p.max_rx_queues}/{p.max_tx_queues:<16} {p.describe()}"
        )
    return 0


def check_script(path: str) -> None:
    if not os.path.exists(path):
        raise ConfigError(f"script '{path}' does not exist")
    if os.path.isdir(path):
        raise ConfigError(f"'{path}' is a directory; give a .lua script")
    if not path.endswith((".lua", ".py")):
        raise ConfigError(
            f"'{path}' is not a script (.lua or .py); valid commands: {', '.join(COMMANDS)}"
        )
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise ConfigError(f"cannot read script '{path}': {e.strerror}") from None


def extract_dpdk_config(args: list[str]) -> tuple[list[str], str | None]:
    """MoonGen's --dpdk-config=FILE may stand anywhere among the script's arguments."""
    rest, found = [], None
    for a in args:
        if a.startswith("--dpdk-config="):
            found = a.split("=", 1)[1]
        else:
            rest.append(a)
    return rest, found


def check_dpdk_config(path: str, opts: argparse.Namespace) -> None:
    """moonpy does not read libmoon's dpdk-conf.lua. With ports given the moonpy way
    the option is ignored with a note (so a MoonGen command line, such as the one
    `moonpy bench --moongen` builds, runs unchanged); without, it is an error rather
    than a silent fallback to the default cable."""
    if not (opts.port or opts.config):
        raise ConfigError(
            f"--dpdk-config={path}: dpdk-conf.lua files are not read by "
            "moonpy; use --config FILE.toml or --port/--cores/--eal options"
        )
    log.log_info(
        f"--dpdk-config={path} ignored: moonpy's ports come from --port/--config",
        file=sys.stderr,
        color=False,
    )


def run_script(opts: argparse.Namespace, cfg: Config) -> int:
    if opts.target.endswith(".py"):
        from moonpy.app.pyscript import run_python_script

        return run_python_script(opts, cfg)
    from moonpy.lua_bridge import require_luajit
    from moonpy.lua_bridge.script import LuaRun

    require_luajit()
    from moonpy.console.dashboard import RunConsole

    engine = Engine(cfg).start()
    _dpdk.install_signal_handlers()
    live = sys.stdout.isatty() and not opts.plain
    run = LuaRun(
        engine,
        opts.target,
        opts.args,
        grace=opts.grace,
        color=False if opts.no_color else None,
        lua_globals={
            "MOONPY_STATS_PLAIN_OUTPUT": not live,
            "MOONPY_LIVE": live,
            "MOONPY_LOG_COLOR": not opts.no_color,
        },
    )
    console = RunConsole(
        engine,
        title=" ".join([opts.target, *opts.args]),
        live=live,
        output=opts.output,
        meta=run_meta(opts, cfg, engine),
        tasks=run.task_rows,
        queue_rates=lambda: dict(run.rates),
        live_counters=lambda: dict(run.live_counters),
        live_histograms=lambda: dict(run.live_histograms),
    )
    console.start()
    try:
        code = run.run()
    finally:
        sig = _dpdk.signal_received()
        console.finish(128 + sig if sig else 0)
    sys.stdout.flush()
    if run.stuck:
        # a thread we cannot stop still uses DPDK: leave without tearing it down
        sys.stderr.flush()
        remove_runtime_dir()
        os._exit(code or 1)
    leaks = engine.shutdown(reclaim=bool(run.errors))
    return report_leaks(leaks, code, engine.reclaimed)


def _early_signal(signo: int, frame: object) -> None:
    if not _dpdk.eal_initialized():
        # nothing to unwind yet (DPDK not started): end now, as __main__ does during its
        # imports. Raising here could land inside a lazy import, where Python turns the
        # SystemExit into a RuntimeError and a traceback (pyserde's class decorators).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + signo)
    raise SystemExit(128 + signo)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # until the C handler takes over (once DPDK runs), SIGINT/SIGTERM unwind through
    # Python (engine shutdown included) and exit with 128 + the signal number
    signal.signal(signal.SIGTERM, _early_signal)
    signal.signal(signal.SIGINT, _early_signal)
    if argv[:1] == ["bench"]:
        from moonpy.tools import bench

        return bench.main(argv[1:])
    parser = build_parser()
    opts = parser.parse_args(join_eal_values(argv))
    opts.args, dpdk_conf = extract_dpdk_config(opts.args)
    if not opts.color and (not sys.stdout.isatty() or os.environ.get("NO_COLOR")):
        opts.no_color = True  # piped into a file or another program: no escape codes
    if opts.no_color:
        log.set_color(False)
    if opts.debug:
        os.environ["MOONPY_DEBUG"] = "1"  # Lua errors keep moonpy's own frames too
    if opts.target == "ports" and opts.args and opts.args[0] in ("-h", "--help"):
        print(
            "usage: moonpy [moonpy options] ports\n\nList the configured ports "
            "(kind, DPDK id, driver, MAC, link, queues).\nPorts come from --port/--config; "
            "see `moonpy --help` for those options."
        )
        return 0
    try:
        check_options(opts)
        if dpdk_conf:
            check_dpdk_config(dpdk_conf, opts)
        cfg = make_config(opts)
        if opts.target == "ports":
            if opts.args:
                raise ConfigError(f"`moonpy ports` takes no arguments, got {' '.join(opts.args)}")
            engine = Engine(cfg).start()
            try:
                return cmd_ports(engine)
            finally:
                engine.shutdown()
        if opts.target == "simple":
            from moonpy.lua_bridge.vm import LUA_DIR

            opts.target = os.path.join(LUA_DIR, "moonpy", "simple_main.lua")
            return run_script(opts, cfg)
        if opts.target == "rfc2544":
            opts.target = os.path.join(os.path.dirname(__file__), "rfc2544.py")
            opts.args = ["--", *opts.args]
            return run_script(opts, cfg)
        if opts.target == "serve":
            from moonpy.app.otg import server

            return server.main(opts.args, cfg, opts.grace)
        if opts.target in ("replay", "dump"):
            from moonpy.app import replay

            return replay.main(opts.target, opts.args, cfg)
        check_script(opts.target)
        return run_script(opts, cfg)
    except (MoonpyError, _dpdk.DpdkError) as e:
        if opts.debug:
            traceback.print_exc()
        from moonpy.console.dashboard import print_error

        print_error(str(e), plain=opts.plain or opts.no_color)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
