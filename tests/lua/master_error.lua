local mg = require "moongen"

function master()
    mg.startTask("spinner")
    mg.sleepMillis(200)
    local t = nil
    return t.field   -- line 7: attempt to index a nil value
end

function spinner()
    local n = 0
    while mg.running() do n = n + 1 end
    print("spinner stopped")
end
