-- pacing.lua: one pacing-quality run on a virtual cable, for benchmarks/pacing.py.
--
--   moonpy benchmarks/pacing.lua --mode cbr --mpps 0.5 --time 2 --out /tmp/run.bin
--
-- A task on its own core sends 60-byte frames from port 0, paced by setRateMpps (cbr), by
-- sendWithDelay with poissonDelay gaps (poisson), or by MoonGen's software rate limiter task
-- (limiter-cbr, limiter-poisson; the master feeds it). The pacer writes each frame's departure
-- TSC and departure number into it right before its single-frame TX burst
-- (txQueue:stampDepartures), so the receiver tells lost frames from late ones.
-- The master, on the other core, receives on port 1 with RX software
-- timestamps (TSC right after each RX burst) and writes one record per frame to --out:
-- uint32 frame number, uint32 0, uint64 departure TSC, uint64 RX TSC, uint64 scheduled
-- departure TSC (little endian).
-- The last stdout line is JSON with the TSC frequency and the pacer's own counts (pacer_stats:
-- achieved rate, gaps within +-256 ns, frames behind schedule, time the thread lost, time
-- late frames left the schedule to make up).
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"
local api    = require "moonpy.api"
local limiter = require "software-ratecontrol"

local STAMP_OFFSET = 24 -- departure TSC; the departure number follows at 32
local u8p, u32p, u64p = ffi.typeof("uint8_t *"), ffi.typeof("uint32_t *"),
    ffi.typeof("uint64_t *")

local function u64str(v)
    return (tostring(v):gsub("U?LL$", ""))
end

ffi.cdef [[
struct pacing_record { uint32_t seq; uint32_t pad; uint64_t tx; uint64_t rx; uint64_t ideal; };
]]

function configure(parser)
    parser:option("--mode", "cbr (setRate), poisson (sendWithDelay + poissonDelay), "
        .. "limiter-cbr or limiter-poisson (software rate limiter task)."):default("cbr")
    parser:option("--mpps", "Target rate in Mpps."):default(0.5):convert(tonumber)
    parser:option("--time", "Seconds to send."):default(2):convert(tonumber)
    parser:option("--size", "Frame size (without CRC)."):default(60):convert(tonumber)
    parser:option("--out", "Binary output file."):default("pacing.bin")
end

function master(args)
    local tx = device.config{port = 0, txQueues = 1, rxQueues = 1}
    local rx = device.config{port = 1, txQueues = 1, rxQueues = 1, rxDescs = 4096}
    device.waitForLinks()
    local txq = tx:getTxQueue(0)
    txq:stampDepartures(STAMP_OFFSET)
    if args.mode == "cbr" then
        txq:setRateMpps(args.mpps, args.size)
    end
    local cap = math.ceil(args.mpps * 1e6 * (args.time + 1)) + 1024
    local recs = ffi.new("struct pacing_record[?]", cap)
    local hz = mg.getCyclesFrequency()
    local task, producer
    local pattern = args.mode:match("^limiter%-(%a+)$")
    if pattern then
        -- MoonGen's software rate limiter task sends; the master feeds its ring between
        -- receive polls
        local rl = limiter:new(txq, pattern, 1e3 / args.mpps)
        producer = newProducer(rl, args.size, args.time)
    else
        task = mg.startTask("load", txq, args.mode, args.mpps, args.size, args.time)
    end
    local queue = rx:getRxQueue(0)
    local bufs = memory.bufArray(64)
    local arr = bufs.array
    local n, bursts = 0, 0
    local stop = mg.getCycles() + (args.time + 0.5) * hz
    while mg.running() and mg.getCycles() < stop do
        if producer then producer() end
        local got = api.rx_burst_ts(queue.pid, queue.qid, arr, 64)
        if got > 0 then
            bursts = bursts + 1
            for i = 0, got - 1 do
                if n < cap then
                    local data = ffi.cast(u8p, arr[i]:getData())
                    local r = recs[n]
                    r.seq = ffi.cast(u32p, data + STAMP_OFFSET + 8)[0]
                    r.tx = ffi.cast(u64p, data + STAMP_OFFSET)[0]
                    r.rx = arr[i].udata64
                    r.ideal = ffi.cast(u64p, data + STAMP_OFFSET + 12)[0]
                    n = n + 1
                end
            end
            bufs:free(got)
        end
    end
    mg.stop()
    local sent = task and task:wait() or producer(true)
    local s = api.pacerStats(txq.pid, txq.qid)
    local f = assert(io.open(args.out, "wb"))
    f:write(ffi.string(recs, n * ffi.sizeof("struct pacing_record")))
    f:close()
    print(("{\"hz\": %d, \"mode\": \"%s\", \"mpps\": %.9g, \"size\": %d, \"sent\": %d, "
        .. "\"received\": %d, \"bursts\": %d, \"pacer_first\": %s, \"pacer_last\": %s, "
        .. "\"pacer_frames\": %s, \"pacer_gaps\": %s, \"pacer_gaps_ok\": %s, "
        .. "\"pacer_late\": %s, \"pacer_lost_cycles\": %s, \"pacer_owed_cycles\": %s}"):format(hz,
        args.mode, args.mpps, args.size, sent, n, bursts, u64str(s[0]), u64str(s[1]),
        u64str(s[2]), u64str(s[4]), u64str(s[5]), u64str(s[6]), u64str(s[7]), u64str(s[8])))
end

-- The master's share of a limiter run: a small batch into the limiter's ring whenever it
-- has room (never blocking the receive loop); producer(true) returns the frame count.
function newProducer(rl, size, seconds)
    local mem = memory.createMemPool{ n = 8191, func = function(buf)
        buf:getEthernetPacket():fill{ ethType = 0x1234 }
    end }
    local bufs = mem:bufArray(64)
    local seq = 0
    local stop = mg.getCycles() + seconds * mg.getCyclesFrequency()
    local ring = rl.ringPtr
    return function(done)
        if done then return seq end
        if api.ring_count(ring) > limiter.ringCapacity - 64 or mg.getCycles() >= stop then return end
        bufs:alloc(size)
        seq = seq + bufs.size
        rl:send(bufs)
    end
end

function load(queue, mode, mpps, size, seconds)
    local mem = memory.createMemPool{ n = 8191, func = function(buf)
        buf:getEthernetPacket():fill{ ethType = 0x1234 }
    end }
    local bufs = mem:bufArray(63)
    local seq = 0
    local hz = mg.getCyclesFrequency()
    local stop = mg.getCycles() + seconds * hz
    local meanDelay = 1e10 / 8 / (mpps * 1e6) - size - 24 -- byte times at 10 Gbit/s
    -- new draws each run, as the limiter's: a task's math.random starts from the same seed
    -- every run (as in MoonGen), so every run would test one and the same sample of gaps
    math.randomseed(tonumber(mg.getCycles() % 1000000007))
    while mg.running() and mg.getCycles() < stop do
        bufs:alloc(size)
        if mode == "poisson" then
            for i = 0, bufs.size - 1 do
                bufs.array[i]:setDelay(poissonDelay(meanDelay))
            end
            queue:sendWithDelay(bufs)
            seq = seq + bufs.size
        else
            -- MoonGen's plain load loop (l2-load-latency's loadSlave): no per-frame Lua work
            queue:send(bufs)
            seq = seq + bufs.size
        end
    end
    return seq
end
