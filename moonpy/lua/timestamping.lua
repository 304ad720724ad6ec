--- timestamping: latency of single packets (libmoon's `timestamping` module).
---
---   local ts = require "timestamping"
---   local t = ts:newTimestamper(txQueue, rxQueue[, mem[, udp[, doNotConfigureUdpPort]]])
---   local t = ts:newUdpTimestamper(txQueue, rxQueue[, mem[, doNotConfigureUdpPort]])
---   hist:update(t:measureLatency([size][, modifierFn][, maxWaitMs = 15]))  -- ns or nil
---
--- Where both ports have IEEE 1588 timesync (hardware PMDs), the NIC clocks are used as in
--- libmoon. Everywhere else (virtual cables, tap, af_packet, NICs without timesync)
--- moonpy uses software timestamps instead of failing: the TSC read right before the TX
--- burst that takes the frame and right after the RX burst that returns it, minus the
--- measured cost of one TSC read. The result then includes the PMD's TX and RX burst
--- calls and the time until the receiving poll sees the frame; each timestamper says so
--- (`t.source`, `t.resolution` in ns, `t:describe()`), and so do histograms labelled with
--- it (`t:label(hist)`). A frame that does not come back within maxWait gives nil.
local ffi       = require "ffi"
local api       = require "moonpy.api"
local memory    = require "memory"
local log       = require "log"
local timer     = require "timer"
require "filter" -- the queue filter methods newTimestamper calls (as libmoon loads it)

local C = api.C
local hz = api.tsc_hz
local rdtsc, rxBurstTs, freeBulk, cRunning = api.rdtsc, api.rx_burst_ts, api.free_bulk,
    api.running

local mod = {}

local timestamper = {}
timestamper.__index = timestamper
mod.timestamper = timestamper

local PTP_ETHERTYPE = 0x88F7
local RX_IEEE1588_TMST = 1024ULL
local u8p = ffi.typeof("uint8_t *")

mod.SOURCE_SOFTWARE = "software timestamps (TSC)"
mod.SOURCE_HARDWARE = "hardware timestamps (IEEE 1588)"

-- ---- calibration --------------------------------------------------------------------

local calibration

--- The software clock: TSC frequency and the cost of one TSC read, the mean difference of
--- two back-to-back reads (cycles). That cost is subtracted from every software latency and
--- is the resolution of software timestamps: two reads never come closer.
function mod.calibrate()
    if calibration then return calibration end
    local sum, n = 0, 20000
    for _ = 1, n do
        local a = rdtsc()
        local b = rdtsc()
        sum = sum + tonumber(b - a)
    end
    local readCycles = sum / n
    local tick = 1e9 / hz
    calibration = {
        hz = hz,
        readCycles = readCycles,
        compensationNs = readCycles * tick,
        resolutionNs = math.max(readCycles, 1) * tick,
    }
    return calibration
end

-- ---- timestampers ---------------------------------------------------------------------

local function dropSelf(self, ...)
    if self == mod then return ... end
    return self, ...
end

--- libmoon: newTimestamper(txQueue, rxQueue[, mem][, udp][, doNotConfigureUdpPort])
function mod.newTimestamper(...)
    local txQueue, rxQueue, mem, udp, doNotConfigureUdpPort = dropSelf(...)
    if type(txQueue) ~= "table" or type(rxQueue) ~= "table" then
        error("newTimestamper: expected a tx queue and an rx queue", 2)
    end
    mem = mem or memory.createMemPool(function(buf)
        if udp then
            buf:getUdpPtpPacket():fill { ethSrc = txQueue }
        else
            buf:getPtpPacket():fill { ethSrc = txQueue }
        end
    end)
    txQueue:enableTimestamps()
    rxQueue:enableTimestamps()
    local hardware = txQueue.dev:timestampMode() == "hardware"
        and rxQueue.dev:timestampMode() == "hardware"
    -- libmoon's steering of the timestamped frames to rxQueue (a cable does it as a NIC)
    if udp and rxQueue.dev.supportsFdir and rxQueue.filterUdpTimestamps then
        rxQueue:filterUdpTimestamps()
    elseif not udp and rxQueue.filterL2Timestamps then
        rxQueue:filterL2Timestamps()
    end
    local cal = mod.calibrate()
    local obj = setmetatable({
        mem = mem,
        txBufs = mem:bufArray(1),
        rxBufs = mem:bufArray(128),
        txQueue = txQueue,
        rxQueue = rxQueue,
        txDev = txQueue.dev,
        rxDev = rxQueue.dev,
        seq = 1,
        udp = udp,
        useTimesync = hardware,
        doNotConfigureUdpPort = doNotConfigureUdpPort,
        hardware = hardware,
        source = hardware and mod.SOURCE_HARDWARE or mod.SOURCE_SOFTWARE,
        resolution = hardware and 1 or cal.resolutionNs,
        compensation = hardware and 0 or cal.compensationNs,
        -- poll granularity of software RX timestamps: the largest and the summed time
        -- between the poll that found the frame starting and the RX TSC
        pollMax = 0,
        pollSum = 0,
        measured = 0,
        lost = 0,
    }, timestamper)
    mod.lastSource = { source = obj.source, resolution = obj.resolution }
    local ok, histogram = pcall(require, "histogram")
    if ok and type(histogram) == "table" then
        histogram.defaultSource = mod.lastSource
    end
    log:info("Timestamper %s -> %s: %s", tostring(txQueue), tostring(rxQueue), obj:describe())
    return obj
end

--- See newTimestamper()
function mod.newUdpTimestamper(...)
    local txQueue, rxQueue, mem, doNotConfigureUdpPort = dropSelf(...)
    return mod.newTimestamper(txQueue, rxQueue, mem, true, doNotConfigureUdpPort)
end

--- One line: where the timestamps come from and how precise they are.
function timestamper:describe()
    if self.hardware then
        return self.source
    end
    return ("%s at %.3f GHz, resolution %.1f ns (one TSC read, subtracted); latencies "
        .. "include the TX and RX burst calls"):format(self.source, hz / 1e9, self.resolution)
end

--- Label a histogram with this timestamper's source and resolution.
function timestamper:label(hist)
    hist.source = self.source
    hist.resolution = self.resolution
    return hist
end

--- Software timestamps: mean and largest poll granularity (ns) of the RX side so far.
function timestamper:pollGranularity()
    if self.measured == 0 then return nil, nil end
    return self.pollSum / self.measured, self.pollMax
end

local function ptpOf(self, buf)
    return (self.udp and buf:getUdpPtpPacket() or buf:getPtpPacket()).ptp
end

-- a frame this timestamper sent, with sequence id `seq`
local function isOurs(self, buf, seq)
    if buf.data_len < (self.udp and 76 or 46) then return false end
    if not self.udp then
        local data = ffi.cast(u8p, buf.buf_addr) + buf.data_off
        if data[12] * 256 + data[13] ~= PTP_ETHERTYPE then return false end
    end
    return ptpOf(self, buf):getSequenceID() == seq
end

-- software: TSC before the TX burst, TSC after the RX burst
local function measureSoftware(self, buf, expectedSeq, maxWait)
    local txq, rxq = self.txQueue, self.rxQueue
    local rxBufs = self.rxBufs
    local arr, n = rxBufs.array, rxBufs.maxSize
    local pid, qid = rxq.pid, rxq.qid
    -- clearTimestamps: frames still waiting (late replies, other timestampers) are stale
    local stale = rxBurstTs(pid, qid, arr, n)
    while stale > 0 do
        freeBulk(arr, stale)
        stale = rxBurstTs(pid, qid, arr, n)
    end
    local txTsc = C.send_ts(txq.pid, txq.qid, buf, -1)
    if txTsc == 0 then
        return nil, 0 -- the run stopped
    end
    local deadline = txTsc + maxWait * hz
    local numPkts = 0
    while true do
        local before = rdtsc()
        local rx = rxBurstTs(pid, qid, arr, n)
        if rx > 0 then
            numPkts = numPkts + rx
            local rxTsc
            for i = 0, rx - 1 do
                if isOurs(self, arr[i], expectedSeq) then
                    rxTsc = arr[i].udata64
                    break
                end
            end
            freeBulk(arr, rx)
            if rxTsc then
                -- to 0.1 ns: finer digits only multiply the histogram's buckets
                local lat = tonumber(rxTsc - txTsc) * 1e9 / hz - self.compensation
                lat = math.floor(lat * 10 + 0.5) / 10
                local poll = tonumber(rxTsc - before) * 1e9 / hz
                self.measured = self.measured + 1
                self.pollSum = self.pollSum + poll
                if poll > self.pollMax then self.pollMax = poll end
                if lat > 0 and lat < 2 * maxWait * 1e9 then
                    return lat, numPkts
                end
                return nil, numPkts
            end
        end
        if before >= deadline or cRunning(0) == 0 then
            self.lost = self.lost + 1
            return nil, numPkts
        end
    end
end

-- hardware: libmoon's procedure with DPDK's generic timesync calls
local function measureHardware(self, expectedSeq, maxWait)
    mod.syncClocks(self.txDev, self.rxDev)
    self.rxDev:clearTimestamps()
    self.txQueue:send(self.txBufs)
    local tx = self.txQueue:getTimestamp(500)
    if not tx then
        log:warn("Failed to timestamp packet on transmission")
        timer:new(maxWait):wait()
        return nil, 0
    end
    local numPkts = 0
    local t = timer:new(maxWait)
    local rxBufs = self.rxBufs
    while t:running() do
        local rx = self.rxQueue:tryRecv(rxBufs, 1000)
        numPkts = numPkts + rx
        for i = 0, rx - 1 do
            local buf = rxBufs.array[i]
            if bit.band(buf.ol_flags, RX_IEEE1588_TMST) ~= 0 then
                local seq = ptpOf(self, buf):getSequenceID()
                local rxTs = self.rxQueue:getTimestamp(nil, buf.timesync)
                if seq == expectedSeq then
                    rxBufs:free(rx)
                    if not rxTs then return nil, numPkts end
                    local lat = rxTs - tx
                    if lat > 0 and lat < 2 * maxWait * 1e9 then
                        return lat, numPkts
                    end
                    return nil, numPkts
                end
            end
        end
        rxBufs:free(rx)
    end
    return nil, numPkts
end

--- Latency of one packet in ns, or nil when it was lost; second result: frames seen.
--- measureLatency([pktSize][, modifierFn][, maxWaitMs = 15]); a function first is the
--- modifier. The modifier may change the frame (addresses, ports) but not its PTP header.
function timestamper:measureLatency(pktSize, packetModifier, maxWait)
    if type(pktSize) == "function" then -- optional first argument skipped
        return self:measureLatency(nil, pktSize, packetModifier)
    end
    pktSize = pktSize or (self.udp and 76 or 60)
    maxWait = (maxWait or 15) / 1000
    self.txBufs:alloc(pktSize)
    if self.txBufs.size == 0 then
        return nil, 0 -- the run stopped while waiting for a buffer
    end
    local buf = self.txBufs.array[0]
    buf:enableTimestamps()
    local expectedSeq = self.seq
    self.seq = (self.seq + 1) % 2 ^ 16
    ptpOf(self, buf):setSequenceID(expectedSeq)
    if packetModifier then
        packetModifier(buf)
    end
    if self.udp then
        if not self.doNotConfigureUdpPort then
            -- each packet may go to another UDP port
            self.rxQueue:enableTimestamps(buf:getUdpPacket().udp:getDstPort())
        end
        buf:getUdpPtpPacket():setLength(pktSize)
        self.txBufs:offloadUdpChecksums()
    end
    if self.hardware then
        return measureHardware(self, expectedSeq, maxWait)
    end
    return measureSoftware(self, buf, expectedSeq, maxWait)
end

--- Make two ports' clocks comparable. Software timestamps share the TSC: nothing to do.
--- Hardware: dev2's IEEE 1588 clock is moved to dev1's (offset of two reads).
function mod.syncClocks(...)
    local dev1, dev2 = dropSelf(...)
    local m1, m2 = dev1:timestampMode(), dev2:timestampMode()
    if m1 ~= m2 then
        log:fatal("NICs incompatible, cannot sync clocks")
    end
    if m1 == "software" or dev1.id == dev2.id then
        return
    end
    local t1 = dev1:readTime()
    local t2 = dev2:readTime()
    C.timesync_adjust(dev2.pid, t1 - t2)
    dev1:resetTimeCounters()
    dev2:resetTimeCounters()
end

--- The clock timestamps of `dev` are taken with, in ns (the TSC for software timestamps).
function mod.getTimestamp(dev)
    if dev == mod then dev = nil end
    if dev and dev.readTime then
        return dev:readTime()
    end
    return tonumber(rdtsc()) * 1e9 / hz
end

return mod
