-- l2-load-latency.lua: CBR layer-2 load with latency measured by single PTP frames
-- (MoonGen's examples/l2-load-latency.lua, for moonpy's ports).
--
--   moonpy lua_scripts/l2-load-latency.lua 0 1 --rate 1000 --time 10
--
-- The load task sends 60-byte frames from dev1 queue 0 at --rate Mbit/s (software paced on
-- ports without a hardware rate limiter). The master measures latency from dev1 queue 1 to
-- dev2 queue 1 with a timestamper: hardware timestamps where both ports have IEEE 1588
-- timesync, software timestamps (TSC) everywhere else, e.g. on the virtual cable. The
-- histogram is printed with its timestamp source and resolution, and saved as MoonGen's
-- CSV (value,count) and as JSON.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ts     = require "timestamping"
local stats  = require "stats"
local hist   = require "histogram"
local timer  = require "timer"

local PKT_SIZE = 60
local ETH_DST  = "11:12:13:14:15:16"

function configure(parser)
    parser:description("Generates CBR traffic and measures latencies.")
    parser:argument("dev1", "Device to transmit from."):convert(tonumber)
    parser:argument("dev2", "Device to receive on."):convert(tonumber)
    parser:option("-r --rate", "Transmit rate in Mbit/s."):default(1000):convert(tonumber)
    parser:option("-f --file", "Filename of the latency histogram (CSV)."):default("histogram.csv")
    parser:option("-j --json", "Filename of the latency histogram (JSON)."):default("histogram.json")
    parser:option("-t --time", "Run time in seconds (0: until Ctrl-C)."):default(0):convert(tonumber)
end

function master(args)
    local dev1 = device.config{port = args.dev1, rxQueues = 2, txQueues = 2}
    local dev2 = device.config{port = args.dev2, rxQueues = 2, txQueues = 2}
    device.waitForLinks()
    dev1:getTxQueue(0):setRate(args.rate)
    if args.time > 0 then
        mg.setRuntime(args.time)
    end
    mg.startTask("loadSlave", dev1:getTxQueue(0), dev2)
    -- the master has a core of its own: it measures the latency
    timerSlave(dev1:getTxQueue(1), dev2:getRxQueue(1), args.file, args.json)
    mg.waitForTasks()
end

function loadSlave(queue, rxDev)
    local mem = memory.createMemPool(function(buf)
        buf:getEthernetPacket():fill{
            ethSrc = queue,
            ethDst = ETH_DST,
            ethType = 0x1234,
        }
    end)
    local bufs = mem:bufArray()
    local txCtr = stats:newDevTxCounter(queue, "plain")
    local rxCtr = stats:newDevRxCounter(rxDev, "plain")
    while mg.running() do
        bufs:alloc(PKT_SIZE)
        queue:send(bufs)
        txCtr:update()
        rxCtr:update()
    end
    txCtr:finalize()
    rxCtr:finalize()
end

function timerSlave(txQueue, rxQueue, histFile, jsonFile)
    local timestamper = ts:newTimestamper(txQueue, rxQueue)
    local h = timestamper:label(hist:new())
    mg.sleepMillis(1000) -- ensure that the load task is running
    local rateLimit = timer:new(0.001) -- 1000 timestamped frames per second at most
    local lost = 0
    while mg.running() do
        local lat = timestamper:measureLatency(function(buf)
            buf:getEthernetPacket().eth.dst:setString(ETH_DST)
        end)
        if not lat and mg.running() then lost = lost + 1 end
        h:update(lat)
        rateLimit:wait()
        rateLimit:reset()
    end
    mg.sleepMillis(300) -- print after the counters
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
