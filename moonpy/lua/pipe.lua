-- pipe: communication between tasks (libmoon `pipe` module).
--
-- * slow pipes (MPMC) carry any values task arguments may be (serialized through Python; a
--   few thousand messages per second, e.g. statistics);
-- * fast pipes (SPSC in libmoon; here a DPDK ring, safe for several producers/consumers) carry
--   cdata pointers, with no Python per message: the receiver gets a void*;
-- * packet rings are DPDK rings of mbufs (`send(bufs)`/`recv(bufs)`).
-- All three may be passed to tasks (and stored in namespaces): the other side gets the same
-- pipe. Blocking receives return nothing once the run has stopped and the pipe is empty.
local ffi = require "ffi"
local api = require "moonpy.api"
local marshal = require "moonpy.marshal"

local host = api.host
local ringEnqueue, ringDequeue, ringCount = api.ring_enqueue, api.ring_dequeue, api.ring_count
local cRunning, usleep = api.running, api.usleep

local mod = {}

local ringPtr = ffi.typeof("struct rte_ring *")
local voidpp = ffi.typeof("void **")
marshal.registerPointer("struct rte_ring *")

local capacities = {} -- ring address -> usable slots (rings this VM knows)

local function call(fn, ...)
	local ok, a, b = pcall(fn, ...)
	if not ok then error(tostring(a), 3) end
	return a, b
end

-- rte_ring_create rounds up to a power of two and keeps one slot free (see dpdk/ring.pxi)
local function capacityFor(size)
	local count = 2
	while count < size + 1 do
		count = count * 2
	end
	return count - 1
end

local function newRing(size, what)
	if type(size) ~= "number" or size < 1 then
		error(("%s: size must be a positive number, got %s"):format(what, tostring(size)), 3)
	end
	local addr = call(host.create_ring, size)
	local ring = ffi.cast(ringPtr, addr)
	capacities[addr] = capacityFor(size)
	return ring, capacities[addr]
end

local function addrOf(ring)
	return tonumber(ffi.cast("uintptr_t", ring))
end

local function ringDesc(module, ctor, ring, capacity)
	return {
		k = "custom", module = module, ctor = ctor,
		data = { k = "table", n = 2, a = { { k = "num", v = addrOf(ring) },
			{ k = "num", v = capacity } }, m = 0, h = {} },
	}
end

-- enqueue all n pointers: spins while the ring is full; gives up (returning the number
-- enqueued) once the run has stopped
local function enqueueAll(ring, arr, n)
	local done = ringEnqueue(ring, arr, n)
	while done < n do
		if cRunning(0) == 0 then
			return done
		end
		done = done + ringEnqueue(ring, arr + done, n - done)
	end
	return done
end

---------------------------------------------------------------------------------------------------
-- packet rings
---------------------------------------------------------------------------------------------------

mod.packetRing = {}
local packetRing = mod.packetRing
packetRing.__index = packetRing

local function wrapPacketRing(ring, capacity)
	capacities[addrOf(ring)] = capacity
	return setmetatable({ ring = ring, capacity = capacity }, packetRing)
end

--- pipe:newPacketRing([size=512][, socket]) -> packet ring
function mod:newPacketRing(size, socket) -- luacheck: ignore self socket
	local ring, capacity = newRing(size or 512, "newPacketRing")
	return wrapPacketRing(ring, capacity)
end

--- Wrap an existing `struct rte_ring*`.
function mod:newPacketRingFromRing(ring) -- luacheck: ignore self
	return wrapPacketRing(ring, capacities[addrOf(ring)] or math.huge)
end

function mod.fromPacketRing(t)
	return wrapPacketRing(ffi.cast(ringPtr, t[1]), t[2])
end

function packetRing.__moonpy_pack(self)
	return ringDesc("pipe", "fromPacketRing", self.ring, self.capacity)
end

-- libmoon's serializer hook, callable as a method as in libmoon
packetRing.__serialize = marshal.serializer

function packetRing.__tostring(self)
	return ("[PacketRing: 0x%x]"):format(addrOf(self.ring))
end

-- all or nothing, like rte_ring_enqueue_bulk: true when the n buffers were enqueued
local function sendBufs(ring, capacity, bufs, n)
	if n <= 0 then
		return true
	end
	if capacity - ringCount(ring) < n then
		return false
	end
	api.applyOffloads(bufs) -- the task at the other end sends them as they are
	local arr = ffi.cast(voidpp, bufs.array)
	local done = enqueueAll(ring, arr, n)
	if done < n then
		api.free_bulk(bufs.array + done, n - done) -- the run stopped under a racing producer
	end
	return true
end

--- pipe:sendToPacketRing(rawRing, bufs[, n]) -> bool
function mod:sendToPacketRing(ring, bufs, n) -- luacheck: ignore self
	return sendBufs(ring, capacities[addrOf(ring)] or math.huge, bufs, n or bufs.size)
end

function packetRing:send(bufs)
	return sendBufs(self.ring, self.capacity, bufs, bufs.size)
end

function packetRing:sendN(bufs, n)
	return sendBufs(self.ring, self.capacity, bufs, n)
end

--- @return the number of buffers received into bufs (never waits)
function packetRing:recv(bufs)
	return ringDequeue(self.ring, ffi.cast(voidpp, bufs.array), bufs.size)
end

function packetRing:recvN(bufs, n)
	return ringDequeue(self.ring, ffi.cast(voidpp, bufs.array), n)
end

function packetRing:count()
	return ringCount(self.ring)
end

function packetRing:freeCount()
	return self.capacity - ringCount(self.ring)
end

function packetRing:empty()
	return ringCount(self.ring) == 0
end

function packetRing:full()
	return ringCount(self.ring) >= self.capacity
end

--- rings are freed at the end of the run
function packetRing:free() end

---------------------------------------------------------------------------------------------------
-- slow pipes
---------------------------------------------------------------------------------------------------

mod.slowPipe = {}
local slowPipe = mod.slowPipe
slowPipe.__index = slowPipe

function mod.fromSlowPipe(id)
	return setmetatable({ pipe = id }, slowPipe)
end

--- pipe:newSlowPipe() -> slow pipe
function mod:newSlowPipe() -- luacheck: ignore self
	return mod.fromSlowPipe(call(host.sync_pipe_new))
end

function slowPipe.__moonpy_pack(self)
	return {
		k = "custom", module = "pipe", ctor = "fromSlowPipe", data = { k = "num", v = self.pipe },
	}
end

-- libmoon's serializer hook, callable as a method as in libmoon
slowPipe.__serialize = marshal.serializer

function slowPipe.__tostring(self)
	return ("[SlowPipe: id=%d]"):format(self.pipe)
end

local function slowSend(p, ...)
	local n = select("#", ...)
	local ok, descs, count = pcall(marshal.packList, { ... }, 1, n, "slowPipe:send")
	if not ok then
		error(tostring(descs), 3)
	end
	call(host.sync_pipe_send, p.pipe, descs, count)
end

--- Send values (serialized; several values per message).
function slowPipe:send(...)
	slowSend(self, ...)
end

function mod:sendToSlowPipe(p, ...) -- luacheck: ignore self
	slowSend(p, ...)
end

--- Receive one message, waiting up to `wait` microseconds (default 0).
--- @return its values, or nothing
function slowPipe:tryRecv(wait)
	wait = tonumber(wait) or 0
	local descs, n = call(host.sync_pipe_recv, self.pipe, wait > 0 and wait / 1e6 or 0)
	if descs == nil then
		return
	end
	return marshal.unpackList(descs, n)
end

--- Receive one message, waiting for it; returns nothing once the run has stopped.
function slowPipe:recv()
	local recv, id = host.sync_pipe_recv, self.pipe
	while true do
		local ok, descs, n = pcall(recv, id, 0.05)
		if not ok then
			error(tostring(descs), 2)
		end
		if descs ~= nil then
			return marshal.unpackList(descs, n)
		end
		if cRunning(0) == 0 then
			return
		end
	end
end

function slowPipe:count()
	-- one value, as libmoon (a trailing nil would show in select("#", ...) and table.pack)
	return (call(host.sync_pipe_count, self.pipe))
end

--- Dequeue and discard every message.
function slowPipe:empty()
	call(host.sync_pipe_clear, self.pipe)
end

function slowPipe:delete()
	call(host.sync_pipe_delete, self.pipe)
end

---------------------------------------------------------------------------------------------------
-- fast pipes
---------------------------------------------------------------------------------------------------

mod.fastPipe = {}
local fastPipe = mod.fastPipe
fastPipe.__index = fastPipe

local slot = ffi.new("void *[1]")

local function wrapFastPipe(ring, capacity)
	capacities[addrOf(ring)] = capacity
	return setmetatable({ pipe = ring, capacity = capacity }, fastPipe)
end

--- pipe:newFastPipe([size=512]) -> fast pipe
function mod:newFastPipe(size) -- luacheck: ignore self
	return wrapFastPipe(newRing(size or 512, "newFastPipe"))
end

function mod.fromFastPipe(t)
	return wrapFastPipe(ffi.cast(ringPtr, t[1]), t[2])
end

function fastPipe.__moonpy_pack(self)
	return ringDesc("pipe", "fromFastPipe", self.pipe, self.capacity)
end

-- libmoon's serializer hook, callable as a method as in libmoon
fastPipe.__serialize = marshal.serializer

function fastPipe.__tostring(self)
	return ("[FastPipe: 0x%x]"):format(addrOf(self.pipe))
end

local function toPointer(obj, what)
	local t = type(obj)
	if t == "cdata" then
		return obj
	elseif t == "nil" then
		error(what .. ": cannot send nil (fast pipes carry cdata pointers)", 3)
	end
	error(("%s: fast pipes carry cdata pointers, got a %s"):format(what, t), 3)
end

--- Send a pointer; waits while the pipe is full (gives up once the run has stopped).
--- @return true when sent
function fastPipe:send(obj)
	slot[0] = toPointer(obj, "fastPipe:send")
	return enqueueAll(self.pipe, slot, 1) == 1
end

--- @return false when the pipe is full
function fastPipe:trySend(obj)
	slot[0] = toPointer(obj, "fastPipe:trySend")
	return ringEnqueue(self.pipe, slot, 1) == 1
end

function mod:sendToFastPipe(ring, obj) -- luacheck: ignore self
	slot[0] = toPointer(obj, "sendToFastPipe")
	return ringEnqueue(ring, slot, 1) == 1
end

--- Receive a pointer (void*), polling every 10 us for up to `wait` us; nil when none came.
function fastPipe:tryRecv(wait)
	wait = tonumber(wait) or 0
	local ring = self.pipe
	while true do
		if ringDequeue(ring, slot, 1) == 1 then
			return slot[0]
		end
		wait = wait - 10
		if wait < 0 then
			return nil
		end
		usleep(10)
	end
end

--- Receive a pointer, waiting for it; nil once the run has stopped and the pipe is empty.
function fastPipe:recv()
	local ring = self.pipe
	while true do
		if ringDequeue(ring, slot, 1) == 1 then
			return slot[0]
		end
		if cRunning(0) == 0 then
			return nil
		end
		usleep(10)
	end
end

function fastPipe:count()
	return tonumber(ringCount(self.pipe))
end

--- rings are freed at the end of the run
function fastPipe:delete() end

return mod
