-- moonpy.simple: MoonGen's "simple interface" (moongen-simple) on moonpy.
--
--   moonpy simple start FLOW:TX[,TX]:RX[,RX]:OPTIONS:OVERRIDES ...
--   moonpy simple list [DIR|FILE ...]
--   moonpy simple debug FLOW[:...]
--
-- Flow files are Lua in MoonGen's format: Flow{"name", Packet.Udp{field = value...},
-- parent = "other", rate = ..., timeLimit = ...}. Values may be ip"...", mac"...",
-- range(a, b), randomRange(a, b), list{...}, randomList{...}, txQueue().
-- Files are parsed again in every task VM, because generators cannot cross VMs.
local mg     = require "moongen"
local device = require "device"
local memory = require "memory"
local stats  = require "stats"
local log    = require "log"

local simple = {}

local OPTIONS = {
    rate = "rate limit: <number>[k|m|g][i](bit|b|p)[/<s|ms|m|h>] (a number: Mbit/s)",
    ratePattern = "cbr (default) or poisson",
    timeLimit = "stop after <number><ms|s|m|h> (a number: seconds)",
    dataLimit = "stop after <number>[k|m|g][i](b|p) (bytes or packets)",
    mode = "how dynamic fields change: none, single, alternating, random, random_alt, all",
    timestamp = "measure latency with timestamped UDP packets (software timestamps on "
        .. "virtual ports); needs an rx port",
    uid = "a number written into the payload to tell flows apart",
    uniquePayload = "a counter written into every packet's payload",
}

local function optionList()
    local names = {}
    for k in pairs(OPTIONS) do names[#names + 1] = k end
    table.sort(names)
    return table.concat(names, ", ")
end

local function fail(fmt, ...)
    error(("moonpy simple: " .. fmt):format(...), 0)
end

-- ---- the configuration environment ------------------------------------------

local TXQUEUE = setmetatable({}, { __tostring = function() return "txQueue()" end })

local function newEnv(flows)
    local env = setmetatable({}, { __index = {
        string = string, table = table, math = math, ipairs = ipairs, pairs = pairs,
        tonumber = tonumber, tostring = tostring, type = type, print = print,
    } })
    env.Flow = function(t)
        local name = t[1]
        if type(name) ~= "string" then fail("a Flow{} needs a name as its first entry") end
        for k in pairs(t) do
            if type(k) == "string" and k ~= "parent" and not OPTIONS[k] then
                fail("flow '%s': unknown option '%s'; valid options: %s, parent", name, k,
                    optionList())
            end
        end
        t.file = env._FILE
        flows[name] = t
    end
    env.Packet = setmetatable({}, { __index = function(_, stack)
        return function(fields) return { stack = stack, fields = fields } end
    end })
    env.ip = function(s)
        local v = parseIPAddress(s)
        if v == nil then fail("'%s' is not an IP address", tostring(s)) end
        return v
    end
    env.mac = function(s)
        if parseMacAddress(s) == nil then fail("'%s' is not a MAC address", tostring(s)) end
        return s
    end
    env.txQueue = function() return TXQUEUE end
    env.arp = function(ipAddr)
        log:warn("moonpy simple: arp(%s) is not resolved; sending to ff:ff:ff:ff:ff:ff",
            tostring(ipAddr))
        return "ff:ff:ff:ff:ff:ff"
    end
    -- dynamic values: generators, one new value per call
    env.range = function(first, last, step)
        step = step or 1
        local v = first - step
        return function()
            v = v + step
            if last and v > last then v = first end
            return v
        end
    end
    env.randomRange = function(first, last)
        return function() return math.random(first, last) end
    end
    env.list = function(t)
        local i, n = 0, #t
        return function()
            i = i % n + 1
            return t[i]
        end
    end
    env.randomList = function(t)
        local n = #t
        return function() return t[math.random(n)] end
    end
    return env
end

local function flowFiles(paths)
    local files = {}
    local function addDir(dir)
        local p = io.popen(('ls -1 "%s" 2>/dev/null'):format(dir))
        for name in p:lines() do
            if name:match("%.lua$") then files[#files + 1] = dir .. "/" .. name end
        end
        p:close()
    end
    if #paths == 0 then
        addDir(MOONPY_LUA_PATH .. "/moonpy/flows")
        addDir("flows")
    end
    for _, path in ipairs(paths) do
        -- a path that is neither a file nor a directory is a typo, not an empty list
        local f = io.open(path, "r")
        if not f then fail("'%s' does not exist; give flow files or directories", path) end
        f:close()
        if path:match("%.lua$") then files[#files + 1] = path else addDir(path) end
    end
    return files
end

function simple.loadFlows(paths)
    local flows = {}
    local env = newEnv(flows)
    for _, file in ipairs(flowFiles(paths or {})) do
        local chunk, err = loadfile(file)
        if not chunk then fail("%s", err) end
        env._FILE = file
        setfenv(chunk, env)
        chunk()
    end
    return flows, env
end

-- ---- resolving a flow -----------------------------------------------------------

local UNITS_TIME = { [""] = 1, ms = 1e-3, s = 1, m = 60, h = 3600 }
local UNITS_SIZE = { [""] = 1, k = 1e3, ki = 2^10, m = 1e6, mi = 2^20, g = 1e9, gi = 2^30 }

local function parseRate(v, size)
    if type(v) == "number" then return v end
    local num, unit, per = tostring(v):match("^(%d+%.?%d*)(%a*)/?(%a*)$")
    if not num then fail("rate '%s': use <number>[unit][/<time>], e.g. 1000mbit/s", v) end
    local t = UNITS_TIME[per:lower()]
    if not t then fail("rate '%s': time unit must be one of ms, s, m, h", v) end
    unit = unit:lower()
    local bits
    if unit == "" then bits = 1e6
    elseif unit:match("bit$") then bits = UNITS_SIZE[unit:sub(1, -4)]
    elseif unit:match("p$") then
        bits = UNITS_SIZE[unit:sub(1, -2)] and UNITS_SIZE[unit:sub(1, -2)] * (size + 4) * 8
    elseif unit:match("b$") then bits = UNITS_SIZE[unit:sub(1, -2)] and UNITS_SIZE[unit:sub(1, -2)] * 8
    end
    if not bits then fail("rate '%s': size unit must be [k|m|g][i](bit|b|p)", v) end
    return tonumber(num) * bits / 1e6 / t
end

local function parseTime(v)
    if type(v) == "number" then return v end
    local num, unit = tostring(v):match("^(%d+%.?%d*)(%a*)$")
    local t = num and UNITS_TIME[unit:lower()]
    if not t then fail("timeLimit '%s': use <number><ms|s|m|h>, e.g. 10m", v) end
    return tonumber(num) * t
end

local function parseData(v, size)
    if type(v) == "number" then return v, nil end
    local num, unit = tostring(v):match("^(%d+%.?%d*)(%a*)$")
    if not num then fail("dataLimit '%s': use <number>[k|m|g][i](b|p)", v) end
    unit = unit:lower()
    local mult = UNITS_SIZE[unit:sub(1, -2)]
    if unit:match("p$") and mult then return nil, tonumber(num) * mult end
    if unit:match("b$") and mult then return tonumber(num) * mult, nil end
    fail("dataLimit '%s': unit must be [k|m|g][i](b|p)", v)
end

local function parseBool(v)
    if v == true or v == "true" or v == "1" or v == "yes" then return true end
    if v == nil or v == false or v == "false" or v == "0" or v == "no" then return false end
    fail("'%s' is not a boolean (true/false, yes/no, 1/0)", tostring(v))
end

-- Merge a flow with its parents: the child's fields and options win.
local function resolve(flows, name, seen)
    local f = flows[name]
    if not f then
        local names = {}
        for n in pairs(flows) do names[#names + 1] = n end
        table.sort(names)
        fail("no flow named '%s'; known flows: %s", name, table.concat(names, ", "))
    end
    seen = seen or {}
    if seen[name] then fail("flow '%s' is its own ancestor", name) end
    seen[name] = true
    local out = { name = name, fields = {}, options = {}, stack = f[2] and f[2].stack }
    if f.parent then
        local p = resolve(flows, f.parent, seen)
        out.stack = out.stack or p.stack
        for k, v in pairs(p.fields) do out.fields[k] = v end
        for k, v in pairs(p.options) do out.options[k] = v end
    end
    if f[2] then
        for k, v in pairs(f[2].fields) do out.fields[k] = v end
    end
    for k in pairs(OPTIONS) do
        if f[k] ~= nil then out.options[k] = f[k] end
    end
    return out
end

-- "name:tx:rx:options:overrides" (trailing parts may be left out)
function simple.parseSpec(spec, env)
    local parts = {}
    local rest = spec
    for _ = 1, 4 do
        local a, b = rest:match("^([^:]*):(.*)$")
        if not a then break end
        parts[#parts + 1] = a
        rest = b
    end
    parts[#parts + 1] = rest
    local function ports(s)
        local out = {}
        for p in (s or ""):gmatch("[^,]+") do
            local n = tonumber(p)
            if not n then fail("'%s' in '%s' is not a port number", p, spec) end
            out[#out + 1] = n
        end
        return out
    end
    local opts = {}
    for item in (parts[4] or ""):gmatch("[^,]+") do
        local k, v = item:match("^([%w_]+)=(.*)$")
        k = k or item
        if not OPTIONS[k] then
            fail("unknown option '%s' in '%s'; valid options: %s", k, spec, optionList())
        end
        opts[k] = v == nil and true or v
    end
    local overrides = {}
    if parts[5] and parts[5] ~= "" then
        local chunk, err = loadstring("return {" .. parts[5] .. "}", "overrides")
        if not chunk then fail("overrides '%s': %s", parts[5], err) end
        setfenv(chunk, env)
        overrides = chunk()
    end
    return { name = parts[1], tx = ports(parts[2]), rx = ports(parts[3]), options = opts,
             overrides = overrides, spec = spec }
end

local HEADERS = { "innerEth", "ip4", "ip6", "eth", "udp", "tcp", "icmp", "arp", "ptp", "vxlan",
    "esp", "ah", "dns", "gre", "lacp", "ipfix", "sflow" }
local ALIASES = { udpSrc = "setSrcPort", udpDst = "setDstPort", tcpSrc = "setSrcPort",
    tcpDst = "setDstPort", ethVlan = "setVlanTag" }

local function setterFor(var)
    for _, h in ipairs(HEADERS) do
        if var:sub(1, #h) == h and #var > #h then
            return h, ALIASES[var] or ("set" .. var:sub(#h + 1))
        end
    end
    fail("dynamic field '%s': no header of this name", var)
end

-- Everything a load task needs, from a spec string, in the VM that runs it.
function simple.build(specString, paths)
    local flows, env = simple.loadFlows(paths)
    local spec = simple.parseSpec(specString, env)
    local flow = resolve(flows, spec.name)
    for k, v in pairs(spec.overrides) do flow.fields[k] = v end
    for k, v in pairs(spec.options) do flow.options[k] = v end
    if not flow.stack then fail("flow '%s' has no Packet.<Stack>{...}", flow.name) end
    local getterName = "get" .. flow.stack .. "Packet"
    local pkt = require "packet"
    if not pkt[getterName] then
        fail("flow '%s': Packet.%s is not a packet stack (no buf:%s())", flow.name, flow.stack,
            getterName)
    end
    local static, dyn = {}, {}
    for k, v in pairs(flow.fields) do
        if type(v) == "function" then
            local header, setter = setterFor(k)
            dyn[#dyn + 1] = { name = k, header = header, setter = setter, gen = v, value = v() }
            static[k] = dyn[#dyn].value
        else
            static[k] = v
        end
    end
    table.sort(dyn, function(a, b) return a.name < b.name end)
    local o = flow.options
    local size = static.pktLength or 60
    local cfg = {
        name = flow.name, getter = getterName, static = static, dyn = dyn, size = size,
        mode = o.mode or (#dyn > 0 and "single" or "none"),
        rate = o.rate and parseRate(o.rate, size),
        ratePattern = o.ratePattern or "cbr",
        timeLimit = o.timeLimit and parseTime(o.timeLimit),
        timestamp = parseBool(o.timestamp), uid = tonumber(o.uid),
        uniquePayload = parseBool(o.uniquePayload),
    }
    cfg.byteLimit, cfg.packetLimit = nil, nil
    if o.dataLimit then cfg.byteLimit, cfg.packetLimit = parseData(o.dataLimit, size) end
    local modes = { none = true, single = true, alternating = true, random = true,
        random_alt = true, all = true }
    if not modes[cfg.mode] then
        fail("mode '%s' is not one of none, single, alternating, random, random_alt, all",
            tostring(cfg.mode))
    end
    if cfg.ratePattern ~= "cbr" and cfg.ratePattern ~= "poisson" then
        fail("ratePattern '%s' is not one of cbr, poisson", tostring(cfg.ratePattern))
    end
    return cfg, spec
end

-- the per-packet update of the dynamic fields, as MoonGen's modes define it
local function updater(cfg)
    local dyn, n = cfg.dyn, #cfg.dyn
    local function apply(d, p) local h = p[d.header]; h[d.setter](h, d.value) end
    local mode = cfg.mode
    if mode == "none" or n == 0 then return function() end end
    if mode == "all" then
        return function(p)
            for i = 1, n do local d = dyn[i]; d.value = d.gen(); apply(d, p) end
        end
    end
    local index = 0
    return function(p)
        local pick
        if mode == "random" or mode == "random_alt" then pick = math.random(n)
        else index = index % n + 1; pick = index end
        dyn[pick].value = dyn[pick].gen()
        if mode == "alternating" or mode == "random_alt" then
            apply(dyn[pick], p)
        else
            for i = 1, n do apply(dyn[i], p) end
        end
    end
end

-- ---- tasks -------------------------------------------------------------------------

function __MOONPY_SIMPLE_LOAD(queue, specString, paths)
    local cfg = simple.build(specString, paths)
    local static = {}
    for k, v in pairs(cfg.static) do static[k] = v == TXQUEUE and queue or v end
    static.ethSrc = static.ethSrc or queue
    local getter = cfg.getter
    local mem = memory.createMemPool(function(buf) buf[getter](buf):fill(static) end)
    local bufs = mem:bufArray()
    local update = updater(cfg)
    if cfg.rate then
        if cfg.ratePattern == "poisson" then
            log:warn("flow %s: ratePattern=poisson is paced as cbr by moonpy simple", cfg.name)
        end
        queue:setRate(cfg.rate)
    end
    local v4 = cfg.getter:match("6Packet$") == nil
    local isTcp, isUdp = cfg.getter:match("Tcp") ~= nil, cfg.getter:match("Udp") ~= nil
    local deadline = cfg.timeLimit and (mg.getTime() + cfg.timeLimit)
    local packets, bytes, counter = 0, 0, 0
    while mg.running() do
        bufs:alloc(cfg.size)
        for _, buf in ipairs(bufs) do
            local p = buf[getter](buf)
            update(p)
            if cfg.uid then p.payload.uint32[0] = cfg.uid end
            if cfg.uniquePayload then counter = counter + 1; p.payload.uint32[1] = counter end
        end
        if isUdp then bufs:offloadUdpChecksums(v4)
        elseif isTcp then bufs:offloadTcpChecksums(v4)
        elseif getter ~= "getRawPacket" and getter ~= "getEthernetPacket" then
            bufs:offloadIPChecksums(v4)
        end
        queue:send(bufs)
        packets = packets + bufs.size
        bytes = bytes + bufs.size * (cfg.size + 4)
        if (deadline and mg.getTime() >= deadline)
            or (cfg.packetLimit and packets >= cfg.packetLimit)
            or (cfg.byteLimit and bytes >= cfg.byteLimit) then
            break
        end
    end
    return packets
end

-- Latency of a flow: timestamped UDP packets (ports as the flow's, 84 bytes at least)
-- on their own queue pair, about 1000 a second, into a histogram printed at the end.
function __MOONPY_SIMPLE_TIMER(txQueue, rxQueue, specString, paths)
    local ts = require "timestamping"
    local hist = require "histogram"
    local cfg = simple.build(specString, paths)
    local size = math.max(84, cfg.size)
    local static = {}
    for k, v in pairs(cfg.static) do static[k] = v == TXQUEUE and txQueue or v end
    static.ethSrc = static.ethSrc or txQueue
    static.pktLength = size
    local timestamper = ts:newUdpTimestamper(txQueue, rxQueue)
    local h = timestamper.label and timestamper:label(hist:new()) or hist:new()
    mg.sleepMillis(500) -- the load is running
    while mg.running() do
        h:update(timestamper:measureLatency(size, function(buf)
            buf:getUdpPacket():fill(static)
        end))
        mg.sleepMillisIdle(1)
    end
    h:print(("latency %s"):format(cfg.name))
    if h.sourceLine then print(h:sourceLine()) end
    return h.numSamples or 0
end

-- ---- commands ------------------------------------------------------------------------

local function cmdList(args)
    local flows = simple.loadFlows(args)
    local names = {}
    for n in pairs(flows) do names[#names + 1] = n end
    table.sort(names)
    printf("%-24s %-10s %s", "flow", "packet", "file")
    for _, n in ipairs(names) do
        local f = flows[n]
        printf("%-24s %-10s %s%s", n, f[2] and f[2].stack or "-", f.file,
            f.parent and ("  (parent: " .. f.parent .. ")") or "")
    end
end

local function cmdDebug(specs)
    local mem = memory.createMemPool{n = 63}
    for _, s in ipairs(specs) do
        local cfg = simple.build(s)
        local static = {}
        for k, v in pairs(cfg.static) do static[k] = v == TXQUEUE and "02:00:00:00:00:00" or v end
        local update = updater(cfg)
        local bufs = mem:bufArray(4)
        bufs:alloc(cfg.size)
        for i, buf in ipairs(bufs) do
            local p = buf[cfg.getter](buf)
            p:fill(static)
            if i > 1 then update(p) end
            buf:dump(io.stdout, false)
        end
        bufs:freeAll()
    end
end

local function cmdStart(specs)
    if #specs == 0 then fail("start needs at least one FLOW:TX:RX[:OPTIONS[:OVERRIDES]]") end
    local parsed, txCount, rxPorts, timers, rxCount = {}, {}, {}, {}, {}
    for _, s in ipairs(specs) do
        local cfg, spec = simple.build(s)      -- every error shows before anything starts
        if #spec.tx == 0 then fail("'%s' names no tx port", s) end
        parsed[#parsed + 1] = spec
        for _, p in ipairs(spec.tx) do txCount[p] = (txCount[p] or 0) + 1 end
        for _, p in ipairs(spec.rx) do rxPorts[p] = true end
        if cfg.timestamp then
            if #spec.rx == 0 then fail("'%s': timestamp needs an rx port", s) end
            local tx, rx = spec.tx[1], spec.rx[1]
            txCount[tx] = txCount[tx] + 1
            rxCount[rx] = (rxCount[rx] or 1) + 1
            timers[#timers + 1] = { spec = spec, tx = tx, rx = rx }
        end
    end
    local devs, rxDevs, txDevs = {}, {}, {}
    local ports = {}
    for p in pairs(txCount) do ports[p] = true end
    for p in pairs(rxPorts) do ports[p] = true end
    for p in pairs(ports) do
        devs[p] = device.config{ port = p, txQueues = math.max(1, txCount[p] or 0),
            rxQueues = rxCount[p] or 1 }
    end
    device.waitForLinks()
    for p in pairs(txCount) do txDevs[#txDevs + 1] = devs[p] end
    for p in pairs(rxPorts) do rxDevs[#rxDevs + 1] = devs[p] end
    stats.startStatsTask{ txDevices = txDevs, rxDevices = rxDevs }
    local used, tasks = {}, {}
    for _, spec in ipairs(parsed) do
        for _, p in ipairs(spec.tx) do
            local q = used[p] or 0
            used[p] = q + 1
            tasks[#tasks + 1] = mg.startTask("__MOONPY_SIMPLE_LOAD", devs[p]:getTxQueue(q),
                spec.spec)
        end
    end
    local rxUsed = {}
    for _, t in ipairs(timers) do
        local q = used[t.tx] or 0
        used[t.tx] = q + 1
        local rq = (rxUsed[t.rx] or 0) + 1
        rxUsed[t.rx] = rq
        mg.startSharedTask("__MOONPY_SIMPLE_TIMER", devs[t.tx]:getTxQueue(q),
            devs[t.rx]:getRxQueue(rq), t.spec.spec)
    end
    for _, t in ipairs(tasks) do t:wait() end
    mg.stop()
    mg.waitForTasks()
end

function simple.main(cmd, ...)
    local args = { ... }
    if cmd == "list" then return cmdList(args) end
    if cmd == "start" then return cmdStart(args) end
    if cmd == "debug" then return cmdDebug(args) end
    if cmd == "help" or cmd == "--help" or cmd == "-h" or cmd == nil then
        print("moonpy simple start FLOW:TX:RX[:OPTIONS[:OVERRIDES]] ...  |  list [DIR]  |  "
            .. "debug FLOW\noptions:")
        local names = {}
        for k in pairs(OPTIONS) do names[#names + 1] = k end
        table.sort(names)
        for _, k in ipairs(names) do printf("  %-14s %s", k, OPTIONS[k]) end
        return
    end
    fail("unknown command '%s'; valid commands: start, list, debug, help", tostring(cmd))
end

return simple
