-- barrier: n tasks wait for each other (libmoon `barrier` module).
--
-- `barrier:new(n)` returns a `struct barrier*` (cdata in process-global memory), so passing it
-- to tasks passes the same barrier. The barrier lives in Python; waiting releases the GIL.
-- Unlike libmoon, a task waiting on a barrier returns once the run has stopped (wait() then
-- returns false), so a barrier can never hang the end of a run.
local ffi = require "ffi"
local marshal = require "moonpy.marshal"

local host = rawget(_G, "MOONPY_HOST")
if host == nil then
	error("barrier: needs the moonpy runtime (MOONPY_HOST); run the script with moonpy", 2)
end
local mod = {}

ffi.cdef [[
struct barrier { uint32_t id; uint32_t magic; };
void *moonpy_barrier_malloc(size_t size) __asm__("malloc");
]]

local MAGIC = 0x42415252 -- "BARR"
local barrierPtr = ffi.typeof("struct barrier *")

local barrier = {}
barrier.__index = barrier

local function check(self)
	if self == nil or self.magic ~= MAGIC then
		error("barrier: not a barrier created by barrier:new() (or its memory was overwritten)", 3)
	end
	return self.id
end

local function call(fn, ...)
	local ok, res = pcall(fn, ...)
	if not ok then error(tostring(res), 3) end
	return res
end

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

ffi.metatype("struct barrier", barrier)
marshal.registerPointer("struct barrier *")

--- barrier:new(n) -> struct barrier* (barrier.new(n) works too)
function mod:new(n)
	if self ~= mod and n == nil then
		n = self
	end
	if type(n) ~= "number" then
		error(("barrier:new(n): n must be the number of tasks, got %s"):format(tostring(n)), 2)
	end
	local id = call(host.sync_barrier_new, n)
	local p = ffi.cast(barrierPtr, ffi.C.moonpy_barrier_malloc(ffi.sizeof("struct barrier")))
	p.id = id
	p.magic = MAGIC
	return p
end

return mod
