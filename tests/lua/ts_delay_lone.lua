-- sendWithDelay of one frame at a time, each followed by a wait for it at the far end of the
-- cable: a frame due far ahead (here 80 us) is waited for by the send, not held back until
-- the next send (which in this script never comes before the wait). Prints one JSON line.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"

function configure(parser)
    parser:option("--frames", "Frames to send, one per call."):default(20):convert(tonumber)
end

function master(args)
    local tx = device.config{port = 0, txQueues = 1, rxQueues = 1}
    local rx = device.config{port = 1, txQueues = 1, rxQueues = 1}
    device.waitForLinks()
    local mem = memory.createMemPool(function(buf)
        buf:getEthernetPacket():fill{ ethType = 0x1234 }
    end)
    local bufs = mem:bufArray(1)
    local rxBufs = memory.bufArray(16)
    local queue, rxQueue = tx:getTxQueue(0), rx:getRxQueue(0)
    local arrived = 0
    for i = 1, args.frames do
        bufs:alloc(60)
        ffi.cast("uint32_t *", ffi.cast("uint8_t *", bufs[1]:getData()) + 16)[0] = i
        bufs[1]:setDelay(100000) -- 80 us at 10 Gbit/s
        queue:sendWithDelay(bufs)
        -- the frame just sent, before the next call (200 ms at most: generous for a busy machine)
        local n = rxQueue:tryRecv(rxBufs, 200000)
        for j = 1, n do
            if ffi.cast("uint32_t *", ffi.cast("uint8_t *", rxBufs[j]:getData()) + 16)[0] == i then
                arrived = arrived + 1
            end
        end
        rxBufs:freeAll()
    end
    print(("{\"sent\": %d, \"arrived_in_time\": %d}"):format(args.frames, arrived))
end
