-- Paced sends followed by a wait for what was sent, at the far end of the cable: frames
-- must leave during the wait, not with the next send (which comes after the wait).
--   --mode delay: one frame per sendWithDelay call with 80 us of filler (due far ahead:
--                 the call waits for it instead of holding it)
--   --mode rate:  4 frames per send at setRateMpps(1) (all due within the pacer's 8 us
--                 hold window: held, then sent by the receive loop's polls)
--   --mode sleep: as rate, but the script sleeps 1 ms (mg.sleepMillisIdle) before receiving:
--                 the frames must have left before the sleep (their departure TSCs, written
--                 by stampDepartures, at least 0.5 ms before it ended)
-- Prints one JSON line: rounds, and rounds whose frames all arrived (and, for sleep, left)
-- in time.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"

function configure(parser)
    parser:option("--mode", "delay, rate or sleep."):default("delay")
    parser:option("--rounds", "Sends, each followed by a wait."):default(20):convert(tonumber)
end

function master(args)
    local tx = device.config{port = 0, txQueues = 1, rxQueues = 1}
    local rx = device.config{port = 1, txQueues = 1, rxQueues = 1}
    device.waitForLinks()
    local queue, rxQueue = tx:getTxQueue(0), rx:getRxQueue(0)
    local perRound = args.mode == "delay" and 1 or 4
    if args.mode ~= "delay" then queue:setRateMpps(1, 60) end
    queue:stampDepartures(24) -- departure TSC at byte 24
    local mem = memory.createMemPool(function(buf)
        buf:getEthernetPacket():fill{ ethType = 0x1234 }
    end)
    local bufs = mem:bufArray(perRound)
    local rxBufs = memory.bufArray(16)
    local inTime = 0
    for round = 1, args.rounds do
        bufs:alloc(60)
        for i = 1, perRound do
            ffi.cast("uint32_t *", ffi.cast("uint8_t *", bufs[i]:getData()) + 16)[0] = round
        end
        if args.mode == "delay" then
            bufs[1]:setDelay(100000) -- 80 us at 10 Gbit/s
            queue:sendWithDelay(bufs)
        else
            queue:send(bufs)
        end
        local woke = 0ULL
        if args.mode == "sleep" then
            mg.sleepMillisIdle(1)
            woke = mg.getCycles()
        end
        local halfMs = mg.getCyclesFrequency() / 2000
        -- this round's frames, before the next send (200 ms at most: a busy machine)
        local got, deadline = 0, mg.getTime() + 0.2
        while got < perRound and mg.getTime() < deadline do
            local n = rxQueue:tryRecv(rxBufs, 1000)
            for j = 1, n do
                local data = ffi.cast("uint8_t *", rxBufs[j]:getData())
                local r = ffi.cast("uint32_t *", data + 16)[0]
                local left = ffi.cast("uint64_t *", data + 24)[0]
                if r == round and (woke == 0 or left + halfMs < woke) then got = got + 1 end
            end
            rxBufs:freeAll()
        end
        if got == perRound then inTime = inTime + 1 end
    end
    print(("{\"rounds\": %d, \"in_time\": %d}"):format(args.rounds, inTime))
end
