-- Method and metamethod parity with libmoon, generated from tests/lua/api_surface.lua:
-- for each object type, build a real moonpy object and check that every name libmoon's
-- prototype has is there, and that each metamethod, called as a method, gives what the
-- operator gives (libmoon's metatables are the prototypes). One line per failed check,
-- then a count line (tests/test_api_parity.py reads both).
local mg        = require "moongen"
local device    = require "device"
local memory    = require "memory"
local stats     = require "stats"
local timer     = require "timer"
local pipe      = require "pipe"
local hist      = require "histogram"
local ts        = require "timestamping"
local pcap      = require "pcap"
local barrier   = require "barrier"
local lock      = require "lock"
local limiter   = require "software-ratecontrol"

local surface = dofile("tests/lua/api_surface.lua")

local function objects(dir)
    local dev = device.config{ port = 0, txQueues = 3, rxQueues = 2 }
    device.config{ port = 1, txQueues = 2, rxQueues = 2 }
    device.waitForLinks()
    local mem = memory.createMemPool()
    local bufs = mem:bufArray(4)
    bufs:alloc(124)
    local buf = bufs[1]
    local o = {
        device = dev, txQueue = dev:getTxQueue(0), rxQueue = dev:getRxQueue(0),
        mempool = mem, bufArray = bufs, packetBuffer = buf,
        packet = buf:getUdpPacket(),
        devRxCounter = stats:newDevRxCounter(dev, "plain"),
        devTxCounter = stats:newDevTxCounter(dev, "plain"),
        pktRxCounter = stats:newPktRxCounter("rx", "plain"),
        pktTxCounter = stats:newPktTxCounter("tx", "plain"),
        manualRxCounter = stats:newManualRxCounter("mrx", "plain"),
        manualTxCounter = stats:newManualTxCounter("mtx", "plain"),
        rateLimiter = limiter:new(dev:getTxQueue(2), "cbr", 1000),
        timer = timer:new(1),
        slowPipe = pipe:newSlowPipe(), fastPipe = pipe:newFastPipe(),
        packetRing = pipe:newPacketRing(),
        histogram = hist:new(),
        timestamper = ts:newTimestamper(dev:getTxQueue(1), device.get(1):getRxQueue(1)),
        barrier = barrier:new(1), lock = lock:new(),
        etherHeader = buf:getUdpPacket().eth,
        etherVlanHeader = buf:getEthVlanPacket().eth,
        macAddr = buf:getUdpPacket().eth.src,
        ip4Header = buf:getUdpPacket().ip4, ip4Addr = buf:getUdpPacket().ip4.src,
        ip6Header = buf:getUdp6Packet().ip6, ip6Addr = buf:getUdp6Packet().ip6.src,
        udpHeader = buf:getUdpPacket().udp, tcpHeader = buf:getTcpPacket().tcp,
        arpHeader = buf:getArpPacket().arp, icmpHeader = buf:getIcmpPacket().icmp,
        ptpHeader = buf:getPtpPacket().ptp, vxlanHeader = buf:getVxlanPacket().vxlan,
        espHeader = buf:getEsp4Packet().esp, ahHeader = buf:getAH4Packet().ah,
        greHeader = buf:getGre4Packet().gre, dnsHeader = buf:getDns4Packet().dns,
        lacpHeader = buf:getLacpPacket().lacp, ipfixHeader = buf:getIpfixPacket().ipfix,
        sflowHeader = buf:getSFlowPacket().sflow,
        etherQinQHeader = buf:getEthQinQPacket().eth,
    }
    local path = dir .. "/parity.pcap"
    o.pcapWriter = pcap:newWriter(path)
    o.pcapWriter:writeBuf(0, buf, 60)
    o.pcapWriter:close()
    o.pcapWriter = pcap:newWriter(dir .. "/parity2.pcap")
    o.pcapReader = pcap:newReader(path)
    return o
end

local failures, checked = 0, 0

local function fail(typeName, name, fmt, ...)
    failures = failures + 1
    print(("PARITY FAIL %s %s: " .. fmt):format(typeName, name, ...))
end

-- addresses are compared by value (each arithmetic result is a new cdata)
local function value(v)
    if type(v) == "cdata" and v.getString then return v:getString() end
    return v
end

-- what calling metamethod `name` as a method must give: the operator's result
local metaChecks = {
    __tostring = function(obj) return obj:__tostring(), tostring(obj) end,
    __eq = function(obj) return obj:__eq(obj), obj == obj end,
    __len = function(obj) return obj:__len(), #obj end,
    __lt = function(obj) return obj:__lt(obj), obj < obj end,
    __add = function(obj) return value(obj:__add(1)), value(obj + 1) end,
    __sub = function(obj) return value(obj:__sub(1)), value(obj - 1) end,
    -- libmoon's serializer runs what __serialize returns: a string of code (or a value)
    __serialize = function(obj)
        local code = obj:__serialize()
        return type(code), "string"
    end,
    __index = function(obj) return obj.__index ~= nil, true end,
}

local function checkOne(typeName, obj, name)
    checked = checked + 1
    local ok, v = pcall(function() return obj[name] end)
    if not ok then
        return fail(typeName, name, "indexing raised %s", tostring(v))
    end
    if v == nil then
        return fail(typeName, name, "missing (libmoon has it)")
    end
    if name:sub(1, 2) == "__" then
        local check = metaChecks[name]
        if not check then return end
        local okCall, asMethod, asOperator = pcall(check, obj)
        if not okCall then
            return fail(typeName, name, "calling it as a method raised %s", tostring(asMethod))
        end
        if asMethod ~= asOperator then
            return fail(typeName, name, "as a method %s, as the operator %s",
                tostring(asMethod), tostring(asOperator))
        end
    elseif type(v) ~= "function" and type(v) ~= "table" then
        -- a method in libmoon: a field of another kind under its name breaks obj:name()
        return fail(typeName, name, "is a %s, not a method", type(v))
    end
end

-- the Lua types of all results of obj:name(args...)
local function resultTypes(...)
    local t = {}
    for i = 1, select("#", ...) do t[i] = type((select(i, ...))) end
    return table.concat(t, ",")
end

local function checkReturns(typeName, obj, spec)
    checked = checked + 1
    local name = spec[1]
    local args = {}
    for i = 2, #spec do args[i - 1] = spec[i] == "@self" and obj or spec[i] end
    local method = obj[name]
    if method == nil then return fail(typeName, name, "missing (libmoon has it)") end
    local ok, got = pcall(function() return resultTypes(method(obj, unpack(args))) end)
    if not ok then return fail(typeName, name, "raised %s", tostring(got)) end
    for want in spec.returns:gmatch("[^|]+") do
        if got == want then return end
    end
    fail(typeName, name, "returned (%s), libmoon returns (%s)", got, spec.returns)
end

function master(dir)
    local objs = objects(dir or "/tmp")
    local types = {}
    for typeName in pairs(surface) do
        if typeName ~= "returns" then types[#types + 1] = typeName end
    end
    table.sort(types)
    for _, typeName in ipairs(types) do
        local obj = objs[typeName]
        if obj == nil then
            fail(typeName, "-", "no object of this type built")
        else
            for _, name in ipairs(surface[typeName]) do checkOne(typeName, obj, name) end
        end
    end
    objs.histogram:update(10)
    objs.histogram:update(20)
    objs.histogram:update(30)
    for _, typeName in ipairs(types) do
        for _, spec in ipairs(surface.returns[typeName] or {}) do
            checkReturns(typeName, objs[typeName], spec)
        end
    end
    -- libmoon's link status fields are booleans: `if link.duplex` must read them as such
    checked = checked + 1
    local link = objs.device:getLinkStatus()
    if type(link.status) ~= "boolean" or type(link.duplex) ~= "boolean"
        or type(link.duplexAutoneg) ~= "boolean" or type(link.speed) ~= "number" then
        fail("device", "getLinkStatus", "fields status/duplex/duplexAutoneg/speed: %s/%s/%s/%s",
            type(link.status), type(link.duplex), type(link.duplexAutoneg), type(link.speed))
    end
    for typeName in pairs(surface.returns) do
        if not surface[typeName] then fail(typeName, "-", "returns listed for an unknown type") end
    end
    objs.bufArray:freeAll()
    print(("PARITY %d checked over %d types, %d failed"):format(checked, #types, failures))
end
