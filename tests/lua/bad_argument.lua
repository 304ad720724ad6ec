local mg = require "moongen"
local ffi = require "ffi"

function master()
    mg.startTask("victim", 1, ffi.new("struct { int a; }"))
    mg.waitForTasks()
end

function victim() end
