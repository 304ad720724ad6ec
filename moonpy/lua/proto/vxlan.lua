-- proto.vxlan: VXLAN header (member `vxlan`), 8 bytes; the next header is an inner Ethernet.

local bit = require "bit"
local template = require "proto.template"

local band, rshift = bit.band, bit.rshift
local format = string.format

local vxlan = {}

vxlan.headerFormat = [[
	uint8_t flags;
	uint8_t reserved[3];
	uint8_t vni[3];
	uint8_t reserved2;
]]
vxlan.headerVariableMember = nil

local function set24(field, v)
	v = v or 0
	field[0] = band(rshift(v, 16), 0xFF)
	field[1] = band(rshift(v, 8), 0xFF)
	field[2] = band(v, 0xFF)
end

local function get24(field)
	return (field[0] * 256 + field[1]) * 256 + field[2]
end

local vxlanHeader = template.initHeader()

--- flags; 0x08 (VNI valid) by default
function vxlanHeader:setFlags(v)
	self.flags = v or 8
end

function vxlanHeader:getFlags()
	return self.flags
end

function vxlanHeader:getFlagsString()
	return format("0x%02x", self.flags)
end

function vxlanHeader:setReserved(v)
	set24(self.reserved, v)
end

function vxlanHeader:getReserved()
	return get24(self.reserved)
end

function vxlanHeader:getReservedString()
	return format("0x%06x", self:getReserved())
end

function vxlanHeader:setVNI(v)
	set24(self.vni, v)
end

function vxlanHeader:getVNI()
	return get24(self.vni)
end

function vxlanHeader:getVNIString()
	return format("0x%06x", self:getVNI())
end

function vxlanHeader:setReserved2(v)
	self.reserved2 = v or 0
end

function vxlanHeader:getReserved2()
	return self.reserved2
end

function vxlanHeader:getReserved2String()
	return format("0x%02x", self.reserved2)
end

function vxlanHeader:fill(args, pre)
	args = args or {}
	pre = pre or "vxlan"
	self:setFlags(args[pre .. "Flags"])
	self:setReserved(args[pre .. "Reserved"])
	self:setVNI(args[pre .. "VNI"])
	self:setReserved2(args[pre .. "Reserved2"])
end

function vxlanHeader:get(pre)
	pre = pre or "vxlan"
	return {
		[pre .. "Flags"] = self:getFlags(),
		[pre .. "Reserved"] = self:getReserved(),
		[pre .. "VNI"] = self:getVNI(),
		[pre .. "Reserved2"] = self:getReserved2(),
	}
end

function vxlanHeader:getString()
	return "VXLAN flags " .. self:getFlagsString() .. " res " .. self:getReservedString()
		.. " vni " .. self:getVNIString() .. " res " .. self:getReserved2String()
end

function vxlanHeader:resolveNextHeader()
	return "eth"
end

vxlan.metatype = vxlanHeader

return vxlan
