-- proto.ip6: IPv6 header (member `ip6`).

local bit = require "bit"
require "moonpy.addr"
local template = require "proto.template"

local band, bor, lshift, rshift, bswap = bit.band, bit.bor, bit.lshift, bit.rshift, bit.bswap
local format, type = string.format, type

local function hton16(n)
	return rshift(bswap(n), 16)
end

local ip6 = {}

ip6.PROTO_TCP  = 0x06
ip6.PROTO_UDP  = 0x11
ip6.PROTO_GRE  = 0x2f
ip6.PROTO_ICMP = 0x3a
ip6.PROTO_ESP  = 0x32
ip6.PROTO_AH   = 0x33

ip6.headerFormat = [[
	uint32_t          vtf;
	uint16_t          len;
	uint8_t           nextHeader;
	uint8_t           ttl;
	union ip6_address src;
	union ip6_address dst;
]]
ip6.headerVariableMember = nil

local protoOfNext = {
	icmp = ip6.PROTO_ICMP,
	udp = ip6.PROTO_UDP,
	tcp = ip6.PROTO_TCP,
	esp = ip6.PROTO_ESP,
	ah = ip6.PROTO_AH,
	gre = ip6.PROTO_GRE,
}
local nextOfProto = {}
for name, p in pairs(protoOfNext) do
	nextOfProto[p] = name
end

local protoLabels = {
	[ip6.PROTO_ICMP] = "(ICMP)",
	[ip6.PROTO_UDP] = "(UDP)",
	[ip6.PROTO_TCP] = "(TCP)",
	[ip6.PROTO_ESP] = "(ESP)",
	[ip6.PROTO_AH] = "(AH)",
	[ip6.PROTO_GRE] = "(GRE)",
}

local ip6Header = template.initHeader()

-- version (4 bits) | traffic class (8 bits) | flow label (20 bits), network order in `vtf`
local function setVtf(self, mask, value)
	local host = bswap(self.vtf)
	self.vtf = bswap(bor(band(host, bit.bnot(mask)), band(value, mask)))
end

function ip6Header:setVersion(v)
	setVtf(self, 0xF0000000, lshift(v or 6, 28))
end

function ip6Header:getVersion()
	return rshift(bswap(self.vtf), 28)
end

function ip6Header:getVersionString()
	return self:getVersion()
end

function ip6Header:setTrafficClass(v)
	setVtf(self, 0x0FF00000, lshift(v or 0, 20))
end

function ip6Header:getTrafficClass()
	return band(rshift(bswap(self.vtf), 20), 0xFF)
end

function ip6Header:getTrafficClassString()
	return self:getTrafficClass()
end

function ip6Header:setFlowLabel(v)
	setVtf(self, 0x000FFFFF, v or 0)
end

function ip6Header:getFlowLabel()
	return band(bswap(self.vtf), 0x000FFFFF)
end

function ip6Header:getFlowLabelString()
	return self:getFlowLabel()
end

--- payload length (everything after the 40-byte header); 8 by default
function ip6Header:setLength(n)
	self.len = hton16(n or 8)
end

function ip6Header:getLength()
	return hton16(self.len)
end

function ip6Header:getLengthString()
	return self:getLength()
end

function ip6Header:setNextHeader(n)
	self.nextHeader = n or ip6.PROTO_UDP
end

function ip6Header:getNextHeader()
	return self.nextHeader
end

function ip6Header:getNextHeaderString()
	local p = self.nextHeader
	return format("0x%02x %s", p, protoLabels[p] or "(unknown)")
end

function ip6Header:setTTL(n)
	self.ttl = n or 64
end

function ip6Header:getTTL()
	return self.ttl
end

function ip6Header:getTTLString()
	return self:getTTL()
end

function ip6Header:setSrc(a)
	self.src:set(a)
end

function ip6Header:getSrc()
	return self.src:get()
end

function ip6Header:setDst(a)
	self.dst:set(a)
end

function ip6Header:getDst()
	return self.dst:get()
end

function ip6Header:setSrcString(str)
	self.src:setString(str)
end

function ip6Header:getSrcString()
	return self.src:getString()
end

function ip6Header:setDstString(str)
	self.dst:setString(str)
end

function ip6Header:getDstString()
	return self.dst:getString()
end

function ip6Header:fill(args, pre)
	args = args or {}
	pre = pre or "ip6"
	self:setVersion(args[pre .. "Version"])
	self:setTrafficClass(args[pre .. "TrafficClass"])
	self:setFlowLabel(args[pre .. "FlowLabel"])
	self:setLength(args[pre .. "Length"])
	self:setNextHeader(args[pre .. "NextHeader"])
	self:setTTL(args[pre .. "TTL"])
	local src, dst = pre .. "Src", pre .. "Dst"
	args[src] = args[src] or "fe80::1"
	args[dst] = args[dst] or "fe80::2"
	if type(args[src]) == "string" then
		self:setSrcString(args[src])
	else
		self:setSrc(args[src])
	end
	if type(args[dst]) == "string" then
		self:setDstString(args[dst])
	else
		self:setDst(args[dst])
	end
end

function ip6Header:get(pre)
	pre = pre or "ip6"
	return {
		[pre .. "Src"] = self:getSrcString(),
		[pre .. "Dst"] = self:getDstString(),
		[pre .. "Version"] = self:getVersion(),
		[pre .. "TrafficClass"] = self:getTrafficClass(),
		[pre .. "FlowLabel"] = self:getFlowLabel(),
		[pre .. "Length"] = self:getLength(),
		[pre .. "NextHeader"] = self:getNextHeader(),
		[pre .. "TTL"] = self:getTTL(),
	}
end

function ip6Header:getString()
	return "IP6 " .. self:getSrcString() .. " > " .. self:getDstString()
		.. " ver " .. self:getVersion() .. " tc " .. self:getTrafficClass()
		.. " fl " .. self:getFlowLabel() .. " len " .. self:getLength()
		.. " next " .. self:getNextHeaderString() .. " ttl " .. self:getTTL()
end

function ip6Header:resolveNextHeader()
	return nextOfProto[self.nextHeader]
end

function ip6Header:setDefaultNamedArgs(pre, namedArgs, nextHeader, accumulatedLength)
	if not namedArgs[pre .. "Length"] and namedArgs.pktLength then
		namedArgs[pre .. "Length"] = namedArgs.pktLength - (accumulatedLength + 40)
	end
	if not namedArgs[pre .. "NextHeader"] and protoOfNext[nextHeader] then
		namedArgs[pre .. "NextHeader"] = protoOfNext[nextHeader]
	end
	return namedArgs
end

ip6.metatype = ip6Header

return ip6
