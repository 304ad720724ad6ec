"""stats.lua: throughput counters with MoonGen/libmoon-identical output."""

from pathlib import Path

import pytest

pytestmark = pytest.mark.lua

luajit21 = pytest.importorskip("lupa.luajit21")

LUA_DIR = Path(__file__).parents[1] / "moonpy" / "lua"
LUA_PATH = f"{LUA_DIR}/?.lua;{LUA_DIR}/?/init.lua;"

ESC = "\x1b"
TX = f"{ESC}[0;34m"
RX = f"{ESC}[1;36m"
RESET = f"{ESC}[0m"
CSV_HEADER = "Time,Device,Direction,PacketRate,Mbit,MbitWithFraming,TotalPackets,TotalBytes\n"

# Fake libmoon (clock under test control), fake stdout, fake devices and queues.
FAKES = r"""
clock = { now = 0, sleeps = {}, idle = {}, runningArgs = {}, steps = {}, step = 0 }
started = {}
package.loaded.libmoon = {
    getTime = function() return clock.now end,
    sleepMillis = function(ms) clock.sleeps[#clock.sleeps + 1] = ms end,
    sleepMillisIdle = function(ms) clock.idle[#clock.idle + 1] = ms end,
    running = function(extra)
        clock.runningArgs[#clock.runningArgs + 1] = extra
        clock.step = clock.step + 1
        local step = clock.steps[clock.step]
        if not step then return false end
        step()
        return true
    end,
    startSharedTask = function(name, ...)
        started[#started + 1] = { name = name, n = select("#", ...), ... }
    end,
}

out = {}
io.stdout = {
    write = function(self, ...)
        for i = 1, select("#", ...) do out[#out + 1] = tostring((select(i, ...))) end
        return self
    end,
    flush = function() end,
}
function output()
    local s = table.concat(out)
    out = {}
    return s
end

local devMeta = {}
devMeta.__index = devMeta
devMeta.__tostring = function(d) return "[Device: id=" .. d.id .. "]" end
function devMeta:getTxStats()
    self.txReads = self.txReads + 1
    return self.txPkts, self.txBytes
end
function devMeta:getRxStats() return self.rxPkts, self.rxBytes end
function devMeta:clearRxStats() self.rxCleared = self.rxCleared + 1 end
function newDev(id)
    return setmetatable({ id = id, txPkts = 0, txBytes = 0, rxPkts = 0, rxBytes = 0,
        txReads = 0, rxCleared = 0 }, devMeta)
end
function newQueue(dev, qid, kind)
    return setmetatable({ id = dev.id, qid = qid, dev = dev }, {
        __tostring = function(q)
            return "[" .. kind .. ": id=" .. q.id .. ", qid=" .. q.qid .. "]"
        end
    })
end
"""


def new_runtime():
    runtime = luajit21.LuaRuntime()
    runtime.execute(f"package.path = {LUA_PATH!r} .. package.path")
    runtime.execute(FAKES)
    return runtime


def stats_runtime():
    """A VM with stats.lua loaded over the fakes and a fixed wall clock."""
    runtime = new_runtime()
    runtime.execute('stats = require "stats"')
    # wall clock for CSV rows (set after require: log/utils define the global `time`)
    runtime.execute("time = function() return 1700000000.9 end")
    return runtime


@pytest.fixture
def lua():
    return stats_runtime()


def output(lua):
    return lua.eval("output()")


def g14(x):
    """Lua's tostring for numbers."""
    return format(x, ".14g")


def plain_update(color, name, direction, mpps, mbit, wire):
    return (
        f"{color}[{name}] {direction}{RESET}: {mpps:.2f} Mpps, {mbit:.0f} Mbit/s "
        f"({wire:.0f} Mbit/s with framing)\n"
    )


# --------------------------------------------------------------------------------------------
# periodic plain lines and the >1 s rule


def test_dev_tx_periodic_line_exact(lua):
    lua.execute(
        """dev = newDev(0)
        dev.txPkts, dev.txBytes = 1000, 60000
        ctr = stats:newDevTxCounter(dev)
        first = ctr:update()"""
    )
    assert lua.eval("first") is False
    assert lua.eval("ctr.name") == "Device: id=0"
    assert lua.eval("ctr.total") == 1000
    assert lua.eval("ctr.totalBytes") == 64000  # 4 CRC bytes per packet
    # exactly 1 s later: not strictly more than 1 s, nothing happens
    lua.execute("clock.now = 1.0; dev.txPkts = 5000; r1 = ctr:update()")
    assert lua.eval("r1") is False
    assert output(lua) == ""
    lua.execute(
        """clock.now = 2.0
        dev.txPkts = 1000 + 29761904
        dev.txBytes = 60000 + 29761904 * 60
        r2 = ctr:update()"""
    )
    assert lua.eval("r2") is True
    assert output(lua) == (
        f"{ESC}[0;34m[Device: id=0] TX{ESC}[0m: 14.88 Mpps, 7619 Mbit/s "
        "(10000 Mbit/s with framing)\n"
    )
    assert lua.eval("#ctr.mpps") == 1
    assert lua.eval("ctr.mpps[1]") == pytest.approx(14.880952)
    assert lua.eval("ctr.wireMbit[1]") == pytest.approx(
        lua.eval("ctr.mbit[1]") + lua.eval("ctr.mpps[1]") * 160
    )
    # the window restarts at the last report
    lua.execute("clock.now = 2.9; r3 = ctr:update()")
    assert lua.eval("r3") is False


def test_dev_rx_line_color_and_clear(lua):
    lua.execute(
        """dev = newDev(1)
        ctr = stats:newDevRxCounter(dev)
        ctr:update()
        clock.now = 1.5
        dev.rxPkts, dev.rxBytes = 1500000, 1500000 * 60
        ctr:update()"""
    )
    assert lua.eval("dev.rxCleared") == 1
    assert lua.eval("ctr.sleep") == 100
    mpps = 1.0
    mbit = 1500000 * 64 * 8 / 1.5 / 1e6
    assert output(lua) == plain_update(RX, "Device: id=1", "RX", mpps, mbit, mbit + mpps * 160)


def test_update_strictly_more_than_one_second(lua):
    lua.execute(
        """ctr = stats:newManualTxCounter("m", "plain")
        a = ctr:update(0, 0)
        clock.now = 1.0
        b = ctr:update(10, 640)
        clock.now = 1.0000001
        c = ctr:update(0, 0)"""
    )
    assert lua.eval("a") is False
    assert lua.eval("b") is False
    assert lua.eval("c") is True
    assert lua.eval("ctr.total") == 10


# --------------------------------------------------------------------------------------------
# final lines


def test_final_drops_first_and_last_sample(lua):
    lua.execute(
        """ctr = stats:newManualTxCounter("Port 42")
        ctr:update(0, 0)
        for i = 1, 3 do
            clock.now = 2 * i
            ctr:update(i * 2e6, i * 2e6 * 64)
        end
        periodic = output()
        clock.now = 7
        ctr:finalize()"""
    )
    assert lua.eval("periodic") == "".join(
        plain_update(TX, "Port 42", "TX", r, r * 512, r * 672) for r in (1.0, 2.0, 3.0)
    )
    assert output(lua) == (
        f"{ESC}[0;34m[Port 42] TX{ESC}[0m: 2.50 (StdDev 0.71) Mpps, 1280 (StdDev 362) Mbit/s "
        "(1680 Mbit/s with framing), total 12000000 packets with 768000000 bytes (incl. CRC)\n"
    )
    assert lua.eval("#ctr.mpps") == 4
    assert [lua.eval(f"ctr.mpps[{i}]") for i in range(1, 5)] == [1.0, 2.0, 3.0, 0.0]
    assert lua.eval("ctr.mpps.avg") == 2.5
    assert lua.eval("clock.sleeps[1]") == 0  # manual counters have no own sleep


def test_short_run_prints_a_real_summary_not_nan(lua):
    # One sample in total (the silent one taken by finalize): libmoon would average an
    # empty list and print nan; moonpy averages the whole span instead, so a short run still
    # reports what it sent.
    lua.execute(
        """dev = newDev(2)
        ctr = stats:newDevTxCounter(dev)
        ctr:update()
        clock.now = 0.4
        dev.txPkts, dev.txBytes = 100, 6000
        ctr:finalize()"""
    )
    assert lua.eval("clock.sleeps[1]") == 50
    assert output(lua) == (
        f"{TX}[Device: id=2] TX{RESET}: 0.00 (StdDev 0.00) Mpps, 0 (StdDev 0) Mbit/s "
        "(0 Mbit/s with framing), total 100 packets with 6400 bytes (incl. CRC)\n"
    )
    # 100 frames and 6400 bytes over the 0.4 s from the baseline to the final sample
    assert lua.eval("ctr.mpps.avg") == pytest.approx(100 / 0.4 / 1e6)
    assert lua.eval("ctr.mbit.avg") == pytest.approx(6400 * 8 / 0.4 / 1e6)


def test_three_samples_give_zero_stddev_not_nan(lua):
    # one value is left after dropping the first and last; libmoon's n - 1 gives nan
    lua.execute(
        """ctr = stats:newManualRxCounter("r")
        ctr:update(0, 0)
        clock.now = 2; ctr:update(2e6, 128e6)
        clock.now = 4; ctr:update(4e6, 256e6)
        output()
        clock.now = 4.5
        ctr:finalize(0)"""
    )
    assert output(lua) == (
        f"{RX}[r] RX{RESET}: 2.00 (StdDev 0.00) Mpps, 1024 (StdDev 0) Mbit/s "
        "(1344 Mbit/s with framing), total 6000000 packets with 384000000 bytes (incl. CRC)\n"
    )


def test_finalize_sleep_defaults(lua):
    lua.execute(
        """tx = stats:newDevTxCounter(newDev(0), "nil")
        rx = stats:newDevRxCounter(newDev(1), "nil")
        tx:update(); rx:update()
        tx:finalize(); rx:finalize(); tx2 = stats:newDevTxCounter(newDev(3), "nil")
        tx2:finalize(7)"""
    )
    assert list(lua.eval("clock.sleeps").values()) == [50, 100, 7]
    assert output(lua) == ""


# --------------------------------------------------------------------------------------------
# CSV


def test_csv_header_rows_and_shared_file(lua, tmp_path):
    path = tmp_path / "stats.csv"
    path.write_text("old content that w+ must truncate\n")
    lua.globals().path = str(path)
    lua.execute(
        """tx = stats:newManualTxCounter("Port 1", "CSV", path)
        rx = stats:newManualRxCounter("[Port 2]", "csv", path)
        tx:update(0, 0); rx:update(0, 0)
        clock.now = 3
        tx:update(44642857, 44642857 * 64)
        rx:update(7, 1000)
        clock.now = 3.5
        tx:finalize(); rx:finalize()"""
    )
    mpps = 44642857 / 3 / 1e6
    mbit = 44642857 * 64 / 3 / 1e6 * 8
    wire = mbit + mpps * 160
    rx_mpps = 7 / 3 / 1e6
    rx_mbit = 1000 / 3 / 1e6 * 8
    rx_wire = rx_mbit + rx_mpps * 160
    assert g14(mpps) == "14.880952333333"
    assert path.read_text() == (
        CSV_HEADER
        + f"1700000000,Port 1,TX,{g14(mpps)},{g14(mbit)},{g14(wire)},44642857,2857142848\n"
        + f"1700000000,Port 2,RX,{g14(rx_mpps)},{g14(rx_mbit)},{g14(rx_wire)},7,1000\n"
        # finals: only one sample each, nothing left after dropping first and last
        # finals: two samples, too few to drop the first and last; libmoon prints nan,
        # moonpy the whole span's averages, 0 to 3.5 s (a short run still says what it sent)
        + "1700000000,Port 1,TX,12.755102,6530.612224,8571.428544,44642857,2857142848\n"
        + "1700000000,Port 2,RX,2e-06,0.0022857142857143,0.0026057142857143,7,1000\n"
    )
    assert output(lua) == ""  # no ANSI, nothing on stdout


def test_csv_final_average_and_integers(lua, tmp_path):
    path = tmp_path / "final.csv"
    lua.globals().path = str(path)
    lua.execute(
        """c = stats:newManualTxCounter("x", "csv", path)
        c:update(0, 0)
        for i = 1, 4 do clock.now = i * 2; c:updateWithSize(2e7, 121) end
        clock.now = 8.5
        c:finalize()"""
    )
    lines = path.read_text().splitlines()
    assert lines[0] == CSV_HEADER.strip()
    # 1e7 pps, 125 bytes each: 10 Mpps, 10000 Mbit/s, 11600 with framing; %.14g gives no ".0"
    assert lines[1] == "1700000000,x,TX,10,10000,11600,20000000,2500000000"
    assert lines[5] == "1700000000,x,TX,10,10000,11600,80000000,10000000000"


def test_csv_to_stdout_has_header_once(lua):
    lua.execute(
        """a = stats:newManualTxCounter("a", "csv")
        b = stats:newManualTxCounter("b", "csv")
        a:update(0, 0); b:update(0, 0)"""
    )
    assert output(lua) == CSV_HEADER


def test_file_refcount_closes_after_last_user(lua, tmp_path):
    path = tmp_path / "plain.txt"
    lua.globals().path = str(path)
    lua.execute(
        """a = stats:newManualTxCounter("a", "plain", path)
        b = stats:newManualTxCounter("b", "plain", path)
        same = a.file == b.file
        a:update(0, 0); b:update(0, 0)
        a:finalize()
        openAfterFirst = io.type(b.file)
        b:finalize()
        closedAfterLast = io.type(b.file)"""
    )
    assert lua.eval("same") is True
    assert lua.eval("openAfterFirst") == "file"
    assert lua.eval("closedAfterLast") == "closed file"
    text = path.read_text()
    assert text.count("(incl. CRC)") == 2
    assert f"{TX}[a] TX{RESET}: 0.00 (StdDev 0.00)" in text  # ANSI codes also go to files


# --------------------------------------------------------------------------------------------
# constructors, packet and manual counters


def test_count_packet_and_queue_name(lua):
    lua.execute(
        """q = newQueue(newDev(1), 0, "RxQueue")
        ctr = stats:newPktRxCounter(q)
        ctr:update()
        for i = 1, 1000 do ctr:countPacket({ pkt_len = 60 }) end
        ctr:countPacket({ pkt_len = 1514 })
        p, b = ctr:getThroughput()
        clock.now = 2
        ctr:update()"""
    )
    assert lua.eval("ctr.name") == "RxQueue: id=1, qid=0"
    assert lua.eval("p") == 1001
    assert lua.eval("b") == 1000 * 64 + 1518
    mpps = 1001 / 2 / 1e6
    mbit = (64000 + 1518) / 2 / 1e6 * 8
    assert output(lua) == plain_update(
        RX, "RxQueue: id=1, qid=0", "RX", mpps, mbit, mbit + mpps * 160
    )


def test_pkt_tx_counter_counts(lua):
    lua.execute(
        """ctr = stats:newPktTxCounter("Packets counted", "nil")
        ctr:countPacket({ pkt_len = 124 })
        p, b = ctr:getThroughput()"""
    )
    assert (lua.eval("p"), lua.eval("b")) == (1, 128)


def test_update_with_size(lua):
    lua.execute(
        """ctr = stats:newManualRxCounter("m", "nil")
        ctr:updateWithSize(10, 60)
        ctr:update(1, 100)
        p, b = ctr:getThroughput()"""
    )
    assert (lua.eval("p"), lua.eval("b")) == (11, 740)


def test_dev_counter_argument_shifting(lua, tmp_path):
    path = tmp_path / "dev.csv"
    lua.globals().path = str(path)
    lua.execute(
        """dev = newDev(3)
        a = stats:newDevTxCounter(dev, "csv", path)
        b = stats:newDevTxCounter("custom", newQueue(dev, 2, "TxQueue"))
        c = stats:newDevRxCounter(newQueue(dev, 1, "RxQueue"), "nil")
        d = stats:newDevRxCounter("[Named]", dev, "CSV", path)"""
    )
    assert (lua.eval("a.name"), lua.eval("a.format"), lua.eval("a.dir")) == (
        "Device: id=3",
        "csv",
        "tx",
    )
    assert lua.eval("a.closeFile") == str(path)
    assert (lua.eval("b.name"), lua.eval("b.format")) == ("custom", "plain")
    assert lua.eval("b.dev == dev") is True
    assert lua.eval("b.file == io.stdout") is True
    assert (lua.eval("c.name"), lua.eval("c.dev == dev"), lua.eval("c.dir")) == (
        "Device: id=3",
        True,
        "rx",
    )
    assert lua.eval("d.name") == "Named"
    assert lua.eval("a.file == d.file") is True
    # TX counters read the NIC counters once at creation; RX counters clear them
    assert lua.eval("dev.txReads") == 2
    assert lua.eval("dev.rxCleared") == 2
    ids = [lua.eval(f"{n}.id") for n in "abcd"]
    assert ids == [1, 2, 3, 4]
    assert lua.eval("stats.numCounters()") == 4


def test_crc_added_unless_device_includes_it(lua):
    lua.execute(
        """dev = newDev(0)
        dev.txPkts, dev.txBytes, dev.rxPkts, dev.rxBytes = 10, 600, 5, 300
        tx = stats:newDevTxCounter(dev, "nil")
        rx = stats:newDevRxCounter(dev, "nil")
        tp, tb = tx:getThroughput()
        rp, rb = rx:getThroughput()
        dev.statsIncludeCrc = true
        tp2, tb2 = tx:getThroughput()"""
    )
    assert (lua.eval("tp"), lua.eval("tb")) == (10, 640)
    assert (lua.eval("rp"), lua.eval("rb")) == (5, 320)
    assert lua.eval("tb2") == 600


def test_unknown_format_and_bad_device_are_fatal(lua):
    lua.execute(
        """ok1, err1 = pcall(function() stats:newManualTxCounter("x", "ini") end)
        ok2, err2 = pcall(function() stats:newDevTxCounter("x", 42) end)"""
    )
    assert lua.eval("ok1") is False
    assert "Unsupported output format ini" in lua.eval("err1")
    assert lua.eval("ok2") is False
    assert "Bad device" in lua.eval("err2")


def test_get_stats_and_force(lua):
    lua.execute(
        """ctr = stats:newManualTxCounter("g", "nil")
        ctr:update(0, 0)
        clock.now = 2; ctr:update(2e6, 2e6 * 64)
        clock.now = 4; ctr:update(4e6, 4e6 * 64)
        clock.now = 5; ctr.current = ctr.current + 3e6
        mpps, mbit, wire, total, bytes = ctr:getStats(true)
        n = #ctr.mpps
        mpps2 = ctr:getStats()"""
    )
    # forced silent sample appended: [1, 2, 3] -> avg over the middle one
    assert lua.eval("n") == 3
    assert lua.eval("mpps.avg") == 2.0
    assert lua.eval("mbit.avg") == 1024.0
    assert lua.eval("wire.sum") == 1344.0
    assert lua.eval("mpps.median") == 2.0
    assert lua.eval("total") == 9e6
    assert lua.eval("bytes") == 6e6 * 64
    assert lua.eval("mpps2 == mpps") is True
    assert output(lua) == ""


# --------------------------------------------------------------------------------------------
# moonpy additions: sink and muted plain output


def test_sink_receives_updates_and_final(lua):
    lua.execute(
        """events = {}
        MOONPY_STATS_SINK = function(event, ctr)
            events[#events + 1] = event .. ":" .. ctr.name .. ":" .. #ctr.mpps .. ":"
                .. tostring(ctr.mpps.avg)
        end
        ctr = stats:newManualTxCounter("s", "nil")
        ctr:update(0, 0)
        clock.now = 2; ctr:update(2e6, 0)
        clock.now = 4; ctr:update(2e6, 0)
        clock.now = 5; ctr:getStats(true)
        clock.now = 6; ctr:finalize()"""
    )
    # getStats(true) adds a silent sample (no event): samples 1, 1, 0, 0 -> avg of 1, 0
    assert list(lua.eval("events").values()) == [
        "update:s:1:nil",
        "update:s:2:nil",
        "final:s:4:0.5",
    ]


def test_plain_output_muted_on_stdout_only(lua, tmp_path):
    path = tmp_path / "file.txt"
    lua.globals().path = str(path)
    lua.execute(
        """MOONPY_STATS_PLAIN_OUTPUT = false
        a = stats:newManualTxCounter("stdout")
        b = stats:newManualTxCounter("file", "plain", path)
        c = stats:newManualTxCounter("csv", "csv")
        for _, x in ipairs({a, b, c}) do x:update(0, 0) end
        clock.now = 2
        for _, x in ipairs({a, b, c}) do x:update(2e6, 128e6) end
        for _, x in ipairs({a, b, c}) do x:finalize() end"""
    )
    assert output(lua) == (
        CSV_HEADER
        + "1700000000,csv,TX,1,512,672,2000000,128000000\n"
        + "1700000000,csv,TX,1,512,672,2000000,128000000\n"
    )
    text = path.read_text()
    assert text.startswith(plain_update(TX, "file", "TX", 1, 512, 672))
    assert "(incl. CRC)" in text


# --------------------------------------------------------------------------------------------
# math helpers and module hygiene


def test_math_helpers(lua):
    lua.execute(
        """t = {4, 1, 3, 2, 10}
        avg, med, p90, sd, sm = stats.average(t), stats.median(t), stats.percentile(t, 90),
            stats.stdDev({2, 4, 4, 4, 5, 5, 7, 9}), stats.sum(t)
        a = {1, 100, 5, 7, 1000}
        stats.addStats(a, true)
        b = {1, 2, 3}
        stats.addStats(b)
        emptyAvg = stats.average({})
        oneSd = stats.stdDev({5})"""
    )
    assert lua.eval("avg") == 4.0
    assert lua.eval("med") == 3
    assert lua.eval("p90") == 10
    assert lua.eval("sd") == pytest.approx(2.138089935)
    assert lua.eval("sm") == 20
    assert (lua.eval("a.avg"), lua.eval("a.median"), lua.eval("a.sum")) == (
        pytest.approx(112 / 3),
        7,
        112,
    )
    assert lua.eval("#a") == 5  # the statistics are hash fields
    assert (lua.eval("b.avg"), lua.eval("b.stdDev"), lua.eval("b.median")) == (2, 1, 2)
    assert lua.eval("emptyAvg ~= emptyAvg") is True
    assert lua.eval("oneSd ~= oneSd") is True


def test_no_new_globals():
    runtime = new_runtime()
    runtime.execute(
        """require "log"; require "colors"; require "utils"
        local before = {}
        for k in pairs(_G) do before[k] = true end
        require "stats"
        local found = {}
        for k in pairs(_G) do if not before[k] then found[#found + 1] = k end end
        rawset(_G, "added", found)"""
    )
    assert list(runtime.eval("added").values()) == ["__LIBMOON_STATS_TASK"]


def test_without_log_module():
    runtime = new_runtime()
    runtime.execute(
        """package.preload.log = function() error("no log here") end
        stats = require "stats"
        ok, err = pcall(function() stats:newPktTxCounter("x", "ini") end)"""
    )
    assert runtime.eval("ok") is False
    assert "Unsupported output format ini" in runtime.eval("err")
