-- moonpy.arp_task: MoonGen's ARP task behind proto.arp (startArpTask, stopArpTask,
-- handlePacket, lookup, blockingLookup, waitForStartup). proto.arp installs it on its module
-- table after the header code, which also loads in bare LuaJIT.

local ffi = require "ffi"
local bit = require "bit"
local addr = require "moonpy.addr"

local format = string.format

return function(arp)
	---------------------------------------------------------------------------------------------------
	-- ARP task (moongen-api.md §2.16): answers requests for its IPs with the TX device's MAC,
	-- learns from every reply it sees, re-requests stale entries. The table is shared by all tasks
	-- through a namespace; received frames are untrusted (lengths and fields checked first).
	---------------------------------------------------------------------------------------------------

	-- libmoon's arp.lua loads filter, namespaces (and with it lock) and pipe, and every VM loads
	-- arp.lua, so scripts use dev:l2Filter without requiring filter, and locks, barriers and pipes
	-- passed to a task can be rebuilt there (their FFI types exist) even when its script never
	-- required their modules. Only in a moonpy VM: proto.arp's header code also loads in bare LuaJIT.
	if rawget(_G, "MOONPY_HOST") then
		require "filter"
		require "namespaces"
		require "lock"
		require "barrier"
		require "pipe"
	end

	local ARP_AGING_TIME = 30      -- seconds until a learned entry is refreshed
	local ARP_RETRY_TIME = 1       -- seconds between requests for an unanswered entry
	local SCAN_INTERVAL = 0.05     -- seconds between walks over the table
	local ARP_FRAME = 42           -- Ethernet + ARP for IPv4 over Ethernet
	local BURST = 32

	local band, bor, lshift = bit.band, bit.bor, bit.lshift

	local lib = {}                 -- modules of the runtime, loaded on first use
	local function runtime()
		if not lib.libmoon then
			if not rawget(_G, "MOONPY_HOST") then
				error("the ARP task needs the moonpy runtime (run the script with moonpy)", 3)
			end
			lib.libmoon = require "libmoon"
			lib.memory = require "memory"
			lib.pipe = require "pipe"
			lib.ns = require "namespaces"
			lib.log = require "log"
			lib.utils = require "utils"
			lib.api = require "moonpy.api"
		end
		return lib
	end

	local function arpTable()
		return runtime().ns:get("__MG_ARP_TABLE")
	end

	local function arpPipes()
		return runtime().ns:get("__MG_ARP_PIPES")
	end

	--- IPv4 address (string, number or ip4_address cdata) -> signed 32-bit number, or nil
	local function ip4Number(ip)
		if type(ip) == "string" then
			local n, isV4 = addr.parseIPAddress(ip)
			if n == nil or not isV4 then
				return nil
			end
			ip = n
		elseif type(ip) == "cdata" then
			local ok, n = pcall(function() return ip:get() end)
			if not ok or type(n) ~= "number" then
				return nil
			end
			ip = n
		end
		if type(ip) ~= "number" then
			return nil
		end
		return bit.tobit(ip)
	end

	local function macBytes(str)
		local m = addr.parseMacAddress(str)
		if m == nil then
			error(("invalid MAC address %s"):format(tostring(str)), 3)
		end
		return m
	end

	local function macString(p)
		return format("%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5])
	end

	local function be32(p)
		return bor(lshift(p[0], 24), lshift(p[1], 16), lshift(p[2], 8), p[3])
	end

	local function put32(p, n)
		p[0] = band(bit.rshift(n, 24), 0xFF)
		p[1] = band(bit.rshift(n, 16), 0xFF)
		p[2] = band(bit.rshift(n, 8), 0xFF)
		p[3] = band(n, 0xFF)
	end

	-- one ARP frame into a fresh buffer of `pool`; nil when the pool is empty
	local function buildFrame(pool, slot, op, srcMac, dstMac, spa, tha, tpa)
		local L = runtime()
		if L.api.alloc_bulk(pool, slot, 1, 60) < 0 then
			return nil
		end
		local buf = slot[0]
		local d = buf:getBytes()
		ffi.fill(d, 60)
		ffi.copy(d, dstMac, 6)
		ffi.copy(d + 6, srcMac, 6)
		d[12], d[13] = 0x08, 0x06
		d[14], d[15], d[16], d[17], d[18], d[19] = 0x00, 0x01, 0x08, 0x00, 6, 4
		d[20], d[21] = 0, op
		ffi.copy(d + 22, srcMac, 6)
		put32(d + 28, spa)
		ffi.copy(d + 32, tha, 6)
		put32(d + 38, tpa)
		buf.ol_flags = 0
		return buf
	end

	local BROADCAST = ffi.new("uint8_t[6]", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)

	--- Check a received frame; returns op, data pointer (or nil for anything but IPv4 ARP).
	local function parseArp(buf)
		local len = buf.data_len
		if buf.pkt_len < len then
			len = buf.pkt_len
		end
		if len < ARP_FRAME then
			return nil
		end
		local d = buf:getBytes()
		if d[12] ~= 0x08 or d[13] ~= 0x06 or d[14] ~= 0 or d[15] ~= 1 or d[16] ~= 0x08
			or d[17] ~= 0 or d[18] ~= 6 or d[19] ~= 4 or d[20] ~= 0 then
			return nil
		end
		local op = d[21]
		if op ~= arp.OP_REQUEST and op ~= arp.OP_REPLY then
			return nil
		end
		return op, d
	end

	-- handle one received frame of `nic`; a reply (if any) goes into out (a bufArray), returns
	-- the new count of replies
	local function handleFrame(buf, nic, state, out, nOut)
		local op, d = parseArp(buf)
		if op == arp.OP_REQUEST then
			local tpa = be32(d + 38)
			if nic.ipSet[tpa] and nOut < BURST then
				local reply = buildFrame(state.pool, out.array + nOut, arp.OP_REPLY, nic.mac, d + 6,
					tpa, d + 22, be32(d + 28))
				if reply then
					nOut = nOut + 1
				end
			end
		elseif op == arp.OP_REPLY then
			-- learn from all replies we see, as MoonGen does (ARP cache poisoning included)
			local spa = be32(d + 28)
			local now = runtime().utils.time()
			state.table[tostring(spa)] = {
				state = "current", mac = macString(d + 22), timestamp = now, updateTime = now,
			}
		end
		return nOut
	end

	local function sendRequests(state, nics, ip)
		for _, nic in ipairs(nics) do
			local out = state.out
			if buildFrame(state.pool, out.array, arp.OP_REQUEST, nic.mac, BROADCAST, nic.ips[1],
				BROADCAST, ip) then
				nic.txQueue:sendN(out, 1)
			end
		end
	end

	-- walk the table: request pending entries, refresh stale ones, drop the unanswered
	local function scanTable(state, nics)
		local tbl = state.table
		local now = runtime().utils.time()
		local requests, timedOut = {}, {}
		tbl:forEach(function(key, value)
			local ip = tonumber(key)
			if type(value) ~= "table" or ip == nil then
				return
			end
			if value.state == "current" and (value.timestamp or 0) + ARP_AGING_TIME > now then
				return
			end
			if (value.state == "requested" or value.state == "refreshing")
				and (value.timestamp or 0) + ARP_RETRY_TIME > now then
				return
			end
			if (value.state == "refreshing" or value.state == "requested")
				and (value.lookupTime or 0) + ARP_AGING_TIME < now then
				timedOut[#timedOut + 1] = key
				return
			end
			if value.state == "current" then
				value.state = "refreshing"
				value.lookupTime = now
			elseif value.state == "pending" then
				value.state = "requested"
				value.lookupTime = now
			end
			value.timestamp = now
			tbl[key] = value
			requests[#requests + 1] = ip
		end)
		for _, key in ipairs(timedOut) do
			tbl[key] = nil
		end
		for _, ip in ipairs(requests) do
			sendRequests(state, nics, ip)
		end
	end

	local function normalizeNics(qs, what)
		if type(qs) ~= "table" then
			error(("%s: expected a table {rxQueue=, txQueue=, ips=} or a list of them, got %s")
				:format(what, type(qs)), 3)
		end
		if qs[1] == nil and qs.txQueue then
			return { qs, gratArpInterval = qs.gratArpInterval }
		end
		return qs
	end

	local function setUpNics(qs, what, pipes)
		local nics = {}
		for i, nic in ipairs(qs) do
			if type(nic) ~= "table" or nic.txQueue == nil then
				error(("%s: NIC %d has no txQueue"):format(what, i), 0)
			end
			if nic.rxQueue and nic.txQueue.id ~= nic.rxQueue.id then
				error("both queues must belong to the same device", 0)
			end
			local ipList = type(nic.ips) == "string" and { nic.ips } or nic.ips
			if type(ipList) ~= "table" or ipList[1] == nil then
				error(("%s: NIC %d has no ips (a string or a list of strings)"):format(what, i), 0)
			end
			local ips, ipSet = {}, {}
			for j, ip in ipairs(ipList) do
				local n = ip4Number(ip)
				if n == nil then
					error(("%s: NIC %d: invalid IPv4 address %s"):format(what, i, tostring(ip)), 0)
				end
				ips[j] = n
				ipSet[n] = true
			end
			-- a pipe per NIC for arp.handlePacket; a restarted task keeps the old one
			local p = pipes[tostring(i)]
			if p == nil then
				p = runtime().pipe:newFastPipe()
				pipes[tostring(i)] = p
			end
			nics[i] = {
				rxQueue = nic.rxQueue, txQueue = nic.txQueue, ips = ips, ipSet = ipSet,
				mac = macBytes(nic.txQueue.dev.macString), pipe = p,
			}
		end
		if #nics == 0 then
			error(what .. ": no NIC given", 0)
		end
		return nics
	end

	local function arpTask(qs)
		local L = runtime()
		qs = normalizeNics(qs, "ARP task")
		local tbl = arpTable()
		local nics = setUpNics(qs, "ARP task", arpPipes())
		for _, nic in ipairs(nics) do
			if nic.rxQueue then
				nic.txQueue.dev:l2Filter(0x0806, nic.rxQueue)
			end
		end
		local state = {
			table = tbl,
			pool = L.memory.createMemPool { n = 511 },
			out = L.memory.bufArray(BURST),
		}
		local rxBufs = L.memory.bufArray(BURST)
		local lm, usleep = L.libmoon, L.api.usleep
		local mbufPtr = ffi.typeof("struct rte_mbuf *")
		local gratInterval = tonumber(qs.gratArpInterval)
		local nextGrat, nextScan = 0, 0
		tbl.taskRunning = true
		while lm.running() do
			local now = L.utils.getMonotonicTime()
			if now >= nextGrat then
				-- gratuitous ARP: once at start, then every gratArpInterval seconds
				nextGrat = gratInterval and gratInterval > 0 and now + gratInterval or math.huge
				for _, nic in ipairs(nics) do
					if buildFrame(state.pool, state.out.array, arp.OP_REQUEST, nic.mac, BROADCAST,
						nic.ips[1], BROADCAST, nic.ips[1]) then
						nic.txQueue:sendN(state.out, 1)
					end
				end
			end
			local busy = false
			for _, nic in ipairs(nics) do
				local nOut = 0
				if nic.rxQueue then
					local rx = nic.rxQueue:tryRecv(rxBufs, 0)
					for i = 0, rx - 1 do
						nOut = handleFrame(rxBufs.array[i], nic, state, state.out, nOut)
					end
					if rx > 0 then
						rxBufs:free(rx)
						busy = true
					end
				end
				for _ = 1, BURST do
					local p = nic.pipe:tryRecv(0)
					if p == nil then
						break
					end
					local buf = ffi.cast(mbufPtr, p)
					nOut = handleFrame(buf, nic, state, state.out, nOut)
					buf:free()
					busy = true
				end
				if nOut > 0 then
					nic.txQueue:sendN(state.out, nOut)
				end
			end
			if now >= nextScan then
				nextScan = now + SCAN_INTERVAL
				if tbl.stopTask then
					break
				end
				scanTable(state, nics)
			end
			if not busy then
				usleep(100)
			end
		end
		tbl.taskRunning = nil
	end

	__MG_ARP_TASK = arpTask -- luacheck: ignore (MoonGen's global task entry point)

	--- Start the ARP task on a shared core.
	--- @param queues {rxQueue=, txQueue=, ips="ip" | {"ip", ...}} or a list of them, plus an optional
	---   gratArpInterval (seconds); without rxQueue, frames come through arp.handlePacket()
	function arp.startArpTask(queues)
		local L = runtime()
		normalizeNics(queues, "arp.startArpTask")
		arpTable().stopTask = nil
		return L.libmoon.startSharedTask(arp.arpTask, queues)
	end

	function arp.stopArpTask()
		arpTable().stopTask = true
	end

	local handlerPipes = {} -- nic index -> fast pipe, cached per VM (the task keeps its pipes)

	--- Pass a received buffer to the ARP task, which frees it.
	--- @param nic index of the NIC in the list given to startArpTask (default 1)
	function arp.handlePacket(buf, nic)
		nic = nic or 1
		local p = handlerPipes[nic]
		if not p then
			p = arpPipes()[tostring(nic)]
			if not p then
				runtime().log:fatal("NIC %s not found", tostring(nic))
			end
			handlerPipes[nic] = p
		end
		if not p:send(buf) then
			buf:free() -- the run stopped while the task's pipe was full
		end
	end

	local function waitForTask(tbl)
		if tbl.taskRunning then
			return
		end
		local lm = runtime().libmoon
		for _ = 1, 10 do
			lm.sleepMillisIdle(100)
			if tbl.taskRunning then
				return
			end
		end
		error("ARP task is not running", 3)
	end

	--- Non-blocking lookup: the MAC (lower case) and when it was learned, or nil after queueing
	--- a request. Waits up to 1 s for the task to start. Not for the fast path (namespaces).
	function arp.lookup(ip)
		local n = ip4Number(ip)
		if n == nil then
			error(("arp.lookup: not an IPv4 address: %s"):format(tostring(ip)), 2)
		end
		local tbl = arpTable()
		waitForTask(tbl)
		local key = tostring(n)
		local entry = tbl[key]
		if type(entry) == "table" then
			return entry.mac, entry.updateTime
		end
		tbl.lock(function()
			if not tbl[key] then
				tbl[key] = { state = "pending", timestamp = runtime().utils.time() }
			end
		end)
		return nil
	end

	--- Lookup that waits up to `timeout` seconds for an answer (polls every 100 ms).
	function arp.blockingLookup(ip, timeout)
		local lm = runtime().libmoon
		local deadline = lm.getTime() + (tonumber(timeout) or 0)
		repeat
			local mac, ts = arp.lookup(ip)
			if mac then
				return mac, ts
			end
			lm.sleepMillisIdle(100)
		until lm.getTime() >= deadline or not lm.running()
		return nil
	end

	function arp.waitForStartup()
		local tbl = arpTable()
		local lm = runtime().libmoon
		while not tbl.taskRunning and lm.running() do
			lm.sleepMillisIdle(1)
		end
	end

	-- shared with proto.icmp / proto.lacp (same checks of task arguments)
	arp.__moonpyNics = { normalize = normalizeNics, ip4Number = ip4Number, macBytes = macBytes }
end
