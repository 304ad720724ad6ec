-- Old-MoonGen forms third-party scripts still use: device.config(port, mempool, rx, tx)
-- and tasks pinned to cores of a bigger machine (launchLuaOnCore(5, ...)).
local mg     = require "moongen"
local dpdk   = require "dpdk"
local memory = require "memory"
local device = require "device"

local N = 200

function master(txPort, rxPort)
    local rxPool = memory.createMemPool()
    local txDev = device.config(txPort, rxPool, 1, 2)
    local rxDev = device.config(rxPort, 1, 1)
    device.waitForLinks()
    -- the mempool form: the third and fourth argument are the queue counts
    print(("TXQ1 %s"):format(tostring(pcall(txDev.getTxQueue, txDev, 1))))
    local counter = dpdk.launchLuaOnCore(9, "counter", rxDev:getRxQueue(0))
    mg.sleepMillis(100)
    -- the master sends: a second task would share the one worker core of a small machine
    sender(txDev:getTxQueue(1))
    local got, bytes, seen = counter:wait()
    print(("RECEIVED %d BYTES %d SEEN %d"):format(got, bytes, seen))
end

function sender(queue)
    local mem = memory.createMemPool(function(buf)
        buf:getUdpPacket():fill{ pktLength = 124 }
    end)
    local bufs = mem:bufArray(10)
    for _ = 1, N / 10 do
        bufs:alloc(124)
        queue:send(bufs)
        mg.sleepMillis(5)
    end
end

function counter(queue)
    local bufs = memory.bufArray()
    local got, bytes, seen = 0, 0, 0
    local deadline = mg.getTime() + 10
    while got < N and mg.getTime() < deadline do
        local n = queue:tryRecv(bufs, 100)
        seen = seen + n
        for i = 1, n do
            local pkt = bufs[i]:getUdpPacket()
            if pkt.eth:getType() == 0x0800 and pkt.ip4:getProtocol() == 17 then
                got = got + 1
                bytes = bytes + bufs[i]:getSize()
            end
        end
        bufs:free(n)
    end
    return got, bytes, seen
end
