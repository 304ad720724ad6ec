-- Sends at full speed until stopped (by a signal in the tests).
local mg     = require "moongen"
local device = require "device"
local memory = require "memory"

function master(port)
    local dev = device.config{port = port or 0, txQueues = 1}
    device.waitForLinks()
    mg.startTask("load", dev:getTxQueue(0))
    print("started")
    io.stdout:flush()
    mg.waitForTasks()
    print("counters finalized: " .. tostring(dev:getTxStats() >= 0) .. " tx=" .. dev:getTxStats())
end

function load(queue)
    local pool = memory.createMemPool(function(buf) buf:getUdpPacket():fill() end)
    local bufs = pool:bufArray()
    while mg.running() do
        bufs:alloc(60)
        queue:send(bufs)
    end
end
