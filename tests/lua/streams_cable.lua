-- per-stream statistics from Lua across the cable: 300 frames of stream 0, 100 of stream 1
local mg = require "moongen"
local memory = require "memory"
local device = require "device"
local streams = require "streams"

function master(txPort, rxPort)
    local tx = device.config({ port = txPort })
    local rx = device.config({ port = rxPort })
    device.waitForLinks()
    local set = streams.new(2)
    local r = mg.startTask("receiver", rx:getRxQueue(0), set.id)
    mg.startTask("sender", tx:getTxQueue(0), set.id):wait()
    mg.sleepMillis(200)
    mg.stop()
    r:wait()
    for s = 0, 1 do
        local c = set:get(s)
        print(("STREAM %d tx=%d rx=%d lost=%d ooo=%d dup=%d lat=%s"):format(s, c.tx_pkts,
            c.rx_pkts, c.lost, c.out_of_order, c.duplicates, tostring(c.lat_count > 0)))
    end
end

function sender(queue, id)
    local set = streams.attach(id)
    local mem = memory.createMemPool(function(buf)
        buf:getUdpPacket():fill({ pktLength = 60 })
    end)
    local bufs = mem:bufArray(10)
    for i = 1, 40 do
        bufs:alloc(60)
        set:stamp(bufs, i % 4 == 0 and 1 or 0)
        queue:send(bufs)
    end
end

function receiver(queue, id)
    local set = streams.attach(id)
    local bufs = memory.bufArray()
    while mg.running() do
        local n = queue:recvWithTimestamps(bufs)
        set:count(bufs, n, true)
        bufs:free(n)
    end
end
