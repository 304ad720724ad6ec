-- Exact counters on a virtual cable: a sender task sends frames of known, mixed sizes from
-- port 0 to port 1 and counts what send() took; a receiver task (or none: "unread", or an
-- unconfigured port 1: "unconfigured") counts what it read. The master prints one JSON line
-- with the task counts and both devices' counters (getTxStats / getRxStats / getStats).
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"

-- 6 sizes, a bufArray of 30 holds each 5 times
local SIZES = { 60, 64, 128, 333, 1000, 1514 }

function configure(parser)
	parser:argument("mode", "low | over | unread | unconfigured | stop")
	parser:option("-n --count", "Frames to send (stop: none, sends until stopped)."):default(3000):convert(tonumber)
	parser:option("--pool", "Sender's pool size."):default(2047):convert(tonumber)
	parser:option("--extra", "Extra busy tasks (shared-core runs)."):default(0):convert(tonumber)
end

function master(args)
	local tx = device.config{ port = 0 }
	local rx = args.mode ~= "unconfigured" and device.config{ port = 1 } or device.get(1)
	local receiver
	if args.mode ~= "unread" and args.mode ~= "unconfigured" then
		receiver = mg.startTask("receive", rx:getRxQueue(0))
	end
	for i = 1, args.extra do
		mg.startTask("busy", i)
	end
	local sender = mg.startTask("send", tx:getTxQueue(0), args.mode, args.count, args.pool)
	if args.mode == "stop" then
		mg.sleepMillis(1500)
		mg.stop()
	end
	local sent, sentBytes = sender:wait()
	mg.sleepMillis(300) -- the receiver reads what is still in the ring
	mg.stop()
	local got, gotBytes = 0, 0
	if receiver then
		got, gotBytes = receiver:wait()
	end
	mg.waitForTasks()
	local txp, txb = tx:getTxStats()
	local rxp, rxb = rx:getRxStats()
	local st = rx:getStats()
	print(("{\"task_tx\": [%d, %d], \"task_rx\": [%d, %d], \"dev_tx\": [%d, %d], "
		.. "\"dev_rx\": [%d, %d], \"ipackets\": %d, \"ibytes\": %d, \"imissed\": %d}"):format(
		sent, sentBytes, got, gotBytes, txp, txb, rxp, rxb,
		tonumber(st.ipackets), tonumber(st.ibytes), tonumber(st.imissed)))
end

function send(queue, mode, count, poolSize)
	local mem = memory.createMemPool{ n = poolSize, func = function(buf)
		buf:getUdpPacket():fill{ pktLength = 60 }
	end }
	local bufs = mem:bufArray(30)
	local sent, bytes = 0, 0
	while mg.running() and (mode == "stop" or sent < count) do
		bufs:alloc(60)
		local batch = 0
		for i, buf in ipairs(bufs) do
			buf:setSize(SIZES[(i - 1) % #SIZES + 1])
			batch = batch + buf:getSize()
		end
		local n = queue:send(bufs)
		sent = sent + n
		-- a send either takes the whole bufArray or (stopped) the frames it sent
		bytes = bytes + (n == #bufs and batch or 0)
		if n ~= #bufs and n ~= 0 then error("partial send of " .. n) end
		if mode == "low" or mode == "unread" or mode == "unconfigured" then
			mg.sleepMillis(1) -- 30 frames per ms: far below what a core carries
		end
	end
	return sent, bytes
end

function receive(queue)
	local bufs = memory.bufArray(64)
	local got, bytes = 0, 0
	while mg.running() do
		local n = queue:tryRecv(bufs, 1000)
		for i = 1, n do
			bytes = bytes + bufs[i]:getSize()
		end
		got = got + n
		bufs:free(n)
	end
	return got, bytes
end

function busy(i)
	local x = 0
	while mg.running() do
		for _ = 1, 1000 do x = x + 1 end
	end
	return x
end
