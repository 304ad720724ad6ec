-- proto.udp: UDP header (member `udp`). Fill arguments are udpSrc / udpDst (not ...Port).

local bit = require "bit"
local template = require "proto.template"

local rshift, bswap = bit.rshift, bit.bswap
local format = string.format

local function hton16(n)
	return rshift(bswap(n), 16)
end

local udp = {}

udp.PORT_DNS = 53
udp.PORT_PTP_EVENTS = 319
udp.PORT_PTP_GENERAL_MESSAGES = 320
udp.PORT_IPFIX = 4739
udp.PORT_VXLAN = 4789
udp.PORT_SFLOW = 6343

-- The ports are views with methods (`pkt.udp.src:set(port)`, as in the FOSDEM 2016
-- load example) that still read and write raw network-order values (`pkt.udp.dst = raw`):
-- the struct members are `src_`/`dst_`, reached through __index/__newindex below.
template.cdefOnce("union mp_be16", "union mp_be16 { uint16_t uint16; uint8_t uint8[2]; };")
local be16 = {}
be16.__index = be16
function be16:set(v) self.uint16 = hton16(v or 0) end
function be16:get() return hton16(self.uint16) end
function be16:getString() return tostring(hton16(self.uint16)) end
function be16.__eq(a, b)
	local x = type(a) == "number" and a or a.uint16
	local y = type(b) == "number" and b or b.uint16
	return x == y
end
function be16.__tostring(self) return tostring(hton16(self.uint16)) end
template.metatypeOnce("union mp_be16", be16)

udp.headerFormat = [[
	union mp_be16 src_;
	union mp_be16 dst_;
	uint16_t len;
	uint16_t cs;
]]
udp.headerVariableMember = nil

-- destination port -> next header (decoding) and next header -> default destination port
local nextOfPort = {
	[udp.PORT_PTP_EVENTS] = "ptp",
	[udp.PORT_PTP_GENERAL_MESSAGES] = "ptp",
	[udp.PORT_VXLAN] = "vxlan",
	[udp.PORT_SFLOW] = "sflow",
	[udp.PORT_DNS] = "dns",
	[udp.PORT_IPFIX] = "ipfix",
}
local portOfNext = {
	ptp = udp.PORT_PTP_EVENTS,
	vxlan = udp.PORT_VXLAN,
	sflow = udp.PORT_SFLOW,
	dns = udp.PORT_DNS,
	ipfix = udp.PORT_IPFIX,
}

local udpHeader = template.initHeader()

function udpHeader.__index(self, k)
	if k == "src" then return self.src_ end
	if k == "dst" then return self.dst_ end
	return udpHeader[k]
end

function udpHeader.__newindex(self, k, v)
	if k == "src" then self.src_.uint16 = v
	elseif k == "dst" then self.dst_.uint16 = v
	else error(format("udp header has no field '%s'", tostring(k)), 2) end
end

function udpHeader:setSrcPort(port)
	self.src_.uint16 = hton16(port or 1024)
end

function udpHeader:getSrcPort()
	return hton16(self.src_.uint16)
end

function udpHeader:getSrcPortString()
	return self:getSrcPort()
end

function udpHeader:setDstPort(port)
	self.dst_.uint16 = hton16(port or 1025)
end

function udpHeader:getDstPort()
	return hton16(self.dst_.uint16)
end

function udpHeader:getDstPortString()
	return self:getDstPort()
end

--- UDP length (header + payload); 28 by default
function udpHeader:setLength(n)
	self.len = hton16(n or 28)
end

function udpHeader:getLength()
	return hton16(self.len)
end

function udpHeader:getLengthString()
	return self:getLength()
end

function udpHeader:setChecksum(n)
	self.cs = hton16(n or 0)
end

function udpHeader:getChecksum()
	return hton16(self.cs)
end

function udpHeader:getChecksumString()
	return format("0x%04x", self:getChecksum())
end

--- no-op, as in MoonGen (use checksum offloading)
function udpHeader:calculateChecksum()
end

function udpHeader:fill(args, pre)
	args = args or {}
	pre = pre or "udp"
	self:setSrcPort(args[pre .. "Src"])
	self:setDstPort(args[pre .. "Dst"])
	self:setLength(args[pre .. "Length"])
	self:setChecksum(args[pre .. "Checksum"])
end

function udpHeader:get(pre)
	pre = pre or "udp"
	return {
		[pre .. "Src"] = self:getSrcPort(),
		[pre .. "Dst"] = self:getDstPort(),
		[pre .. "Length"] = self:getLength(),
		[pre .. "Checksum"] = self:getChecksum(),
	}
end

function udpHeader:getString()
	return "UDP " .. self:getSrcPort() .. " > " .. self:getDstPort()
		.. " len " .. self:getLength() .. " cksum " .. self:getChecksumString()
end

function udpHeader:resolveNextHeader()
	return nextOfPort[self:getDstPort()]
end

function udpHeader:setDefaultNamedArgs(pre, namedArgs, nextHeader, accumulatedLength)
	if not namedArgs[pre .. "Length"] and namedArgs.pktLength then
		namedArgs[pre .. "Length"] = namedArgs.pktLength - accumulatedLength
	end
	if not namedArgs[pre .. "Dst"] and portOfNext[nextHeader] then
		namedArgs[pre .. "Dst"] = portOfNext[nextHeader]
	end
	return namedArgs
end

udp.metatype = udpHeader

return udp
