-- lock: re-entrant locks shared by all tasks (libmoon `lock` module).
--
-- `lock:new()` returns a `struct lock*` (cdata, as in libmoon) whose memory is process-global,
-- so passing it to a task passes the same lock. The lock itself lives in Python (a re-entrant
-- lock owned by the task that took it); waiting releases the GIL. Locking is control plane: do
-- not take a lock per packet.
local ffi = require "ffi"
local marshal = require "moonpy.marshal"
local log = require "log"

local host = rawget(_G, "MOONPY_HOST")
if host == nil then
	error("lock: needs the moonpy runtime (MOONPY_HOST); run the script with moonpy", 2)
end
local mod = {}

ffi.cdef [[
struct lock { uint32_t id; uint32_t magic; };
void *moonpy_lock_malloc(size_t size) __asm__("malloc");
]]

local MAGIC = 0x4c4f434b -- "LOCK"
local lockPtr = ffi.typeof("struct lock *")

local lock = {}
lock.__index = lock

local function check(self)
	if self == nil or self.magic ~= MAGIC then
		error("lock: not a lock created by lock:new() (or its memory was overwritten)", 3)
	end
	return self.id
end

local function call(fn, ...)
	local ok, res = pcall(fn, ...)
	if not ok then error(tostring(res), 3) end
	return res
end

--- Acquire the lock (waits as long as it takes; the same task may take it again).
function lock:lock()
	call(host.sync_lock_acquire, check(self), -1)
end

--- Release the lock.
function lock:unlock()
	if not call(host.sync_lock_release, check(self)) then
		error("lock:unlock(): this task does not hold the lock", 2)
	end
end

--- Try to take the lock, waiting up to `timeout` microseconds (<= 0 or nil: do not wait).
--- @return true when the lock was taken
function lock:tryLock(timeout)
	local us = tonumber(timeout) or 0
	return call(host.sync_lock_acquire, check(self), us > 0 and us / 1e6 or 0) == true
end

--- l(fn, ...): lock, call fn(...) protected, unlock; an error in fn is fatal afterwards.
function lock:__call(func, ...)
	self:lock()
	local ok, err = xpcall(func, debug.traceback, ...)
	self:unlock()
	if not ok then
		log:fatal("%s", "Caught error in lock-wrapped call, inner error: " .. tostring(err))
	end
end

function lock:__tostring()
	return ("[Lock: id=%d]"):format(tonumber(self.id))
end

ffi.metatype("struct lock", lock)
marshal.registerPointer("struct lock *")

--- A struct lock* for the Python lock `id` (process-global memory; never freed, like libmoon's).
function mod.fromId(id)
	local p = ffi.cast(lockPtr, ffi.C.moonpy_lock_malloc(ffi.sizeof("struct lock")))
	p.id = id
	p.magic = MAGIC
	return p
end

--- lock:new() -> struct lock*
function mod:new() -- luacheck: ignore self
	return mod.fromId(call(host.sync_lock_new))
end

return mod
