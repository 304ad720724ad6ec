-- proto.ethernet: Ethernet header (member `eth`), with the `vlan` (802.1Q) and `qinq` subtypes.

local ffi = require "ffi"
local bit = require "bit"
local addr = require "moonpy.addr"
local template = require "proto.template"

local band, rshift, bswap = bit.band, bit.rshift, bit.bswap
local istype, format, type = ffi.istype, string.format, type

local macType = addr.macType

local function hton16(n)
	return rshift(bswap(n), 16)
end

local eth = {}

eth.TYPE_IP    = 0x0800
eth.TYPE_ARP   = 0x0806
eth.TYPE_IP6   = 0x86dd
eth.TYPE_PTP   = 0x88f7
eth.TYPE_8021Q = 0x8100
eth.TYPE_LACP  = 0x8809

eth.BROADCAST = "ff:ff:ff:ff:ff:ff"
eth.NULL      = "00:00:00:00:00:00"

eth.defaultType = "default"

eth.default = {
	headerFormat = [[
	union mac_address dst;
	union mac_address src;
	uint16_t          type;
]],
	headerVariableMember = nil,
}

eth.vlan = {
	headerFormat = [[
	union mac_address dst;
	union mac_address src;
	uint16_t          vlan_id;
	uint16_t          vlan_tag;
	uint16_t          type;
]],
	headerVariableMember = nil,
}

eth.qinq = {
	headerFormat = [[
	union mac_address dst;
	union mac_address src;
	uint16_t          outer_vlan_id;
	uint16_t          outer_vlan_tag;
	uint16_t          inner_vlan_id;
	uint16_t          inner_vlan_tag;
	uint16_t          type;
]],
	headerVariableMember = nil,
}

-- next header name -> EtherType (fill defaults and decoding)
local typeOfNext = {
	ip4 = eth.TYPE_IP,
	ip6 = eth.TYPE_IP6,
	arp = eth.TYPE_ARP,
	ptp = eth.TYPE_PTP,
	lacp = eth.TYPE_LACP,
}
local nextOfType = {}
for name, t in pairs(typeOfNext) do
	nextOfType[t] = name
end

local typeLabels = {
	[eth.TYPE_IP] = "(IP4)",
	[eth.TYPE_IP6] = "(IP6)",
	[eth.TYPE_ARP] = "(ARP)",
	[eth.TYPE_PTP] = "(PTP)",
	[eth.TYPE_LACP] = "(LACP)",
	[eth.TYPE_8021Q] = "(VLAN)",
}

-- methods shared by all three variants
local common = template.initHeader()

function common:setDst(a)
	self.dst:set(a)
end

function common:getDst()
	return self.dst:get()
end

function common:setSrc(a)
	self.src:set(a)
end

function common:getSrc()
	return self.src:get()
end

function common:setDstString(str)
	self.dst:setString(str)
end

function common:getDstString()
	return self.dst:getString()
end

function common:setSrcString(str)
	self.src:setString(str)
end

function common:getSrcString()
	return self.src:getString()
end

function common:setType(t)
	self.type = hton16(t or eth.TYPE_IP)
end

function common:getType()
	return hton16(self.type)
end

function common:getTypeString()
	local t = self:getType()
	return format("0x%04x %s", t, typeLabels[t] or "(unknown)")
end

-- a MAC given as string, union, number, or anything with an `id` (device or queue)
local function setMac(field, value)
	local vt = type(value)
	if vt == "string" then
		field:setString(value)
	elseif vt == "number" then
		field:set(value)
	elseif vt == "table" and value.id then
		field:setString((value.dev or value):getMacString())
	elseif vt == "cdata" then
		if istype(macType, value) then
			ffi.copy(field, value, 6)
		else
			field:set(value)
		end
	end
end

function common:fill(args, pre)
	args = args or {}
	pre = pre or "eth"
	local src, dst = pre .. "Src", pre .. "Dst"
	args[src] = args[src] or "01:02:03:04:05:06"
	args[dst] = args[dst] or "07:08:09:0a:0b:0c"
	setMac(self.src, args[src])
	setMac(self.dst, args[dst])
	self:setType(args[pre .. "Type"])
end

function common:get(pre)
	pre = pre or "eth"
	return {
		[pre .. "Src"] = self:getSrcString(),
		[pre .. "Dst"] = self:getDstString(),
		[pre .. "Type"] = self:getType(),
	}
end

function common:resolveNextHeader()
	return nextOfType[self:getType()]
end

function common:setDefaultNamedArgs(pre, namedArgs, nextHeader)
	if not namedArgs[pre .. "Type"] and typeOfNext[nextHeader] then
		namedArgs[pre .. "Type"] = typeOfNext[nextHeader]
	end
	-- MoonGen overrides any user-given destination for LACP (slow protocols multicast)
	if nextHeader == "lacp" then
		namedArgs[pre .. "Dst"] = "01:80:c2:00:00:02"
	end
	return namedArgs
end

local function variant()
	local methods = template.initHeader()
	for k, v in pairs(common) do
		if k ~= "__index" then
			methods[k] = v
		end
	end
	return methods
end

---------------------------------------------------------------------------------------------------
-- default
---------------------------------------------------------------------------------------------------

local etherHeader = variant()

function etherHeader:getString()
	return "ETH " .. self:getSrcString() .. " > " .. self:getDstString()
		.. " type " .. self:getTypeString()
end

function etherHeader:getSubType()
	if self:getType() == eth.TYPE_8021Q then
		return "vlan"
	end
	return "default"
end

---------------------------------------------------------------------------------------------------
-- vlan
---------------------------------------------------------------------------------------------------

local etherVlanHeader = variant()

--- the full TCI (PCP, DEI and VLAN id)
function etherVlanHeader:setVlanTag(tci)
	self.vlan_tag = hton16(tci or 0)
end

--- the 12-bit VLAN id
function etherVlanHeader:getVlanTag()
	return band(hton16(self.vlan_tag), 0xFFF)
end

function etherVlanHeader:fill(args, pre)
	args = args or {}
	pre = pre or "eth"
	self.vlan_id = hton16(eth.TYPE_8021Q)
	self:setVlanTag(args[pre .. "Vlan"] or 1)
	common.fill(self, args, pre)
end

function etherVlanHeader:get(pre)
	pre = pre or "eth"
	local args = common.get(self, pre)
	args[pre .. "Vlan"] = self:getVlanTag()
	return args
end

function etherVlanHeader:getString()
	return "ETH " .. self:getSrcString() .. " > " .. self:getDstString()
		.. " vlan " .. self:getVlanTag() .. " type " .. self:getTypeString()
end

function etherVlanHeader:getSubType()
	return "vlan"
end

---------------------------------------------------------------------------------------------------
-- qinq
---------------------------------------------------------------------------------------------------

local etherQinQHeader = variant()

function etherQinQHeader:setInnerVlanTag(tci)
	self.inner_vlan_tag = hton16(tci or 0)
end

function etherQinQHeader:getInnerVlanTag()
	return band(hton16(self.inner_vlan_tag), 0xFFF)
end

function etherQinQHeader:setOuterVlanTag(tci)
	self.outer_vlan_tag = hton16(tci or 0)
end

function etherQinQHeader:getOuterVlanTag()
	return band(hton16(self.outer_vlan_tag), 0xFFF)
end

--- the outer TPID
function etherQinQHeader:setOuterVlanId(tpid)
	self.outer_vlan_id = hton16(tpid or eth.TYPE_8021Q)
end

function etherQinQHeader:getOuterVlanId()
	return hton16(self.outer_vlan_id)
end

-- note the lower-case letter after the prefix: MoonGen's argument names are ethinnerVlanTag, ...
function etherQinQHeader:fill(args, pre)
	args = args or {}
	pre = pre or "eth"
	self.inner_vlan_id = hton16(eth.TYPE_8021Q)
	self:setInnerVlanTag(args[pre .. "innerVlanTag"] or 0)
	self:setOuterVlanId(args[pre .. "outerVlanId"] or eth.TYPE_8021Q)
	self:setOuterVlanTag(args[pre .. "outerVlanTag"] or 0)
	common.fill(self, args, pre)
end

function etherQinQHeader:get(pre)
	pre = pre or "eth"
	local args = common.get(self, pre)
	args[pre .. "outerVlanId"] = self:getOuterVlanId()
	args[pre .. "outerVlanTag"] = self:getOuterVlanTag()
	args[pre .. "innerVlanTag"] = self:getInnerVlanTag()
	return args
end

function etherQinQHeader:getString()
	return "ETH " .. self:getSrcString() .. " > " .. self:getDstString()
		.. " outerVlan " .. self:getOuterVlanTag() .. " innerVlan " .. self:getInnerVlanTag()
		.. " type " .. self:getTypeString()
end

function etherQinQHeader:getSubType()
	return "qinq"
end

eth.default.metatype = etherHeader
eth.vlan.metatype = etherVlanHeader
eth.qinq.metatype = etherQinQHeader

return eth
