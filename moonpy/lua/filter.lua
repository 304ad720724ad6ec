-- filter: NIC packet filters (libmoon `filter` module), added as device and rx queue methods.
--
-- A port steers what it receives as an Intel NIC (ixgbe, the card MoonGen's filters were
-- written for) does: ethertype filters first, then five-tuple filters by priority, then the
-- flow-director match on the PTP type/version bytes that filterUdpTimestamps installs
-- (IPv4 frames with bytes 42 and 43 equal to them: libmoon's flex-payload set-up), then
-- RSS, and everything else to RX queue 0. On a virtual cable the sending end applies them
-- (csrc/mp_cable.c), so a filtered frame arrives on its queue whichever TX queue sent it.
-- Other ports (DPDK 22.11 has no filter_ctrl, virtual PMDs have no filters) apply them in
-- moonpy's RX path (csrc/mp_swsteer.c): each polled RX queue hands frames that belong to
-- another queue to that queue.
local device = require "device"
local log = require "log"
local host = require("moonpy.api").host

local mod = {}

mod.DROP = -1

local dev = device.__devicePrototype
local rxQueue = device.__rxQueuePrototype

local ETH_TYPE_PTP = 0x88F7

-- queue object or number -> queue id; a queue of another device is fatal, as in libmoon
local function queueId(self, queue)
	if type(queue) == "table" then
		if queue.id ~= self.id then
			log:fatal("Queue must belong to the device being configured")
		end
		return queue.qid
	end
	return queue
end

-- Install one filter (host.add_filter checks the queue). A filter the device refuses
-- (table full, ethertype already taken, bad queue) is a warning and the script goes on,
-- as libmoon only warns when the driver refuses a filter.
local function install(self, what, kind, qid, ...)
	local ok, err = pcall(host.add_filter, self.id, kind, qid, ...)
	if not ok then
		log:warn("Device %d: %s: %s", self.id, what, tostring(err))
	end
end

--- Steer frames with ethertype `etype` to `queue` (a queue or its id; filter.DROP drops).
function dev:l2Filter(etype, queue)
	local qid = queueId(self, queue)
	install(self, ("l2Filter(0x%04x -> queue %s)"):format(tonumber(etype) or 0, tostring(qid)),
		"ethertype", qid, tonumber(etype) or 0)
end

-- An IPv4 address string or number as libmoon's parseIPAddress reads it (host order).
local function ip4(s)
	if s == nil then return nil end
	if type(s) == "number" then return s end
	local v = parseIPAddress(s)
	if type(v) ~= "number" then
		log:fatal("fiveTupleFilter: '%s' is not an IPv4 address", tostring(s))
	end
	return v
end

--- Five-tuple filter: {srcIp=, dstIp=, srcIpMask=, dstIpMask=, srcPort=, dstPort=, srcPortMask=,
--- dstPortMask=, proto=, protoMask=, priority=1}: a field given is compared under its mask
--- (all bits unless a mask is given), a field left out matches anything. @return true
function dev:fiveTupleFilter(filter, queue)
	if type(filter) ~= "table" then
		error("fiveTupleFilter: the first argument must be a table of fields", 2)
	end
	local qid = type(queue) == "number" and queue or (queue and queue.qid)
	local f = filter
	local srcIp, dstIp = ip4(f.srcIp), ip4(f.dstIp)
	install(self, ("fiveTupleFilter(-> queue %s)"):format(tostring(qid)), "fivetuple", qid,
		srcIp or 0, ip4(f.srcIpMask) or (srcIp and 0xFFFFFFFF or 0),
		dstIp or 0, ip4(f.dstIpMask) or (dstIp and 0xFFFFFFFF or 0),
		f.srcPort or 0, f.srcPortMask or (f.srcPort and 0xFFFF or 0),
		f.dstPort or 0, f.dstPortMask or (f.dstPort and 0xFFFF or 0),
		f.proto or 0, f.protoMask or (f.proto and 0xFF or 0),
		f.priority or 1)
	return true
end

--- Flow-director filter on the PTP type/version bytes; nothing to do for queue 0.
function dev:filterUdpTimestamps(queue, ptpType, ver)
	local qid = type(queue) == "table" and queue.qid or queue
	if qid == 0 then
		return
	end
	install(self, ("filterUdpTimestamps(-> queue %s)"):format(tostring(qid)), "ptpflex", qid,
		ptpType or 0, ver or 2)
end

if not dev.filterL2Timestamps then
	--- PTP ethertype (0x88F7) to `queue`; nothing to do for queue 0.
	function dev:filterL2Timestamps(queue)
		local qid = type(queue) == "number" and queue or queue.qid
		if qid == 0 then
			return
		end
		self:l2Filter(ETH_TYPE_PTP, queue)
	end
end

if not dev.filterTimestamps then
	function dev:filterTimestamps(queue)
		log:warn("device:filterTimestamps(q) is deprecated and will be removed. Use "
			.. "queue:filterUdpTimestamps() instead. Or use the timestamper class which handles "
			.. "this for you.")
		queue:filterUdpTimestamps()
	end
end

function dev:dumpFilters()
	log:info("Device %d: %s", self.id, host.filters(self.id))
end

--- rte_flow ethertype filter (mlx5 path in libmoon).
function dev:l2GenericFilter(etype, queue, etypemask, priority, group) -- luacheck: ignore
	log:info("Using generic filter")
	self:l2Filter(etype, queue)
end

--- rte_flow filter for UDP timestamp packets (libmoon's: UDP frames with PTP version 2).
function dev:UdpGenericFilter(queue, priority, group) -- luacheck: ignore priority group
	log:info("Using generic filter")
	self:filterUdpTimestamps(queue)
end

if not rxQueue.filterUdpTimestamps then
	function rxQueue:filterUdpTimestamps()
		return self.dev:filterUdpTimestamps(self)
	end
end

if not rxQueue.filterL2Timestamps then
	function rxQueue:filterL2Timestamps()
		return self.dev:filterL2Timestamps(self)
	end
end

return mod
