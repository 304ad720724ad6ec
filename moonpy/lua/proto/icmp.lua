-- proto.icmp: ICMP header (member `icmp`; the same header is used for ICMPv6).
-- Returns two values: icmp and icmp6 (the ICMPv6 constants).

local ffi = require "ffi"
local bit = require "bit"
local template = require "proto.template"

local band, bnot, rshift, bswap = bit.band, bit.bnot, bit.rshift, bit.bswap
local format = string.format

local function hton16(n)
	return rshift(bswap(n), 16)
end

local icmp = {}

icmp.ECHO_REPLY                = { type = 0, code = 0 }
icmp.ECHO_REQUEST              = { type = 8, code = 0 }
icmp.DST_UNR_PORT_UNR          = { type = 3, code = 3 }
icmp.TIME_EXCEEDED_TTL_EXPIRED = { type = 11, code = 0 }

local icmp6 = {}

icmp6.ECHO_REQUEST = { type = 128, code = 0 }
icmp6.ECHO_REPLY   = { type = 129, code = 0 }

icmp.icmp6 = icmp6

-- `body` is a flexible uint8_t array, as in MoonGen
icmp.headerFormat = [[
	uint8_t  type;
	uint8_t  code;
	uint16_t cs;
	uint8_t  body[];
]]
icmp.headerVariableMember = "body"

local typeLabels = {
	[icmp.ECHO_REPLY.type] = "echo reply",
	[icmp.ECHO_REQUEST.type] = "echo request",
	[icmp.DST_UNR_PORT_UNR.type] = "dst. unr.",
	[icmp.TIME_EXCEEDED_TTL_EXPIRED.type] = "time exceeded",
}

local icmpHeader = template.initHeader()

function icmpHeader:setType(t)
	self.type = t or icmp.ECHO_REQUEST.type
end

function icmpHeader:getType()
	return self.type
end

function icmpHeader:getTypeString()
	local t = self.type
	return format("%s (%s)", t, typeLabels[t] or "unknown")
end

function icmpHeader:setCode(c)
	self.code = c or icmp.ECHO_REQUEST.code
end

function icmpHeader:getCode()
	return self.code
end

function icmpHeader:getCodeString()
	local t, c = self.type, self.code
	local label = "unknown"
	if t == icmp.ECHO_REPLY.type or t == icmp.ECHO_REQUEST.type then
		label = c == 0 and "correct" or "wrong"
	elseif t == icmp.DST_UNR_PORT_UNR.type and c == icmp.DST_UNR_PORT_UNR.code then
		label = "port unr."
	elseif t == icmp.TIME_EXCEEDED_TTL_EXPIRED.type and c == icmp.TIME_EXCEEDED_TTL_EXPIRED.code then
		label = "ttl expired"
	end
	return format("%s (%s)", c, label)
end

function icmpHeader:setChecksum(n)
	self.cs = hton16(n or 0)
end

function icmpHeader:getChecksum()
	return hton16(self.cs)
end

function icmpHeader:getChecksumString()
	return format("0x%04x", self:getChecksum())
end

--- Software checksum over `len` bytes starting at this header (default: the header struct
--- size, i.e. 4 bytes without body, as in MoonGen; pass the ICMP message length).
function icmpHeader:calculateChecksum(len)
	len = len or ffi.sizeof(self)
	self.cs = 0
	self.cs = band(bnot(template.fold16(template.sum16(self, len))), 0xFFFF)
end

--- no-op, as in MoonGen (write self.body[i] directly)
function icmpHeader:setMessageBody()
end

function icmpHeader:getMessageBody()
	return 0
end

function icmpHeader:getMessageBodyString()
	return "<some data>"
end

function icmpHeader:fill(args, pre)
	args = args or {}
	pre = pre or "icmp"
	self:setType(args[pre .. "Type"])
	self:setCode(args[pre .. "Code"])
	self:setChecksum(args[pre .. "Checksum"])
	self:setMessageBody(args[pre .. "MessageBody"])
end

function icmpHeader:get(pre)
	pre = pre or "icmp"
	return {
		[pre .. "Type"] = self:getType(),
		[pre .. "Code"] = self:getCode(),
		[pre .. "Checksum"] = self:getChecksum(),
		[pre .. "MessageBody"] = self:getMessageBody(),
	}
end

function icmpHeader:getString()
	return "ICMP type " .. self:getTypeString() .. " code " .. self:getCodeString()
		.. " cksum " .. self:getChecksumString() .. " body " .. self:getMessageBodyString() .. " "
end

icmp.metatype = icmpHeader

---------------------------------------------------------------------------------------------------
-- ICMP echo responder task (moongen-api.md §2.16): answers echo requests to its IPs, computing
-- the IPv4 and ICMP checksums in software. Received frames are untrusted: lengths and fields
-- are checked before anything is read or written.
---------------------------------------------------------------------------------------------------

local bor, lshift = bit.bor, bit.lshift
local BURST = 32

local lib = {}
local function runtime()
	if not lib.libmoon then
		if not rawget(_G, "MOONPY_HOST") then
			error("the ICMP task needs the moonpy runtime (run the script with moonpy)", 3)
		end
		lib.libmoon = require "libmoon"
		lib.memory = require "memory"
		lib.ns = require "namespaces"
		lib.log = require "log"
		lib.api = require "moonpy.api"
		lib.nics = require("proto.arp").__moonpyNics
		require "filter"
	end
	return lib
end

local function icmpPipes()
	return runtime().ns:get("__LM_ICMP_PIPES")
end

-- ones' complement sum of `len` bytes at p (big-endian words; an odd last byte is padded)
local function csum(p, len)
	local sum = 0
	local i = 0
	while i + 1 < len do
		sum = sum + p[i] * 256 + p[i + 1]
		i = i + 2
	end
	if i < len then
		sum = sum + p[i] * 256
	end
	while sum > 0xFFFF do
		sum = band(sum, 0xFFFF) + rshift(sum, 16)
	end
	return band(bnot(sum), 0xFFFF)
end

-- Turn an echo request for one of `nic`'s IPs into the reply in place; false for anything else.
local function makeReply(buf, nic)
	local len = buf.data_len
	if buf.pkt_len < len then
		len = buf.pkt_len
	end
	if len < 14 + 20 + 8 then
		return false
	end
	local d = buf:getBytes()
	if d[12] ~= 0x08 or d[13] ~= 0x00 then
		return false
	end
	local ip = d + 14
	local ihl = band(ip[0], 0x0F) * 4
	if rshift(ip[0], 4) ~= 4 or ihl < 20 then
		return false
	end
	local total = ip[2] * 256 + ip[3]
	if total < ihl + 8 or 14 + total > len then
		return false -- shorter than its headers, or truncated
	end
	if ip[9] ~= 1 or band(ip[6], 0x3F) ~= 0 or ip[7] ~= 0 then
		return false -- not ICMP, or a fragment (MF set or an offset)
	end
	local dst = bor(lshift(ip[16], 24), lshift(ip[17], 16), lshift(ip[18], 8), ip[19])
	if not nic.ipSet[dst] then
		return false
	end
	local msg = ip + ihl
	if msg[0] ~= icmp.ECHO_REQUEST.type or msg[1] ~= 0 then
		return false
	end
	-- Ethernet: back to the sender (the path is assumed symmetric, as in libmoon)
	ffi.copy(d, d + 6, 6)
	ffi.copy(d + 6, nic.mac, 6)
	-- IPv4: swap the addresses, fresh TTL and checksum
	for i = 0, 3 do
		ip[12 + i], ip[16 + i] = ip[16 + i], ip[12 + i]
	end
	ip[8] = 64
	ip[10], ip[11] = 0, 0
	local c = csum(ip, ihl)
	ip[10], ip[11] = rshift(c, 8), band(c, 0xFF)
	-- ICMP: echo reply over the whole message
	msg[0] = icmp.ECHO_REPLY.type
	msg[2], msg[3] = 0, 0
	c = csum(msg, total - ihl)
	msg[2], msg[3] = rshift(c, 8), band(c, 0xFF)
	buf.pkt_len = 14 + total
	buf.data_len = 14 + total
	buf.ol_flags = 0
	return true
end

local function icmpTask(queues)
	local L = runtime()
	queues = L.nics.normalize(queues, "ICMP task")
	local pipes = icmpPipes()
	local nics = {}
	for i, nic in ipairs(queues) do
		if type(nic) ~= "table" or nic.txQueue == nil then
			error(("ICMP task: NIC %d has no txQueue"):format(i), 0)
		end
		if nic.rxQueue and nic.txQueue.id ~= nic.rxQueue.id then
			error("both queues must belong to the same device", 0)
		end
		local ipList = type(nic.ips) == "string" and { nic.ips } or nic.ips
		if type(ipList) ~= "table" or ipList[1] == nil then
			error(("ICMP task: NIC %d has no ips (a string or a list of strings)"):format(i), 0)
		end
		local ipSet = {}
		for _, s in ipairs(ipList) do
			local n = L.nics.ip4Number(s)
			if n == nil then
				error(("ICMP task: NIC %d: invalid IPv4 address %s"):format(i, tostring(s)), 0)
			end
			ipSet[n] = true
			if nic.rxQueue then
				local ok = nic.rxQueue.dev:fiveTupleFilter({ dstIp = s, proto = 1 }, nic.rxQueue)
				if not ok then
					break
				end
			end
		end
		local p = pipes[tostring(i)]
		if p == nil then
			p = require("pipe"):newFastPipe()
			pipes[tostring(i)] = p
		end
		nics[i] = {
			rxQueue = nic.rxQueue, txQueue = nic.txQueue, ipSet = ipSet, pipe = p,
			mac = L.nics.macBytes(nic.txQueue.dev.macString),
		}
	end
	if #nics == 0 then
		error("ICMP task: no NIC given", 0)
	end
	local rxBufs = L.memory.bufArray(BURST)
	local out = L.memory.bufArray(BURST)
	local lm, usleep, freeOne = L.libmoon, L.api.usleep, L.api.free_one
	local mbufPtr = ffi.typeof("struct rte_mbuf *")
	while lm.running() do
		local busy = false
		for _, nic in ipairs(nics) do
			local nOut = 0
			if nic.rxQueue then
				local rx = nic.rxQueue:tryRecv(rxBufs, 0)
				for i = 0, rx - 1 do
					local buf = rxBufs.array[i]
					if makeReply(buf, nic) then
						out.array[nOut] = buf
						nOut = nOut + 1
					else
						freeOne(buf)
					end
				end
				busy = busy or rx > 0
			end
			while nOut < BURST do
				local p = nic.pipe:tryRecv(0)
				if p == nil then
					break
				end
				local buf = ffi.cast(mbufPtr, p)
				if makeReply(buf, nic) then
					out.array[nOut] = buf
					nOut = nOut + 1
				else
					freeOne(buf)
				end
				busy = true
			end
			if nOut > 0 then
				nic.txQueue:sendN(out, nOut)
			end
		end
		if not busy then
			usleep(100)
		end
	end
end

__LM_ICMP_TASK = icmpTask -- luacheck: ignore (libmoon's global task entry point)

--- Start the ICMP echo responder on a shared core.
--- @param queues {rxQueue=, txQueue=, ips="ip" | {"ip", ...}} or a list of them; without
---   rxQueue, frames come through icmp.handlePacket()
function icmp.startIcmpTask(queues)
	local L = runtime()
	L.nics.normalize(queues, "icmp.startIcmpTask")
	return L.libmoon.startSharedTask("__LM_ICMP_TASK", queues)
end

local handlerPipes = {}

--- Pass a received buffer to the ICMP task, which frees (or sends) it.
--- @param nic index of the NIC in the list given to startIcmpTask (default 1)
function icmp.handlePacket(buf, nic)
	nic = nic or 1
	local p = handlerPipes[nic]
	if not p then
		p = icmpPipes()[tostring(nic)]
		if not p then
			runtime().log:fatal("NIC %s not found", tostring(nic))
		end
		handlerPipes[nic] = p
	end
	if not p:send(buf) then
		buf:free() -- the run stopped while the task's pipe was full
	end
end

return icmp, icmp6
