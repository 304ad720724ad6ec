-- proto.tcp: TCP header (member `tcp`); variable-length `options`.

local ffi = require "ffi"
local bit = require "bit"
local template = require "proto.template"
local offload = require "moonpy.offload"

local band, bor, bnot, lshift, rshift, bswap = bit.band, bit.bor, bit.bnot, bit.lshift, bit.rshift,
	bit.bswap
local cast, format, type = ffi.cast, string.format, type

local u8p = ffi.typeof("uint8_t*")

local function hton16(n)
	return rshift(bswap(n), 16)
end

local function ntohu32(n)
	return bswap(n) % 4294967296
end

local tcp = {}

tcp.headerFormat = [[
	uint16_t src;
	uint16_t dst;
	uint32_t seq;
	uint32_t ack;
	uint8_t  offset;
	uint8_t  flags;
	uint16_t window;
	uint16_t cs;
	uint16_t urg;
	uint8_t  options[];
]]
tcp.headerVariableMember = "options"

tcp.option = {
	err = -1,
	eol = 0,
	nop = 1,
	mss = 2,
	ws = 3,
	ts = 8,
}
for name, code in pairs(tcp.option) do
	tcp.option[code] = name
end

local tcpHeader = template.initHeader()

function tcpHeader:setSrcPort(port)
	self.src = hton16(port or 1025)
end

function tcpHeader:getSrcPort()
	return hton16(self.src)
end

function tcpHeader:getSrcPortString()
	return self:getSrcPort()
end

function tcpHeader:setDstPort(port)
	self.dst = hton16(port or 1024)
end

function tcpHeader:getDstPort()
	return hton16(self.dst)
end

function tcpHeader:getDstPortString()
	return self:getDstPort()
end

tcpHeader.setSrc = tcpHeader.setSrcPort
tcpHeader.getSrc = tcpHeader.getSrcPort
tcpHeader.getSrcString = tcpHeader.getSrcPortString
tcpHeader.setDst = tcpHeader.setDstPort
tcpHeader.getDst = tcpHeader.getDstPort
tcpHeader.getDstString = tcpHeader.getDstPortString

function tcpHeader:setSeqNumber(n)
	self.seq = bswap(n or 0)
end

--- unsigned
function tcpHeader:getSeqNumber()
	return ntohu32(self.seq)
end

function tcpHeader:getSeqNumberString()
	return tostring(self:getSeqNumber())
end

function tcpHeader:setAckNumber(n)
	self.ack = bswap(n or 0)
end

function tcpHeader:getAckNumber()
	return ntohu32(self.ack)
end

function tcpHeader:getAckNumberString()
	return tostring(self:getAckNumber())
end

--- data offset in 32-bit words (high nibble of `offset`)
function tcpHeader:setDataOffset(n)
	n = n or 5
	self.offset = bor(band(self.offset, 0x0F), band(lshift(n, 4), 0xF0))
end

function tcpHeader:getDataOffset()
	return rshift(self.offset, 4)
end

function tcpHeader:getDataOffsetString()
	return format("0x%01x", self:getDataOffset())
end

--- 6 reserved bits: the low nibble of `offset` and the two high bits of `flags`
function tcpHeader:setReserved(n)
	n = n or 0
	self.offset = bor(band(self.offset, 0xF0), band(rshift(n, 2), 0x0F))
	self.flags = bor(band(self.flags, 0x3F), band(lshift(n, 6), 0xC0))
end

function tcpHeader:getReserved()
	return bor(lshift(band(self.offset, 0x0F), 2), rshift(self.flags, 6))
end

function tcpHeader:getReservedString()
	return format("0x%02x", self:getReserved())
end

--- the 6 flag bits URG ACK PSH RST SYN FIN
function tcpHeader:setFlags(n)
	self.flags = bor(band(self.flags, 0xC0), band(n or 0, 0x3F))
end

function tcpHeader:getFlags()
	return band(self.flags, 0x3F)
end

function tcpHeader:getFlagsString()
	return format("0x%02x", self:getFlags())
end

local flagBits = {
	{ "Urg", 0x20, "URG" },
	{ "Ack", 0x10, "ACK" },
	{ "Psh", 0x08, "PSH" },
	{ "Rst", 0x04, "RST" },
	{ "Syn", 0x02, "SYN" },
	{ "Fin", 0x01, "FIN" },
}
for _, f in ipairs(flagBits) do
	local name, mask, label = f[1], f[2], f[3]
	local clear = band(bnot(mask), 0xFF)
	tcpHeader["set" .. name] = function(self)
		self.flags = bor(self.flags, mask)
	end
	tcpHeader["unset" .. name] = function(self)
		self.flags = band(self.flags, clear)
	end
	tcpHeader["get" .. name] = function(self)
		return band(self.flags, mask) ~= 0
	end
	tcpHeader["get" .. name .. "String"] = function(self)
		return band(self.flags, mask) ~= 0 and label or "-"
	end
end

function tcpHeader:setWindow(n)
	self.window = hton16(n or 29200)
end

function tcpHeader:getWindow()
	return hton16(self.window)
end

function tcpHeader:getWindowString()
	return self:getWindow()
end

function tcpHeader:setChecksum(n)
	self.cs = hton16(n or 0)
end

function tcpHeader:getChecksum()
	return hton16(self.cs)
end

function tcpHeader:getChecksumString()
	return format("0x%04x", self:getChecksum())
end

--- Software checksum incl. pseudo header.
--- @param data start of the frame (Ethernet header, 14 bytes, then IPv4/IPv6 then this header)
--- @param len frame length in bytes
--- @param ipv4 true for IPv4 (20-byte header), otherwise IPv6 (40 bytes)
function tcpHeader:calculateChecksum(data, len, ipv4)
	if data == nil or len == nil then
		error("tcp:calculateChecksum(data, len, ipv4): data and len are required", 2)
	end
	local frame = cast(u8p, data)
	local l3Len = ipv4 and 20 or 40
	local segment = len - 14 - l3Len
	local pseudo
	if ipv4 then
		pseudo = offload.ipv4PseudoSum(frame + 14, 20)
	else
		pseudo = offload.ipv6PseudoSum(frame + 14)
	end
	self.cs = 0
	local sum = template.fold16(pseudo + template.sum16(self, segment))
	self.cs = band(bnot(sum), 0xFFFF)
end

function tcpHeader:setUrgentPointer(n)
	self.urg = hton16(n or 0)
end

function tcpHeader:getUrgentPointer()
	return hton16(self.urg)
end

function tcpHeader:getUrgentPointerString()
	return self:getUrgentPointer()
end

---------------------------------------------------------------------------------------------------
-- options
---------------------------------------------------------------------------------------------------

--- Parse the options area into a list of { type=, offset=, byte={...} } (error entries have
--- type -1 and a message in `error`).
-- the lengths MSS, window scale and timestamp options must have
local OPTION_LENGTHS = { [2] = 4, [3] = 3, [8] = 10 }

function tcpHeader:getOptions(offset, len)
	offset = offset or 0
	len = len or self:getVariableLength()
	local opts = self.options
	local result = {}
	local start, stop = offset, offset + len
	while offset < stop do
		local code = opts[offset]
		local entry = { type = code, offset = offset }
		result[#result + 1] = entry
		if code == tcp.option.eol then
			if offset < stop - 1 then
				result[#result + 1] = { type = tcp.option.err, offset = offset,
					error = "missing " .. ((start + len - 1) - offset) .. "b" }
			end
			break
		elseif code == tcp.option.nop then
			offset = offset + 1
		else
			-- received options are hostile: a length that is missing, too short, past the
			-- header, or wrong for a known kind makes an error entry and ends the walk
			local optLen = offset + 1 < stop and opts[offset + 1] or 0
			local want = OPTION_LENGTHS[code]
			if optLen < 2 or offset + optLen > stop or (want and optLen ~= want) then
				entry.type = tcp.option.err
				entry.error = format("bad option %d length %d", code, optLen)
				break
			end
			local bytes = {}
			for i = 1, optLen - 2 do
				bytes[i] = opts[offset + 1 + i]
			end
			entry.byte = bytes
			offset = offset + optLen
		end
	end
	return result
end

-- an option argument is either a byte offset into `options` or an entry of getOptions()
local function optionBytes(self, opt, count)
	if type(opt) == "number" then
		local bytes = {}
		for i = 1, count do
			bytes[i] = self.options[opt + 1 + i]
		end
		return bytes
	end
	return opt.byte
end

function tcpHeader:setNopOption(offset)
	self.options[offset] = tcp.option.nop
	return offset + 1
end

function tcpHeader:setEolOption(offset)
	self.options[offset] = tcp.option.eol
	return offset + 1
end

--- pad the options area with NOPs and a final EOL, starting at offset
function tcpHeader:fillOptions(offset)
	offset = offset or 0
	local last = self:getVariableLength()
	while offset < last - 1 do
		offset = self:setNopOption(offset)
	end
	if offset == last - 1 then
		offset = self:setEolOption(offset)
	end
	return offset
end

function tcpHeader:setWSOption(offset, value)
	local o = self.options
	o[offset], o[offset + 1], o[offset + 2] = tcp.option.ws, 3, value
	return offset + 3
end

function tcpHeader:getWSOption(opt)
	return optionBytes(self, opt, 1)[1]
end

function tcpHeader:getWSOptionString(opt)
	local v = self:getWSOption(opt)
	return "WS " .. v .. " (x" .. 2 ^ v .. ")"
end

function tcpHeader:setMssOption(offset, value)
	local o = self.options
	o[offset], o[offset + 1] = tcp.option.mss, 4
	o[offset + 2], o[offset + 3] = band(rshift(value, 8), 0xFF), band(value, 0xFF)
	return offset + 4
end

function tcpHeader:getMssOption(opt)
	local b = optionBytes(self, opt, 2)
	return b[1] * 256 + b[2]
end

function tcpHeader:getMssOptionString(opt)
	return "MSS " .. self:getMssOption(opt)
end

function tcpHeader:setTSOption(offset, tsval, tsecr)
	local o = self.options
	o[offset], o[offset + 1] = tcp.option.ts, 10
	for i = 0, 3 do
		o[offset + 2 + i] = band(rshift(tsval, 24 - 8 * i), 0xFF)
		o[offset + 6 + i] = band(rshift(tsecr, 24 - 8 * i), 0xFF)
	end
	return offset + 10
end

function tcpHeader:getTSOption(opt)
	local b = optionBytes(self, opt, 8)
	return {
		tsval = ((b[1] * 256 + b[2]) * 256 + b[3]) * 256 + b[4],
		tsecr = ((b[5] * 256 + b[6]) * 256 + b[7]) * 256 + b[8],
	}
end

function tcpHeader:getTSOptionString(opt)
	local ts = self:getTSOption(opt)
	return "TSval " .. ts.tsval .. " TSecr " .. ts.tsecr
end

function tcpHeader:getOptionsString()
	local parts = {}
	for _, opt in ipairs(self:getOptions()) do
		local t = opt.type
		local s
		if t == tcp.option.err then
			s = opt.error
		elseif t == tcp.option.eol or t == tcp.option.nop then
			s = tcp.option[t]
		elseif t == tcp.option.ws then
			s = self:getWSOptionString(opt)
		elseif t == tcp.option.mss then
			s = self:getMssOptionString(opt)
		elseif t == tcp.option.ts then
			s = self:getTSOptionString(opt)
		else
			local hex = {}
			for i, b in ipairs(opt.byte or {}) do
				hex[i] = format("%02x", b)
			end
			s = tostring(tcp.option[t] or t) .. " 0x" .. table.concat(hex)
		end
		parts[#parts + 1] = s
	end
	return table.concat(parts, ",")
end

---------------------------------------------------------------------------------------------------
-- header-wide functions
---------------------------------------------------------------------------------------------------

local function truthy(v)
	return v and v ~= 0
end

function tcpHeader:fill(args, pre)
	args = args or {}
	pre = pre or "tcp"
	self:setSrcPort(args[pre .. "Src"])
	self:setDstPort(args[pre .. "Dst"])
	self:setSeqNumber(args[pre .. "SeqNumber"])
	self:setAckNumber(args[pre .. "AckNumber"])
	self:setDataOffset(args[pre .. "DataOffset"])
	self:setReserved(args[pre .. "Reserved"])
	self:setFlags(args[pre .. "Flags"])
	for _, f in ipairs(flagBits) do
		if truthy(args[pre .. f[1]]) then
			self.flags = bor(self.flags, f[2])
		end
	end
	self:setWindow(args[pre .. "Window"])
	self:setChecksum(args[pre .. "Checksum"])
	self:setUrgentPointer(args[pre .. "UrgentPointer"])
end

function tcpHeader:get(pre)
	pre = pre or "tcp"
	local args = {
		[pre .. "Src"] = self:getSrcPort(),
		[pre .. "Dst"] = self:getDstPort(),
		[pre .. "SeqNumber"] = self:getSeqNumber(),
		[pre .. "AckNumber"] = self:getAckNumber(),
		[pre .. "DataOffset"] = self:getDataOffset(),
		[pre .. "Reserved"] = self:getReserved(),
		[pre .. "Flags"] = self:getFlags(),
		[pre .. "Window"] = self:getWindow(),
		[pre .. "Checksum"] = self:getChecksum(),
		[pre .. "UrgentPointer"] = self:getUrgentPointer(),
	}
	for _, f in ipairs(flagBits) do
		args[pre .. f[1]] = band(self.flags, f[2]) ~= 0
	end
	return args
end

function tcpHeader:getString()
	return "TCP " .. self:getSrcPort() .. " > " .. self:getDstPort()
		.. " seq# " .. self:getSeqNumberString() .. " ack# " .. self:getAckNumberString()
		.. " offset " .. self:getDataOffsetString() .. " reserved " .. self:getReservedString()
		.. " flags " .. self:getFlagsString()
		.. " [" .. self:getUrgString() .. "|" .. self:getAckString() .. "|" .. self:getPshString()
		.. "|" .. self:getRstString() .. "|" .. self:getSynString() .. "|" .. self:getFinString()
		.. "] win " .. self:getWindow() .. " cksum " .. self:getChecksumString()
		.. " urg " .. self:getUrgentPointer() .. " [" .. self:getOptionsString() .. "]"
end

function tcpHeader:setDefaultNamedArgs(pre, namedArgs, nextHeader, accumulatedLength, headerLength)
	if not namedArgs[pre .. "DataOffset"] then
		namedArgs[pre .. "DataOffset"] = headerLength / 4
	end
	return namedArgs
end

--- option bytes implied by the data offset (never negative)
function tcpHeader:getVariableLength()
	local n = (self:getDataOffset() - 5) * 4
	if n <= 0 then
		return 0
	end
	return n
end

tcp.metatype = tcpHeader

return tcp
