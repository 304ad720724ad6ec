local mg = require "moongen"

-- a task that dies does not end the run (as in libmoon): the spinner and the master go on
function master()
    mg.setRuntime(1.5)
    local spin = mg.startTask("spinner")
    local crash = mg.startTask("crasher")
    local got = { crash:wait() }
    print(("crasher result: %d values"):format(#got))
    print("master continued, running=" .. tostring(mg.running()))
    print("spinner result: " .. tostring(spin:wait()))
    mg.waitForTasks()
end

function crasher()
    mg.sleepMillis(100)
    error("boom in task")   -- line 17
end

function spinner()
    local start = mg.getTime()
    while mg.running() do end
    print(("spinner stopped after %.1f s"):format(mg.getTime() - start))
    return 42
end
