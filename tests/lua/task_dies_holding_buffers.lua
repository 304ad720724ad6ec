-- A task that dies on an error while it holds buffers: 33 of a bufArray it sent only
-- partly and one single buffer. The 1000 bursts it sent before belong to the receiver
-- or the pool, though their pointers stay in the array.
local mg = require "moongen"
local memory = require "memory"
local device = require "device"

function master()
    -- the run goes on after a task dies (as in libmoon); it ends here
    mg.setRuntime(1)
    local tx = device.config{port = 0}
    local rx = device.config{port = 1}
    device.waitForLinks()
    mg.startTask("sender", tx:getTxQueue(0))
    mg.startTask("receiver", rx:getRxQueue(0))
    mg.waitForTasks()
end

function sender(queue)
    local mem = memory.createMemPool()
    local bufs = mem:bufArray()
    local single = mem:alloc(60)
    for _ = 1, 1000 do
        bufs:alloc(60)
        queue:send(bufs)
    end
    bufs:alloc(60)
    queue:sendN(bufs, 30)
    error("dies holding " .. (#bufs - 30 + 1) .. " buffers")
end

function receiver(queue)
    local bufs = memory.bufArray()
    while mg.running() do
        queue:recv(bufs)
        bufs:freeAll()
    end
    print("receiver stopped")
end
