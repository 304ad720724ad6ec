-- Waits on pipes and barriers end with the run; misuse gives clear errors.
local lm      = require "libmoon"
local pipe    = require "pipe"
local lock    = require "lock"
local barrier = require "barrier"
local ns      = require "namespaces"

function master()
	local l = lock:new()
	local ok, err = pcall(l.unlock, l)
	print("UNLOCK " .. tostring(ok) .. " " .. tostring(err))
	local slow = pipe:newSlowPipe()
	ok, err = pcall(slow.send, slow, 1, function() end)
	print("SEND " .. tostring(ok) .. " " .. tostring(err))
	local a, b = slow:tryRecv(100)
	print("SENT " .. tostring(a) .. " " .. tostring(b))
	local space = ns:get("misuse")
	ok, err = pcall(function() space.fn = print end)
	print("NSFN " .. tostring(ok) .. " " .. tostring(err))
	local fast = pipe:newFastPipe()
	ok, err = pcall(fast.send, fast, 42)
	print("FASTNUM " .. tostring(ok) .. " " .. tostring(err))
	ok, err = pcall(barrier.new, barrier, 0)
	print("BARRIER0 " .. tostring(ok) .. " " .. tostring(err))
	local b = barrier:new(2)
	local task = lm.startTask("waiter", b, slow, fast)
	lm.sleepMillisIdle(300)
	local start = lm.getTime()
	lm.stop()
	local passed, gotSlow, gotFast, waited = task:wait()
	print(("STOPPED barrier=%s slow=%s fast=%s after %.2f s"):format(tostring(passed),
		tostring(gotSlow), tostring(gotFast), lm.getTime() - start))
	print(("WAITED %.2f"):format(waited))
end

function waiter(b, slow, fast)
	local start = lm.getTime()
	local passed = b:wait()  -- nobody else comes: returns false once the run stops
	local gotSlow = slow:recv()
	local gotFast = fast:recv()
	return passed, gotSlow, gotFast, lm.getTime() - start
end
