-- webserver: libmoon's REST web server task (turbo). moonpy has no web server: starting it
-- says so and returns; running() stays false, so stats never feed it.
local log = require "log"

local mod = {}

local warned = false
local function notAvailable()
	if not warned then
		warned = true
		log:warn("The web server (webserver.startWebserverTask) is not available in moonpy; "
			.. "continuing without it")
	end
end

--- startWebserverTask({port=8888, bind=, init="fn"}, ...): logs that there is no web server.
function mod.startWebserverTask(options, ...) -- luacheck: ignore options
	notAvailable()
end

--- Always false: no web server runs.
function mod.running()
	return false
end

-- libmoon's task entry point, should a script start it by name
__LM_WEBSERVER_TASK = function() -- luacheck: ignore (libmoon's global task entry point)
	notAvailable()
end

return mod
