-- moonpy.marshal: values that cross between task VMs, as plain descriptor
-- tables that Python turns into moonpy.serialize dataclasses (and back).
--
-- Objects cross by identity where they are process-global (devices, queues,
-- mempools, rings, barriers, locks) and by deep copy where they are data.
-- An object with a `__moonpy_pack` metamethod packs itself and names the
-- module and constructor that rebuild it on the other side.
local ffi = require "ffi"

local marshal = {}

-- pointer ctypes that may cross by address (registered by their modules)
local pointerTypes = {}

function marshal.registerPointer(ctypeName)
    pointerTypes[#pointerTypes + 1] = { ffi.typeof(ctypeName), ctypeName }
end

local u64 = ffi.typeof("uint64_t")
local i64 = ffi.typeof("int64_t")

local function u64tostring(v)
    return (tostring(v):gsub("U?LL$", ""))
end

local function describe(v)
    local ok, s = pcall(tostring, v)
    return ok and s or type(v)
end

local warnedDropped = {}

local function pack(v, where, seen, nested)
    local t = type(v)
    if t == "nil" then
        return { k = "nil" }
    elseif t == "boolean" then
        return { k = "bool", v = v }
    elseif t == "number" then
        return { k = "num", v = v }
    elseif t == "string" then
        return { k = "str", v = v }
    elseif t == "table" then
        local mt = getmetatable(v)
        if type(mt) == "table" and mt.__moonpy_pack then
            return mt.__moonpy_pack(v)
        end
        if seen[v] then
            error(("%s: a table that contains itself cannot be passed to a task"):format(where), 0)
        end
        seen[v] = true
        local n = 0
        for i in pairs(v) do
            if type(i) == "number" and i >= 1 and i == math.floor(i) and i > n then n = i end
        end
        local arr = {}
        for i = 1, n do
            arr[i] = pack(v[i], ("%s[%d]"):format(where, i), seen, true)
        end
        local hash, m = {}, 0
        for key, val in pairs(v) do
            if not (type(key) == "number" and key >= 1 and key <= n and key == math.floor(key)) then
                m = m + 1
                hash[m] = { pack(key, where .. " (a key)", seen, true),
                            pack(val, ("%s.%s"):format(where, tostring(key)), seen, true) }
            end
        end
        seen[v] = nil
        return { k = "table", n = n, a = arr, m = m, h = hash }
    elseif t == "cdata" then
        if ffi.istype(u64, v) then
            return { k = "int64", v = u64tostring(v), signed = false }
        elseif ffi.istype(i64, v) then
            return { k = "int64", v = u64tostring(v), signed = true }
        end
        for i = 1, #pointerTypes do
            local p = pointerTypes[i]
            if ffi.istype(p[1], v) then
                return { k = "ptr", ctype = p[2], addr = tonumber(ffi.cast("uintptr_t", v)) }
            end
        end
        error(("%s: %s is raw cdata, which cannot cross to another task; pass a number, "
            .. "a table, or an object moonpy knows (device, queue, mempool, pipe, barrier, lock)")
            :format(where, describe(v)), 0)
    elseif nested and (t == "function" or t == "thread" or t == "userdata") then
        -- inside a table MoonGen's serializer drops these (scripts such as packetgen pass
        -- tables with functions in them): arrive as nil, and say so once
        if not warnedDropped[where] then
            warnedDropped[where] = true
            io.stderr:write(("[WARN]  %s: a %s cannot cross to another task; it arrives as "
                .. "nil there (as in MoonGen)\n"):format(where, t))
        end
        return { k = "nil" }
    else
        error(("%s: a %s (%s) cannot be passed to another task; pass its name or data instead")
            :format(where, t, describe(v)), 0)
    end
end

-- Pack values first..last of the list `args` (holes kept); returns
-- descriptors and their count. `what` names the call for error messages.
function marshal.packList(args, first, last, what)
    local out, n = {}, 0
    for i = first, last do
        n = n + 1
        out[n] = pack(args[i], ("%s argument %d"):format(what, n), {})
    end
    return out, n
end

local function parseInt64(s, signed)
    local neg = s:sub(1, 1) == "-"
    if neg then s = s:sub(2) end
    local x = 0ULL
    for i = 1, #s do
        x = x * 10 + (s:byte(i) - 48)
    end
    if signed then
        x = ffi.cast("int64_t", x)
        if neg then x = -x end
    end
    return x
end

local function unpackOne(d)
    local k = d.k
    if k == "nil" then return nil
    elseif k == "bool" or k == "num" or k == "str" then return d.v
    elseif k == "int64" then return parseInt64(d.v, d.signed)
    elseif k == "device" then return require("device").get(d.id)
    elseif k == "txq" then return require("device").get(d.port):getTxQueue(d.queue)
    elseif k == "rxq" then return require("device").get(d.port):getRxQueue(d.queue)
    elseif k == "ptr" then return ffi.cast(d.ctype, d.addr)
    elseif k == "custom" then
        return require(d.module)[d.ctor](unpackOne(d.data))
    elseif k == "table" then
        local t = {}
        for i = 1, d.n do t[i] = unpackOne(d.a[i]) end
        for i = 1, d.m do
            local kv = d.h[i]
            t[unpackOne(kv[1])] = unpackOne(kv[2])
        end
        return t
    end
    error("moonpy.marshal: unknown descriptor kind " .. tostring(k))
end

marshal.unpackOne = unpackOne

-- Rebuild the values of a list of descriptors; returns them as varargs.
function marshal.unpackList(descs, n)
    local out = {}
    for i = 1, n do out[i] = unpackOne(descs[i]) end
    return unpack(out, 1, n)
end

return marshal
