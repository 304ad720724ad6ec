-- moonpy.device_timestamps: the timestamp methods of device.lua's devices (IEEE 1588
-- timesync where the PMD has it, the TSC otherwise) and the software "registers" they latch.
-- device.lua installs them with its module table and device prototype; the returned table
-- gives its RX queues the software RX latch (recvWithTimestamps).
local ffi = require "ffi"
local api = require "moonpy.api"
local log = require "log"

local rdtsc, hz = api.rdtsc, api.tsc_hz

return function(mod, devProto)
    -- A port whose PMD has IEEE 1588 timesync uses its clock ("hardware"); every other port
    -- gets software timestamps: the TSC read right before the TX burst and right after the RX
    -- burst ("software"). The software "registers" below emulate a NIC's latched timestamps
    -- (one per port and direction, per task VM): sendWithTimestamp and the timestamper latch
    -- TX, recvWithTimestamps latches RX for PTP frames once RX timestamps are enabled.
    local tsMode = {}       -- port -> "hardware" | "software"
    local swTx = {}         -- port -> latched TX timestamp (ns)
    local swRx = {}         -- port -> { ns, seq }
    local swRxPorts = {}    -- port -> UDP port whose PTP frames latch RX timestamps (L2 always)
    local PTP_ETHERTYPE = 0x88F7
    mod.__swTimestamps = { tx = swTx, rx = swRx }

    local function tscToNs(tsc)
        return tonumber(tsc) * 1e9 / hz
    end
    mod.tscToNs = tscToNs

    --- "hardware" when the port's PMD has IEEE 1588 timesync, else "software" (TSC).
    function devProto:timestampMode()
        local m = tsMode[self.id]
        if m then return m end
        m = api.C.timesync_enable(self.pid) == 0 and "hardware" or "software"
        tsMode[self.id] = m
        if m == "software" then
            log:info("Port %d (%s) has no hardware timestamping: using software timestamps (TSC "
                .. "read right before TX and right after RX)", self.id, self.driverName or "?")
        else
            log:info("Port %d (%s): hardware timestamps (IEEE 1588 timesync)", self.id,
                self.driverName or "?")
        end
        return m
    end

    function devProto:enableTxTimestamps(queue) -- luacheck: ignore queue
        self:timestampMode()
    end

    function devProto:enableRxTimestamps(queue, udpPort) -- luacheck: ignore queue
        if self:timestampMode() == "software" then
            swRxPorts[self.id] = udpPort or 319
        end
    end

    --- Timestamp every received frame: in software, the queue's recv() becomes
    --- recvWithTimestamps() and buf:getTimestamp() reads the TSC (in ns) from udata64.
    function devProto:enableRxTimestampsAllPackets(queue)
        if self:timestampMode() == "hardware" then
            self:unsupported("timestamping all rx packets in hardware (software TSC used)")
        end
        queue = type(queue) == "table" and queue or self:getRxQueue(queue or 0)
        queue.recv = queue.recvWithTimestamps
        mod.__swRxAllPackets = true
    end

    local function pollNs(wait, fn)
        local deadline = rdtsc() + (wait or 0) * hz / 1e6
        repeat
            local v = fn()
            if v then return v end
        until rdtsc() >= deadline
        return nil
    end

    --- TX timestamp in ns (hardware register, or the latched software one); nil if none
    --- appears within `wait` microseconds.
    function devProto:getTxTimestamp(queue, wait) -- luacheck: ignore queue
        if self:timestampMode() == "hardware" then
            local ns = ffi.new("uint64_t[1]")
            return pollNs(wait, function()
                if api.C.timesync_read_tx(self.pid, ns) == 0 then return tonumber(ns[0]) end
            end)
        end
        local v = swTx[self.id]
        swTx[self.id] = nil
        return v
    end

    --- RX timestamp in ns; `timesync` is the mbuf's timesync index (hardware only).
    function devProto:getRxTimestamp(queue, wait, timesync) -- luacheck: ignore queue
        if self:timestampMode() == "hardware" then
            local ns = ffi.new("uint64_t[1]")
            return pollNs(wait or 500, function()
                if api.C.timesync_read_rx(self.pid, ns, timesync or 0) == 0 then
                    return tonumber(ns[0])
                end
            end)
        end
        local v = swRx[self.id]
        swRx[self.id] = nil
        return v and v[1] or nil
    end

    --- Sequence id of the PTP frame whose RX timestamp is latched (software), -1 (hardware:
    --- unknown until read), nil when none.
    function devProto:hasRxTimestamp()
        if self:timestampMode() == "hardware" then return -1 end
        local v = swRx[self.id]
        return v and v[2] or nil
    end

    function devProto:clearTimestamps()
        if self:timestampMode() == "hardware" then
            local ns = ffi.new("uint64_t[1]")
            for _ = 1, 4 do
                if api.C.timesync_read_rx(self.pid, ns, 0) ~= 0 then break end
            end
            api.C.timesync_read_tx(self.pid, ns)
            return
        end
        swTx[self.id], swRx[self.id] = nil, nil
    end

    --- The port's clock in ns: the NIC's IEEE 1588 clock, or the TSC for software timestamps.
    function devProto:readTime()
        if self:timestampMode() == "hardware" then
            local ns = ffi.new("uint64_t[1]")
            local rc = api.C.timesync_read_time(self.pid, ns)
            if rc ~= 0 then
                log:fatal("Device %d: reading the device time failed: error %d", self.id, -rc)
            end
            return tonumber(ns[0])
        end
        return tscToNs(rdtsc())
    end

    --- Nothing to reset: DPDK tracks wrap-arounds itself, the TSC does not wrap.
    function devProto:resetTimeCounters() end

    -- Latch the software RX timestamp of PTP frames (L2, or UDP to the enabled port).
    local function latchPtp(port, bufs, got)
        local udpPort = swRxPorts[port]
        for i = 0, got - 1 do
            local b = bufs.array[i]
            local data = ffi.cast("uint8_t *", b.buf_addr) + b.data_off
            local etype = data[12] * 256 + data[13]
            local seqAt
            if etype == PTP_ETHERTYPE then
                seqAt = 14 + 30
            elseif etype == 0x0800 and data[23] == 17 and b.data_len >= 42 + 32 then
                local l3 = bit.band(data[14], 0x0f) * 4
                local dport = data[14 + l3 + 2] * 256 + data[14 + l3 + 3]
                if dport == udpPort then seqAt = 14 + l3 + 8 + 30 end
            end
            if seqAt and b.data_len >= seqAt + 2 then
                swRx[port] = { tscToNs(b.udata64), data[seqAt] * 256 + data[seqAt + 1] }
            end
        end
    end

    return { swRxPorts = swRxPorts, latchPtp = latchPtp }
end
