-- udp-load.lua: UDP load with a random source IP and source port in every
-- packet (the "Generating Load" task of the FOSDEM 2016 MoonGen talk), and a
-- counter on the receiving port.
--
--   moonpy lua_scripts/udp-load.lua 0 1                 # across the virtual cable
--   moonpy lua_scripts/udp-load.lua 0 1 --time 10 -r 1000
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local stats  = require "stats"
local log    = require "log"

function configure(parser)
    parser:description("Generates UDP traffic with random source addresses and ports.")
    parser:argument("txDev", "Device to transmit from."):convert(tonumber)
    parser:argument("rxDev", "Device to receive on (the same as txDev: no receiver)."):convert(tonumber)
    parser:option("-r --rate", "Transmit rate in Mbit/s (0: as fast as possible)."):default(0):convert(tonumber)
    parser:option("-s --size", "Packet size in bytes without CRC, 60 to 1514."):default(60)
        :convert(function(s)
            -- checked here, not in the load task: a task that dies lets the run go on
            local n = tonumber(s)
            if n and n == math.floor(n) and n >= 60 and n <= 1514 then
                return n
            end
            return nil, ("size %s: give a whole number of bytes from 60 to 1514"):format(s)
        end)
    parser:option("-t --time", "Run time in seconds (0: until Ctrl-C)."):default(0):convert(tonumber)
end

function master(args)
    local txDev = device.config{port = args.txDev, txQueues = 1}
    local rxDev = txDev
    if args.rxDev ~= args.txDev then
        rxDev = device.config{port = args.rxDev, rxQueues = 1}
    end
    device.waitForLinks()
    if args.rate ~= 0 then -- setRate refuses nan, inf and negative rates
        txDev:getTxQueue(0):setRate(args.rate)
    end
    if args.time ~= 0 then
        mg.setRuntime(args.time)
    end
    stats.startStatsTask{txDevices = {txDev}, rxDevices = rxDev ~= txDev and {rxDev} or {}}
    mg.startTask("loadSlave", txDev:getTxQueue(0), args.size)
    if rxDev ~= txDev then
        mg.startSharedTask("counterSlave", rxDev:getRxQueue(0))
    end
    mg.waitForTasks()
end

function loadSlave(queue, size)
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
    while mg.running() do
        bufs:alloc(size)
        for i, buf in ipairs(bufs) do
            local pkt = buf:getUdpPacket()
            pkt.ip4.src:set(math.random(0, 2^32 - 1))
            pkt.udp.src:set(math.random(0, 2^16 - 1))
        end
        bufs:offloadUdpChecksums()
        queue:send(bufs)
    end
end

function counterSlave(queue)
    local bufs = memory.bufArray()
    local total = 0
    while mg.running(100) do
        local rx = queue:tryRecvIdle(bufs, 10000)
        total = total + rx
        bufs:freeAll()
    end
    log:info("Received %d packets on %s", total, tostring(queue))
    return total
end
