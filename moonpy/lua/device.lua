-- device: ports, their queues and counters (MoonGen/libmoon `device` module).
--
-- Configuration and counters are control plane (a call into Python); send and
-- receive are one FFI call into the C fast path per burst.
local ffi = require "ffi"
local api = require "moonpy.api"
local log = require "log"

local host = api.host
local sendAll, trySend, rxBurst, rxBurstTs = api.send_all, api.try_send, api.rx_burst,
    api.rx_burst_ts
local cRunning, rdtsc, hz = api.running, api.rdtsc, api.tsc_hz

local mod = {}

local devProto = {}
local devMt = { __index = devProto }
local txProto = {}
local txMt = { __index = txProto }
local rxProto = {}
local rxMt = { __index = rxProto }
mod.__devicePrototype = devProto
mod.__txQueuePrototype = txProto
mod.__rxQueuePrototype = rxProto

devProto.__type = "device"

function devMt.__eq(a, b) return a.id == b.id end
function devMt.__tostring(self) return ("[Device: id=%d]"):format(self.id) end
function devMt.__moonpy_pack(self) return { k = "device", id = self.id } end
function txMt.__eq(a, b) return a.id == b.id and a.qid == b.qid end
function txMt.__tostring(self) return ("[TxQueue: id=%d, qid=%d]"):format(self.id, self.qid) end
function txMt.__moonpy_pack(self) return { k = "txq", port = self.id, queue = self.qid } end
function rxMt.__eq(a, b) return a.id == b.id and a.qid == b.qid end
function rxMt.__tostring(self) return ("[RxQueue: id=%d, qid=%d]"):format(self.id, self.qid) end
function rxMt.__moonpy_pack(self) return { k = "rxq", port = self.id, queue = self.qid } end

local configKeys = {
    port = true, rxQueues = true, txQueues = true, rxDescs = true, txDescs = true,
    numBufs = true, bufSize = true, mempools = true, mempool = true, speed = true,
    dropEnable = true, rssQueues = true, rssBaseQueue = true, rssFunctions = true,
    disableOffloads = true, stripVlan = true, rssNQueues = true,
}

local function validKeys()
    local keys = {}
    for k in pairs(configKeys) do
        if k ~= "rssNQueues" and k ~= "mempool" then keys[#keys + 1] = k end
    end
    table.sort(keys)
    return table.concat(keys, ", ")
end

function mod.numDevices()
    return host.num_devices()
end

function mod.get(id)
    if type(id) ~= "number" then
        log:fatal("device.get: expected a port number, got %s", tostring(id))
    end
    local ok, kind, pid, configured, nrx, ntx, mac, driver = pcall(host.device_info, id)
    if not ok then error(tostring(kind), 2) end
    return setmetatable({
        id = id, pid = pid, kind = kind, initialized = configured,
        numRxQueues = nrx, numTxQueues = ntx, macString = mac, driverName = driver,
        rxQueues = {}, txQueues = {},
    }, devMt)
end

function mod.config(...)
    local args = ...
    if type(args) ~= "table" then
        log:warn("device.config() without named arguments is deprecated and will be removed. "
            .. "See documentation for libmoons device.config().")
        local port, rxQueues, txQueues, rxDescs, txDescs, speed, dropEnable = ...
        args = { port = port, rxQueues = rxQueues, txQueues = txQueues, rxDescs = rxDescs,
            txDescs = txDescs, speed = speed, dropEnable = dropEnable }
    end
    for k in pairs(args) do
        if not configKeys[k] then
            log:warn("device.config: unknown option '%s' ignored; valid options: %s",
                tostring(k), validKeys())
        end
    end
    if args.rssNQueues then
        log:warn("device.config: rssNQueues is deprecated, use rssQueues")
        args.rssQueues = args.rssQueues or args.rssNQueues
    end
    if type(args.port) ~= "number" then
        error(("device.config: 'port' must be a port number, got %s"):format(tostring(args.port)),
            2)
    end
    local rxDescs = args.rxDescs or 512
    local pools = nil
    if args.mempools then
        pools = {}
        for i, p in ipairs(args.mempools) do
            pools[i] = tonumber(ffi.cast("uintptr_t", p))
        end
    end
    local ok, isNew = pcall(host.configure_device, args.port, args.rxQueues or 1,
        args.txQueues or 1, rxDescs, args.txDescs or 1024,
        args.numBufs or math.max(2047, 2 * rxDescs - 1), args.bufSize or 2048, pools)
    if not ok then error(tostring(isNew), 2) end
    if not isNew then
        log:warn("Device %d already configured, skipping initilization", args.port)
    end
    return mod.get(args.port)
end

-- ---- device methods -------------------------------------------------------

function devProto:getTxQueue(qid)
    local q = self.txQueues[qid]
    if q then return q end
    if type(qid) ~= "number" or qid < 0 or qid >= self.numTxQueues then
        error(("device %d is configured with tx queues 0 to %d, tried to get queue number %s")
            :format(self.id, self.numTxQueues - 1, tostring(qid)), 2)
    end
    q = setmetatable({ id = self.id, qid = qid, dev = self, pid = self.pid, used = false }, txMt)
    self.txQueues[qid] = q
    return q
end

function devProto:getRxQueue(qid)
    local q = self.rxQueues[qid]
    if q then return q end
    if type(qid) ~= "number" or qid < 0 or qid >= self.numRxQueues then
        error(("device %d is configured with rx queues 0 to %d, tried to get queue number %s")
            :format(self.id, self.numRxQueues - 1, tostring(qid)), 2)
    end
    q = setmetatable({ id = self.id, qid = qid, dev = self, pid = self.pid }, rxMt)
    self.rxQueues[qid] = q
    return q
end

function devProto:getMacString()
    return self.macString:upper()
end

function devProto:getMac(asNumber)
    local addr = require("moonpy.addr")
    if asNumber then
        return addr.parseMacAddress(self.macString, true)
    end
    return addr.parseMacAddress(self.macString)
end

function devProto:getLinkStatus()
    local up, speed, duplex = host.link(self.id)
    return { status = up, speed = speed, duplex = duplex and 1 or 0, duplexAutoneg = 0 }
end

local function linkLine(dev, up, speed)
    if up then
        log:info("Device %d (%s) is up: %d MBit/s", dev.id, dev:getMacString(), speed)
    else
        log:error("Device %d (%s) is DOWN: %d MBit/s", dev.id, dev:getMacString(), speed)
    end
end

function devProto:wait(maxWait)
    maxWait = maxWait or 9
    local deadline = os.clock() + maxWait
    local up, speed = host.link(self.id)
    while not up and os.clock() < deadline do
        api.usleep(100000)
        up, speed = host.link(self.id)
    end
    self.speed = speed
    linkLine(self, up, speed)
    return up
end

function mod.waitForLinks(...)
    local devs = { ... }
    if #devs == 0 then
        for id = 0, host.num_devices() - 1 do
            local d = mod.get(id)
            if d.initialized then devs[#devs + 1] = d end
        end
    end
    log:info("Waiting for devices to come up...")
    local upCount = 0
    for _, d in ipairs(devs) do
        local up, speed = host.link(d.id)
        local deadline = os.time() + 9
        while not up and os.time() < deadline do
            api.usleep(100000)
            up, speed = host.link(d.id)
        end
        linkLine(d, up, speed)
        if up then upCount = upCount + 1 end
    end
    local msg = upCount == 1 and "1 device is up." or ("%d devices are up."):format(upCount)
    log:info("%s", green and green(msg) or msg)
    return upCount
end

function devProto:getStats()
    local s = ffi.new("struct mp_eth_stats")
    s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.ierrors, s.oerrors, s.rx_nombuf =
        host.device_stats(self.id)
    return s
end

function devProto:getTxStats()
    local _, opackets, _, obytes = host.device_stats(self.id)
    return opackets, obytes
end

function devProto:getRxStats()
    local ipackets, _, ibytes, _, imissed, _, _, nombuf = host.device_stats(self.id)
    return ipackets + imissed + nombuf, ibytes
end

function devProto:getXstats()
    return host.device_xstats(self.id)
end

function devProto:clearRxStats() end

function devProto:setPromisc(on)
    host.set_promisc(self.id, on ~= false)
end

function devProto:getSocket() return 0 end
function devProto:getName() return ("unknown NIC (PCI ID 0:0)") end
function devProto:getDriverName() return self.driverName end
function devProto:getPciId() return 0 end
function devProto:store() end
function devProto:checkSocket() end
function devProto:stop() end

local warnedOnce = {}
function devProto:unsupported(op, level)
    local key = self.id .. op
    if warnedOnce[key] then return end
    warnedOnce[key] = true
    local msg = ("%s is not supported by the hardware or driver"):format(op)
    if level == "fatal" then log:fatal("%s", msg) end
    log:warn("%s", msg)
end

function devProto:setRate(mbit)
    -- device-wide: spread over the queues the script uses is unknowable; pace queue 0
    log:warn("Device %d: no hardware rate limiter; pacing tx queue 0 in software at %d Mbit/s",
        self.id, mbit)
    host.set_queue_rate(self.id, 0, mbit, 0)
end

-- ---- TX queues ------------------------------------------------------------

-- Send every buffer (a virtual cable drops what its receiver has no room for,
-- like a wire); never blocks past mg.running().
function txProto:send(bufs)
    sendAll(self.pid, self.qid, bufs.array, bufs.size)
    return bufs.size
end

function txProto:sendN(bufs, n)
    sendAll(self.pid, self.qid, bufs.array, n)
    return n
end

function txProto:sendSingle(buf)
    local arr = ffi.new("struct rte_mbuf *[1]", buf)
    sendAll(self.pid, self.qid, arr, 1)
    return 1
end

function txProto:trySendSingle(buf)
    local arr = ffi.new("struct rte_mbuf *[1]", buf)
    return trySend(self.pid, self.qid, arr, 1)
end

function txProto:trySend(bufs, startIndex, numPkts)
    startIndex = startIndex or 0
    numPkts = numPkts or (bufs.size - startIndex)
    return trySend(self.pid, self.qid, bufs.array + startIndex, numPkts)
end

function txProto:setRate(mbit)
    if not self.dev.rateWarned then
        self.dev.rateWarned = true
        log:info("Port %d has no hardware rate limiter: tx queue %d is paced in software "
            .. "(%.0f Mbit/s)", self.id, self.qid, mbit)
    end
    host.set_queue_rate(self.id, self.qid, mbit, 0)
end

function txProto:setRateMpps(mpps, pktSize)
    pktSize = pktSize or 60
    self:setRate(mpps * (pktSize + 4) * 8)
end

function txProto:start() end
function txProto:stop() end

function txProto:getMacAddr(asNumber)
    return self.dev:getMac(asNumber)
end

-- ---- RX queues ------------------------------------------------------------

-- Wait for at least one frame, or until the run stops (then 0).
function rxProto:recv(bufs, n)
    n = n or bufs.size
    local pid, qid, arr = self.pid, self.qid, bufs.array
    while true do
        local got = rxBurst(pid, qid, arr, n)
        if got > 0 then return got end
        if cRunning(0) == 0 then return 0 end
    end
end

function rxProto:recvWithTimestamps(bufs, n)
    n = n or bufs.size
    local pid, qid, arr = self.pid, self.qid, bufs.array
    while true do
        local got = rxBurstTs(pid, qid, arr, n)
        if got > 0 then return got end
        if cRunning(0) == 0 then return 0 end
    end
end

-- Poll for up to `maxWait` microseconds (busy); nil waits until stopped.
function rxProto:tryRecv(bufs, maxWait)
    local pid, qid, arr, n = self.pid, self.qid, bufs.array, bufs.size
    local got = rxBurst(pid, qid, arr, n)
    if got > 0 or maxWait == 0 then return got end
    local deadline = maxWait and (rdtsc() + maxWait * hz / 1e6) or nil
    while cRunning(0) ~= 0 do
        got = rxBurst(pid, qid, arr, n)
        if got > 0 then return got end
        if deadline and rdtsc() >= deadline then return 0 end
    end
    return 0
end

-- Poll in 10 us idle sleeps for up to `maxWait` microseconds.
function rxProto:tryRecvIdle(bufs, maxWait)
    local pid, qid, arr, n = self.pid, self.qid, bufs.array, bufs.size
    local waited = 0
    while true do
        local got = rxBurst(pid, qid, arr, n)
        if got > 0 then return got end
        if (maxWait and waited >= maxWait) or cRunning(0) == 0 then return 0 end
        api.usleep(10)
        waited = waited + 10
    end
end

function rxProto:getMacAddr(asNumber)
    return self.dev:getMac(asNumber)
end

function rxProto:enableTimestamps() end
function rxProto:enableTimestampsAllPackets() end

return mod
