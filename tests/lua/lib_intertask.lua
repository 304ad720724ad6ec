-- Inter-task communication, after libmoon's examples/inter-task-communication.lua, with every
-- demonstration turned into a check: globals, arguments, namespaces, slow pipes, fast pipes,
-- packet rings, locks and a barrier across 3 tasks. Prints "<PART> OK" lines.
local lm         = require "libmoon"
local ffi        = require "ffi"
local memory     = require "memory"
local namespaces = require "namespaces"
local pipe       = require "pipe"
local lock       = require "lock"
local barrier    = require "barrier"

SOME_GLOBAL_VARIABLE = "foo"

local ns = namespaces:get()               -- named after this line: the same in every task
local counter = namespaces:get("counter") -- an explicit name

local function check(cond, fmt, ...)
	if not cond then
		error(("check failed: " .. fmt):format(...), 2)
	end
end

ffi.cdef [[ struct some_struct { uint32_t val; }; ]]

function master()
	-- globals are per VM: the task runs the script's top level again
	SOME_GLOBAL_VARIABLE = "bar"
	local seen = lm.startTask("globalVarSlave"):wait()
	check(seen == "foo", "the task saw %s", tostring(seen))
	check(SOME_GLOBAL_VARIABLE == "bar", "master's global changed")
	print("GLOBALS OK")

	-- arguments and results are copies
	local arg = { key = { key = "value" } }
	local tbl, str = lm.startTask("argumentSlave", "string", 3.14, arg):wait()
	check(tbl.foo == "bar" and str == "second return value", "results %s %s", tostring(tbl),
		tostring(str))
	check(arg.key.changed == nil, "the task changed the master's table")
	print("ARGUMENTS OK")

	-- namespaces
	ns.foo = 5
	ns.key = "value"
	ns.tbl = { 1, 2, { x = "y" } }
	local r = lm.startTask("namespaceSlave"):wait()
	check(r == "5 value y", "namespaceSlave saw %s", tostring(r))
	check(type(ns.fromSlave) == "table" and ns.fromSlave.answer == 42, "value from the task")
	check(ns.key == nil, "the task deleted key")
	local copy = ns.tbl
	copy[1] = 99
	check(ns.tbl[1] == 1, "reading a namespace returns a copy")
	local keys = {}
	ns:forEach(function(k, v)
		keys[#keys + 1] = k .. "=" .. type(v)
	end)
	table.sort(keys)
	check(table.concat(keys, ",") == "foo=number,fromSlave=table,tbl=table", "forEach: %s",
		table.concat(keys, ","))
	check(not pcall(function() ns.lock = 1 end), "lock is reserved")
	check(not pcall(function() ns[1] = 1 end), "keys must be strings")
	print("NAMESPACES OK")

	-- slow pipes: any values, several per message, MPMC
	local slowPipe, back = pipe:newSlowPipe(), pipe:newSlowPipe()
	check(slowPipe:tryRecv(0) == nil, "empty pipe")
	local task = lm.startTask("slowPipeSlave", slowPipe, back)
	slowPipe:send({ key = "value" })
	slowPipe:send(1, nil, "three", { nested = { true } })
	local a, b, c = back:recv()
	check(a == "value" and b == 4 and c == "three/true", "slow pipe echo %s %s %s",
		tostring(a), tostring(b), tostring(c))
	task:wait()
	for i = 1, 5 do slowPipe:send(i) end
	check(slowPipe:count() == 5, "count %d", slowPipe:count())
	slowPipe:empty()
	check(slowPipe:count() == 0, "empty() drains")
	print("SLOW PIPE OK")

	-- fast pipes: cdata pointers, no serialization
	local fastPipe = pipe:newFastPipe(64)
	local sender = lm.startTask("fastPipeSendSlave", fastPipe, 1000)
	local sum = lm.startTask("fastPipeRecvSlave", fastPipe, 1000):wait()
	sender:wait()
	check(sum == 1000 * 1001 / 2, "fast pipe sum %s", tostring(sum))
	print("FAST PIPE OK")

	-- packet rings: mbufs between tasks, in order, none lost
	local ring = pipe:newPacketRing(128)
	local pool = memory.createMemPool { n = 1023 }
	local producer = lm.startTask("ringProducer", ring, pool, 5008)
	local got, inOrder = lm.startTask("ringConsumer", ring, 5008):wait()
	producer:wait()
	check(got == 5008 and inOrder, "packet ring: %s packets, in order: %s", tostring(got),
		tostring(inOrder))
	check(ring:count() == 0 and ring:empty() and not ring:full(), "ring drained")
	check(pool:getAvail() == 1023, "every buffer back in its pool (%d)", pool:getAvail())
	print("PACKET RING OK")

	-- locks: the task waits for the master; three tasks count under a namespace lock
	local l = lock:new()
	l:lock()
	local locker = lm.startTask("lockSlave", l)
	lm.sleepMillisIdle(300)
	l:unlock()
	local couldNot, waited = locker:wait()
	check(couldNot, "tryLock succeeded while the master held the lock")
	check(waited >= 0.25, "the task got the lock after %.3f s", waited)
	counter.n = 0
	local counters = {}
	for i = 1, 3 do
		counters[i] = lm.startTask("counterSlave", counter, 200)
	end
	for i = 1, 3 do counters[i]:wait() end
	check(counter.n == 600, "counter %s", tostring(counter.n))
	print("LOCK OK")

	-- a barrier for 3 tasks that arrive at different times
	local bar = barrier:new(3)
	local tasks = {
		lm.startTask("barrierSlave", bar, 1, 0),
		lm.startTask("barrierSlave", bar, 2, 100),
		lm.startTask("barrierSlave", bar, 3, 400),
	}
	local arrive, leave = {}, {}
	for i, t in ipairs(tasks) do
		local passed
		passed, arrive[i], leave[i] = t:wait()
		check(passed, "task %d was let through", i)
	end
	local lastArrival = math.max(unpack(arrive))
	for i = 1, 3 do
		check(leave[i] >= lastArrival, "task %d left before the last one arrived", i)
	end
	check(math.max(unpack(leave)) - math.min(unpack(leave)) < 0.2, "tasks left together")
	check(lastArrival - math.min(unpack(arrive)) >= 0.35, "arrivals were spread out")
	print("BARRIER OK")
	print("INTERTASK OK")
end

function globalVarSlave()
	return SOME_GLOBAL_VARIABLE
end

function argumentSlave(str, num, tbl)
	check(str == "string" and num == 3.14 and tbl.key.key == "value", "arguments")
	tbl.key.changed = true
	return { foo = "bar" }, "second return value"
end

function namespaceSlave()
	local r = ("%d %s %s"):format(ns.foo, ns.key, ns.tbl[3].x)
	ns.fromSlave = { answer = 42 }
	ns.key = nil
	return r
end

function slowPipeSlave(p, back)
	local first = p:recv()
	local n1, n2, n3, n4 = p:recv()
	check(n1 == 1 and n2 == nil and n3 == "three" and n4.nested[1] == true, "values")
	back:send(first.key, 4, n3 .. "/" .. tostring(n4.nested[1]))
end

function fastPipeSendSlave(p, n)
	for i = 1, n do
		-- memory the receiver frees: the pointer crosses, not the data
		local data = memory.alloc("struct some_struct*", ffi.sizeof("struct some_struct"))
		data.val = i
		p:send(data)
	end
end

function fastPipeRecvSlave(p, n)
	local sum = 0
	for _ = 1, n do
		local data = ffi.cast("struct some_struct*", p:recv())
		sum = sum + data.val
		memory.free(data)
	end
	return sum
end

function ringProducer(ring, pool, n)
	local bufs = pool:bufArray(16)
	local seq = 0
	while seq < n and lm.running() do
		bufs:alloc(64)
		for _, buf in ipairs(bufs) do
			ffi.cast("uint32_t*", buf:getBytes())[0] = seq
			seq = seq + 1
		end
		while not ring:send(bufs) do
			lm.sleepMicrosIdle(10)
		end
	end
end

function ringConsumer(ring, n)
	local bufs = memory.bufArray(32)
	local got, expect, inOrder = 0, 0, true
	local deadline = lm.getTime() + 20
	while got < n and lm.getTime() < deadline do
		local rx = ring:recv(bufs)
		for i = 1, rx do
			if ffi.cast("uint32_t*", bufs[i]:getBytes())[0] ~= expect then
				inOrder = false
			end
			expect = expect + 1
		end
		bufs:free(rx)
		got = got + rx
	end
	return got, inOrder
end

function lockSlave(l)
	local couldNot = not l:tryLock(0)
	local start = lm.getTime()
	l:lock()
	local waited = lm.getTime() - start
	l:unlock()
	return couldNot, waited
end

function counterSlave(c, n)
	for _ = 1, n do
		c.lock(function()
			c.n = c.n + 1
		end)
	end
end

function barrierSlave(b, id, sleep)
	lm.sleepMillisIdle(sleep)
	local arrive = lm.getTime()
	local passed = b:wait()
	return passed, arrive, lm.getTime()
end
