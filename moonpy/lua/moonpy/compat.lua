-- moonpy.compat: the Lua 5.2 behaviour MoonGen scripts rely on, restored in a
-- LuaJIT built without LUAJIT_ENABLE_LUA52COMPAT (lupa's).
--
-- `ipairs` and `pairs` honour `__ipairs`/`__pairs` on tables, and on FFI
-- cdata types registered here (bufArrays: `for i, buf in ipairs(bufs)`).
-- `#` on cdata already honours `__len`. `table.unpack` is provided.
local ffi = require "ffi"

local compat = {}
local rawIpairs, rawPairs = ipairs, pairs
local cdataIpairs = {}   -- list of {ctype, iteratorFactory}

function compat.registerIpairs(ctype, factory)
    cdataIpairs[#cdataIpairs + 1] = { ffi.typeof(ctype), factory }
end

local function ipairs52(t)
    local tt = type(t)
    if tt == "table" then
        local mt = getmetatable(t)
        if type(mt) == "table" and mt.__ipairs then
            return mt.__ipairs(t)
        end
    elseif tt == "cdata" then
        for i = 1, #cdataIpairs do
            local entry = cdataIpairs[i]
            if ffi.istype(entry[1], t) then
                return entry[2](t)
            end
        end
    end
    return rawIpairs(t)
end

local function pairs52(t)
    if type(t) == "table" then
        local mt = getmetatable(t)
        if type(mt) == "table" and mt.__pairs then
            return mt.__pairs(t)
        end
    end
    return rawPairs(t)
end

function compat.install(env)
    env.ipairs = ipairs52
    env.pairs = pairs52
    if not table.unpack then
        table.unpack = unpack
    end
    if not table.pack then
        table.pack = function(...) return { n = select("#", ...), ... } end
    end
end

return compat
