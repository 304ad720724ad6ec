-- sendWithDelay on a virtual cable: each frame's udata64 is the gap before it in byte times
-- (0.8 ns at the cable's 10 Gbit/s). The mean inter-departure time (pacer statistics, and
-- the departure TSCs the pacer writes into each frame, read at the receiver) is compared with
-- (size + 24 + delay) byte times; the inter-arrival time (RX software timestamps, middle
-- 80 %) is printed for information: a busy receiver distorts it.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"
local api    = require "moonpy.api"

local u32p = ffi.typeof("uint32_t *")
local u64p = ffi.typeof("uint64_t *")

function configure(parser)
    parser:option("--delay", "Gap before each frame in byte times."):default(10000)
        :convert(tonumber)
    parser:option("--size", "Frame size."):default(60):convert(tonumber)
    parser:option("--frames", "Frames to send."):default(20000):convert(tonumber)
end

function master(args)
    local tx = device.config{port = 0, txQueues = 1, rxQueues = 1}
    local rx = device.config{port = 1, txQueues = 1, rxQueues = 1}
    device.waitForLinks()
    mg.startTask("load", tx:getTxQueue(0), args.size, args.delay, args.frames)
    -- receive in the master (its own core): RX TSC of the first and the last frame
    local queue = rx:getRxQueue(0)
    local bufs = memory.bufArray(64)
    local rxAt = ffi.new("uint64_t[?]", args.frames) -- RX TSC by frame number (0: not seen)
    local txAt = ffi.new("uint64_t[?]", args.frames) -- departure TSC written into the frame
    local n = 0
    local hz = mg.getCyclesFrequency()
    local deadline = mg.getCycles() + 30 * hz
    while mg.running() and mg.getCycles() < deadline do
        local got = api.rx_burst_ts(queue.pid, queue.qid, bufs.array, 64)
        if got > 0 then
            local lastSeq
            for i = 0, got - 1 do
                local buf = bufs.array[i]
                lastSeq = seqOf(buf)
                if lastSeq < args.frames then
                    rxAt[lastSeq] = buf.udata64
                    txAt[lastSeq] = ffi.cast(u64p, buf:getData())[3]
                end
            end
            bufs:free(got)
            n = n + got
            if lastSeq == args.frames - 1 then break end
        end
    end
    -- departure gaps from the TSCs written into consecutive frames (exact: no receiver
    -- scheduling in them); inter-arrival gaps of the middle 80 % for information (a busy
    -- receiver sees some frames late and the next ones in one burst)
    local stampSum, stampN, gaps = 0, 0, {}
    for i = 1, args.frames - 1 do
        if rxAt[i] ~= 0 and rxAt[i - 1] ~= 0 then
            stampSum = stampSum + tonumber(txAt[i] - txAt[i - 1]) / hz * 1e9
            stampN = stampN + 1
            gaps[#gaps + 1] = tonumber(rxAt[i] - rxAt[i - 1]) / hz * 1e9
        end
    end
    table.sort(gaps)
    local lo, hi = math.floor(#gaps * 0.1) + 1, math.floor(#gaps * 0.9)
    local sum = 0
    for i = lo, hi do sum = sum + gaps[i] end
    local arrGap = hi >= lo and sum / (hi - lo + 1) or -1
    local stampGap = stampN > 0 and stampSum / stampN or -1
    mg.waitForTasks()
    local s = api.pacerStats(tx:getTxQueue(0).pid, 0)
    local depGap = tonumber(s[1] - s[0]) / hz * 1e9 / (tonumber(s[2]) - 1)
    print(("{\"expected_ns\": %.6f, \"departure_gap_ns\": %.6f, \"stamp_gap_ns\": %.6f, "
        .. "\"stamp_gaps\": %d, \"arrival_gap_ns\": %.6f, \"frames\": %d, \"received\": %d}")
        :format((args.size + 24 + args.delay) * 0.8, depGap, stampGap, stampN, arrGap,
        tonumber(s[2]), n))
end

-- frames carry their number (uint32 at byte 16) so losses do not bias the mean gap
function seqOf(buf)
    return ffi.cast(u32p, buf:getData())[4]
end

function load(queue, size, delay, frames)
    local mem = memory.createMemPool(function(buf)
        buf:getEthernetPacket():fill{ ethType = 0x1234 }
    end)
    local bufs = mem:bufArray(32)
    queue:stampDepartures(24) -- the departure TSC goes into every frame at byte 24
    local sent = 0
    while mg.running() and sent < frames do
        bufs:alloc(size)
        for _, buf in ipairs(bufs) do
            buf:setDelay(delay)
            ffi.cast(u32p, buf:getData())[4] = sent
            sent = sent + 1
        end
        queue:sendWithDelay(bufs)
    end
end
