-- The Lua 5.2 behaviours MoonGen scripts rely on.
local memory = require "memory"

function master()
    local pool = memory.createMemPool{n = 127}
    local bufs = pool:bufArray(17)
    bufs:alloc(60)
    local seen = 0
    for i, buf in ipairs(bufs) do
        assert(buf == bufs.array[i - 1] and buf == bufs[i])
        seen = seen + 1
    end
    assert(seen == 17, "ipairs(bufs) visited " .. seen)
    assert(#bufs == 17, "#bufs is " .. #bufs)
    bufs:freeAll()
    local t = setmetatable({}, { __ipairs = function(t) return function(_, i)
        if i < 3 then return i + 1, "v" end end, t, 0 end,
        __pairs = function(t) return next, { a = 1 }, nil end })
    local n = 0
    for _ in ipairs(t) do n = n + 1 end
    assert(n == 3, "__ipairs")
    for k in pairs(t) do assert(k == "a") end
    for i, v in ipairs({ "a", "b" }) do n = n + 1 end
    assert(n == 5, "plain ipairs")
    assert(table.unpack, "table.unpack")
    assert(printf and parseIPAddress and incAndWrap and hton16, "utils globals")
    print("COMPAT OK")
end
