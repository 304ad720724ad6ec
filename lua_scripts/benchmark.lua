-- benchmark.lua: the per-core TX scenarios of `moonpy bench`, one task each.
--
--   moonpy --port null lua_scripts/benchmark.lua fixed --time 3
-- Scenarios: fixed (prefilled, no per-packet work), random (random IPv4 source
-- and UDP source port, UDP checksum offload: the FOSDEM load task), checksum
-- (random + software IPv4 checksum per packet), heavy (8 math.random fields per
-- packet), raw (random, written through raw FFI pointers instead of the stack API).
-- Each task reports packets, seconds and TSC cycles per packet as a RESULT line.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"

function configure(parser)
    parser:argument("scenario", "fixed | random | checksum | heavy | raw")
    parser:option("-s --size", "Packet size without CRC."):default(60):convert(tonumber)
    parser:option("-t --time", "Seconds to measure (after 0.5 s warm-up)."):default(3):convert(tonumber)
    parser:option("-p --ports", "Ports, one task each (e.g. 0,1)."):default("0")
end

function master(args)
    local tasks = {}
    for port in args.ports:gmatch("%d+") do
        local dev = device.config{port = tonumber(port), txQueues = 1}
        tasks[#tasks + 1] = mg.startTask("bench_" .. args.scenario, dev:getTxQueue(0), args.size,
            args.time)
    end
    for _, t in ipairs(tasks) do
        local pkts, secs, cycles = t:wait()
        print(("RESULT scenario=%s port=%d pkts=%d seconds=%.4f mpps=%.3f cycles_per_pkt=%.2f")
            :format(args.scenario, 0, pkts, secs, pkts / secs / 1e6, cycles / pkts))
    end
end

local function pool(size)
    return memory.createMemPool(function(buf)
        buf:getUdpPacket():fill{ pktLength = size, ethSrc = "02:00:00:00:00:01",
            ethDst = "10:11:12:13:14:15", ip4Dst = "10.1.0.1", udpDst = 319 }
    end)
end

-- measure `body` for `seconds` after a warm-up; returns packets, seconds, cycles
local function measure(queue, size, seconds, body)
    local bufs = pool(size):bufArray()
    local hz = mg.getCyclesFrequency()
    local warm = mg.getCycles() + hz / 2
    while mg.getCycles() < warm do body(bufs, queue, size) end
    local count = 0
    local start = mg.getCycles()
    local stop = start + seconds * hz
    while mg.running() do
        body(bufs, queue, size)
        count = count + bufs.size
        if mg.getCycles() >= stop then break end
    end
    local cycles = tonumber(mg.getCycles() - start)
    return count, cycles / hz, cycles
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
            pkt.udp.src:set(math.random(0, 2^16 - 1))
        end
        bufs:offloadUdpChecksums()
        q:send(bufs)
    end)
end

function bench_checksum(queue, size, seconds)
    return measure(queue, size, seconds, function(bufs, q, sz)
        bufs:alloc(sz)
        for i, buf in ipairs(bufs) do
            local pkt = buf:getUdpPacket()
            pkt.ip4.src:set(math.random(0, 2^32 - 1))
            pkt.udp.src:set(math.random(0, 2^16 - 1))
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
            pkt.udp.src:set(math.random(0, 2^16 - 1))
            pkt.udp.dst:set(math.random(0, 2^16 - 1))
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
