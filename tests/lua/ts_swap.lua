-- sendWithDelay with a frame made late on purpose. Each round sends a burst of 12 frames that
-- asks for 11 short gaps (200 byte times of filler: 227 ns apart at the cable's 10 Gbit/s)
-- and one long one (6000 byte times, 4.8 us, before frame --long), on an idle wire: the whole
-- burst is due within the pacer's hold window, so the call returns at once, holding it. The
-- script then spins --spin us without calling into moonpy (a stand-in for a thread that was
-- not running) and sleeps (the held frames leave first). The burst's first frame is then
-- late; the pacer lets it take the long gap of the later frame (delay_swap) rather than
-- squeezing the gaps after it to catch up.
-- The receiver reads each frame's departure TSC, departure number and scheduled departure
-- (stampDepartures) and prints one JSON line: bursts fully received, bursts whose first frame
-- took the long gap (swapped), the gaps between the frames of those bursts, and how many
-- of those left within +-256 ns of their scheduled gap (on_time).
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"

local BURST = 12
local SHORT, LONG = 200, 6000 -- byte times of filler

function configure(parser)
    parser:option("--bursts", "Bursts to send."):default(300):convert(tonumber)
    parser:option("--spin", "Microseconds to spin after each send."):default(1.5):convert(tonumber)
    parser:option("--long", "Frame (1-based) with the long gap before it."):default(8)
        :convert(tonumber)
end

function master(args)
    local tx = device.config{port = 0, txQueues = 1, rxQueues = 1}
    local rx = device.config{port = 1, txQueues = 1, rxQueues = 1, rxDescs = 4096}
    device.waitForLinks()
    tx:getTxQueue(0):stampDepartures(24) -- TSC at 24, number at 32, schedule at 36
    local task = mg.startTask("load", tx:getTxQueue(0), args.bursts, args.spin, args.long)
    local queue = rx:getRxQueue(0)
    local bufs = memory.bufArray(64)
    local hz = mg.getCyclesFrequency()
    local deadline = mg.getCycles() + 20 * hz
    local want = args.bursts * BURST
    local dep, sched = {}, {}
    local received = 0
    while mg.getCycles() < deadline and received < want do
        local n = queue:tryRecv(bufs, 1000)
        for i = 1, n do
            local data = ffi.cast("uint8_t *", bufs[i]:getData())
            local seq = ffi.cast("uint32_t *", data + 32)[0]
            dep[seq] = tonumber(ffi.cast("uint64_t *", data + 24)[0])
            sched[seq] = tonumber(ffi.cast("uint64_t *", data + 36)[0])
        end
        received = received + n
        bufs:freeAll()
    end
    task:wait()
    -- a burst whose scheduled gaps between its frames are all short gave its long gap to
    -- its first frame (swapped); its frames' departure gaps are then judged against their
    -- schedule (+-256 ns, the pacer's own tolerance)
    local whole, swapped, judged, onTime = 0, 0, 0, 0
    local tol = 256e-9 * hz
    local longSched = (LONG + 84) * 0.8e-9 * hz * 0.9
    for b = 0, args.bursts - 1 do
        local first = b * BURST
        local ok = true
        for s = first, first + BURST - 1 do
            if not dep[s] then ok = false end
        end
        if ok then
            whole = whole + 1
            local short = true
            for s = first + 1, first + BURST - 1 do
                if sched[s] - sched[s - 1] > longSched then short = false end
            end
            if short then
                swapped = swapped + 1
                for s = first + 1, first + BURST - 1 do
                    local err = (dep[s] - dep[s - 1]) - (sched[s] - sched[s - 1])
                    judged = judged + 1
                    if math.abs(err) <= tol then onTime = onTime + 1 end
                end
            end
        end
    end
    print(("{\"bursts\": %d, \"swapped\": %d, \"gaps\": %d, \"on_time\": %d}"):format(whole,
        swapped, judged, onTime))
end

function load(queue, bursts, spin, long)
    local mem = memory.createMemPool(function(buf)
        buf:getEthernetPacket():fill{ ethType = 0x1234 }
    end)
    local bufs = mem:bufArray(BURST)
    local hz = mg.getCyclesFrequency()
    for _ = 1, bursts do
        if not mg.running() then break end
        bufs:alloc(60)
        for i = 1, BURST do bufs[i]:setDelay(i == long and LONG or SHORT) end
        queue:sendWithDelay(bufs) -- the wire was idle: the schedule starts now
        -- the held burst's first frame is due at once: spin past it without calling moonpy
        local untilTsc = mg.getCycles() + spin * hz / 1e6
        while mg.getCycles() < untilTsc do end
        mg.sleepMillisIdle(2) -- sends the held frames first; the wire is idle after it
    end
end
