--- software-timestamps: MoonGen's software timestamping extensions of the queue and packet
--- prototypes (loaded in every task VM, as MoonGen's main does).
---
---   txQueue:sendWithTimestamp(bufs[, offs])  sends bufs[1] with the TSC written at byte
---                                            offset `offs` (default 48) right before the
---                                            TX burst that takes it
---   buf:getSoftwareTxTimestamp([offs])       that TSC (uint64 cdata)
---   rxQueue:recvWithTimestamps(bufs)         RX TSC in buf.udata64 (device module)
---
--- moonpy additions:
---   txQueue:stampDepartures(offs)  every frame the software pacer (setRate, sendWithDelay,
---                                  rate limiter) sends gets its departure TSC (uint64) at
---                                  `offs` and its departure number (uint32, from 0) at
---                                  `offs` + 8; nil or false turns it off (a measurement aid)
---   buf:getTimestamp()             after rxQueue:enableTimestampsAllPackets() on a port
---                                  without hardware timestamps: the RX TSC in ns
local ffi    = require "ffi"
local api    = require "moonpy.api"
local device = require "device"
local pkt    = require "packet"

local C = api.C
local txQueue = device.__txQueuePrototype
local u64p = ffi.typeof("uint64_t *")
local u8p = ffi.typeof("uint8_t *")
local hz = api.tsc_hz

-- MoonGen rounds the offset down to a multiple of 8 (it indexes a uint64_t array)
local function wordOffset(offs)
    if offs == nil then return 48 end
    return math.floor(offs / 8) * 8
end

--- Send only bufs[1] (bufs.array[0]) with a software TX timestamp written into it.
--- On a virtual cable whose receiver has no room the frame is lost, like on a wire.
function txQueue:sendWithTimestamp(bufs, offs)
    self.used = true
    api.applyOffloads(bufs)
    local tsc = C.send_ts(self.pid, self.qid, bufs.array[0], wordOffset(offs))
    if tsc ~= 0 then
        device.__swTimestamps.tx[self.id] = tonumber(tsc) * 1e9 / hz
    end
end

function pkt:getSoftwareTxTimestamp(offs)
    return ffi.cast(u64p, ffi.cast(u8p, self.buf_addr) + self.data_off + wordOffset(offs))[0]
end

function txQueue:stampDepartures(offs)
    C.stamp_departures(self.pid, self.qid, offs and offs or -1)
end

-- Software RX timestamps of every frame (enableTimestampsAllPackets on a port without
-- hardware support): getTimestamp returns the RX TSC in ns instead of reading NIC data.
local hwGetTimestamp = pkt.getTimestamp
function pkt:getTimestamp(dev)
    if device.__swRxAllPackets then
        return tonumber(self.udata64) * 1e9 / hz
    end
    return hwGetTimestamp(self, dev)
end

return {}
