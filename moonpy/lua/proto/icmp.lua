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

-- the responder task lives elsewhere (added by the runtime); until then these say so
function icmp.startIcmpTask()
	error("proto.icmp: ICMP task not available yet", 2)
end

function icmp.handlePacket()
	error("proto.icmp: ICMP task not available yet", 2)
end

return icmp, icmp6
