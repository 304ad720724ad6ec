-- The ARP and ICMP tasks of proto.arp / proto.icmp across a virtual cable (ports 0 <-> 1):
-- port 1 runs both tasks (ARP on queue 0, ICMP on queue 1); a peer task on port 0 talks to
-- them with hand-made frames, first a flood of hostile ones, then real requests. The frames it
-- receives are printed as hex (FRAME <hex>) for the test to parse with scapy.
local lm     = require "libmoon"
local device = require "device"
local memory = require "memory"
local arp    = require "proto.arp"
local icmp   = require "proto.icmp"
local ffi    = require "ffi"

local US, THEM = "10.0.0.1", "10.0.0.2"
local PEER_MAC = "02:aa:bb:cc:dd:01"

function configure(parser)
	parser:option("--hostile", "Random frames to send first."):default(0):convert(tonumber)
end

function master(args)
	local dev0 = device.config { port = 0, rxQueues = 2, txQueues = 2 }
	local dev1 = device.config { port = 1, rxQueues = 2, txQueues = 2 }
	device.waitForLinks()
	arp.startArpTask { rxQueue = dev1:getRxQueue(0), txQueue = dev1:getTxQueue(0),
		ips = { THEM, "10.0.0.3" } }
	icmp.startIcmpTask { rxQueue = dev1:getRxQueue(1), txQueue = dev1:getTxQueue(1), ips = THEM }
	arp.waitForStartup()
	print("THEIR MAC " .. dev1:getMacString():lower())
	local peer = lm.startTask("peer", dev0, args.hostile)
	-- learned from a reply the peer sends unasked
	local mac = arp.blockingLookup("10.0.0.9", 10)
	print("LEARNED 10.0.0.9 " .. tostring(mac))
	-- asked by the ARP task, answered by the peer
	local mac2 = arp.blockingLookup("10.0.0.7", 10)
	print("RESOLVED 10.0.0.7 " .. tostring(mac2))
	local ok = peer:wait()
	print("PEER " .. tostring(ok))
	lm.stop()
	lm.waitForTasks()
	print("ARP/ICMP DONE")
end

local function hex(buf)
	local d = buf:getBytes()
	local out = {}
	for i = 0, buf:getSize() - 1 do
		out[#out + 1] = ("%02x"):format(d[i])
	end
	return table.concat(out)
end

local function put(d, off, bytes)
	for i, b in ipairs(bytes) do
		d[off + i - 1] = b
	end
end

local function ipBytes(s)
	local a, b, c, e = s:match("(%d+)%.(%d+)%.(%d+)%.(%d+)")
	return { tonumber(a), tonumber(b), tonumber(c), tonumber(e) }
end

local function macBytesOf(s)
	local t = {}
	for h in s:gmatch("%x%x") do
		t[#t + 1] = tonumber(h, 16)
	end
	return t
end

local function arpFrame(d, op, sha, spa, tha, tpa, dst)
	put(d, 0, dst)
	put(d, 6, sha)
	put(d, 12, { 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, op })
	put(d, 22, sha)
	put(d, 28, spa)
	put(d, 32, tha)
	put(d, 38, tpa)
end

local function csum(d, off, len)
	local sum = 0
	for i = 0, len - 1, 2 do
		sum = sum + d[off + i] * 256 + (i + 1 < len and d[off + i + 1] or 0)
	end
	while sum > 0xffff do sum = bit.band(sum, 0xffff) + bit.rshift(sum, 16) end
	return bit.band(bit.bnot(sum), 0xffff)
end

local function echoFrame(d, dstMac, payloadLen)
	put(d, 0, dstMac)
	put(d, 6, macBytesOf(PEER_MAC))
	put(d, 12, { 0x08, 0x00 })
	local total = 20 + 8 + payloadLen
	put(d, 14, { 0x45, 0, bit.rshift(total, 8), bit.band(total, 0xff), 0x12, 0x34, 0x40, 0,
		17, 1, 0, 0 })
	put(d, 26, ipBytes(US))
	put(d, 30, ipBytes(THEM))
	local c = csum(d, 14, 20)
	d[24], d[25] = bit.rshift(c, 8), bit.band(c, 0xff)
	put(d, 34, { 8, 0, 0, 0, 0x4d, 0x50, 0, 7 })
	for i = 0, payloadLen - 1 do
		d[42 + i] = bit.band(i * 7 + 3, 0xff)
	end
	c = csum(d, 34, 8 + payloadLen)
	d[36], d[37] = bit.rshift(c, 8), bit.band(c, 0xff)
	return 14 + total
end

-- hostile frames: random bytes, and ARP/IPv4 frames with random (often inconsistent) fields,
-- cut at random lengths
local function hostile(pool, queue, n, viaPipe)
	local bufs = pool:bufArray(32)
	local sent = 0
	while sent < n and lm.running() do
		local k = math.min(32, n - sent)
		bufs:allocN(60, k)
		for i = 0, k - 1 do
			local buf = bufs.array[i]
			local d = buf:getBytes()
			local len = math.random(0, 120)
			for j = 0, 119 do
				d[j] = math.random(0, 255)
			end
			local kind = math.random(1, 4)
			if kind == 2 then
				put(d, 12, { 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, math.random(0, 3) })
				if math.random(1, 2) == 1 then put(d, 38, ipBytes(THEM)) end
			elseif kind == 3 then
				put(d, 12, { 0x08, 0x00, 0x40 + math.random(0, 15) })
				put(d, 23, { 1 })
				if math.random(1, 2) == 1 then put(d, 30, ipBytes(THEM)) end
				if math.random(1, 2) == 1 then d[34] = 8 end
				if math.random(1, 2) == 1 then d[20], d[21] = 0, 0 end
			end
			buf:setSize(len)
			if viaPipe then
				(viaPipe == "arp" and arp or icmp).handlePacket(buf)
			end
		end
		if not viaPipe then
			queue:sendN(bufs, k)
		end
		sent = sent + k
		lm.sleepMicros(200) -- let the tasks keep up (the cable drops what they cannot take)
	end
	return sent
end

function peer(dev, nHostile)
	math.randomseed(1234)
	local theirMac = device.get(1):getMacString():lower()
	local pool = memory.createMemPool { n = 2047 }
	local tx0, tx1 = dev:getTxQueue(0), dev:getTxQueue(1)
	local rx0, rx1 = dev:getRxQueue(0), dev:getRxQueue(1)
	local rxBufs = memory.bufArray(32)
	local seen = {}
	local function collect(q, ms)
		local deadline = lm.getTime() + ms / 1000
		while lm.getTime() < deadline do
			local rx = q:tryRecv(rxBufs, 1000)
			for i = 1, rx do
				local h = hex(rxBufs[i])
				seen[#seen + 1] = h
				print("FRAME " .. h)
			end
			rxBufs:free(rx)
		end
	end
	if nHostile > 0 then
		local a = hostile(pool, tx0, nHostile / 2)
		local b = hostile(pool, tx1, nHostile / 2)
		local c = hostile(pool, nil, 500, "arp")
		local d = hostile(pool, nil, 500, "icmp")
		print(("HOSTILE SENT %d"):format(a + b + c + d))
		collect(rx0, 200)
		collect(rx1, 200)
	end
	print("PHASE REQUESTS")
	local bufs = pool:bufArray(1)
	-- a request for 10.0.0.3 (the task's second IP)
	bufs:alloc(60)
	arpFrame(bufs[1]:getBytes(), 1, macBytesOf(PEER_MAC), ipBytes(US), { 0, 0, 0, 0, 0, 0 },
		ipBytes("10.0.0.3"), { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff })
	tx0:send(bufs)
	-- an unasked reply: 10.0.0.9 is at 02:aa:bb:cc:dd:09
	bufs:alloc(60)
	arpFrame(bufs[1]:getBytes(), 2, macBytesOf("02:aa:bb:cc:dd:09"), ipBytes("10.0.0.9"),
		macBytesOf(theirMac), ipBytes(THEM), macBytesOf(theirMac))
	tx0:send(bufs)
	-- two echo requests (odd and even payload)
	for _, plen in ipairs({ 37, 56 }) do
		bufs:alloc(60)
		bufs[1]:setSize(echoFrame(bufs[1]:getBytes(), macBytesOf(theirMac), plen))
		tx1:send(bufs)
	end
	-- echo requests that must not be answered: another IP; and through the ARP queue
	bufs:alloc(60)
	local d = bufs[1]:getBytes()
	bufs[1]:setSize(echoFrame(d, macBytesOf(theirMac), 8))
	put(d, 30, ipBytes("10.0.0.3"))
	tx1:send(bufs)
	collect(rx1, 300)
	-- the ARP task asks for 10.0.0.7 (the master looks it up): answer it
	local deadline = lm.getTime() + 8
	local answered = false
	while lm.getTime() < deadline and not answered and lm.running() do
		local rx = rx0:tryRecv(rxBufs, 10000)
		for i = 1, rx do
			local h = hex(rxBufs[i])
			print("FRAME " .. h)
			if h:sub(25, 28) == "0806" and h:sub(41, 44) == "0001" and h:sub(77, 84) == "0a000007" then
				bufs:alloc(60)
				arpFrame(bufs[1]:getBytes(), 2, macBytesOf("02:aa:bb:cc:dd:07"),
					ipBytes("10.0.0.7"), macBytesOf(theirMac), ipBytes(THEM), macBytesOf(theirMac))
				tx0:send(bufs)
				answered = true
			end
		end
		rxBufs:free(rx)
	end
	collect(rx0, 200)
	return answered
end
