"""stats.lua's stats task (startStatsTask): its arguments, the order in which it updates
and finalizes counters, and its CSV file. The fake libmoon and stdout: test_lua_stats.py."""

import pytest
from test_lua_stats import CSV_HEADER, RX, TX, output, plain_update, stats_runtime

pytestmark = pytest.mark.lua


@pytest.fixture
def lua():
    return stats_runtime()


# --------------------------------------------------------------------------------------------
# stats task


def test_start_stats_task_arguments(lua):
    lua.execute(
        """d0, d1 = newDev(0), newDev(1)
        stats.startStatsTask{d0, d1}
        stats.startStatsTask{devices = {d0}, rxDevices = {d1}, format = "csv", file = "x.csv"}"""
    )
    assert lua.eval("#started") == 2
    assert lua.eval("started[1].name") == "__LIBMOON_STATS_TASK"
    assert lua.eval("started[1].n") == 1
    assert lua.eval("#started[1][1].devices") == 2
    assert lua.eval("started[1][1].devices[2] == d1") is True
    assert lua.eval("#started[1][1].rxDevices") == 0
    second = "started[2][1]"
    assert lua.eval(f"{second}.format") == "csv"
    assert lua.eval(f"{second}.file") == "x.csv"
    assert lua.eval(f"{second}.rxDevices[1] == d1") is True
    assert lua.eval(f"#{second}.txDevices") == 0
    assert lua.eval('type(rawget(_G, "__LIBMOON_STATS_TASK"))') == "function"


def test_stats_task_order_and_finalize(lua):
    lua.execute(
        """d0, d1, d2 = newDev(0), newDev(1), newDev(2)
        local function tick(t)
            return function()
                clock.now = t
                for _, d in ipairs({d0, d1, d2}) do
                    d.txPkts = t * 1e6 * (d.id + 1); d.txBytes = d.txPkts * 60
                    d.rxPkts = t * 2e6; d.rxBytes = d.rxPkts * 60
                end
            end
        end
        clock.steps = { tick(0), tick(0.5), tick(2), tick(2.005), tick(4) }
        __LIBMOON_STATS_TASK({
            devices = { d0, d1 },
            rxDevices = { d2, d1 },
            txDevices = { { dev = d2, format = "nil" } },
        })"""
    )
    lines = output(lua).splitlines(keepends=True)
    # RX: rxDevices then devices, duplicate d1 kept at its last position; then TX
    names = ["[Device: id=2] RX", "[Device: id=0] RX", "[Device: id=1] RX",
             "[Device: id=0] TX", "[Device: id=1] TX"]  # fmt: skip
    tick_lines = []
    for name in names:
        color = RX if name.endswith("RX") else TX
        dev_id = int(name[12])
        rate = 2.0 if name.endswith("RX") else float(dev_id + 1)
        tick_lines.append(plain_update(color, name[1:-4], name[-2:], rate, rate * 512,
                                       rate * 672))  # fmt: skip
    assert lines[:5] == tick_lines
    assert lines[5:10] == tick_lines
    assert len(lines) == 15
    for line, name in zip(lines[10:], names, strict=True):
        assert line.startswith(f"{RX if name.endswith('RX') else TX}{name}")
        assert "(incl. CRC)" in line
    assert set(lua.eval("clock.runningArgs").values()) == {200}
    assert set(lua.eval("clock.idle").values()) == {10}
    assert list(lua.eval("clock.sleeps").values()) == [0] * 6
    assert lua.eval("d2.rxCleared") == 1


def test_stats_task_csv_to_file(lua, tmp_path):
    path = tmp_path / "task.csv"
    lua.globals().path = str(path)
    lua.execute(
        """d0 = newDev(0)
        clock.steps = { function() clock.now = 0 end, function() clock.now = 1.5 end }
        __LIBMOON_STATS_TASK({ devices = { d0 }, rxDevices = {}, txDevices = {},
            format = "csv", file = path })"""
    )
    lines = path.read_text().splitlines()
    assert lines == [
        CSV_HEADER.strip(),
        "1700000000,Device: id=0,RX,0,0,0,0,0",
        "1700000000,Device: id=0,TX,0,0,0,0,0",
        "1700000000,Device: id=0,RX,0,0,0,0,0",
        "1700000000,Device: id=0,TX,0,0,0,0,0",
    ]
