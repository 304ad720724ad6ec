-- Long runs of counting scripts on a virtual cable, with the tasks sharing cores:
--   ethertypes: every one of the 65,536 ethertypes sent once, in bursts of 2047 frames
--     from 33 pools of 2047 without a rate limit (jwbensley's ethType.lua), to a receiver
--     configured with dropEnable = false (as that script's) that notes each ethertype;
--   paced: the same frames at a rate one core carries (-r Mbit/s), dropEnable left on;
--   timestamps: -n frames carrying a sequence number and their TX TSC; the receiver
--     writes one "seq,latency" line per frame to the file -f.
-- The master prints one JSON line: what was sent, received, how many distinct values
-- arrived (duplicates, the first value missing), and the receiving device's counters.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"

function configure(parser)
	parser:argument("mode", "ethertypes | paced | timestamps")
	parser:option("-r --rate", "paced: Mbit/s."):default(50):convert(tonumber)
	parser:option("-n --count", "timestamps: frames."):default(65536):convert(tonumber)
	parser:option("-f --file", "timestamps: output file."):default("timestamps.csv")
	parser:option("--extra", "Extra busy tasks (cores shared)."):default(1):convert(tonumber)
end

function master(args)
	local tx = device.config{ port = 0 }
	local rx = device.config{ port = 1, dropEnable = args.mode ~= "ethertypes" }
	device.waitForLinks()
	local total = args.mode == "timestamps" and args.count or 65536
	local receiver = mg.startTask("receive", rx:getRxQueue(0), args.mode, total, args.file)
	for i = 1, args.extra do
		mg.startTask("busy", i)
	end
	if args.mode == "paced" then
		tx:getTxQueue(0):setRate(args.rate)
	end
	local sender = mg.startTask("send", tx:getTxQueue(0), args.mode, total)
	local sent = sender:wait()
	local got, distinct, dup, first = receiver:wait()
	mg.stop()
	mg.waitForTasks()
	local rxp = rx:getRxStats()
	local st = rx:getStats()
	print(("{\"sent\": %d, \"received\": %d, \"distinct\": %d, \"duplicates\": %d, "
		.. "\"first_missing\": %d, \"dev_rx\": %d, \"ipackets\": %d, \"imissed\": %d}"):format(
		sent, got, distinct, dup, first, rxp, tonumber(st.ipackets), tonumber(st.imissed)))
end

local function pools(n)
	local out = {}
	for i = 1, n do
		out[i] = memory.createMemPool(function(buf) buf:getUdpPacket():fill{ pktLength = 60 } end)
	end
	return out
end

function send(queue, mode, total)
	local sent = 0
	if mode == "timestamps" then
		local mem = pools(1)[1]
		local bufs = mem:bufArray(32)
		while mg.running() and sent < total do
			local n = math.min(32, total - sent)
			bufs:allocN(60, n)
			for i = 1, n do
				local pl = ffi.cast("uint64_t *", bufs[i]:getUdpPacket().payload)
				pl[0] = sent + i - 1
				pl[1] = mg.getCycles()
			end
			sent = sent + queue:send(bufs)
			mg.sleepMicros(100) -- 320 frames per ms
		end
		return sent
	end
	-- each ethertype once: 32 bursts of 2047 and one of 32, each from its own pool
	local mems = pools(33)
	local etype = 0
	for p = 1, 33 do
		if not mg.running() then break end
		local bufs = mems[p]:bufArray(p == 33 and 32 or 2047)
		bufs:alloc(60)
		for _, buf in ipairs(bufs) do
			buf:getEthernetPacket().eth:setType(etype)
			etype = etype + 1
		end
		sent = sent + queue:send(bufs)
	end
	return sent
end

function receive(queue, mode, total, file)
	local bufs = memory.bufArray()
	local seen = {}
	local got, distinct, dup = 0, 0, 0
	local out = mode == "timestamps" and io.open(file, "w") or nil
	local hz = mg.getCyclesFrequency()
	local idleSince, idleMax = mg.getTime(), 30
	-- until all arrived, or nothing came for 3 s since the last frame (what was lost stays
	-- lost; the sender first fills its 33 pools)
	while mg.running() and got < total and mg.getTime() - idleSince < idleMax do
		local n = queue:tryRecv(bufs, 10000)
		if n > 0 then idleSince, idleMax = mg.getTime(), 3 end
		for i = 1, n do
			local v
			if out then
				local pl = ffi.cast("uint64_t *", bufs[i]:getUdpPacket().payload)
				v = tonumber(pl[0])
				out:write(("%d,%.1f\n"):format(v, tonumber(mg.getCycles() - pl[1]) * 1e9 / hz))
			else
				v = bufs[i]:getEthernetPacket().eth:getType()
			end
			if seen[v] then
				dup = dup + 1
			else
				seen[v] = true
				distinct = distinct + 1
			end
		end
		got = got + n
		bufs:free(n)
	end
	if out then out:close() end
	local first = -1
	for v = 0, total - 1 do
		if not seen[v] then first = v; break end
	end
	return got, distinct, dup, first
end

function busy(i)
	local x = 0
	while mg.running() do
		for _ = 1, 1000 do x = x + 1 end
	end
	return x
end
