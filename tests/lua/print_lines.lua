-- Several tasks print at once (print with one and several arguments, log lines, and
-- moonpy's own warnings on stderr): every line must arrive whole.
local mg = require "moongen"
local log = require "log"

function master(n)
    n = tonumber(n) or 4
    for i = 1, n do
        mg.startTask("printer", i, function() end)   -- the function: a moonpy [WARN] line
    end
    for i = 1, 2000 do
        print("master", i, ("m"):rep(i % 50))
    end
    mg.waitForTasks()
end

function printer(id)
    for i = 1, 2000 do
        local pad = ("x"):rep((i * 7 + id) % 90)
        if i % 3 == 0 then
            print(("LINE %d %d %s END"):format(id, i, pad))
        elseif i % 3 == 1 then
            print("LINE", id, i, pad, "END")
        else
            log:info("LINE %d %d %s END", id, i, pad)
        end
        if i % 10 == 0 then
            io.stderr:write(("ERRLINE %d %d %s END\n"):format(id, i, pad))
        end
    end
end
