-- proto.gre: basic GRE header (member `gre`): flags/version and protocol type, 4 bytes.

local bit = require "bit"
local template = require "proto.template"

local rshift, bswap = bit.rshift, bit.bswap
local format = string.format

local function hton16(n)
	return rshift(bswap(n), 16)
end

local gre = {}

gre.PROTO_TEB = 0x6558 -- transparent Ethernet bridging

gre.headerFormat = [[
	uint16_t flags_and_version;
	uint16_t protocol_type;
]]
gre.headerVariableMember = nil

-- protocol type -> next header, for decoding
local nextOfProto = {
	[gre.PROTO_TEB] = "eth",
	[0x0800] = "ip4",
	[0x86dd] = "ip6",
}

local greHeader = template.initHeader()

function greHeader:setProtoType(n)
	self.protocol_type = hton16(n or gre.PROTO_TEB)
end

function greHeader:getProtoType()
	return hton16(self.protocol_type)
end

function greHeader:getProtoTypeString()
	return format("0x%04x", self:getProtoType())
end

function greHeader:setFlagsAndVersion(n)
	self.flags_and_version = hton16(n or 0)
end

function greHeader:getFlagsAndVersion()
	return hton16(self.flags_and_version)
end

function greHeader:getFlagsAndVersionString()
	return format("0x%04x", self:getFlagsAndVersion())
end

function greHeader:fill(args, pre)
	args = args or {}
	pre = pre or "gre"
	self:setProtoType(args[pre .. "Proto"])
	self:setFlagsAndVersion(args[pre .. "Flags"])
end

function greHeader:get(pre)
	pre = pre or "gre"
	return {
		[pre .. "Proto"] = self:getProtoType(),
		[pre .. "Flags"] = self:getFlagsAndVersion(),
	}
end

-- MoonGen's version of these two calls methods that do not exist (dumping GRE fails there)
function greHeader:getString()
	return "GRE flags " .. self:getFlagsAndVersionString() .. " proto " .. self:getProtoTypeString()
end

function greHeader:resolveNextHeader()
	return nextOfProto[self:getProtoType()]
end

gre.metatype = greHeader

return gre
