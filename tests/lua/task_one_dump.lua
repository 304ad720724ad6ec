-- A task's arguments cross as one dump, as in libmoon: tables shared between arguments
-- stay one table, cycles survive, cdata arrives as a pointer into the master's memory,
-- functions arrive as nil. The same holds for what the task returns.
local mg  = require "moongen"
local ffi = require "ffi"
require "proto.ip6"

ffi.cdef [[ struct one_dump_test { int32_t a; double b; }; ]]

function master()
    local shared = { count = 1 }
    local args = { shared = shared, list = { shared, shared } }
    args.self = args
    args.ip = ffi.new("union ip6_address")
    args.ip:setString("fe80::1")
    args.s = ffi.new("struct one_dump_test", 5, 2.5)
    local arr = ffi.new("uint8_t[4]", 1, 2, 3, 4)
    local ptr = ffi.cast("uint8_t *", arr)
    local named = setmetatable({ x = 1 }, { __tostring = function() return "named object" end })
    local t = mg.startTask("check", args, shared, print, args.s, ptr, { [shared] = "key" }, named)
    local r1, r2, rs = t:wait()
    assert(r1 == r2 and r1.me == r1, "results: shared table and cycle")
    collectgarbage()
    -- a struct the task made arrives as a pointer into the task's memory, still valid
    assert(ffi.istype("struct one_dump_test *", rs) and rs.a == 77 and rs.b == 0.5,
        "result cdata " .. tostring(rs))
    -- the task wrote through the pointers into the master's memory
    assert(args.s.a == 6 and arr[0] == 11 and args.ip.uint8[15] == 2, "writes through pointers")
    print("ONE DUMP OK")
end

function check(args, shared, fn, s, ptr, keyed, named)
    -- as libmoon's serializer: an object with __tostring (and no __serialize) is its text
    assert(named == "named object", tostring(named))
    assert(args.shared == shared and args.list[1] == shared and args.list[2] == shared,
        "shared table arrives as one table")
    assert(args.self == args, "cycle survives")
    assert(next(keyed) == shared, "a shared table as a key")
    assert(fn == nil, "function arrives as nil")
    assert(ffi.istype("union ip6_address *", args.ip), tostring(args.ip))
    assert(args.ip:getString():match("^fe80:.*1$"), args.ip:getString())
    assert(ffi.istype("struct one_dump_test *", s) and s == args.s, tostring(s))
    assert(s.a == 5 and s.b == 2.5, "struct fields")
    assert(ffi.istype("uint8_t *", ptr) and ptr[3] == 4, "pointer value")
    s.a = 6
    ptr[0] = 11
    args.ip.uint8[15] = 2
    shared.count = shared.count + 1
    assert(args.list[1].count == 2, "one table: a change shows through every path")
    local r = { 1 }
    r.me = r
    return r, r, ffi.new("struct one_dump_test", 77, 0.5)
end
