local mg = require "moongen"

function master()
    mg.startTask("spinner")
    mg.startTask("crasher")
    mg.waitForTasks()
    print("master continued")
end

function crasher()
    mg.sleepMillis(100)
    error("boom in task")   -- line 12
end

function spinner()
    while mg.running() do end
    print("spinner stopped")
end
