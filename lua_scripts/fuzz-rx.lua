-- fuzz-rx.lua: hostile frames across a virtual cable into the RX-side parsers.
--
--   moonpy lua_scripts/fuzz-rx.lua 0 1 -n 1000000
-- The sender writes random and mutated frames (truncated headers, wrong lengths,
-- odd ethertypes, VLAN stacks, IPv4 options and fragments, TCP options); the
-- receiver decodes every frame it gets (buf:get(), getString, dump) and counts.
-- Any Lua error in a parser fails the run; a crash kills it.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"

function configure(parser)
    parser:argument("txDev", "Sender port."):convert(tonumber)
    parser:argument("rxDev", "Receiver port."):convert(tonumber)
    parser:option("-n --frames", "Frames to send."):default(10000):convert(tonumber)
    parser:option("--seed", "Random seed."):default(1):convert(tonumber)
end

function master(args)
    local tx = device.config{port = args.txDev}
    local rx = device.config{port = args.rxDev}
    local r = mg.startSharedTask("receiver", rx:getRxQueue(0))
    local s = mg.startTask("sender", tx:getTxQueue(0), args.frames, args.seed)
    local sent = s:wait()
    mg.sleepMillis(100)
    mg.stop()
    local got, decoded = r:wait()
    print(("FUZZ sent=%d received=%d decoded=%d"):format(sent, got, decoded))
end

local ethertypes = { 0x0800, 0x86dd, 0x0806, 0x8100, 0x88f7, 0x8809, 0x88a8, 0x1234, 0x0000,
    0xffff }
local protocols = { 1, 6, 17, 47, 50, 51, 58, 132, 0, 255 }

local function mutate(data, len)
    for i = 0, len - 1 do data[i] = math.random(0, 255) end
    if math.random() < 0.8 and len >= 14 then
        local et = ethertypes[math.random(#ethertypes)]
        data[12], data[13] = bit.rshift(et, 8), bit.band(et, 0xff)
        if et == 0x8100 and len >= 18 then
            local inner = ethertypes[math.random(#ethertypes)]
            data[16], data[17] = bit.rshift(inner, 8), bit.band(inner, 0xff)
        end
        if et == 0x0800 and len >= 34 then
            data[14] = 0x40 + math.random(0, 15)           -- any IHL, options included
            data[23] = protocols[math.random(#protocols)]
            data[20] = math.random(0, 255)                 -- fragment flags/offset
        elseif et == 0x86dd and len >= 54 then
            data[14] = 0x60
            data[20] = protocols[math.random(#protocols)]
        end
        if math.random() < 0.3 and len >= 38 then          -- UDP ports of decoders
            local ports = { 319, 320, 4789, 6343, 53, 4739 }
            local p = ports[math.random(#ports)]
            data[36], data[37] = bit.rshift(p, 8), bit.band(p, 0xff)
        end
    end
end

function sender(queue, frames, seed)
    math.randomseed(seed)
    local pool = memory.createMemPool{n = 4095}
    local bufs = pool:bufArray(32)
    local sent = 0
    while sent < frames and mg.running() do
        bufs:alloc(60)
        for _, buf in ipairs(bufs) do
            local len = math.random(14, 1514)
            if math.random() < 0.3 then len = math.random(14, 64) end
            buf:setSize(len)
            mutate(ffi.cast("uint8_t *", buf:getData()), len)
        end
        queue:send(bufs)
        sent = sent + bufs.size
        mg.sleepMicros(400)  -- let the receiver (which also dumps) keep up
    end
    return sent
end

function receiver(queue)
    local bufs = memory.bufArray()
    local null = io.open("/dev/null", "w")
    local got, decoded = 0, 0
    while mg.running(200) do
        local n = queue:tryRecv(bufs, 1000)
        for i = 1, n do
            local buf = bufs[i]
            local pkt = buf:get()
            if pkt then
                decoded = decoded + 1
                for _, h in ipairs(pkt:getHeaders()) do
                    local s = h:getString()
                end
            end
            if (got + i) % 16 == 0 then buf:dump(null, false) end
        end
        got = got + n
        bufs:free(n)
    end
    null:close()
    return got, decoded
end
