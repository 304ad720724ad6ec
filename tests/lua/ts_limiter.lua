-- MoonGen's software rate limiter (cbr, 100 us apart = 10 kpps) fed by the master for ~1 s;
-- its ring (1023 frames = 100 ms) rides out a busy machine preempting the master.
local mg      = require "moongen"
local memory  = require "memory"
local device  = require "device"
local ffi     = require "ffi"
local api     = require "moonpy.api"
local limiter = require "software-ratecontrol"

function master()
    local tx = device.config{port = 0, txQueues = 1, rxQueues = 1}
    device.config{port = 1, txQueues = 1, rxQueues = 1}
    device.waitForLinks()
    local queue = tx:getTxQueue(0)
    local rl = limiter:new(queue, "cbr", 100000)
    local mem = memory.createMemPool(function(buf)
        buf:getEthernetPacket():fill{ ethType = 0x1234 }
    end)
    local bufs = mem:bufArray(32)
    local stop = mg.getTime() + 1.2
    while mg.running() and mg.getTime() < stop do
        bufs:alloc(60)
        rl:send(bufs)
    end
    rl:stop()
    mg.waitForTasks()
    local s = api.pacerStats(queue.pid, 0)
    local secs = tonumber(s[1] - s[0]) / mg.getCyclesFrequency()
    print(("{\"sent\": %d, \"mpps\": %.9g}"):format(rl:count(), (tonumber(s[2]) - 1) / secs / 1e6))
end
