-- proto.arp: ARP header (member `arp`).
-- The ARP task (startArpTask, lookup, blockingLookup, ...) is moonpy.arp_task.

local ffi = require "ffi"
local bit = require "bit"
local addr = require "moonpy.addr"
local template = require "proto.template"

local rshift, bswap = bit.rshift, bit.bswap
local format, type, istype = string.format, type, ffi.istype

local function hton16(n)
	return rshift(bswap(n), 16)
end

local arp = {}

arp.HARDWARE_ADDRESS_TYPE_ETHERNET = 1
arp.PROTO_ADDRESS_TYPE_IP = 0x0800
arp.OP_REQUEST = 1
arp.OP_REPLY = 2

arp.arpTask = "__MG_ARP_TASK"

arp.headerFormat = [[
	uint16_t          hrd;
	uint16_t          pro;
	uint8_t           hln;
	uint8_t           pln;
	uint16_t          op;
	union mac_address sha;
	union ip4_address spa;
	union mac_address tha;
	union ip4_address tpa;
]]
arp.headerVariableMember = nil

local arpHeader = template.initHeader()

function arpHeader:setHardwareAddressType(n)
	self.hrd = hton16(n or arp.HARDWARE_ADDRESS_TYPE_ETHERNET)
end

function arpHeader:getHardwareAddressType()
	return hton16(self.hrd)
end

function arpHeader:getHardwareAddressTypeString()
	local t = self:getHardwareAddressType()
	if t == arp.HARDWARE_ADDRESS_TYPE_ETHERNET then
		return "Ethernet"
	end
	return format("0x%04x", t)
end

function arpHeader:setProtoAddressType(n)
	self.pro = hton16(n or arp.PROTO_ADDRESS_TYPE_IP)
end

function arpHeader:getProtoAddressType()
	return hton16(self.pro)
end

-- MoonGen compares against a misspelled constant here, so it always prints hex; kept as is
function arpHeader:getProtoAddressTypeString()
	return format("0x%04x", self:getProtoAddressType())
end

function arpHeader:setHardwareAddressLength(n)
	self.hln = n or 6
end

function arpHeader:getHardwareAddressLength()
	return self.hln
end

function arpHeader:getHardwareAddressLengthString()
	return self.hln
end

function arpHeader:setProtoAddressLength(n)
	self.pln = n or 4
end

function arpHeader:getProtoAddressLength()
	return self.pln
end

function arpHeader:getProtoAddressLengthString()
	return self.pln
end

function arpHeader:setOperation(n)
	self.op = hton16(n or arp.OP_REQUEST)
end

function arpHeader:getOperation()
	return hton16(self.op)
end

function arpHeader:getOperationString()
	local op = self:getOperation()
	if op == arp.OP_REQUEST then
		return "Request"
	elseif op == arp.OP_REPLY then
		return "Reply"
	end
	return op
end

-- address accessors: sha/tha are MAC unions, spa/tpa IPv4 unions
local fields = {
	HardwareSrc = "sha",
	HardwareDst = "tha",
	ProtoSrc = "spa",
	ProtoDst = "tpa",
}
for name, field in pairs(fields) do
	arpHeader["set" .. name] = function(self, a)
		self[field]:set(a)
	end
	arpHeader["get" .. name] = function(self)
		return self[field]:get()
	end
	arpHeader["set" .. name .. "String"] = function(self, str)
		self[field]:setString(str)
	end
	arpHeader["get" .. name .. "String"] = function(self)
		return self[field]:getString()
	end
end

local function setAddress(field, value, ctype, size)
	if type(value) == "string" then
		field:setString(value)
	elseif type(value) == "cdata" and istype(ctype, value) then
		ffi.copy(field, value, size)
	else
		field:set(value)
	end
end

function arpHeader:fill(args, pre)
	args = args or {}
	pre = pre or "arp"
	self:setHardwareAddressType(args[pre .. "HardwareAddressType"])
	self:setProtoAddressType(args[pre .. "ProtoAddressType"])
	self:setHardwareAddressLength(args[pre .. "HardwareAddressLength"])
	self:setProtoAddressLength(args[pre .. "ProtoAddressLength"])
	self:setOperation(args[pre .. "Operation"])
	local hwSrc, hwDst = pre .. "HardwareSrc", pre .. "HardwareDst"
	local prSrc, prDst = pre .. "ProtoSrc", pre .. "ProtoDst"
	args[hwSrc] = args[hwSrc] or "01:02:03:04:05:06"
	args[hwDst] = args[hwDst] or "07:08:09:0a:0b:0c"
	args[prSrc] = args[prSrc] or "0.1.2.3"
	args[prDst] = args[prDst] or "4.5.6.7"
	setAddress(self.sha, args[hwSrc], addr.macType, 6)
	setAddress(self.tha, args[hwDst], addr.macType, 6)
	setAddress(self.spa, args[prSrc], addr.ip4Type, 4)
	setAddress(self.tpa, args[prDst], addr.ip4Type, 4)
end

--- addresses come back as numbers (MAC: first byte least significant; IPv4: signed host order)
function arpHeader:get(pre)
	pre = pre or "arp"
	return {
		[pre .. "HardwareAddressType"] = self:getHardwareAddressType(),
		[pre .. "ProtoAddressType"] = self:getProtoAddressType(),
		[pre .. "HardwareAddressLength"] = self:getHardwareAddressLength(),
		[pre .. "ProtoAddressLength"] = self:getProtoAddressLength(),
		[pre .. "Operation"] = self:getOperation(),
		[pre .. "HardwareSrc"] = self:getHardwareSrc(),
		[pre .. "HardwareDst"] = self:getHardwareDst(),
		[pre .. "ProtoSrc"] = self:getProtoSrc(),
		[pre .. "ProtoDst"] = self:getProtoDst(),
	}
end

function arpHeader:getString()
	local str = "ARP hrd " .. self:getHardwareAddressTypeString()
		.. " (hln " .. self:getHardwareAddressLength()
		.. ") pro " .. self:getProtoAddressTypeString()
		.. " (pln " .. self:getProtoAddressLength()
		.. ") op " .. self:getOperationString()
	local op = self:getOperation()
	if op == arp.OP_REQUEST then
		return str .. " who-has " .. self:getProtoDstString() .. " (" .. self:getHardwareDstString()
			.. ") tell " .. self:getProtoSrcString() .. " (" .. self:getHardwareSrcString() .. ")"
	elseif op == arp.OP_REPLY then
		return str .. " " .. self:getProtoSrcString() .. " is-at " .. self:getHardwareSrcString()
			.. " (for " .. self:getProtoDstString() .. " @ " .. self:getHardwareDstString() .. ")"
	end
	return str .. " " .. self:getHardwareSrcString() .. " > " .. self:getHardwareDstString()
		.. " " .. self:getProtoSrcString() .. " > " .. self:getProtoDstString()
end

arp.metatype = arpHeader

-- the ARP task (moongen-api.md §2.16): startArpTask, lookup, blockingLookup, ...
require("moonpy.arp_task")(arp)

return arp
