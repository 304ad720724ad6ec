--- software-ratecontrol: MoonGen's software rate limiter task.
---
---   local limiter = require "software-ratecontrol"
---   local rl = limiter:new(txQueue[, mode = "custom"][, delayNs])   -- master only
---   rl:send(bufs) / rl:sendN(bufs, n)                                -- any task
---   rl:stop()
---
--- `new` starts the task __MG_RATE_LIMITER_MAIN on a worker core. Frames reach it through a
--- DPDK ring; it sends them one at a time at their departure times (busy-wait on the TSC):
---   "cbr":     `delayNs` between departures
---   "poisson": departures `wire time + Exp(delayNs - wire time)` apart (mean `delayNs`)
---   "custom":  each frame's udata64 (buf:setDelay) in byte times of the link between
---              departures
--- When the limiter task ends it logs the rate it achieved next to its target.
local ffi    = require "ffi"
local api    = require "moonpy.api"
local lm     = require "libmoon"
local log    = require "log"
local marshal = require "moonpy.marshal"
local memory = require "memory"

local C = api.C
local host = api.host
local hz = api.tsc_hz
local ringEnqueue, cRunning, freeBulk = api.ring_enqueue, api.running, api.free_bulk

pcall(ffi.cdef, "int sched_yield(void);")

local mod = {}
local rateLimiter = {}
rateLimiter.__index = rateLimiter
mod.rateLimiter = rateLimiter

local MODES = { custom = 0, cbr = 1, poisson = 2 }
local RING_SIZE = 512
mod.ringCapacity = RING_SIZE - 1 -- frames a limiter's ring holds (a feeder that must not block checks it)

local ringType = ffi.typeof("struct rte_ring *")
local ctlType = ffi.typeof("volatile uint64_t *")

local function addrOf(p)
    return tonumber(ffi.cast("uintptr_t", p))
end

-- Enqueue frames first..n-1 of `arr`; spins (yielding the core, which a limiter task may
-- share) while the ring is full. Once the run has stopped, frees what did not fit.
local function enqueueAll(ring, arr, n)
    local done = ringEnqueue(ring, ffi.cast("void **", arr), n)
    while done < n do
        if cRunning(0) == 0 then
            freeBulk(arr + done, n - done)
            return done
        end
        ffi.C.sched_yield()
        done = done + ringEnqueue(ring, ffi.cast("void **", arr + done), n - done)
    end
    return done
end

function rateLimiter:send(bufs)
    api.applyOffloads(bufs) -- the limiter task sends them as they are
    return enqueueAll(self.ringPtr, bufs.array, bufs.size)
end

function rateLimiter:sendN(bufs, n)
    api.applyOffloads(bufs)
    return enqueueAll(self.ringPtr, bufs.array, n)
end

--- Stop the limiter task; the limiter must not be used afterwards.
function rateLimiter:stop()
    self.ctl[1] = 1
end

--- Frames the limiter has sent so far.
function rateLimiter:count()
    return tonumber(self.ctl[0])
end

local function build(t)
    local obj = setmetatable({}, rateLimiter)
    for k, v in pairs(t) do obj[k] = v end
    obj.ringPtr = ffi.cast(ringType, t.ring)
    obj.ctl = ffi.cast(ctlType, t.ctlAddr)
    return obj
end

-- crosses to other tasks as the same limiter (ring and control block by address)
function rateLimiter.__moonpy_pack(self)
    local plain = { ring = self.ring, ctlAddr = self.ctlAddr, mode = self.mode,
        delay = self.delay, queue = self.queue }
    local descs = marshal.packList({ plain }, 1, 1, "rate limiter")
    return { k = "custom", module = "software-ratecontrol", ctor = "fromTable", data = descs[1] }
end

-- libmoon's serializer hook, callable as a method as in MoonGen
rateLimiter.__serialize = marshal.serializer

function rateLimiter.__tostring(self)
    return ("[RateLimiter: %s, %s]"):format(tostring(self.queue), self.mode)
end

function mod.fromTable(t)
    return build(t)
end

--- Create a limiter wrapping `queue` and start its task (master only).
function mod:new(queue, mode, delay)
    if self ~= mod then -- limiter.new(queue, ...)
        queue, mode, delay = self, queue, mode
    end
    mode = mode or "custom"
    if not MODES[mode] then
        log:fatal("Unsupported mode " .. tostring(mode))
    end
    if mode ~= "custom" and not (type(delay) == "number" and delay > 0) then
        log:fatal("software-ratecontrol: mode %s needs the inter-departure time in ns, got %s",
            mode, tostring(delay))
    end
    local ok, ring = pcall(host.create_ring, RING_SIZE)
    if not ok then error(tostring(ring), 2) end
    local ctl = memory.alloc(ctlType, 16) -- lives as long as the process
    ctl[0], ctl[1] = 0, 0
    local obj = build { ring = ring, ctlAddr = addrOf(ctl), mode = mode, delay = delay,
        queue = queue }
    lm.startTask("__MG_RATE_LIMITER_MAIN", ring, queue.id, queue.qid, mode, delay or 0,
        queue.dev:getLinkStatus().speed, obj.ctlAddr)
    return obj
end

local function describeTarget(mode, delay, speed)
    if mode == "cbr" then
        return ("CBR %.6g Mpps (%.0f ns apart)"):format(1e3 / delay, delay)
    elseif mode == "poisson" then
        return ("Poisson, mean %.6g Mpps (%.0f ns apart)"):format(1e3 / delay, delay)
    end
    return ("custom gaps (udata64 byte times at %d Mbit/s)"):format(speed)
end

-- The limiter task: the loop is C (one frame per TX burst at its departure time).
function __MG_RATE_LIMITER_MAIN(ring, devId, qid, mode, delay, speed, ctlAddr)
    local device = require "device"
    local queue = device.get(devId):getTxQueue(qid)
    if not speed or speed <= 0 then speed = 10000 end
    local cpb = hz * 8 / (speed * 1e6)
    C.limiter_loop(ffi.cast(ringType, ring), queue.pid, qid, MODES[mode], delay * hz / 1e9, cpb,
        ffi.cast(ctlType, ctlAddr))
    local s = api.pacerStats(queue.pid, qid)
    local n, secs = tonumber(s[2]), tonumber(s[1] - s[0]) / hz
    local achieved = (n > 1 and secs > 0) and ((n - 1) / secs / 1e6) or 0
    local target = describeTarget(mode, delay, speed)
    -- how precise it was: gaps within +-256 ns of their target, preemption of this thread
    local precision = ("%.2f %% of gaps within +-256 ns, thread lost %.2f %% of the time "
        .. "to preemption"):format(tonumber(s[4]) > 0 and tonumber(s[5]) / tonumber(s[4]) * 100
        or 0, secs > 0 and tonumber(s[7]) / hz / secs * 100 or 0)
    if tonumber(s[8]) > 0 and secs > 0 then -- poisson: a stall's time taken from later gaps
        precision = precision .. (", %.2f %% made up from later drawn gaps"):format(
            tonumber(s[8]) / hz / secs * 100)
    end
    if mode == "custom" then
        log:info("Rate limiter on %s: %s, achieved %.6g Mpps over %d frames; %s",
            tostring(queue), target, achieved, n, precision)
    else
        local want = 1e3 / delay
        log:info("Rate limiter on %s: target %s, achieved %.6g Mpps (%+.2f %%) over %d frames; %s",
            tostring(queue), target, achieved, want > 0 and (achieved / want - 1) * 100 or 0, n,
            precision)
    end
end

return mod
