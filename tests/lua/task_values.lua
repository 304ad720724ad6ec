-- Every kind of value a task argument can be, sent to a task and returned.
local mg     = require "moongen"
local device = require "device"
local memory = require "memory"

local function same(a, b, path)
    if type(a) ~= type(b) then error(("%s: %s vs %s"):format(path, type(a), type(b))) end
    if type(a) == "table" and getmetatable(a) == nil then
        for k, v in pairs(a) do same(v, b[k], path .. "." .. tostring(k)) end
        for k in pairs(b) do
            if a[k] == nil then error(path .. ": extra key " .. tostring(k)) end
        end
    elseif a ~= b then
        error(("%s: %s ~= %s"):format(path, tostring(a), tostring(b)))
    end
end

function master()
    local dev = device.config{port = 0, rxQueues = 2, txQueues = 2}
    local pool = memory.createMemPool{n = 511}
    local values = {
        42, -1.5, 2^53, "text with \0 nul", true, false,
        { 1, nil, 3, name = "x", nested = { deeper = { "y" } }, [10] = "sparse" },
        { [true] = "bool key", [2.5] = "float key" },
    }
    local task = mg.startTask("echo", dev, dev:getTxQueue(1), dev:getRxQueue(1), pool,
        nil, 5ULL, -7LL, 0xffffffffffffffffULL, unpack(values, 1, 8))
    local r = { task:wait() }
    assert(r[1] == dev and r[1] ~= device.get(1), "device did not come back")
    assert(tostring(r[2]) == "[TxQueue: id=0, qid=1]", tostring(r[2]))
    assert(tostring(r[3]) == "[RxQueue: id=0, qid=1]", tostring(r[3]))
    assert(r[4] == pool, "mempool is the same C object")
    assert(r[5] == nil, "nil hole kept")
    assert(r[6] == 5ULL and r[7] == -7LL and r[8] == 0xffffffffffffffffULL, "64-bit values")
    for i = 1, 8 do same(values[i], r[8 + i], "value" .. i) end
    assert(r[17] == "from task", "extra return value")
    print("ALL VALUES OK")
end

function echo(...)
    local args = { ... }
    assert(select("#", ...) == 16, "argument count " .. select("#", ...))
    assert(args[1].id == 0 and args[2].qid == 1)
    -- the mempool works in this VM too
    local b = args[4]:bufArray(4)
    b:alloc(60)
    b:freeAll()
    args[17] = "from task"
    return unpack(args, 1, 17)
end
