-- proto.lacp: LACP (802.3ad slow protocol) PDU (member `lacp`), 110 bytes.
-- The LACP task (startLacpTask, waitForLink, getMac) is at the end of this file.

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
-- LACP task (libmoon's simplistic 802.3ad partner): one shared task per channel, status shared
-- through a namespace. Received frames are untrusted: too short or malformed PDUs are ignored.
---------------------------------------------------------------------------------------------------

local ffi = require "ffi"

local LACP_TIMEOUT = 30
local PDU_OFFSET = 14

local lib = {}
local function runtime()
	if not lib.libmoon then
		if not rawget(_G, "MOONPY_HOST") then
			error("the LACP task needs the moonpy runtime (run the script with moonpy)", 3)
		end
		lib.libmoon = require "libmoon"
		lib.memory = require "memory"
		lib.ns = require "namespaces"
		lib.log = require "log"
		lib.utils = require "utils"
		require "filter"
	end
	return lib
end

local function status()
	return runtime().ns:get("__MG_LACP_STATUS")
end

--- Start a shared LACP task for the channel `name` over `queues` ({rxQueue=, txQueue=} each).
function lacp.startLacpTask(name, queues)
	if type(name) ~= "string" then
		error("lacp.startLacpTask(name, queues): name must be a string", 2)
	end
	if type(queues) ~= "table" or queues[1] == nil then
		error("lacp.startLacpTask(name, queues): queues must be a list of {rxQueue=, txQueue=}", 2)
	end
	return runtime().libmoon.startSharedTask(lacp.lacpTask, name, queues)
end

--- Wait until at least `minLinks` (default: all) ports of channel `name` are up (dot or colon).
function lacp.waitForLink(self, name, minLinks)
	if self ~= lacp then
		return lacp.waitForLink(lacp, self, name)
	end
	local L = runtime()
	local st = status()
	if not st[name] then
		L.libmoon.sleepMillisIdle(100)
	end
	local s = st[name]
	if not s then
		L.log:fatal("Port channel %s does not exist", tostring(name))
	end
	minLinks = minLinks or s.numPorts
	printf("Waiting for at least %d ports on LACP channel %s to come up...", minLinks, name)
	local current = 0
	while L.libmoon.running() do
		local up = st[name].up
		if up ~= current then
			printf("%d port%s up", up, up > 1 and "s" or "")
			current = up
		end
		if up >= minLinks then
			return true
		end
		L.libmoon.sleepMillisIdle(100)
	end
	return false
end

--- The MAC address the channel `name` uses (dot or colon).
function lacp.getMac(self, name)
	if self ~= lacp then
		return lacp.getMac(lacp, self)
	end
	local s = status()[name]
	return s and s.mac
end

local INFO_SIZE = ffi.sizeof("struct lacp_info")

local function lacpTask(name, queues)
	local L = runtime()
	if name == "channelId" then
		L.log:fatal("name channelId is reserved")
	end
	local st = status()
	local lacpMac = queues[1].txQueue.dev:getMacString()
	st.lock:lock()
	local key = (st.channelId or 0) + 1
	st.channelId = key
	st.lock:unlock()
	local mem = L.memory.createMemPool { n = 255 }
	local bufs = L.memory.bufArray(16)
	local txBufs = mem:bufArray(1)
	local getMono = L.utils.getMonotonicTime
	local ports = {}
	for i, q in ipairs(queues) do
		if type(q) ~= "table" or not q.rxQueue or not q.txQueue then
			error(("LACP task: port %d needs rxQueue and txQueue"):format(i), 0)
		end
		q.rxQueue.dev:l2Filter(0x8809, q.rxQueue)
		ports[i] = {
			rxQueue = q.rxQueue, txQueue = q.txQueue,
			rxState = "EXPIRED", rxStateTimeout = 0, up = false,
			partnerInfo = ffi.new("struct lacp_info"), actorInfo = ffi.new("struct lacp_info"),
			stateFlags = bit.bor(lacp.STATE_ACT, lacp.STATE_AGG, lacp.STATE_DEF, lacp.STATE_EXP),
		}
	end
	st[name] = { up = 0, numPorts = #ports, mac = lacpMac }
	local lastUpdate, lastUp = 0, -1
	local bor, bnot = bit.bor, bit.bnot
	while L.libmoon.running() do
		for _, port in ipairs(ports) do
			local rx = port.rxQueue:tryRecvIdle(bufs, 100)
			for i = 0, rx - 1 do
				local buf = bufs.array[i]
				local len = math.min(buf.pkt_len, buf.data_len)
				local d = buf:getBytes()
				-- slow protocols ethertype, then a full LACPDU
				if len >= PDU_OFFSET + 110 and d[12] == 0x88 and d[13] == 0x09 then
					local pkt = buf:getLacpPacket()
					if pkt.lacp:validate() then
						port.rxState = "CURRENT"
						port.rxStateTimeout = getMono() + LACP_TIMEOUT
						ffi.copy(port.partnerInfo, pkt.lacp.actor, INFO_SIZE)
						if port.actorInfo:equalsIgnoreState(pkt.lacp.partner) then
							port.stateFlags = bor(port.stateFlags, lacp.STATE_SYNC, lacp.STATE_COL)
							port.stateFlags = band(port.stateFlags, bnot(lacp.STATE_DEF))
						end
						local down = false
						if band(pkt.lacp.actor.state, lacp.STATE_COL) ~= 0 then
							port.stateFlags = bor(port.stateFlags, lacp.STATE_DIST)
						else
							port.stateFlags = band(port.stateFlags, bnot(lacp.STATE_DIST))
							down = true
						end
						if band(pkt.lacp.actor.state, lacp.STATE_DIST) ~= 0 then
							port.stateFlags = bor(port.stateFlags, lacp.STATE_COL)
						else
							port.stateFlags = band(port.stateFlags, bnot(lacp.STATE_COL))
							down = true
						end
						port.up = not down
					else
						L.log:warn("Received unsupported LACPDU")
					end
				end
			end
			if rx > 0 then
				bufs:free(rx)
			end
		end
		-- transmit every second
		if getMono() > lastUpdate + 1 then
			for _, port in ipairs(ports) do
				if getMono() > port.rxStateTimeout then
					port.rxState = "EXPIRED"
					port.up = false
					port.stateFlags = bor(lacp.STATE_ACT, lacp.STATE_AGG, lacp.STATE_DEF,
						lacp.STATE_EXP)
					port.partnerInfo = ffi.new("struct lacp_info")
					port.actorInfo = ffi.new("struct lacp_info")
				end
				if port.rxState == "EXPIRED" then
					port.stateFlags = bor(port.stateFlags, lacp.STATE_EXP)
				else
					port.stateFlags = band(port.stateFlags, bnot(lacp.STATE_EXP))
				end
				txBufs:alloc(lacp.PKT_SIZE)
				local pkt = txBufs[1]:getLacpPacket()
				pkt:fill {
					lacpActorSysId = lacpMac, lacpActorSysPriority = 0x7FFF,
					lacpActorPortPriority = 0x7FFF, pktLength = lacp.PKT_SIZE,
				}
				pkt.eth.src:setString(port.txQueue.dev:getMacString())
				pkt.lacp.actor:setKey(key)
				pkt.lacp.actor:setPortId(port.txQueue.id + 1000)
				pkt.lacp.actor:setState(port.stateFlags)
				ffi.copy(port.actorInfo, pkt.lacp.actor, INFO_SIZE)
				ffi.copy(pkt.lacp.partner, port.partnerInfo, INFO_SIZE)
				port.txQueue:send(txBufs)
			end
			lastUpdate = getMono()
		end
		local numUp = 0
		for _, port in ipairs(ports) do
			if port.up then
				numUp = numUp + 1
			end
		end
		if numUp ~= lastUp then
			st[name] = { up = numUp, numPorts = #ports, mac = lacpMac }
			lastUp = numUp
		end
		L.libmoon.sleepMillisIdle(1)
	end
end

__MG_LACP_TASK = lacpTask -- luacheck: ignore (MoonGen's global task entry point)

return lacp
