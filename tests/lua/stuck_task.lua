local mg = require "moongen"

function master()
    mg.startTask("stuck")
    mg.setRuntime(0.3)
    mg.waitForTasks()
end

function stuck()
    local x = 0
    while true do x = x + 1 end   -- never checks mg.running()
end
