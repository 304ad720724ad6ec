-- parity_udp.lua: the deterministic UDP load of the Lua/Python parity test
-- (tests/test_parity.py; its Python twin is tests/py/parity_udp.py). Source
-- address and port increment per packet; exactly --count packets, then stop.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local stats  = require "stats"

local BASE_IP = 167772161 -- 10.0.0.1

function configure(parser)
    parser:argument("txDev", "Device to transmit from."):convert(tonumber)
    parser:option("-n --count", "Packets to send (a multiple of 63)."):default(1008):convert(tonumber)
    parser:option("-s --size", "Packet size."):default(60):convert(tonumber)
end

function master(args)
    local txDev = device.config{port = args.txDev, txQueues = 1}
    device.waitForLinks()
    stats.startStatsTask{txDevices = {txDev}}
    mg.startTask("loadSlave", txDev:getTxQueue(0), args.size, args.count)
    mg.waitForTasks()
end

function loadSlave(queue, size, count)
    local mempool = memory.createMemPool(function(buf)
        buf:getUdpPacket():fill{
            pktLength = size,
            ethSrc = queue,
            ethDst = "10:11:12:13:14:15",
            ip4Dst = "10.1.0.1",
            udpDst = 319,
        }
    end)
    local bufs = mempool:bufArray()
    local sent, i = 0, 0
    while sent < count and mg.running() do
        bufs:alloc(size)
        for _, buf in ipairs(bufs) do
            local pkt = buf:getUdpPacket()
            pkt.ip4.src:set(BASE_IP + i % 256)
            pkt.udp:setSrcPort(1000 + i % 1000)
            i = i + 1
        end
        bufs:offloadUdpChecksums()
        sent = sent + queue:send(bufs)
    end
    mg.stop()
end
