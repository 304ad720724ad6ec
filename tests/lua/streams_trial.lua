-- a trial's two C loops from Lua across the cable: set:send (alloc, stamp as streams 0 and
-- 1 in turn, paced send) and set:receive (RX TSC per burst, count, free)
local mg = require "moongen"
local memory = require "memory"
local device = require "device"
local streams = require "streams"

function master(txPort, rxPort, n, rate)
    local tx = device.config({ port = txPort })
    local rx = device.config({ port = rxPort })
    device.waitForLinks()
    n, rate = tonumber(n), tonumber(rate)
    local set = streams.new(2)
    tx:getTxQueue(0):setRateMpps(rate / 1e6, 60)
    local r = mg.startSharedTask("receiver", rx:getRxQueue(0), set.id)
    mg.sleepMillis(50) -- the receiver polls before the first frame leaves
    local sent, seconds, empty = mg.startTask("sender", tx:getTxQueue(0), set.id, n):wait()
    local got, counted = r:wait()
    print(("TRIAL sent=%d rate=%.0f empty=%d got=%d counted=%d missed=%d"):format(sent,
        (sent - 1) / seconds, empty, got, counted, rx:getStats().imissed))
    for s = 0, 1 do
        local c = set:get(s)
        print(("STREAM %d tx=%d rx=%d lost=%d ooo=%d dup=%d"):format(s, c.tx_pkts, c.rx_pkts,
            c.lost, c.out_of_order, c.duplicates))
    end
    local m = set:malformed()
    print(("SET counted=%d rx_tsc=%d"):format(m.counted, m.rx_tsc))
end

function sender(queue, id, n)
    local set = streams.attach(id)
    local mem = memory.createMemPool({ n = 4095, func = function(buf)
        buf:getUdpPacket():fill({ pktLength = 60 })
    end })
    return set:send(queue, mem, n, 60, 0, 2, 0.05)
end

function receiver(queue, id)
    return streams.attach(id):receive(queue)
end
