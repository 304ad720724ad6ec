-- moonpy.marshal: values that cross between task VMs, as plain descriptor
-- tables that Python turns into moonpy.serialize dataclasses (and back).
--
-- Objects cross by identity where they are process-global (devices, queues,
-- mempools, rings, barriers, locks), cdata by address (as libmoon's serializer
-- passes it: tasks share the address space) and tables by copy, all values of one
-- message together, so tables shared between them stay shared and cycles survive.
-- An object with a `__moonpy_pack` metamethod packs itself and names the
-- module and constructor that rebuild it on the other side.
local ffi = require "ffi"

local marshal = {}

-- set once cdata of this VM crossed by address: the VM must then outlive the receiver
marshal.crossedByAddress = false

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

-- cdata that crosses by address stays referenced by the VM that packed it, so the
-- receiving task never reads freed memory (libmoon passes the bare pointer)
local anchored = {}
local anchoredN = 0

-- Any other cdata crosses as libmoon's serializer passes it: a pointer of its ctype
-- into this VM's memory (all tasks share the address space); a struct value arrives as
-- a pointer to it, which scripts index the same way.
local function packCdata(v, where, anchor)
    local s = tostring(v)
    local ctype, addr = s:match("^cdata<(.-)>: (0x%x+)$")
    if not ctype then
        error(("%s: %s is cdata without an address, which cannot cross to another task")
            :format(where, describe(v)), 0)
    end
    if ctype:match("struct %d+ ?%*?$") or ctype:match("union %d+ ?%*?$") then
        error(("%s: %s is an anonymous struct, which cannot cross to another task (as in "
            .. "libmoon); give its type a name with ffi.cdef"):format(where, s), 0)
    end
    if ctype:find("&$") then
        ctype = ctype:sub(1, -2)
    end
    if not ctype:find("%*%s*$") then
        ctype = ctype .. " *"
    else
        -- a pointer value: pass the pointer itself, not the address of the cdata box
        addr = ("0x%x"):format(tonumber(ffi.cast("uintptr_t", v)))
    end
    if anchor then
        anchoredN = anchoredN + 1
        anchored[anchoredN] = v
    end
    marshal.crossedByAddress = true
    return { k = "ptr", ctype = ctype, addr = tonumber(addr) }
end

-- `seen` maps each table already packed to its id, over all values of one message (a
-- task's arguments are one dump in libmoon): a table met again, inside itself or in
-- another argument, becomes a reference, so shared tables stay shared and cycles survive.
local function pack(v, where, seen, anchor)
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
        local id = seen[v]
        if id then
            return { k = "ref", id = id }
        end
        if type(mt) == "table" and type(mt.__serialize) == "function" then
            -- libmoon's protocol: __serialize returns code to run on the other side
            -- (second result true) or a value to serialize instead
            local val, isCode = mt.__serialize(v)
            if isCode then
                return { k = "code", v = tostring(val) }
            end
            if val ~= v then
                return pack(val, where, seen, anchor)
            end
        elseif type(mt) == "table" and mt.__tostring then
            -- libmoon's serializer sends such an object as its tostring text
            return { k = "str", v = tostring(v) }
        end
        seen.n = seen.n + 1
        id = seen.n
        seen[v] = id
        local n = 0
        for i in pairs(v) do
            if type(i) == "number" and i >= 1 and i == math.floor(i) and i > n then n = i end
        end
        local arr = {}
        for i = 1, n do
            arr[i] = pack(v[i], ("%s[%d]"):format(where, i), seen, anchor)
        end
        local hash, m = {}, 0
        for key, val in pairs(v) do
            if not (type(key) == "number" and key >= 1 and key <= n and key == math.floor(key)) then
                m = m + 1
                hash[m] = { pack(key, where .. " (a key)", seen, anchor),
                            pack(val, ("%s.%s"):format(where, tostring(key)), seen, anchor) }
            end
        end
        return { k = "table", id = id, n = n, a = arr, m = m, h = hash }
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
        return packCdata(v, where, anchor)
    else
        -- libmoon's serializer (serpent, nocode) writes functions as nil; coroutines and
        -- userdata cannot be rebuilt either: they arrive as nil, and moonpy says so once
        if not warnedDropped[where] then
            warnedDropped[where] = true
            io.stderr:write(("[WARN]  %s: a %s cannot cross to another task; it arrives as "
                .. "nil there (as in MoonGen)\n"):format(where, t))
        end
        return { k = "nil" }
    end
end

-- Pack values first..last of the list `args` (holes kept) as one message: tables shared
-- between them stay shared. Returns descriptors and their count. `what` names the call
-- for error messages; `anchor` keeps cdata passed by address alive in this VM.
function marshal.packList(args, first, last, what, anchor)
    local out, n = {}, 0
    local seen = { n = 0 }
    for i = first, last do
        n = n + 1
        out[n] = pack(args[i], ("%s argument %d"):format(what, n), seen, anchor)
    end
    seen.n = nil
    return out, n
end

-- a descriptor as a Lua literal, for the code a __serialize hook returns
local function literal(v)
    local t = type(v)
    if t == "string" then return ("%q"):format(v)
    elseif t == "number" then return ("%.17g"):format(v)
    elseif t == "boolean" or t == "nil" then return tostring(v)
    elseif t == "table" then
        local parts = {}
        for k, x in pairs(v) do
            parts[#parts + 1] = ("[%s]=%s"):format(literal(k), literal(x))
        end
        return "{" .. table.concat(parts, ",") .. "}"
    end
    error("moonpy.marshal: cannot write a " .. t .. " as a literal")
end

-- libmoon's `__serialize` for objects that pack themselves (`__moonpy_pack`): code that
-- rebuilds the same object in another VM, as libmoon's pipes, devices and queues have.
function marshal.serializer(obj)
    local desc = getmetatable(obj).__moonpy_pack(obj)
    return "return require('moonpy.marshal').unpackOne(" .. literal(desc) .. ")", true
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

local function unpackValue(d, tables)
    local k = d.k
    if k == "nil" then return nil
    elseif k == "bool" or k == "num" or k == "str" then return d.v
    elseif k == "int64" then return parseInt64(d.v, d.signed)
    elseif k == "device" then return require("device").get(d.id)
    elseif k == "txq" then return require("device").get(d.port):getTxQueue(d.queue)
    elseif k == "rxq" then return require("device").get(d.port):getRxQueue(d.queue)
    elseif k == "ptr" then return ffi.cast(d.ctype, d.addr)
    elseif k == "ref" then
        local t = tables[d.id]
        if t == nil then error("moonpy.marshal: reference to a table not yet seen") end
        return t
    elseif k == "code" then
        local f, err = loadstring(d.v, "=serialized")
        if not f then error("moonpy.marshal: a __serialize result does not load: " .. err, 0) end
        return f()
    elseif k == "custom" then
        return require(d.module)[d.ctor](unpackValue(d.data, tables))
    elseif k == "table" then
        -- registered before its fields: a field that refers back to it is a cycle
        local t = {}
        if d.id then tables[d.id] = t end
        for i = 1, d.n do t[i] = unpackValue(d.a[i], tables) end
        for i = 1, d.m do
            local kv = d.h[i]
            local key = unpackValue(kv[1], tables)
            if key ~= nil then t[key] = unpackValue(kv[2], tables) end
        end
        return t
    end
    error("moonpy.marshal: unknown descriptor kind " .. tostring(k))
end

-- one value on its own (namespaces, single-value messages)
function marshal.unpackOne(d)
    return unpackValue(d, {})
end

-- Rebuild the values of a list of descriptors (one message: references between them
-- resolve to the same table); returns them as varargs.
function marshal.unpackList(descs, n)
    local out, tables = {}, {}
    for i = 1, n do out[i] = unpackValue(descs[i], tables) end
    return unpack(out, 1, n)
end

return marshal
