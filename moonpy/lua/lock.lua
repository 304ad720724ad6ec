-- lock: re-entrant locks shared by all tasks (libmoon `lock` module).
--
-- `lock:new()` returns a `struct lock*` (cdata, as in libmoon) whose memory is process-global,
-- so passing it to a task passes the same lock. The lock itself lives in Python (a re-entrant
-- lock owned by the task that took it); waiting releases the GIL. Locking is control plane: do
-- not take a lock per packet.
local handle = require "moonpy.handle"
local log = require "log"

local host = handle.host("lock")
local call = handle.call
local mod = {}

local lock = {}
lock.__index = lock
local check, newHandle -- set by handle.define below, once the methods exist

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

check, newHandle = handle.define("lock", 0x4c4f434b, lock) -- magic "LOCK"

--- A struct lock* for the Python lock `id` (process-global memory; never freed, like libmoon's).
function mod.fromId(id)
	return newHandle(id)
end

--- lock:new() -> struct lock*
function mod:new() -- luacheck: ignore self
	return mod.fromId(call(host.sync_lock_new))
end

return mod
