-- barrier: n tasks wait for each other (libmoon `barrier` module).
--
-- `barrier:new(n)` returns a `struct barrier*` (cdata in process-global memory), so passing it
-- to tasks passes the same barrier. The barrier lives in Python; waiting releases the GIL.
-- Unlike libmoon, a task waiting on a barrier returns once the run has stopped (wait() then
-- returns false), so a barrier can never hang the end of a run.
local handle = require "moonpy.handle"

local host = handle.host("barrier")
local call = handle.call
local mod = {}

local barrier = {}
barrier.__index = barrier
local check, newHandle -- set by handle.define below, once the methods exist

--- Wait until n tasks called wait(). @return true, or false when the run stopped first.
function barrier:wait()
	return call(host.sync_barrier_wait, check(self)) == true
end

--- Change the number of tasks; only while no task waits.
function barrier:reinit(n)
	call(host.sync_barrier_reinit, check(self), n)
end

function barrier:__tostring()
	return ("[Barrier: id=%d]"):format(tonumber(self.id))
end

check, newHandle = handle.define("barrier", 0x42415252, barrier) -- magic "BARR"

--- barrier:new(n) -> struct barrier* (barrier.new(n) works too)
function mod:new(n)
	if self ~= mod and n == nil then
		n = self
	end
	if type(n) ~= "number" then
		error(("barrier:new(n): n must be the number of tasks, got %s"):format(tostring(n)), 2)
	end
	return newHandle(call(host.sync_barrier_new, n))
end

return mod
