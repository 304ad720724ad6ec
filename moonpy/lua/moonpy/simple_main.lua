-- The script `moonpy simple ...` runs: the command and flows arrive as raw words.
local simple = require "moonpy.simple"

function master(...)
    local words = { ... }
    for i = 1, select("#", ...) do words[i] = tostring(words[i]) end
    simple.main(unpack(words, 1, select("#", ...)))
end
