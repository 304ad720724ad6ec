"""The Lua argparse of the compatibility library (moonpy/lua/argparse.lua)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.lua

luajit21 = pytest.importorskip("lupa.luajit21")

LUA_DIR = Path(__file__).parents[1] / "moonpy" / "lua"
LUA_PATH = f"{LUA_DIR}/?.lua;{LUA_DIR}/?/init.lua;"

# The configure function of MoonGen's examples/l3-load-latency.lua.
L3_CONFIGURE = """
function configure(parser)
    parser:description("Generates UDP traffic and measure latencies. "
        .. "Edit the source to modify constants like IPs.")
    parser:argument("txDev", "Device to transmit from."):convert(tonumber)
    parser:argument("rxDev", "Device to receive from."):convert(tonumber)
    parser:option("-r --rate", "Transmit rate in Mbit/s."):default(10000):convert(tonumber)
    parser:option("-f --flows", "Number of flows (randomized source IP)."):default(4)
        :convert(tonumber)
    parser:option("-s --size", "Packet size."):default(60):convert(tonumber)
end
"""

L3_USAGE = (
    "Usage: libmoon examples/l3-load-latency.lua [-r <rate>] [-f <flows>] [-s <size>] [-h]"
    " <txDev> <rxDev>"
)

L3_HELP = (
    L3_USAGE
    + "\n\n"
    + "Generates UDP traffic and measure latencies. Edit the source to modify constants like IPs."
    + "\n\n"
    + "Arguments:\n"
    + "   txDev".ljust(40)
    + "Device to transmit from.\n"
    + "   rxDev".ljust(40)
    + "Device to receive from.\n\n"
    + "Options:\n"
    + "   -r <rate>, --rate <rate>".ljust(40)
    + "Transmit rate in Mbit/s.\n"
    + "   -f <flows>, --flows <flows>".ljust(40)
    + "Number of flows (randomized source IP).\n"
    + "   -s <size>, --size <size>".ljust(40)
    + "Packet size.\n"
    + "   -h, --help".ljust(40)
    + "Show this help message and exit."
)


def to_py(value):
    """Lua tables become dicts, or lists when their keys are exactly 1..n."""
    if luajit21.lua_type(value) != "table":
        return value
    items = {k: to_py(v) for k, v in value.items()}
    if not items:
        return []
    if all(isinstance(k, int) for k in items) and sorted(items) == list(range(1, len(items) + 1)):
        return [items[i] for i in range(1, len(items) + 1)]
    return items


@pytest.fixture
def lua():
    runtime = luajit21.LuaRuntime()
    runtime.execute(f"package.path = {LUA_PATH!r} .. package.path")
    runtime.execute('argparse = require "argparse"')
    return runtime


def make_parser(lua, configure=L3_CONFIGURE, name="libmoon examples/l3-load-latency.lua"):
    lua.execute(configure)
    return lua.eval(f"(function() local p = argparse({name!r}); configure(p); return p end)()")


def parse(lua, parser, *words):
    """pparse with the words given as a Lua table; returns (ok, result-or-message)."""
    table = lua.table_from(list(words))
    ok, result = lua.eval("function(p, t) return p:pparse(t) end")(parser, table)
    if ok:
        return ok, dict(to_py(result))  # an empty result table converts to []
    return ok, result


def parse_ok(lua, parser, *words):
    ok, result = parse(lua, parser, *words)
    assert ok, result
    return result


def parse_err(lua, parser, *words):
    ok, result = parse(lua, parser, *words)
    assert not ok, result
    return result


# --- the l3-load-latency configure function --------------------------------------------------


def test_defaults_are_stored_unconverted(lua):
    parser = make_parser(lua)
    result = parse_ok(lua, parser, "0", "1")
    assert result == {"txDev": 0, "rxDev": 1, "rate": 10000, "flows": 4, "size": 60}


@pytest.mark.parametrize(
    "words",
    [
        ("0", "1", "-r", "1000"),
        ("0", "1", "-r1000"),
        ("0", "1", "--rate=1000"),
        ("0", "1", "--rate", "1000"),
        ("-r", "1000", "0", "1"),
        ("0", "--rate", "1000", "1"),
    ],
)
def test_option_forms(lua, words):
    parser = make_parser(lua)
    result = parse_ok(lua, parser, *words)
    assert result["rate"] == 1000
    assert (result["txDev"], result["rxDev"]) == (0, 1)


def test_args_setter_turns_numbers_back_into_strings(lua):
    parser = make_parser(lua)
    result = to_py(
        lua.eval(
            """function(p)
                p:args(3, 4, "-f", 16, "--size", 0x40)
                local r = p:parse()
                return {r.txDev, r.rxDev, r.flows, r.size, type(p.default_args[1])}
            end"""
        )(parser)
    )
    assert result == [3, 4, 16, 64, "string"]


def test_parse_accepts_varargs_words(lua):
    parser = make_parser(lua)
    result = lua.eval("function(p) local r = p:parse(5, 6, '-s', 128) return r.size + r.txDev end")(
        parser
    )
    assert result == 133


def test_usage_and_help_text(lua):
    parser = make_parser(lua)
    assert parser.get_usage(parser) == L3_USAGE
    assert parser.get_help(parser) == L3_HELP


def test_module_is_callable_with_description(lua):
    text = lua.eval('argparse("prog", "Says hello.", "Bye."):get_help()')
    assert text == (
        "Usage: prog [-h]\n\nSays hello.\n\nOptions:\n"
        + "   -h, --help".ljust(40)
        + "Show this help message and exit.\n\nBye."
    )


# --- result keys, defaults and conversion ----------------------------------------------------

KEYS_CONFIGURE = """
function configure(parser)
    parser:option("--seq-offset", "Offset."):args(1):convert(tonumber)
    parser:option("-f --fg-rate", "Foreground."):default(1000):convert(tonumber):target("fgRate")
    parser:option("--udp-port -u", "Port."):args(1):convert(tonumber)
    parser:option("-n --count", "Variants."):default("1"):convert(tonumber)
    parser:option("-x", "Short only.")
    parser:option("-r --rate", "Rate."):args(1):default(2)
    parser:option("-m --mode", "Mode."):convert({fast = 1, slow = 2})
    parser:flag("-l --loop", "Loop.")
    parser:flag("-V --vlans", "Keep vlans."):default(false)
    parser:flag("-q --quiet", "Quiet."):action("store_false"):init(true)
    parser:flag("-v --verbose", "Verbose."):count("*")
    parser:option("-i --include", "Include."):count("*")
    parser:option("-p --pcap", "Filter."):args("*"):combine()
end
"""


def test_result_keys_and_defaults(lua):
    parser = make_parser(lua, KEYS_CONFIGURE, "t")
    result = parse_ok(lua, parser)
    assert result == {
        "fgRate": 1000,
        "count": 1,
        "rate": 2,
        "vlans": False,
        "quiet": True,
        "verbose": 0,
        "include": [],
    }


def test_result_keys_when_given(lua):
    parser = make_parser(lua, KEYS_CONFIGURE, "t")
    result = parse_ok(
        lua,
        parser,
        "--seq-offset", "12",
        "-f", "7",
        "-u", "319",
        "--count", "3",
        "-x", "ex",
        "-r", "3",
        "--mode", "slow",
        "-lVq",
        "-vvv",
        "-i", "a", "--include=b",
        "--pcap", "udp", "port", "53",
    )  # fmt: skip
    assert result == {
        "seq_offset": 12,
        "fgRate": 7,
        "udp_port": 319,
        "count": 3,
        "x": "ex",
        "rate": "3",  # a number default bypasses convert; a given value is a string
        "mode": 2,
        "loop": True,
        "vlans": True,
        "quiet": False,
        "verbose": 3,
        "include": ["a", "b"],
        "pcap": "udp port 53",
    }


def test_bundled_short_flag_with_attached_value(lua):
    parser = make_parser(lua, KEYS_CONFIGURE, "t")
    result = parse_ok(lua, parser, "-lvx42")
    assert (result["loop"], result["verbose"], result["x"]) == (True, 1, "42")


def test_double_dash_ends_options(lua):
    lua.execute(
        """function configure(p)
            p:argument("values", "Values."):args("*")
            p:flag("-a", "A.")
        end"""
    )
    parser = make_parser(lua, "", "t")
    result = parse_ok(lua, parser, "-a", "x", "--", "-a", "--b", "-5")
    assert result == {"a": True, "values": ["x", "-a", "--b", "-5"]}


@pytest.mark.parametrize(
    ("spec", "words", "expected"),
    [
        ("2", ["1", "2"], ["1", "2"]),
        ("+", ["1", "2", "3"], ["1", "2", "3"]),
        ("1-2", ["9"], ["9"]),
        ("2+", ["1", "2", "3"], ["1", "2", "3"]),
        ("?", [], None),
        ("?", ["z"], "z"),
        ("*", [], []),
    ],
)
def test_argument_counts(lua, spec, words, expected):
    lua.execute(f'function configure(p) p:argument("dev", "Devices."):args({spec!r}) end')
    parser = make_parser(lua, "", "t")
    assert parse_ok(lua, parser, *words).get("dev") == expected


def test_optional_option_value_gives_list(lua):
    lua.execute('function configure(p) p:option("-o --out", "Out."):args("?") end')
    parser = make_parser(lua, "", "t")
    assert parse_ok(lua, parser, "-o")["out"] == []
    assert parse_ok(lua, parser, "-o", "f")["out"] == ["f"]
    assert "out" not in parse_ok(lua, parser)


def test_string_default_for_argument_and_usage(lua):
    lua.execute(
        """function configure(p)
            p:argument("topic", "Help topic to cover."):default("topics")
            p:option("-o --output", "Path to output file."):args(1):default("latencies")
        end"""
    )
    parser = make_parser(lua, "", "t")
    assert parse_ok(lua, parser) == {"topic": "topics", "output": "latencies"}
    assert parse_ok(lua, parser, "arp") == {"topic": "arp", "output": "latencies"}
    assert parser.get_usage(parser) == "Usage: t [-o <output>] [-h] [<topic>]"
    help_text = parser.get_help(parser)
    assert "Help topic to cover. (default: topics)" in help_text
    assert "Path to output file. (default: latencies)" in help_text


def test_defmode_arg_fills_missing_value(lua):
    lua.execute('function configure(p) p:option("-o", "Out."):default("x"):defmode("arg") end')
    parser = make_parser(lua, "", "t")
    assert parse_ok(lua, parser, "-o")["o"] == "x"
    assert "o" not in parse_ok(lua, parser)
    assert parser.get_usage(parser) == "Usage: t [-o [<o>]] [-h]"


def test_vararg_options_go_after_arguments_in_usage(lua):
    lua.execute(
        """function configure(p)
            p:argument("dev", "Devices to use."):args("+"):convert(tonumber)
            p:option("-t --threads", "Threads."):args(1):convert(tonumber):default(1)
            p:option("-p --pcap", "A pcap filter expression."):args("*"):combine()
            p:option("-a --arp", "ARP."):argname("ip")
        end"""
    )
    parser = make_parser(lua, "", "libmoon pktgen.lua")
    assert parser.get_usage(parser) == (
        "Usage: libmoon pktgen.lua [-t <threads>] [-a ip] [-h] <dev> [<dev>] ... [-p [<pcap>]]"
    )
    result = parse_ok(lua, parser, "0", "1", "-t", "2")
    assert result == {"dev": [0, 1], "threads": 2}


def test_long_usage_wraps_at_120_columns(lua):
    lua.execute(
        """function configure(p)
            for i = 1, 12 do p:option("--option-number-" .. i, "O.") end
        end"""
    )
    parser = make_parser(lua, "", "t")
    lines = parser.get_usage(parser).split("\n")
    assert len(lines) > 1
    assert all(len(line) <= 120 for line in lines)
    assert all(line.startswith("       [") for line in lines[1:])


def test_function_action_and_concat(lua):
    lua.execute(
        """function configure(p)
            p:option("-k", "Key."):args(2):count("*"):action("concat")
            p:option("-u", "Upper."):action(function(res, key, value)
                res[key] = value:upper()
            end)
        end"""
    )
    parser = make_parser(lua, "", "t")
    result = parse_ok(lua, parser, "-k", "a", "b", "-u", "abc", "-k", "c", "d")
    assert result == {"k": ["a", "b", "c", "d"], "u": "ABC"}


def test_repeated_option_overwrites_unless_disabled(lua):
    lua.execute(
        """function configure(p)
            p:option("-r", "Rate.")
            p:option("-s", "Size."):overwrite(false)
        end"""
    )
    parser = make_parser(lua, "", "t")
    assert parse_ok(lua, parser, "-r", "1", "-r", "2")["r"] == "2"
    assert parse_err(lua, parser, "-s", "1", "-s", "2") == "option '-s' must be used at most 1 time"


# --- commands and mutexes --------------------------------------------------------------------

COMMANDS_CONFIGURE = """
calls = {}
function configure(parser)
    parser:command_target("cmd")
    parser:action(function(args, name) calls[#calls + 1] = "root:" .. name end)
    local start = parser:command("start", "Send one or more flows.")
    start:argument("flows", "Flows."):args("+")
    start:option("-c --config", "Config file directory."):default("flows")
    start:action(function(args, name) calls[#calls + 1] = name .. ":" .. #args.flows end)
    parser:command("list ls", "List all available flows.")
end
"""


def test_commands(lua):
    parser = make_parser(lua, COMMANDS_CONFIGURE, "moongen-simple")
    result = parse_ok(lua, parser, "start", "a", "b")
    assert result == {"cmd": "start", "start": True, "flows": ["a", "b"], "config": "flows"}
    assert list(lua.eval("calls").values()) == ["start:2", "root:moongen-simple"]
    assert parse_ok(lua, parser, "ls") == {"cmd": "list", "list": True}
    assert parse_err(lua, parser) == "a command is required"
    assert parse_err(lua, parser, "strat") == "unknown command 'strat'\nDid you mean 'start'?"
    assert parser.get_usage(parser) == "Usage: moongen-simple [-h] <command> ..."
    help_text = parser.get_help(parser)
    assert "Commands:\n" + "   start".ljust(40) + "Send one or more flows." in help_text
    assert "   list, ls".ljust(40) + "List all available flows." in help_text
    start = lua.eval("function(p) return p._commands[1]:get_usage() end")(parser)
    assert start == "Usage: moongen-simple start [-c <config>] [-h] <flows> [<flows>] ..."


def test_mutex(lua):
    lua.execute(
        """function configure(p)
            p:mutex(p:flag("-a --arp", "A."), p:option("-b --bpf", "B."))
        end"""
    )
    parser = make_parser(lua, "", "t")
    assert parse_ok(lua, parser, "-a") == {"arp": True}
    message = parse_err(lua, parser, "-b", "x", "--arp")
    assert message == "option '--arp' can not be used together with option '-b'"
    assert parser.get_usage(parser) == "Usage: t ([-a] | [-b <bpf>]) [-h]"
    bad = lua.eval('function(p) return pcall(p.mutex, p, "-a") end')(parser)
    assert bad[0] is False and "Option expected" in bad[1]


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ((), "missing argument 'txDev'"),
        (("0",), "missing argument 'rxDev'"),
        (("0", "1", "2"), "too many arguments"),
        (("0", "x"), "malformed argument 'x'"),
        (("0", "1", "-r"), "option '-r' requires an argument"),
        (("0", "1", "--rat", "5"), "unknown option '--rat'\nDid you mean '--rate'?"),
        (
            ("0", "1", "-z"),
            "unknown option '-z'\nDid you mean one of these: '-f' '-h' '-r' '-s'?",
        ),
        (("0", "1", "--help=yes"), "option '--help' does not take arguments"),
    ],
)
def test_parse_errors(lua, words, message):
    parser = make_parser(lua)
    assert parse_err(lua, parser, *words) == message


def test_converter_message_and_bounds(lua):
    lua.execute(
        """function configure(p)
            p:argument("n", "N."):convert(function(s)
                if s == "bad" then return nil, "n must be good" end
                return s
            end)
            p:option("-k", "K."):args("2-3")
            p:option("-m", "M."):count("2")
        end"""
    )
    parser = make_parser(lua, "", "t")
    assert parse_err(lua, parser, "bad") == "n must be good"
    assert parse_err(lua, parser, "x", "-k", "1") == "option '-k' requires at least 2 arguments"
    assert parse_err(lua, parser, "x", "-m", "1", "-k", "1", "2") == (
        "option '-m' must be used 2 times"
    )
    assert parse_err(lua, parser, "x") == "missing option '-m'"


def test_bad_property_values_raise(lua):
    check = lua.eval(
        """function(code)
            local ok, err = pcall(loadstring(code))
            return err
        end"""
    )
    assert "bad property 'description'" in check('argparse("t"):option("-x"):description(5)')
    assert "bad property 'args'" in check('argparse("t"):option("-x"):args("lots")')
    assert "unknown action 'jump'" in check('argparse("t"):option("-x"):action("jump")')


def run_script(tmp_path, lua_code, *argv):
    """Run Lua code in a fresh interpreter process (the parser calls os.exit)."""
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            import lupa.luajit21 as lj
            rt = lj.LuaRuntime()
            rt.execute("package.path = {LUA_PATH!r} .. package.path")
            rt.execute('argparse = require "argparse"')
            rt.execute({lua_code!r})
            words = rt.table_from(sys.argv[1:])
            rt.eval("function(w) local p = argparse('libmoon examples/l3-load-latency.lua'); "
                    "configure(p); local r = p:parse(w); print('rate', r.rate) end")(words)
            """
        )
    )
    return subprocess.run(
        [sys.executable, str(script), *argv], capture_output=True, text=True, timeout=60
    )


def test_parse_error_exits_1_with_usage_on_stderr(tmp_path):
    proc = run_script(tmp_path, L3_CONFIGURE, "0")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == L3_USAGE + "\n\nError: missing argument 'rxDev'\n"


def test_help_exits_0_with_help_on_stdout(tmp_path):
    proc = run_script(tmp_path, L3_CONFIGURE, "0", "-h", "1")
    assert proc.returncode == 0
    assert proc.stdout == L3_HELP + "\n"
    assert proc.stderr == ""


def test_successful_parse_does_not_exit(tmp_path):
    proc = run_script(tmp_path, L3_CONFIGURE, "0", "1", "--rate=5")
    assert proc.returncode == 0
    assert proc.stdout == "rate\t5\n"
