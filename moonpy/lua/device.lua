-- device: ports, their queues and counters (MoonGen/libmoon `device` module).
--
-- Configuration and counters are control plane (a call into Python); send and
-- receive are one FFI call into the C fast path per burst.
local ffi = require "ffi"
local api = require "moonpy.api"
local log = require "log"

local host = api.host
local sendAll, sendAllReq, trySend = api.send_all, api.send_all_req, api.try_send
local rxBurst, rxBurstTs, applyOffloads = api.rx_burst, api.rx_burst_ts, api.applyOffloads
local cRunning, rdtsc, hz = api.running, api.rdtsc, api.tsc_hz

local mod = {}

-- DPDK's xstats API, which MoonGen scripts call through ffi.C (moonpy makes the ethdev
-- library's symbols global for this); the port ids they pass are DPDK port ids
pcall(ffi.cdef, [[
struct rte_eth_xstat { uint64_t id; uint64_t value; };
struct rte_eth_xstat_name { char name[64]; };
int rte_eth_xstats_get(uint16_t port_id, struct rte_eth_xstat *xstats, unsigned int n);
int rte_eth_xstats_get_names(uint16_t port_id, struct rte_eth_xstat_name *xstats_names,
    unsigned int size);
]])

-- As in libmoon the metatable IS the prototype (`txQueue.__index = txQueue`): scripts
-- call metamethods as methods (`queue:__tostring()`, `dev:__eq(other)`).
local devProto = {}
devProto.__index = devProto
local devMt = devProto
local txProto = {}
txProto.__index = txProto
local txMt = txProto
local rxProto = {}
rxProto.__index = rxProto
local rxMt = rxProto
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
-- libmoon's serializer hook: code that rebuilds the object in another VM
function devMt.__serialize(self)
    return ('return require("device").get(%d)'):format(self.id), true
end
function txMt.__serialize(self)
    return ('return require("device").get(%d):getTxQueue(%d)'):format(self.id, self.qid), true
end
function rxMt.__serialize(self)
    return ('return require("device").get(%d):getRxQueue(%d)'):format(self.id, self.qid), true
end

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
        -- a cable's receiving end has the flow-director match filterUdpTimestamps needs
        -- (filter.lua), as ixgbe has: libmoon's timestamper installs it where this is set
        supportsFdir = kind == "cable" or nil,
    }, devMt)
end

function mod.config(...)
    local args = ...
    if type(args) ~= "table" then
        log:warn("device.config() without named arguments is deprecated and will be removed. "
            .. "See documentation for libmoons device.config().")
        local v = { ... }
        -- MoonGen before libmoon also took a mempool as second positional argument:
        -- config(port, mempool, rxQueues, txQueues, rxDescs, txDescs, speed, dropEnable)
        local pool = nil
        if v[2] ~= nil and type(v[2]) ~= "number" then pool = table.remove(v, 2) end
        args = { port = v[1], rxQueues = v[2], txQueues = v[3], rxDescs = v[4],
            txDescs = v[5], speed = v[6], dropEnable = v[7], mempool = pool }
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
    -- descriptor and buffer counts: whole numbers in the range DPDK takes (it would
    -- quietly round 0 up to its default, or fail with an errno for a huge one)
    for k, max in pairs({ rxDescs = 65535, txDescs = 65535, numBufs = 16777215 }) do
        local v = args[k]
        if v ~= nil and (type(v) ~= "number" or v ~= v or v < 1 or v > max or v % 1 ~= 0) then
            error(("device.config: %s = %s: give a whole number from 1 to %d"):format(
                k, tostring(v), max), 2)
        end
    end
    local pools = nil
    if args.mempools then
        pools = {}
        for i, p in ipairs(args.mempools) do
            pools[i] = tonumber(ffi.cast("uintptr_t", p))
        end
    end
    local rssTypes = nil
    if args.rssFunctions then
        rssTypes = 0ULL
        for _, f in ipairs(args.rssFunctions) do rssTypes = bit.bor(rssTypes, f) end
        rssTypes = tonumber(rssTypes)
    end
    local ok, isNew = pcall(host.configure_device, args.port, args.rxQueues or 1,
        args.txQueues or 1, rxDescs, args.txDescs or 1024,
        args.numBufs or math.max(2047, 2 * rxDescs - 1), args.bufSize or 2048, pools,
        args.rssQueues or 0, args.rssBaseQueue or 0, rssTypes, args.dropEnable ~= false)
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
    -- the dashboard counts a task's packets on the queues it holds (control plane, once)
    if LIBMOON_TASK_NAME ~= "master" then host.note_queue(LIBMOON_TASK_ID, self.id, qid, "tx") end
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
    if LIBMOON_TASK_NAME ~= "master" then host.note_queue(LIBMOON_TASK_ID, self.id, qid, "rx") end
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
    -- libmoon's fields and types: booleans (duplexAutoneg is libmoon's `link_duplex == 0`)
    return { status = up, speed = speed, duplex = duplex and true or false,
        duplexAutoneg = not duplex }
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
    local q = host.device_queue_stats(self.id)
    for i = 0, 15 do
        local e = q[i + 1]
        s.q_ipackets[i], s.q_opackets[i], s.q_ibytes[i], s.q_obytes[i] = e[1], e[2], e[3], e[4]
    end
    return s
end

function devProto:getTxStats()
    local _, opackets, _, obytes = host.device_stats(self.id)
    return opackets, obytes
end

function devProto:getRxStats()
    -- libmoon: every frame that reached the port; a missed frame's bytes count too where
    -- the port knows them (a cable's end does), as a NIC counts its octets
    local ipackets, _, ibytes, _, imissed, _, _, nombuf, missedBytes = host.device_stats(self.id)
    return ipackets + imissed + nombuf, ibytes + (missedBytes or 0)
end

function devProto:getXstats()
    return host.device_xstats(self.id)
end

function devProto:clearRxStats() end

--- RSS over RX queues baseQueue .. baseQueue + n - 1 (a virtual cable's receiving end
--- spreads frames itself; other ports warn). Meant for set-up, before traffic flows.
function devProto:setRssQueues(n, baseQueue)
    local ok, err = pcall(host.set_rss_queues, self.id, n, baseQueue or 0)
    if not ok then error(tostring(err), 2) end
end

function devProto:setPromisc(on)
    host.set_promisc(self.id, on ~= false)
end

function devProto:getSocket() return 0 end
function devProto:getName() return ("unknown NIC (PCI ID 0:0)") end
function devProto:getDriverName() return self.driverName end
function devProto:getPciId() return 0 end

pcall(ffi.cdef, [[
struct rte_ether_addr;
int rte_eth_dev_mac_addr_add(uint16_t port_id, struct rte_ether_addr *mac_addr, uint32_t pool);
int rte_eth_dev_mac_addr_remove(uint16_t port_id, struct rte_ether_addr *mac_addr);
int rte_eth_dev_fw_version_get(uint16_t port_id, char *fw_version, size_t fw_size);
]])

-- a MAC given as "aa:bb:cc:dd:ee:ff" or as a union mac_address (cdata)
local function macBytes(mac)
    if type(mac) == "string" then
        local u, i = ffi.new("uint8_t[6]"), 0
        for byte in mac:gmatch("%x%x") do
            if i < 6 then u[i] = tonumber(byte, 16) end
            i = i + 1
        end
        if i ~= 6 then log:fatal("could not parse mac address '%s'", mac) end
        return u
    end
    return ffi.cast("uint8_t *", mac)
end

-- A virtual cable delivers every frame (no MAC filter) and the ring PMD keeps no MAC
-- table of its own (DPDK would store an added address over the default one), so on
-- cables the addresses are only checked; other ports use DPDK's MAC filter calls.
local function hasMacFilter(dev)
    return dev.kind ~= "cable"
end

--- Add a MAC address to the port's receive filter (DPDK's rte_eth_dev_mac_addr_add).
function devProto:addMac(mac)
    local bytes = macBytes(mac)
    if not hasMacFilter(self) then return end
    local rc = ffi.C.rte_eth_dev_mac_addr_add(self.pid, ffi.cast("struct rte_ether_addr *",
        bytes), 0)
    if rc ~= 0 then log:fatal("could not add mac: %d", rc) end
end

--- Remove a MAC address added with addMac.
function devProto:removeMac(mac)
    local bytes = macBytes(mac)
    if not hasMacFilter(self) then return end
    local rc = ffi.C.rte_eth_dev_mac_addr_remove(self.pid, ffi.cast("struct rte_ether_addr *",
        bytes))
    if rc ~= 0 then log:fatal("could not remove mac: %d", rc) end
end

--- The firmware version string, or nil (with libmoon's warning) where the driver has none.
function devProto:getFirmware()
    local buf = ffi.new("char[1024]")
    local rc = ffi.C.rte_eth_dev_fw_version_get(self.pid, buf, 1024)
    if rc ~= 0 then
        log:warn("Failed to get firmware version: %d", rc)
        return nil
    end
    return ffi.string(buf)
end

--- The port's rte_eth_dev_info fields that scripts read (libmoon returns the struct itself;
--- its layout changes between DPDK versions, so moonpy gives a table with the same names).
function devProto:getInfo()
    local driver, maxRx, maxTx, rxCapa, txCapa = host.device_dev_info(self.id)
    return {
        driver_name = driver, if_index = 0,
        max_rx_queues = maxRx, max_tx_queues = maxTx,
        nb_rx_queues = self.numRxQueues, nb_tx_queues = self.numTxQueues,
        rx_offload_capa = rxCapa, tx_offload_capa = txCapa,
    }
end
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
    -- device-wide limits have no generic DPDK call; the software pacer takes tx queue 0
    if mbit and mbit > 0 then
        log:warn("Device %d: no device-wide hardware rate limiter; tx queue 0 is paced in "
            .. "software at %.0f Mbit/s", self.id, mbit)
    end
    self:getTxQueue(0):setRate(mbit)
end
-- ---- timestamps (moonpy.device_timestamps) ---------------------------------

local timestamps = require("moonpy.device_timestamps")(mod, devProto)
local swRxPorts, latchPtp = timestamps.swRxPorts, timestamps.latchPtp

-- ---- TX queues ------------------------------------------------------------

-- Send every buffer (a virtual cable drops what its receiver has no room for,
-- like a wire); never blocks past mg.running(). The array's offload request
-- (bufs:offloadUdpChecksums() ...) is carried out in the send's pass over the buffers.
function txProto:send(bufs)
    sendAllReq(self.pid, self.qid, bufs.array, bufs.size, bufs.ol)
    return bufs.size
end

function txProto:sendN(bufs, n)
    local ol = bufs.ol
    if ol ~= nil and n < ol.n then applyOffloads(bufs) end -- it is for buffers that stay too
    sendAllReq(self.pid, self.qid, bufs.array, n, bufs.ol)
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
    applyOffloads(bufs)
    startIndex = startIndex or 0
    numPkts = numPkts or (bufs.size - startIndex)
    return trySend(self.pid, self.qid, bufs.array + startIndex, numPkts)
end

local hwRateWarned = {}
local MAX_RATE_MBIT = 4294967295 -- the hardware rate call takes a uint32 of Mbit/s

--- Rate limit in Mbit/s (frame + CRC bytes, as MoonGen counts): the PMD's hardware limit
--- where it has one, else the software pacer of the send path (busy-wait on the TSC between
--- single-frame bursts). 0 or less turns it off.
function txProto:setRate(mbit)
    local given = mbit
    if mbit ~= nil and tonumber(mbit) == nil then
        error(("setRate(%s): the rate must be a number of Mbit/s"):format(tostring(given)), 2)
    end
    mbit = tonumber(mbit) or 0
    -- nan, inf, negative or beyond the 32-bit Mbit/s of the hardware call: refused, not
    -- silently taken as "off" or wrapped around
    if mbit ~= mbit or mbit < 0 or mbit > MAX_RATE_MBIT then
        error(("setRate(%s): the rate must be a number of Mbit/s from 0 (off) to %d"):format(
            tostring(given), MAX_RATE_MBIT), 2)
    end
    local key = self.id * 65536 + self.qid
    if mbit <= 0 then
        if hwRateWarned[key] then host.set_queue_rate(self.id, self.qid, 0, 0) end
        return
    end
    if api.C.hw_queue_rate(self.pid, self.qid, math.floor(mbit + 0.5)) == 0 then
        if hwRateWarned[key] then host.set_queue_rate(self.id, self.qid, 0, 0) end
        log:info("Port %d tx queue %d: hardware rate limit %.0f Mbit/s", self.id, self.qid, mbit)
        return
    end
    if not hwRateWarned[key] then
        hwRateWarned[key] = true
        log:info("Port %d has no hardware rate limiter: tx queue %d is paced in software "
            .. "(%.0f Mbit/s, busy-wait on the TSC)", self.id, self.qid, mbit)
    end
    host.set_queue_rate(self.id, self.qid, mbit, 0)
end

function txProto:setRateMpps(mpps, pktSize)
    local m = tonumber(mpps) or 0
    if m ~= m or m < 0 or m == math.huge then
        error(("setRateMpps(%s): the rate must be a number of Mpps >= 0"):format(tostring(mpps)), 2)
    end
    pktSize = pktSize or 60
    self:setRate(mpps * (pktSize + 4) * 8)
end

function txProto:enableTimestamps()
    self.dev:enableTxTimestamps(self)
end

--- TX timestamp in ns; `wait` in microseconds.
function txProto:getTimestamp(wait)
    return self.dev:getTxTimestamp(self, wait)
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

--- Receive with a software timestamp per frame: udata64 = the TSC right after the RX burst
--- (the same for every frame of one burst).
function rxProto:recvWithTimestamps(bufs, n)
    n = math.min(n or bufs.size, bufs.size)
    local pid, qid, arr = self.pid, self.qid, bufs.array
    while true do
        local got = rxBurstTs(pid, qid, arr, n)
        if got > 0 then
            if swRxPorts[self.id] then latchPtp(self.id, bufs, got) end
            return got
        end
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

function rxProto:enableTimestamps(udpPort)
    self.dev:enableRxTimestamps(self, udpPort)
end

function rxProto:enableTimestampsAllPackets()
    self.dev:enableRxTimestampsAllPackets(self)
end

--- RX timestamp in ns; `wait` in microseconds, `timesync` the mbuf's index (hardware).
function rxProto:getTimestamp(wait, timesync)
    return self.dev:getRxTimestamp(self, wait, timesync)
end

return mod
