-- proto.lacp: LACP (802.3ad slow protocol) PDU (member `lacp`), 110 bytes.
-- The LACP task (startLacpTask, waitForLink, getMac) is added by the runtime; the stubs at the
-- end of this file raise until then.

local bit = require "bit"
local addr = require "moonpy.addr"
local template = require "proto.template"

local band, rshift, bswap = bit.band, bit.rshift, bit.bswap
local format = string.format

local function hton16(n)
	return rshift(bswap(n), 16)
end

local lacp = {}

lacp.PKT_SIZE = 124
lacp.DST_MAC = addr.parseMacAddress("01:80:c2:00:00:02")

lacp.STATE_ACT  = 0x01
lacp.STATE_TIME = 0x02
lacp.STATE_AGG  = 0x04
lacp.STATE_SYNC = 0x08
lacp.STATE_COL  = 0x10
lacp.STATE_DIST = 0x20
lacp.STATE_DEF  = 0x40
lacp.STATE_EXP  = 0x80

lacp.lacpTask = "__MG_LACP_TASK"

template.cdefOnce("struct lacp_info", [[
	struct __attribute__((__packed__)) lacp_info {
		uint16_t          sys_priority;
		union mac_address sys_id;
		uint16_t          key;
		uint16_t          port_priority;
		uint16_t          port_id;
		uint8_t           state;
	};
]])

lacp.headerFormat = [[
	uint8_t          subtype;
	uint8_t          version;
	uint8_t          actor_type;
	uint8_t          actor_len;
	struct lacp_info actor;
	uint8_t          z1[3];
	uint8_t          partner_type;
	uint8_t          partner_len;
	struct lacp_info partner;
	uint8_t          z2[3];
	uint8_t          collector_type;
	uint8_t          collector_len;
	uint16_t         collector_delay;
	uint8_t          z3[64];
]]
lacp.headerVariableMember = nil

---------------------------------------------------------------------------------------------------
-- struct lacp_info (actor / partner)
---------------------------------------------------------------------------------------------------

local info = {}
info.__index = info

local infoFields = {
	SysPriority = "sys_priority",
	Key = "key",
	PortPriority = "port_priority",
	PortId = "port_id",
}
for name, field in pairs(infoFields) do
	info["set" .. name] = function(self, n)
		self[field] = hton16(n or 0)
	end
	info["get" .. name] = function(self)
		return hton16(self[field])
	end
end

function info:setState(s)
	self.state = s or 0
end

function info:getState()
	return self.state
end

local stateNames = {
	{ lacp.STATE_ACT, "Activity" }, { lacp.STATE_TIME, "Timeout" },
	{ lacp.STATE_AGG, "Aggregation" }, { lacp.STATE_SYNC, "Synchronization" },
	{ lacp.STATE_COL, "Collecting" }, { lacp.STATE_DIST, "Distributing" },
	{ lacp.STATE_DEF, "Defaulted" }, { lacp.STATE_EXP, "Expired" },
}

function info:getStateString()
	local names = {}
	for _, s in ipairs(stateNames) do
		if band(self.state, s[1]) ~= 0 then
			names[#names + 1] = s[2]
		end
	end
	return "[" .. table.concat(names, ", ") .. "]"
end

function info:getString()
	return format("System %s, System Priority %d, Key %d, Port %d, Port Priority %d, %s",
		self.sys_id:getString(), self:getSysPriority(), self:getKey(), self:getPortId(),
		self:getPortPriority(), self:getStateString())
end

function info.equalsIgnoreState(lhs, rhs)
	return lhs.sys_priority == rhs.sys_priority and lhs.sys_id == rhs.sys_id
		and lhs.key == rhs.key and lhs.port_priority == rhs.port_priority
		and lhs.port_id == rhs.port_id
end

function info.__eq(lhs, rhs)
	return info.equalsIgnoreState(lhs, rhs) and lhs.state == rhs.state
end

template.metatypeOnce("struct lacp_info", info)

---------------------------------------------------------------------------------------------------
-- header
---------------------------------------------------------------------------------------------------

local lacpHeader = template.initHeader()

function lacpHeader:validate()
	return self.subtype == 1 and self.version == 1
		and self.actor_type == 1 and self.actor_len == 20
		and self.partner_type == 2 and self.partner_len == 20
		and self.collector_type == 3 and self.collector_len == 16
end

local function fillInfo(i, args, pre)
	i:setSysPriority(args[pre .. "SysPriority"])
	i:setKey(args[pre .. "Key"])
	i:setPortPriority(args[pre .. "PortPriority"])
	i:setPortId(args[pre .. "PortId"])
	i:setState(args[pre .. "State"])
	i.sys_id:setString(args[pre .. "SysId"] or "00:00:00:00:00:00")
end

local function getInfo(i, args, pre)
	args[pre .. "SysPriority"] = i:getSysPriority()
	args[pre .. "Key"] = i:getKey()
	args[pre .. "PortPriority"] = i:getPortPriority()
	args[pre .. "PortId"] = i:getPortId()
	args[pre .. "State"] = i:getState()
	args[pre .. "SysId"] = i.sys_id:getString()
end

--- the protocol constants are always written; z1..z3 are zeroed
function lacpHeader:fill(args, pre)
	args = args or {}
	pre = pre or "lacp"
	self.subtype, self.version = 1, 1
	self.actor_type, self.actor_len = 1, 20
	self.partner_type, self.partner_len = 2, 20
	self.collector_type, self.collector_len = 3, 16
	self.collector_delay = 0
	for i = 0, 2 do
		self.z1[i], self.z2[i] = 0, 0
	end
	for i = 0, 63 do
		self.z3[i] = 0
	end
	fillInfo(self.actor, args, pre .. "Actor")
	fillInfo(self.partner, args, pre .. "Partner")
end

function lacpHeader:get(pre)
	pre = pre or "lacp"
	local args = {}
	getInfo(self.actor, args, pre .. "Actor")
	getInfo(self.partner, args, pre .. "Partner")
	return args
end

function lacpHeader:getString()
	if self.subtype ~= 1 or self.version ~= 1 then
		return "Unknown 0x8809 protocol: Type " .. self.subtype .. " Version " .. self.version
	end
	if not self:validate() then
		return "Could not parse payload"
	end
	return "  Actor Information\n    " .. self.actor:getString()
		.. "\n  Partner Information\n    " .. self.partner:getString()
		.. "\n  Collector Information\n    Max Delay " .. hton16(self.collector_delay)
end

lacp.metatype = lacpHeader

---------------------------------------------------------------------------------------------------
-- LACP task: provided later by the runtime (moongen-api.md §2.6)
---------------------------------------------------------------------------------------------------

local function notYet()
	error("proto.lacp: LACP task not available yet", 3)
end

function lacp.startLacpTask(...)
	return notYet(...)
end

function lacp.waitForLink(...)
	return notYet(...)
end

function lacp.getMac(...)
	return notYet(...)
end

return lacp
