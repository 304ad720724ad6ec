-- benchmark.lua: the per-core scenarios of `moonpy bench`.
--
--   moonpy --port null lua_scripts/benchmark.lua fixed --time 3
--   moonpy --port cable lua_scripts/benchmark.lua rx --time 3
--   moonpy --port cable --port null lua_scripts/benchmark.lua forward --time 3
--   moonpy --port cable --port cable lua_scripts/benchmark.lua forward --ports 0,1,2,3
-- TX scenarios, one task per port: fixed (prefilled, no per-packet work), random
-- (random IPv4 source and UDP source port, UDP checksum offload: the FOSDEM load
-- task), checksum (random + software IPv4 checksum per packet), heavy (8
-- math.random fields per packet), raw (random, written through raw FFI pointers
-- instead of the stack API).
-- RX scenarios, measured at the receiving end: rx (a generator sends prefilled
-- frames into a cable, a task on the far end counts them with recv + freeAll;
-- ports TX,RX), forward (frames arrive on a cable, a forwarder sends them out on
-- another port; ports TX,IN,OUT, or TX,IN,OUT,RX to count them at the far end of a
-- second cable instead).
-- Each measured task reports packets, seconds and TSC cycles per packet as a
-- RESULT line.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"

local DEFAULT_PORTS = { rx = "0,1", forward = "0,1,2" }

function configure(parser)
    parser:argument("scenario", "fixed | random | multiflow | checksum | heavy | raw | phases | rx | forward")
    parser:option("-s --size", "Packet size without CRC."):default(60):convert(tonumber)
    parser:option("-t --time", "Seconds to measure (after 0.5 s warm-up)."):default(3):convert(tonumber)
    parser:option("-p --ports", "TX scenarios: ports, one task each (default 0; e.g. 0,1). "
        .. "rx: TX,RX (default 0,1). forward: TX,IN,OUT[,RX] (default 0,1,2).")
end

local function portList(text)
    local ports = {}
    for port in text:gmatch("%d+") do ports[#ports + 1] = tonumber(port) end
    return ports
end

-- RX scenarios add the frames dropped at the receiving port while measured
local function report(scenario, port, pkts, secs, cycles, drops)
    print(("RESULT scenario=%s port=%d pkts=%d seconds=%.4f mpps=%.3f cycles_per_pkt=%.2f%s")
        :format(scenario, port, pkts, secs, pkts / secs / 1e6, cycles / pkts,
            drops and (" dropped=%d"):format(drops) or ""))
end

local function txMaster(args)
    local ports, tasks = portList(args.ports or "0"), {}
    for i, port in ipairs(ports) do
        local dev = device.config{port = port, txQueues = 1}
        tasks[i] = mg.startTask("bench_" .. args.scenario, dev:getTxQueue(0), args.size, args.time)
    end
    for i, t in ipairs(tasks) do
        report(args.scenario, ports[i], t:wait())
    end
end

-- The generator feeding a receiver is a shared task: it runs on the master's core
-- (the master only waits), so the measured task gets a worker core of its own
-- wherever there is one. The run stops once the measured task is done.
local function rxMaster(args)
    local p = portList(args.ports or DEFAULT_PORTS.rx)
    local txDev = device.config{port = p[1], txQueues = 1}
    local rxDev = device.config{port = p[2], rxQueues = 1}
    device.waitForLinks()
    mg.startSharedTask("generate", txDev:getTxQueue(0), args.size)
    local counter = mg.startTask("bench_rx", rxDev:getRxQueue(0), args.time)
    report(args.scenario, p[2], counter:wait())
    mg.stop()
    mg.waitForTasks()
end

-- forward: ports TX,IN,OUT[,RX]. The forwarder measures what it sends on; given an
-- RX port (the far end of a second cable), a counter there is measured instead. That
-- needs a worker core per task: on one shared core the forwarder fills the far ring
-- while the counter waits for its time slice, and the ring drops nearly everything.
local function forwardMaster(args)
    local p = portList(args.ports or DEFAULT_PORTS.forward)
    local txDev = device.config{port = p[1], txQueues = 1}
    local inDev = device.config{port = p[2], rxQueues = 1}
    local outDev = device.config{port = p[3], txQueues = 1}
    local rxDev = p[4] and device.config{port = p[4], rxQueues = 1}
    device.waitForLinks()
    mg.startSharedTask("generate", txDev:getTxQueue(0), args.size)
    local measured
    if rxDev then
        measured = mg.startTask("bench_rx", rxDev:getRxQueue(0), args.time)
        mg.startTask("forward", inDev:getRxQueue(0), outDev:getTxQueue(0))
    else
        measured = mg.startTask("bench_forward", inDev:getRxQueue(0), outDev:getTxQueue(0),
            args.time)
    end
    report(args.scenario, p[4] or p[3], measured:wait())
    mg.stop()
    mg.waitForTasks()
end

function master(args)
    if args.scenario == "rx" then
        rxMaster(args)
    elseif args.scenario == "forward" then
        forwardMaster(args)
    else
        txMaster(args)
    end
end

local function pool(size, n)
    return memory.createMemPool{n = n, func = function(buf)
        buf:getUdpPacket():fill{ pktLength = size, ethSrc = "02:00:00:00:00:01",
            ethDst = "10:11:12:13:14:15", ip4Dst = "10.1.0.1", udpDst = 319 }
    end}
end

-- Call step(a, b, c) for 0.5 s to warm up (JIT traces, caches).
local function warmUp(step, a, b, c)
    local stop = mg.getCycles() + mg.getCyclesFrequency() / 2
    while mg.getCycles() < stop and mg.running() do step(a, b, c) end
end

-- Call step(a, b, c), which returns how many packets it handled, for `seconds`;
-- returns packets, seconds, cycles.
local function timed(seconds, step, a, b, c)
    local hz = mg.getCyclesFrequency()
    local count = 0
    local start = mg.getCycles()
    local stop = start + seconds * hz
    while mg.running() do
        count = count + step(a, b, c)
        if mg.getCycles() >= stop then break end
    end
    local cycles = tonumber(mg.getCycles() - start)
    return count, cycles / hz, cycles
end

-- a TX scenario: `body` allocates, changes and sends one burst from a prefilled pool
local function measure(queue, size, seconds, body)
    local function step(bufs, q, sz)
        body(bufs, q, sz)
        return bufs.size
    end
    local bufs = pool(size):bufArray()
    warmUp(step, bufs, queue, size)
    return timed(seconds, step, bufs, queue, size)
end

function bench_fixed(queue, size, seconds)
    return measure(queue, size, seconds, function(bufs, q, sz)
        bufs:alloc(sz)
        q:send(bufs)
    end)
end

function bench_random(queue, size, seconds)
    return measure(queue, size, seconds, function(bufs, q, sz)
        bufs:alloc(sz)
        for i, buf in ipairs(bufs) do
            local pkt = buf:getUdpPacket()
            pkt.ip4.src:set(math.random(0, 2^32 - 1))
            pkt.udp:setSrcPort(math.random(0, 2^16 - 1))
        end
        bufs:offloadUdpChecksums()
        q:send(bufs)
    end)
end

-- scenario 2 with testpmd's multi-flow rule instead of random numbers: the source IP's
-- third byte from a per-packet counter (testpmd --txonly-multi-flow), the same UDP
-- checksum offload request; compares the Lua layers with testpmd's per-packet work
local flow = 0
function bench_multiflow(queue, size, seconds)
    local band = bit.band
    return measure(queue, size, seconds, function(bufs, q, sz)
        bufs:alloc(sz)
        for i, buf in ipairs(bufs) do
            local pkt = buf:getUdpPacket()
            flow = band(flow + 1, 255) -- not `% 256`: a float modulo is a division
            pkt.ip4.src:set(0xC0A80001 + flow * 256)
        end
        bufs:offloadUdpChecksums()
        q:send(bufs)
    end)
end

-- scenario 2 with a TSC read between its steps: where a packet's cycles go (profile
-- evidence for docs/performance.md; the reads themselves cost ~2 cycles per packet)
function bench_phases(queue, size, seconds)
    local rdtsc = require("moonpy.api").rdtsc
    local t = ffi.new("uint64_t[4]")
    local bursts = 0
    local results = { measure(queue, size, seconds, function(bufs, q, sz)
        local t0 = rdtsc()
        bufs:alloc(sz)
        local t1 = rdtsc()
        for i, buf in ipairs(bufs) do
            local pkt = buf:getUdpPacket()
            pkt.ip4.src:set(math.random(0, 2^32 - 1))
            pkt.udp:setSrcPort(math.random(0, 2^16 - 1))
        end
        local t2 = rdtsc()
        bufs:offloadUdpChecksums()
        local t3 = rdtsc()
        q:send(bufs)
        t[0], t[1], t[2], t[3] = t[0] + (t1 - t0), t[1] + (t2 - t1), t[2] + (t3 - t2),
            t[3] + (rdtsc() - t3)
        bursts = bursts + 1
    end) }
    local per = function(i) return tonumber(t[i]) / bursts / 63 end
    -- moonpy records the offload request and carries it out in the send's pass
    print(("PHASES cycles per packet: alloc %.1f, Lua loop (2 random fields) %.1f, "
        .. "offload request %.1f, send %.1f"):format(per(0), per(1), per(2), per(3)))
    return unpack(results)
end

function bench_checksum(queue, size, seconds)
    return measure(queue, size, seconds, function(bufs, q, sz)
        bufs:alloc(sz)
        for i, buf in ipairs(bufs) do
            local pkt = buf:getUdpPacket()
            pkt.ip4.src:set(math.random(0, 2^32 - 1))
            pkt.udp:setSrcPort(math.random(0, 2^16 - 1))
            pkt.ip4:calculateChecksum()
        end
        q:send(bufs)
    end)
end

function bench_heavy(queue, size, seconds)
    return measure(queue, size, seconds, function(bufs, q, sz)
        bufs:alloc(sz)
        for i, buf in ipairs(bufs) do
            local pkt = buf:getUdpPacket()
            pkt.ip4.src:set(math.random(0, 2^32 - 1))
            pkt.ip4.dst:set(math.random(0, 2^32 - 1))
            pkt.udp:setSrcPort(math.random(0, 2^16 - 1))
            pkt.udp:setDstPort(math.random(0, 2^16 - 1))
            pkt.ip4:setTTL(math.random(1, 255))
            pkt.ip4:setID(math.random(0, 2^16 - 1))
            pkt.ip4:setTOS(math.random(0, 255))
            pkt.payload.uint32[0] = math.random(0, 2^32 - 1)
        end
        bufs:offloadUdpChecksums()
        q:send(bufs)
    end)
end

function bench_raw(queue, size, seconds)
    local u32, u16 = ffi.typeof("uint32_t *"), ffi.typeof("uint16_t *")
    return measure(queue, size, seconds, function(bufs, q, sz)
        bufs:alloc(sz)
        local arr = bufs.array
        for i = 0, bufs.size - 1 do
            local data = ffi.cast("uint8_t *", arr[i].buf_addr) + arr[i].data_off
            ffi.cast(u32, data + 26)[0] = math.random(0, 2^32 - 1)
            ffi.cast(u16, data + 34)[0] = math.random(0, 2^16 - 1)
        end
        bufs:offloadUdpChecksums()
        q:send(bufs)
    end)
end

-- ---- RX scenarios ---------------------------------------------------------------

-- The load: prefilled frames, as fast as the cable takes them. The pool covers what
-- the rings of two cables hold (1024 each by default) and the tasks' arrays.
function generate(queue, size)
    local bufs = pool(size, 2^13 - 1):bufArray()
    while mg.running() do
        bufs:alloc(size)
        queue:send(bufs)
    end
end

-- frames the port of `queue` dropped because the receiver had no room (a full cable ring)
local function dropped(queue)
    return tonumber(queue.dev:getStats().imissed)
end

-- A receiving scenario: `step` as for timed; also returns the frames dropped at the
-- port of `rxQueue` while measured. None dropped: the receiver kept up, so the rate
-- is the sender's and the receiver could do more.
local function measureRx(rxQueue, seconds, step, a, b, c)
    warmUp(step, a, b, c)
    local before = dropped(rxQueue)
    local pkts, secs, cycles = timed(seconds, step, a, b, c)
    return pkts, secs, cycles, dropped(rxQueue) - before
end

local function receive(bufs, queue)
    local n = queue:recv(bufs)
    bufs:freeAll()
    return n
end

-- count what arrives (recv returns 0 once the run stops)
function bench_rx(queue, seconds)
    return measureRx(queue, seconds, receive, memory.bufArray(), queue)
end

local function forwardBurst(bufs, rxQueue, txQueue)
    local n = rxQueue:recv(bufs)
    txQueue:sendN(bufs, n)
    return n
end

-- send out on txQueue what arrives on rxQueue, burst by burst, unchanged
function forward(rxQueue, txQueue)
    local bufs = memory.bufArray()
    while mg.running() do forwardBurst(bufs, rxQueue, txQueue) end
end

function bench_forward(rxQueue, txQueue, seconds)
    return measureRx(rxQueue, seconds, forwardBurst, memory.bufArray(), rxQueue, txQueue)
end
