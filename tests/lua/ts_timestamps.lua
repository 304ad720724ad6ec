-- Software timestamps on a virtual cable (ports 0 -> 1):
--  * timestamper (L2 PTP and UDP PTP): latencies measured, distribution printed
--  * sendWithTimestamp + recvWithTimestamps: TX TSC written into the frame right before the
--    TX burst, RX TSC right after the RX burst; per frame rx > tx, both sequences ordered
-- The last line is JSON for the test.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ts     = require "timestamping"
local hist   = require "histogram"
local timer  = require "timer"

function configure(parser)
    parser:option("--samples", "Latency samples per timestamper."):default(2000):convert(tonumber)
    parser:option("--json", "Save the L2 histogram as JSON here."):default("")
end

function master(args)
    local a = device.config{port = 0, rxQueues = 2, txQueues = 2}
    local b = device.config{port = 1, rxQueues = 2, txQueues = 2}
    device.waitForLinks()
    -- phase 1: the timestamper task measures single-packet latencies
    local l2, udp = mg.startTask("latency", a:getTxQueue(1), b:getRxQueue(1), args.samples,
        args.json):wait()
    -- phase 2: the master sends software-timestamped frames (one at a time, 20 us apart),
    -- a task receives them with RX timestamps on queue 0 (plain UDP: the timestampers'
    -- filters steer PTP frames to queue 1, as a NIC's would)
    local rx = mg.startTask("rxTimestamper", b:getRxQueue(0), args.samples)
    local mem = memory.createMemPool(function(buf)
        buf:getUdpPacket():fill{}
    end)
    local txq = a:getTxQueue(0)
    local bufs = mem:bufArray(1)
    mg.sleepMillis(200)
    local pause = timer:new(20e-6)
    for _ = 1, args.samples do
        bufs:alloc(60)
        txq:sendWithTimestamp(bufs)
        pause:wait()
        pause:reset()
    end
    local sw = rx:wait()
    print(("{\"l2\": %s, \"udp\": %s, \"sw\": %s}"):format(l2, udp, sw))
end

local function summary(h, lost)
    local p = h:percentiles()
    local n = h:totals()
    return ("{\"samples\": %d, \"lost\": %d, \"min\": %.3f, \"p50\": %.3f, \"p99\": %.3f, "
        .. "\"max\": %.3f, \"source\": \"%s\", \"resolution\": %.3f}"):format(n, lost, h:min(),
        p.p50, p.p99, p.max, h.source, h.resolution)
end

function latency(txq, rxq, samples, jsonFile)
    local results = {}
    for _, udp in ipairs { false, true } do
        local t = udp and ts:newUdpTimestamper(txq, rxq) or ts:newTimestamper(txq, rxq)
        local h = t:label(hist:new())
        local lost = 0
        for _ = 1, samples do
            local lat = t:measureLatency()
            if lat == nil then lost = lost + 1 end
            h:update(lat)
        end
        h:print(udp and "UDP timestamper" or "L2 timestamper")
        print(h:sourceLine())
        local p = h:percentiles()
        print(("p50 %.1f ns, p90 %.1f ns, p99 %.1f ns, p99.9 %.1f ns, max %.1f ns"):format(
            p.p50, p.p90, p.p99, p.p999, p.max))
        local mean, worst = t:pollGranularity()
        print(("RX poll granularity: mean %.1f ns, max %.1f ns"):format(mean, worst))
        if not udp and jsonFile ~= "" then h:saveJson(jsonFile) end
        results[#results + 1] = summary(h, lost)
    end
    return results[1], results[2]
end

function rxTimestamper(queue, samples)
    local bufs = memory.bufArray(64)
    local hz = mg.getCyclesFrequency()
    local n, bad, unordered = 0, 0, 0
    local lastTx, lastRx = 0ULL, 0ULL
    local h = hist:new():setSource(ts.SOURCE_SOFTWARE, ts.calibrate().resolutionNs)
    while mg.running() and n < samples do
        local got = queue:recvWithTimestamps(bufs)
        for i = 1, got do
            local rxTs = bufs[i].udata64
            local txTs = bufs[i]:getSoftwareTxTimestamp()
            if rxTs <= txTs then bad = bad + 1 end
            if txTs <= lastTx or rxTs < lastRx then unordered = unordered + 1 end
            lastTx, lastRx = txTs, rxTs
            h:update(tonumber(rxTs - txTs) / hz * 1e9)
        end
        bufs:free(got)
        n = n + got
    end
    h:print("sendWithTimestamp")
    return ("{\"frames\": %d, \"nonpositive\": %d, \"unordered\": %d, \"p50\": %.3f}"):format(
        n, bad, unordered, h:percentiles().p50 or -1)
end
