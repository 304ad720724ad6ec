-- setRate / setRateMpps on a virtual cable: the software pacer's achieved rate over ~1 s.
-- Prints one JSON line: target and achieved (departure TSCs and TX counter) rates.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"
local api    = require "moonpy.api"

function configure(parser)
    parser:option("--mpps", "Target rate in Mpps."):default(0.05):convert(tonumber)
    parser:option("--time", "Seconds to send."):default(1):convert(tonumber)
    parser:option("--size", "Frame size."):default(60):convert(tonumber)
end

function master(args)
    local tx = device.config{port = 0, txQueues = 1, rxQueues = 1}
    device.config{port = 1, txQueues = 1, rxQueues = 1}
    device.waitForLinks()
    tx:getTxQueue(0):setRateMpps(args.mpps, args.size)
    local task = mg.startTask("load", tx:getTxQueue(0), args.size, args.time)
    local sent, secs = task:wait()
    local s = api.pacerStats(tx:getTxQueue(0).pid, 0)
    local n = tonumber(s[2])
    local depSecs = tonumber(s[1] - s[0]) / mg.getCyclesFrequency()
    print(("{\"target_mpps\": %.9g, \"counted_mpps\": %.9g, \"departure_mpps\": %.9g, "
        .. "\"frames\": %d, \"seconds\": %.6f}"):format(args.mpps, sent / secs / 1e6,
        (n - 1) / depSecs / 1e6, n, depSecs))
end

function load(queue, size, seconds)
    local mem = memory.createMemPool(function(buf)
        buf:getEthernetPacket():fill{ ethType = 0x1234 }
    end)
    local bufs = mem:bufArray(32)
    local hz = mg.getCyclesFrequency()
    local start = mg.getCycles()
    local stop = start + seconds * hz
    local sent = 0
    while mg.running() and mg.getCycles() < stop do
        bufs:alloc(size)
        sent = sent + queue:send(bufs)
    end
    return sent, tonumber(mg.getCycles() - start) / hz
end
