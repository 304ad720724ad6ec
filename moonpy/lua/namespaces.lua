-- namespaces: process-wide named tables shared by every task (libmoon `namespaces` module).
--
--   local ns = namespaces:get()      -- name defaults to the caller's file:line, so the same
--   ns.key = value                   -- line yields the same namespace in every task's VM
--   local copy = ns.key              -- values are serialized: reading returns a fresh copy
--   ns.key = nil                     -- deletes
--   ns:forEach(function(key, value) ... end)   -- under the namespace lock
--   ns.lock(function() ... end); ns.lock:lock(); ns.lock:unlock()   -- a struct lock*
--
-- Values cross like task arguments (moonpy.marshal): numbers, strings, booleans, tables,
-- devices, queues, pipes, mempools, locks, barriers. Keys must be strings; `forEach` and `lock`
-- are reserved. Every access is a call into Python: keep namespaces out of per-packet loops.
local marshal = require "moonpy.marshal"
local lockMod = require "lock"
local log = require "log"

local host = rawget(_G, "MOONPY_HOST")
if host == nil then
	error("namespaces: needs the moonpy runtime (MOONPY_HOST); run the script with moonpy", 2)
end
local mod = {}

local proxies = {} -- name -> namespace object (per VM)
local locks = {}   -- name -> struct lock* (per VM)

local function call(fn, ...)
	local ok, a, b = pcall(fn, ...)
	if not ok then error(tostring(a), 3) end
	return a, b
end

local function nsLock(name)
	local l = locks[name]
	if not l then
		l = lockMod.fromId(call(host.sync_ns_lock_id, name))
		locks[name] = l
	end
	return l
end

local function forEach(self, func)
	local name = getmetatable(self).__name
	local l = nsLock(name)
	l:lock()
	local ok, items, n = pcall(host.sync_ns_items, name)
	if not ok then
		l:unlock()
		error(tostring(items), 2)
	end
	local caught
	for i = 1, n do
		local kv = items[i]
		local okCall, err = xpcall(func, debug.traceback, kv[1], marshal.unpackOne(kv[2]))
		if not okCall then
			caught = err
			break
		end
	end
	l:unlock()
	if caught then
		log:fatal("%s", "Error while calling callback, inner error: " .. tostring(caught))
	end
end

local function newProxy(name)
	local mt = { __name = name }

	function mt.__index(_, key)
		if type(key) ~= "string" then
			log:fatal("Table index must be a string")
		end
		if key == "forEach" then
			return forEach
		elseif key == "lock" then
			return nsLock(name)
		end
		local desc = call(host.sync_ns_get, name, key)
		if desc == nil then
			return nil
		end
		return marshal.unpackOne(desc)
	end

	function mt.__newindex(_, key, val)
		if type(key) ~= "string" then
			log:fatal("Table index must be a string")
		end
		if key == "forEach" or key == "lock" then
			log:fatal(key .. " is reserved")
		end
		if val == nil then
			call(host.sync_ns_set, name, key, nil)
			return
		end
		local ok, descs = pcall(marshal.packList, { val }, 1, 1, ("namespace value '%s'"):format(key))
		if not ok then
			error((tostring(descs):gsub(" argument 1", "", 1)), 2)
		end
		call(host.sync_ns_set, name, key, descs[1])
	end

	function mt.__tostring()
		return ("[Namespace: %s]"):format(name)
	end

	function mt.__moonpy_pack()
		return { k = "custom", module = "namespaces", ctor = "fromName", data = { k = "str", v = name } }
	end

	return setmetatable({}, mt)
end

--- The namespace object called `name` in this VM (the same process-wide namespace everywhere).
function mod.fromName(name)
	local p = proxies[name]
	if not p then
		p = newProxy(name)
		proxies[name] = p
	end
	return p
end

local function callerName(level)
	local info = debug.getinfo(level, "Sl")
	if not info then
		return "?"
	end
	return ("%s:%d"):format(info.short_src, info.currentline or 0)
end

--- namespaces:get([name]) -> namespace; the default name is the caller's file:line.
function mod:get(name)
	if type(self) == "string" and name == nil then
		name = self -- namespaces.get("name")
	end
	if name == nil then
		name = callerName(3)
	end
	if type(name) ~= "string" then
		error(("namespaces:get: the name must be a string, got %s"):format(type(name)), 2)
	end
	return mod.fromName(name)
end

return mod
