local mg = require "moongen"

function master(n)
    local tasks = {}
    for i = 1, n do tasks[i] = mg.startTask("work", i) end
    local sum = 0
    for i = 1, n do sum = sum + tasks[i]:wait() end
    print(("SUM %d"):format(sum))
end

function work(i)
    local t = mg.getTime()
    while mg.getTime() - t < 0.2 do end
    return i * 10
end
