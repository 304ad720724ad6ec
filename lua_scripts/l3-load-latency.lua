-- l3-load-latency.lua: UDP load over several flows with latency measured by UDP PTP frames
-- (MoonGen's examples/l3-load-latency.lua, for moonpy's ports).
--
--   moonpy lua_scripts/l3-load-latency.lua 0 1 --rate 1000 --flows 4 --time 10
--
-- The load task sends UDP frames (source IP SRC_IP_BASE + 0..flows-1) from txDev queue 0 at
-- --rate Mbit/s. The master measures the latency of one timestamped UDP frame per ms, on
-- the same flows, from txDev queue 1 to rxDev queue 1: hardware timestamps where both ports
-- have IEEE 1588 timesync, software timestamps (TSC) elsewhere, e.g. on the virtual cable.
-- The histogram is printed with its timestamp source and resolution, and saved as CSV and
-- JSON. Unlike MoonGen's script it resolves no MAC by ARP: frames go to the receiving
-- port's MAC (a cable, a tap or a switch in front of a DUT that answers on that MAC).
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ts     = require "timestamping"
local hist   = require "histogram"
local stats  = require "stats"
local timer  = require "timer"
local log    = require "log"

local SRC_IP_BASE = "10.0.0.10" -- actual address: SRC_IP_BASE + 0 .. flows - 1
local DST_IP      = "10.1.0.10"
local SRC_PORT    = 1234
local DST_PORT    = 319

function configure(parser)
    parser:description("Generates UDP traffic and measures latencies.")
    parser:argument("txDev", "Device to transmit from."):convert(tonumber)
    parser:argument("rxDev", "Device to receive on."):convert(tonumber)
    parser:option("-r --rate", "Transmit rate in Mbit/s."):default(1000):convert(tonumber)
    parser:option("-f --flows", "Number of flows (source IPs)."):default(4):convert(tonumber)
    parser:option("-s --size", "Packet size."):default(60):convert(tonumber)
    parser:option("--file", "Filename of the latency histogram (CSV)."):default("histogram.csv")
    parser:option("-j --json", "Filename of the latency histogram (JSON)."):default("histogram.json")
    parser:option("-t --time", "Run time in seconds (0: until Ctrl-C)."):default(0):convert(tonumber)
end

function master(args)
    local txDev = device.config{port = args.txDev, rxQueues = 2, txQueues = 2}
    local rxDev = device.config{port = args.rxDev, rxQueues = 2, txQueues = 2}
    device.waitForLinks()
    if args.rate > 0 then
        -- the timestamped frames (1 kpps) are part of the rate
        txDev:getTxQueue(0):setRate(args.rate - (args.size + 4) * 8 / 1000)
    end
    if args.time > 0 then
        mg.setRuntime(args.time)
    end
    local dstMac = rxDev:getMacString()
    mg.startTask("loadSlave", txDev:getTxQueue(0), rxDev, args.size, args.flows, dstMac)
    -- the master has a core of its own: it measures the latency
    timerSlave(txDev:getTxQueue(1), rxDev:getRxQueue(1), args.size, args.flows, dstMac,
        args.file, args.json)
    mg.waitForTasks()
end

local function fillUdpPacket(buf, len, queue, dstMac)
    buf:getUdpPacket():fill{
        ethSrc = queue,
        ethDst = dstMac,
        ip4Src = SRC_IP_BASE,
        ip4Dst = DST_IP,
        udpSrc = SRC_PORT,
        udpDst = DST_PORT,
        pktLength = len,
    }
end

function loadSlave(queue, rxDev, size, flows, dstMac)
    local mempool = memory.createMemPool(function(buf)
        fillUdpPacket(buf, size, queue, dstMac)
    end)
    local bufs = mempool:bufArray()
    local counter = 0
    local txCtr = stats:newDevTxCounter(queue, "plain")
    local rxCtr = stats:newDevRxCounter(rxDev, "plain")
    local baseIP = parseIPAddress(SRC_IP_BASE)
    while mg.running() do
        bufs:alloc(size)
        for _, buf in ipairs(bufs) do
            local pkt = buf:getUdpPacket()
            pkt.ip4.src:set(baseIP + counter)
            counter = incAndWrap(counter, flows)
        end
        bufs:offloadUdpChecksums()
        queue:send(bufs)
        txCtr:update()
        rxCtr:update()
    end
    txCtr:finalize()
    rxCtr:finalize()
end

function timerSlave(txQueue, rxQueue, size, flows, dstMac, histFile, jsonFile)
    if size < 84 then
        log:warn("Packet size %d is smaller than minimum timestamp size 84. Timestamped packets "
            .. "will be larger than load packets.", size)
        size = 84
    end
    local timestamper = ts:newUdpTimestamper(txQueue, rxQueue)
    local h = timestamper:label(hist:new())
    mg.sleepMillis(1000) -- ensure that the load task is running
    local counter = 0
    local lost = 0
    local rateLimit = timer:new(0.001)
    local baseIP = parseIPAddress(SRC_IP_BASE)
    while mg.running() do
        local lat = timestamper:measureLatency(size, function(buf)
            fillUdpPacket(buf, size, txQueue, dstMac)
            local pkt = buf:getUdpPacket()
            pkt.ip4.src:set(baseIP + counter)
            counter = incAndWrap(counter, flows)
        end)
        if not lat and mg.running() then lost = lost + 1 end
        h:update(lat)
        rateLimit:wait()
        rateLimit:reset()
    end
    -- print the latency stats after all the other stuff
    mg.sleepMillis(300)
    h:print()
    print(h:sourceLine())
    local p = h:percentiles()
    if p.p50 then
        print(("Latency percentiles: p50 %.1f ns, p90 %.1f ns, p99 %.1f ns, p99.9 %.1f ns, "
            .. "max %.1f ns; jitter %.1f ns; %d lost"):format(p.p50, p.p90, p.p99, p.p999, p.max,
            h:jitter(), lost))
    end
    h:save(histFile)
    h:saveJson(jsonFile)
end
