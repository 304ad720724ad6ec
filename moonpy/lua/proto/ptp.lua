-- proto.ptp: PTP (IEEE 1588v2) message header (member `ptp`), 34 bytes.

local bit = require "bit"
local template = require "proto.template"

local band, rshift, bswap = bit.band, bit.rshift, bit.bswap
local format = string.format

local function hton16(n)
	return rshift(bswap(n), 16)
end

local function ntohu32(n)
	return bswap(n) % 4294967296
end

local ptp = {}

ptp.TYPE_SYNC = 0
ptp.TYPE_DELAY_REQ = 1
ptp.TYPE_FOLLOW_UP = 8
ptp.TYPE_DELAY_RESP = 9

ptp.CONTROL_SYNC = 0
ptp.CONTROL_DELAY_REQ = 1
ptp.CONTROL_FOLLOW_UP = 2
ptp.CONTROL_DELAY_RESP = 3

ptp.headerFormat = [[
	uint8_t  messageType;
	uint8_t  versionPTP;
	uint16_t len;
	uint8_t  domain;
	uint8_t  reserved;
	uint16_t flags;
	uint32_t correction[2];
	uint32_t reserved2;
	uint8_t  oui[3];
	uint8_t  uuid[5];
	uint16_t ptpNodePort;
	uint16_t sequenceId;
	uint8_t  control;
	uint8_t  logMessageInterval;
]]
ptp.headerVariableMember = nil

local typeLabels = {
	[ptp.TYPE_SYNC] = "(sync)",
	[ptp.TYPE_DELAY_REQ] = "(delay req)",
	[ptp.TYPE_FOLLOW_UP] = "(follow up)",
	[ptp.TYPE_DELAY_RESP] = "(delay resp)",
}
local controlLabels = {
	[ptp.CONTROL_SYNC] = "(sync)",
	[ptp.CONTROL_DELAY_REQ] = "(delay req)",
	[ptp.CONTROL_FOLLOW_UP] = "(follow up)",
	[ptp.CONTROL_DELAY_RESP] = "(delay resp)",
}

local ptpHeader = template.initHeader()

function ptpHeader:setMessageType(t)
	self.messageType = t or ptp.TYPE_SYNC
end

function ptpHeader:getMessageType()
	return self.messageType
end

function ptpHeader:getMessageTypeString()
	local t = self.messageType
	return format("0x%02x %s", t, typeLabels[t] or "(unknown)")
end

function ptpHeader:setVersion(v)
	self.versionPTP = v or 2
end

function ptpHeader:getVersion()
	return self.versionPTP
end

function ptpHeader:getVersionString()
	return self.versionPTP
end

--- message length; 44 by default (34-byte header + 10-byte body)
function ptpHeader:setLength(n)
	self.len = hton16(n or 44)
end

function ptpHeader:getLength()
	return hton16(self.len)
end

function ptpHeader:getLengthString()
	return self:getLength()
end

function ptpHeader:setDomain(d)
	self.domain = d or 0
end

function ptpHeader:getDomain()
	return self.domain
end

function ptpHeader:getDomainString()
	return self.domain
end

function ptpHeader:setReserved(v)
	self.reserved = v or 0
end

function ptpHeader:getReserved()
	return self.reserved
end

function ptpHeader:getReservedString()
	return format("0x%02x", self.reserved)
end

function ptpHeader:setFlags(f)
	self.flags = hton16(f or 0)
end

function ptpHeader:getFlags()
	return hton16(self.flags)
end

function ptpHeader:getFlagsString()
	return format("0x%04x", self:getFlags())
end

--- correction as { high = <upper 32 bit>, low = <lower 32 bit> }
function ptpHeader:setCorrection(c)
	c = c or { high = 0, low = 0 }
	self.correction[0] = bswap(c.high or 0)
	self.correction[1] = bswap(c.low or 0)
end

function ptpHeader:getCorrection()
	return { high = ntohu32(self.correction[0]), low = ntohu32(self.correction[1]) }
end

function ptpHeader:getCorrectionString()
	local c = self:getCorrection()
	return format("0x%08x%08x", c.high, c.low)
end

function ptpHeader:setReserved2(v)
	self.reserved2 = bswap(v or 0)
end

function ptpHeader:getReserved2()
	return ntohu32(self.reserved2)
end

function ptpHeader:getReserved2String()
	return format("0x%08x", self:getReserved2())
end

--- 24-bit OUI, most significant byte first on the wire
function ptpHeader:setOui(v)
	v = v or 0
	self.oui[0] = band(rshift(v, 16), 0xFF)
	self.oui[1] = band(rshift(v, 8), 0xFF)
	self.oui[2] = band(v, 0xFF)
end

function ptpHeader:getOui()
	return (self.oui[0] * 256 + self.oui[1]) * 256 + self.oui[2]
end

function ptpHeader:getOuiString()
	return format("0x%06x", self:getOui())
end

--- 40-bit UUID as { high = <top 8 bit>, low = <lower 32 bit> }
function ptpHeader:setUuid(u)
	u = u or { high = 0, low = 0 }
	local low = u.low or 0
	self.uuid[0] = band(u.high or 0, 0xFF)
	self.uuid[1] = band(rshift(low, 24), 0xFF)
	self.uuid[2] = band(rshift(low, 16), 0xFF)
	self.uuid[3] = band(rshift(low, 8), 0xFF)
	self.uuid[4] = band(low, 0xFF)
end

function ptpHeader:getUuid()
	local u = self.uuid
	return { high = u[0], low = ((u[1] * 256 + u[2]) * 256 + u[3]) * 256 + u[4] }
end

function ptpHeader:getUuidString()
	local u = self:getUuid()
	return format("0x%02x%08x", u.high, u.low)
end

function ptpHeader:setNodePort(p)
	self.ptpNodePort = hton16(p or 1)
end

function ptpHeader:getNodePort()
	return hton16(self.ptpNodePort)
end

function ptpHeader:getNodePortString()
	return self:getNodePort()
end

function ptpHeader:setSequenceID(s)
	self.sequenceId = hton16(s or 0)
end

function ptpHeader:getSequenceID()
	return hton16(self.sequenceId)
end

function ptpHeader:getSequenceIDString()
	return self:getSequenceID()
end

function ptpHeader:setControl(c)
	self.control = c or ptp.CONTROL_SYNC
end

function ptpHeader:getControl()
	return self.control
end

function ptpHeader:getControlString()
	local c = self.control
	return format("0x%02x %s", c, controlLabels[c] or "(unknown)")
end

function ptpHeader:setLogMessageInterval(v)
	self.logMessageInterval = v or 0x7F
end

function ptpHeader:getLogMessageInterval()
	return self.logMessageInterval
end

function ptpHeader:getLogMessageIntervalString()
	return self.logMessageInterval
end

local fillOrder = {
	{ "MessageType", "setMessageType", "getMessageType" },
	{ "Version", "setVersion", "getVersion" },
	{ "Length", "setLength", "getLength" },
	{ "Domain", "setDomain", "getDomain" },
	{ "Reserved", "setReserved", "getReserved" },
	{ "Flags", "setFlags", "getFlags" },
	{ "Correction", "setCorrection", "getCorrection" },
	{ "Reserved2", "setReserved2", "getReserved2" },
	{ "Oui", "setOui", "getOui" },
	{ "Uuid", "setUuid", "getUuid" },
	{ "NodePort", "setNodePort", "getNodePort" },
	{ "SequenceID", "setSequenceID", "getSequenceID" },
	{ "Control", "setControl", "getControl" },
	{ "LogMessageInterval", "setLogMessageInterval", "getLogMessageInterval" },
}

function ptpHeader:fill(args, pre)
	args = args or {}
	pre = pre or "ptp"
	for _, f in ipairs(fillOrder) do
		self[f[2]](self, args[pre .. f[1]])
	end
end

function ptpHeader:get(pre)
	pre = pre or "ptp"
	local args = {}
	for _, f in ipairs(fillOrder) do
		args[pre .. f[1]] = self[f[3]](self)
	end
	return args
end

function ptpHeader:getString()
	return "PTP typ " .. self:getMessageTypeString()
		.. " ver " .. self:getVersion()
		.. " len " .. self:getLength()
		.. " dom " .. self:getDomain()
		.. " res " .. self:getReservedString()
		.. " fla " .. self:getFlagsString()
		.. " cor " .. self:getCorrectionString()
		.. " res " .. self:getReserved2String()
		.. " oui " .. self:getOuiString()
		.. " uuid " .. self:getUuidString()
		.. " nod " .. self:getNodePort()
		.. " seq " .. self:getSequenceID()
		.. " ctrl " .. self:getControlString()
		.. " log " .. self:getLogMessageInterval()
end

function ptpHeader:setDefaultNamedArgs(pre, namedArgs, nextHeader, accumulatedLength)
	if not namedArgs[pre .. "Length"] and namedArgs.pktLength then
		namedArgs[pre .. "Length"] = namedArgs.pktLength - accumulatedLength
	end
	return namedArgs
end

ptp.metatype = ptpHeader

return ptp
