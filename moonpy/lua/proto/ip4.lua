-- proto.ip4: IPv4 header (member `ip4`); variable-length `options`.

local ffi = require "ffi"
local bit = require "bit"
require "moonpy.addr"
local template = require "proto.template"

local band, bor, bnot, lshift, rshift, bswap = bit.band, bit.bor, bit.bnot, bit.lshift, bit.rshift,
	bit.bswap
local cast, format, type = ffi.cast, string.format, type

local u8p = ffi.typeof("uint8_t*")
local u16p = ffi.typeof("uint16_t*")

local function hton16(n)
	return rshift(bswap(n), 16)
end

local ip = {}

ip.PROTO_ICMP = 0x01
ip.PROTO_TCP  = 0x06
ip.PROTO_UDP  = 0x11
ip.PROTO_GRE  = 0x2f
ip.PROTO_ESP  = 0x32
ip.PROTO_AH   = 0x33
ip.PROTO_SCTP = 0x84

ip.NULL = "0.0.0.0"

ip.headerFormat = [[
	uint8_t           verihl;
	uint8_t           tos;
	uint16_t          len;
	uint16_t          id;
	uint16_t          frag;
	uint8_t           ttl;
	uint8_t           protocol;
	uint16_t          cs;
	union ip4_address src;
	union ip4_address dst;
	uint8_t           options[];
]]
ip.headerVariableMember = "options"

local protoOfNext = {
	icmp = ip.PROTO_ICMP,
	udp = ip.PROTO_UDP,
	tcp = ip.PROTO_TCP,
	esp = ip.PROTO_ESP,
	ah = ip.PROTO_AH,
	gre = ip.PROTO_GRE,
}
local nextOfProto = {}
for name, p in pairs(protoOfNext) do
	nextOfProto[p] = name
end
ip.protoOfNext = protoOfNext

local protoLabels = {
	[ip.PROTO_ICMP] = "(ICMP)",
	[ip.PROTO_UDP] = "(UDP)",
	[ip.PROTO_TCP] = "(TCP)",
	[ip.PROTO_ESP] = "(ESP)",
	[ip.PROTO_AH] = "(AH)",
	[ip.PROTO_GRE] = "(GRE)",
}
ip.protoLabels = protoLabels

local ip4Header = template.initHeader()

function ip4Header:setVersion(v)
	v = v or 4
	self.verihl = bor(band(self.verihl, 0x0F), band(lshift(v, 4), 0xF0))
end

function ip4Header:getVersion()
	return rshift(self.verihl, 4)
end

function ip4Header:getVersionString()
	return self:getVersion()
end

--- header length in 32-bit words
function ip4Header:setHeaderLength(n)
	n = n or 5
	self.verihl = bor(band(self.verihl, 0xF0), band(n, 0x0F))
end

function ip4Header:getHeaderLength()
	return band(self.verihl, 0x0F)
end

function ip4Header:getHeaderLengthString()
	return self:getHeaderLength()
end

function ip4Header:setTOS(v)
	self.tos = v or 0
end

function ip4Header:getTOS()
	return self.tos
end

function ip4Header:getTOSString()
	return self:getTOS()
end

--- total length (everything after layer 2); 48 by default (64-byte frame with eth + UDP)
function ip4Header:setLength(n)
	self.len = hton16(n or 48)
end

function ip4Header:getLength()
	return hton16(self.len)
end

function ip4Header:getLengthString()
	return self:getLength()
end

function ip4Header:setID(n)
	self.id = hton16(n or 0)
end

function ip4Header:getID()
	return hton16(self.id)
end

function ip4Header:getIDString()
	return self:getID()
end

--- 3 bits: reserved | DF | MF
function ip4Header:setFlags(n)
	n = n or 0
	local frag = hton16(self.frag)
	self.frag = hton16(bor(band(frag, 0x1FFF), band(lshift(n, 13), 0xE000)))
end

function ip4Header:getFlags()
	return rshift(hton16(self.frag), 13)
end

function ip4Header:getFlagsString()
	return self:getFlags()
end

--- 13-bit fragment offset
function ip4Header:setFragment(n)
	n = n or 0
	local frag = hton16(self.frag)
	self.frag = hton16(bor(band(frag, 0xE000), band(n, 0x1FFF)))
end

function ip4Header:getFragment()
	return band(hton16(self.frag), 0x1FFF)
end

function ip4Header:getFragmentString()
	return self:getFragment()
end

function ip4Header:setTTL(n)
	self.ttl = n or 64
end

function ip4Header:getTTL()
	return self.ttl
end

function ip4Header:getTTLString()
	return self:getTTL()
end

function ip4Header:setProtocol(n)
	self.protocol = n or ip.PROTO_UDP
end

function ip4Header:getProtocol()
	return self.protocol
end

function ip4Header:getProtocolString()
	local p = self.protocol
	return format("0x%02x %s", p, protoLabels[p] or "(unknown)")
end

function ip4Header:setChecksum(n)
	self.cs = hton16(n or 0)
end

function ip4Header:getChecksum()
	return hton16(self.cs)
end

function ip4Header:getChecksumString()
	return format("0x%04x", self:getChecksum())
end

--- Software header checksum over the 20-byte base header (options are not covered,
--- as in MoonGen). Unrolled; the checksum field itself is skipped instead of zeroed first.
function ip4Header:calculateChecksum()
	local w = cast(u16p, self)
	local sum = w[0] + w[1] + w[2] + w[3] + w[4] + w[6] + w[7] + w[8] + w[9]
	sum = band(sum, 0xFFFF) + rshift(sum, 16)
	sum = sum + rshift(sum, 16)
	self.cs = bnot(sum)
end

function ip4Header:setSrc(a)
	self.src:set(a)
end

function ip4Header:getSrc()
	return self.src:get()
end

function ip4Header:setDst(a)
	self.dst:set(a)
end

function ip4Header:getDst()
	return self.dst:get()
end

function ip4Header:setSrcString(str)
	self.src:setString(str)
end

function ip4Header:getSrcString()
	return self.src:getString()
end

function ip4Header:setDstString(str)
	self.dst:setString(str)
end

function ip4Header:getDstString()
	return self.dst:getString()
end

function ip4Header:getOptionsString()
	local n = self:getVariableLength()
	if n <= 0 then
		return "-"
	end
	local bytes = cast(u8p, self.options)
	local parts = { "0x" }
	for i = 0, n - 1 do
		parts[#parts + 1] = format("%02x", bytes[i])
	end
	return table.concat(parts)
end

local function setAddress(field, value)
	if type(value) == "string" then
		field:setString(value)
	elseif type(value) == "cdata" and ffi.istype("union ip4_address", value) then
		field.uint32 = value.uint32
	else
		field:set(value)
	end
end

function ip4Header:fill(args, pre)
	args = args or {}
	pre = pre or "ip4"
	self:setVersion(args[pre .. "Version"])
	self:setHeaderLength(args[pre .. "HeaderLength"])
	self:setTOS(args[pre .. "TOS"])
	self:setLength(args[pre .. "Length"])
	self:setID(args[pre .. "ID"])
	self:setFlags(args[pre .. "Flags"])
	self:setFragment(args[pre .. "Fragment"])
	self:setTTL(args[pre .. "TTL"])
	self:setProtocol(args[pre .. "Protocol"])
	self:setChecksum(args[pre .. "Checksum"])
	local src, dst = pre .. "Src", pre .. "Dst"
	args[src] = args[src] or "192.168.1.1"
	args[dst] = args[dst] or "192.168.1.2"
	setAddress(self.src, args[src])
	setAddress(self.dst, args[dst])
end

function ip4Header:get(pre)
	pre = pre or "ip4"
	return {
		[pre .. "Src"] = self:getSrcString(),
		[pre .. "Dst"] = self:getDstString(),
		[pre .. "Version"] = self:getVersion(),
		[pre .. "HeaderLength"] = self:getHeaderLength(),
		[pre .. "TOS"] = self:getTOS(),
		[pre .. "Length"] = self:getLength(),
		[pre .. "ID"] = self:getID(),
		[pre .. "Flags"] = self:getFlags(),
		[pre .. "Fragment"] = self:getFragment(),
		[pre .. "TTL"] = self:getTTL(),
		[pre .. "Protocol"] = self:getProtocol(),
		[pre .. "Checksum"] = self:getChecksum(),
	}
end

function ip4Header:getString()
	return "IP4 " .. self:getSrcString() .. " > " .. self:getDstString()
		.. " ver " .. self:getVersion() .. " ihl " .. self:getHeaderLength()
		.. " tos " .. self:getTOS() .. " len " .. self:getLength()
		.. " id " .. self:getID() .. " flags " .. self:getFlags()
		.. " frag " .. self:getFragment() .. " ttl " .. self:getTTL()
		.. " proto " .. self:getProtocolString() .. " cksum " .. self:getChecksumString()
		.. " [" .. self:getOptionsString() .. "]"
end

function ip4Header:resolveNextHeader()
	return nextOfProto[self.protocol]
end

function ip4Header:setDefaultNamedArgs(pre, namedArgs, nextHeader, accumulatedLength, headerLength)
	if not namedArgs[pre .. "Length"] and namedArgs.pktLength then
		namedArgs[pre .. "Length"] = namedArgs.pktLength - accumulatedLength
	end
	if not namedArgs[pre .. "Protocol"] and protoOfNext[nextHeader] then
		namedArgs[pre .. "Protocol"] = protoOfNext[nextHeader]
	end
	if not namedArgs[pre .. "HeaderLength"] then
		namedArgs[pre .. "HeaderLength"] = headerLength / 4
	end
	return namedArgs
end

--- option bytes implied by the IHL field
function ip4Header:getVariableLength()
	return (self:getHeaderLength() - 5) * 4
end

ip.metatype = ip4Header

return ip
