local mg = require "moongen"

function master()
    mg.startTask("victim", 1, function() end)
    mg.waitForTasks()
end

function victim() end
