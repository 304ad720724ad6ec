-- A function inside a table argument arrives as nil (MoonGen's serializer drops it).
local mg = require "moongen"

function master()
    local t = mg.startTask("check", { n = 7, cb = print })
    print("TASK SAW " .. tostring(t:wait()))
end

function check(params)
    return params.n == 7 and params.cb == nil
end
