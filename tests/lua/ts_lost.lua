-- A timestamp packet that never comes back yields nil (after maxWait), never a hang:
--  * sent into a cable end nobody reads (port 0 -> port 1, polled on port 0)
--  * the wrong sequence id comes back
--  * the run stops while a measurement waits (maxWait 10 s)
local mg     = require "moongen"
local device = require "device"
local ts     = require "timestamping"

function master()
    local a = device.config{port = 0, rxQueues = 2, txQueues = 2}
    local b = device.config{port = 1, rxQueues = 2, txQueues = 2}
    device.waitForLinks()
    local task = mg.startTask("probe", a:getTxQueue(1), a:getRxQueue(1), b:getRxQueue(1))
    mg.sleepMillis(3000)
    mg.stop()
    print(task:wait())
end

function probe(txq, deadEnd, rxq)
    local hz = mg.getCyclesFrequency()
    local function timed(f)
        local t0 = mg.getCycles()
        local lat, seen = f()
        return lat, seen, tonumber(mg.getCycles() - t0) / hz
    end
    -- 1: lost on the way
    local lost = ts:newTimestamper(txq, deadEnd)
    local nils, worst = 0, 0
    for _ = 1, 20 do
        local lat, _, secs = timed(function() return lost:measureLatency(60, nil, 5) end)
        if lat == nil then nils = nils + 1 end
        worst = math.max(worst, secs)
    end
    -- 2: a frame comes back, but not ours
    local t = ts:newTimestamper(txq, rxq)
    local wrongLat, wrongSeen = t:measureLatency(function(buf)
        buf:getPtpPacket().ptp:setSequenceID(40000)
    end, 5)
    local okLat = t:measureLatency()
    -- 3: the run stops while waiting
    local stopLat, _, stopSecs = timed(function() return lost:measureLatency(60, nil, 10000) end)
    return ("{\"lost_nil\": %d, \"lost_worst_s\": %.4f, \"wrong_seq\": %s, \"wrong_seen\": %d, "
        .. "\"ok\": %s, \"stopped\": %s, \"stopped_s\": %.4f}"):format(nils, worst,
        tostring(wrongLat == nil), wrongSeen, tostring(okLat ~= nil), tostring(stopLat == nil),
        stopSecs)
end
