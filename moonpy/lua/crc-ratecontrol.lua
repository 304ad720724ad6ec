--- crc-ratecontrol: MoonGen's `txQueue:sendWithDelay` (CRC-gap rate control), emulated
--- exactly in software.
---
--- MoonGen fills the gap before each frame with invalid-CRC filler frames that the peer
--- drops; the gap is the frame's udata64 in byte times of the link (0.8 ns on 10 GbE), set
--- with buf:setDelay(bytes), buf:setRate(mpps) or poissonDelay(...). moonpy's C path waits
--- the same byte times on the TSC instead: frame i leaves (length + 24 B of CRC, preamble,
--- SFD and IFG) of frame i-1 plus udata64(i) byte times after frame i-1 left. No filler
--- frame ever reaches the wire, so the TX counters need no correction, and the gaps have no
--- minimum filler size (MoonGen: 64 + 20 B).
local api    = require "moonpy.api"
local device = require "device"
local pkt    = require "packet"
local log    = require "log"

local C = api.C
local txQueue = device.__txQueuePrototype
local hz = api.tsc_hz

local mod = {}

--- TSC cycles per byte time of a port's link (10 GbE when the link reports no speed).
function mod.cyclesPerByte(dev)
    local speed = dev:getLinkStatus().speed
    if not speed or speed <= 0 then speed = 10000 end
    return hz * 8 / (speed * 1e6), speed
end

local announced = {}

--- Send `n` (default all) frames of bufs, each after the gap in its udata64 (byte times).
--- Returns bufs.size, as MoonGen does. `targetRate` (Mpps) is accepted and not needed:
--- without filler frames there is no minimum gap to plan around.
function txQueue:sendWithDelay(bufs, targetRate, n) -- luacheck: ignore targetRate
    self.used = true
    local cpb = self.__cyclesPerByte
    if not cpb then
        local speed
        cpb, speed = mod.cyclesPerByte(self.dev)
        self.__cyclesPerByte = cpb
        if not announced[self.id] then
            announced[self.id] = true
            log:info("Port %d: sendWithDelay emulated in software: gaps waited out on the TSC "
                .. "at %d Mbit/s byte times (no filler frames)", self.id, speed)
        end
    end
    api.applyOffloads(bufs)
    C.send_delayed(self.pid, self.qid, bufs.array, n or bufs.size, cpb)
    return bufs.size
end

-- MoonGen defines these here; moonpy's packet module already has them
if not pkt.setDelay then
    function pkt:setDelay(delay)
        self.udata64 = delay
    end
end
if not pkt.setRate then
    function pkt:setRate(rate)
        self.udata64 = 10 ^ 10 / 8 / (rate * 10 ^ 6) - self.pkt_len - 24
    end
end

return mod
