-- setRateMpps (or, with --delay, sendWithDelay) with whole bufArrays: the pacer holds each
-- burst's last frames and sends them during the next alloc or at the end of the task. Every
-- frame must arrive, once, in order, carrying the departure number the pacer wrote
-- (stampDepartures) equal to the script's own number.
-- --stop N: the master stops the run after N ms instead (held frames are then freed; the
-- leak check at exit says whether any buffer went missing).
-- Prints one JSON line.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"

function configure(parser)
    parser:option("--mpps", "Target rate in Mpps."):default(1):convert(tonumber)
    parser:option("--bursts", "bufArrays of 63 to send."):default(200):convert(tonumber)
    parser:option("--stop", "Stop the run after this many ms (0: never)."):default(0):convert(tonumber)
    parser:option("--delay", "sendWithDelay with this many byte times between frames "
        .. "(0: setRateMpps)."):default(0):convert(tonumber)
end

function master(args)
    local tx = device.config{port = 0, txQueues = 1, rxQueues = 1}
    local rx = device.config{port = 1, txQueues = 1, rxQueues = 1, rxDescs = 4096}
    device.waitForLinks()
    if args.delay == 0 then
        tx:getTxQueue(0):setRateMpps(args.mpps, 60)
    end
    tx:getTxQueue(0):stampDepartures(24) -- departure TSC at 24, departure number at 32
    local task = mg.startTask("load", tx:getTxQueue(0), args.bursts, args.delay)
    local queue = rx:getRxQueue(0)
    local bufs = memory.bufArray(64)
    local hz = mg.getCyclesFrequency()
    local stopAt = args.stop > 0 and mg.getCycles() + args.stop / 1000 * hz or nil
    local deadline = mg.getCycles() + 20 * hz
    local received, outOfOrder, expect, misnumbered, skipped = 0, 0, 0, 0, 0
    local want = args.bursts * 63
    -- until the last frame came, or the task is done and nothing came for 200 ms (the cable
    -- dropped the last ones: a receiver preempted for longer than its ring lasts, 4 ms at
    -- 1 Mpps, misses frames as a wire's would)
    local quietSince = mg.getCycles()
    while mg.getCycles() < deadline and (stopAt or expect < want) do
        if not stopAt and not task:isRunning() and mg.getCycles() - quietSince > 0.2 * hz then
            break
        end
        if stopAt and mg.getCycles() > stopAt then
            mg.stop()
            break
        end
        local n = queue:tryRecv(bufs, 1000) -- never waits past the deadline (lost frames)
        for i = 1, n do
            local data = ffi.cast("uint8_t *", bufs[i]:getData())
            local seq = ffi.cast("uint32_t *", data + 16)[0]
            -- a frame the cable dropped (receiver preempted, ring full) is skipped, not
            -- out of order
            if seq < expect then outOfOrder = outOfOrder + 1 end
            if seq > expect then skipped = skipped + (seq - expect) end
            if ffi.cast("uint32_t *", data + 32)[0] ~= seq then misnumbered = misnumbered + 1 end
            expect = seq + 1
        end
        received = received + n
        if n > 0 then quietSince = mg.getCycles() end
        bufs:freeAll()
    end
    local sent = task:wait()
    local txPkts = tx:getTxStats()
    print(("{\"sent\": %d, \"received\": %d, \"out_of_order\": %d, \"misnumbered\": %d, "
        .. "\"skipped\": %d, \"tx_counter\": %d}"):format(sent, received, outOfOrder, misnumbered,
        skipped, txPkts))
end

function load(queue, bursts, delay)
    local mem = memory.createMemPool(function(buf)
        buf:getEthernetPacket():fill{ ethType = 0x1234 }
    end)
    local bufs = mem:bufArray(63)
    local seq, sent = 0, 0
    for _ = 1, bursts do
        if not mg.running() then break end
        bufs:alloc(60)
        for i = 1, #bufs do
            ffi.cast("uint32_t *", ffi.cast("uint8_t *", bufs[i]:getData()) + 16)[0] = seq
            seq = seq + 1
        end
        if delay > 0 then
            for i = 1, #bufs do bufs[i]:setDelay(delay) end
            sent = sent + queue:sendWithDelay(bufs)
        else
            sent = sent + queue:send(bufs)
        end
    end
    return sent
end
