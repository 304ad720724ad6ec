local mg = require "moongen"

function master()
    local x = = 1
end
