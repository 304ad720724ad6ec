-- moonpy.prelude: what every VM (master and task) loads before the script,
-- as MoonGen's main does: 5.2 compatibility, logging, the utils globals, and
-- the core modules (which also define global task entry points).
local compat = require "moonpy.compat"
compat.install(_G)

-- a JIT-inlined math.random: scripts call it per packet
require("moonpy.random").install()

-- whole lines reach a pipe (the dashboard, a test) as soon as they are printed
io.stdout:setvbuf("line")

-- a script's os.exit must not kill the process under DPDK: end the run instead
local host = MOONPY_HOST
os.exit = function(code)
    if code == true or code == nil then code = 0 elseif code == false then code = 1 end
    host.request_exit(code)
    error("__MOONPY_EXIT__", 0)
end

require "colors"
require "log"
require "utils"
require "libmoon"
require "dpdk"
require "device"
require "memory"
require "packet"
-- MoonGen's main loads its timestamping and rate control extensions in every VM
require "software-timestamps"
require "crc-ratecontrol"
require "software-ratecontrol"
