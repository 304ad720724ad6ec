-- filter: NIC packet filters (libmoon `filter` module), added as device and rx queue methods.
--
-- moonpy drives DPDK 22.11, which no longer has the filter_ctrl API that libmoon used, and its
-- virtual ports have no hardware filters at all. Every filter here is therefore accepted and
-- emulated as a no-op: frames still arrive on the queue they arrive on (queue 0 unless RSS or
-- the port spreads them). The first filter call per device says so once in the log. Scripts
-- that filter in software (pf, a check of the ethertype) are unaffected.
local device = require "device"
local log = require "log"

local mod = {}

mod.DROP = -1

local dev = device.__devicePrototype
local rxQueue = device.__rxQueuePrototype

local ETH_TYPE_PTP = 0x88F7

local warned = {}

local function noOp(self, what)
	local key = tostring(self.id)
	if warned[key] then
		return
	end
	warned[key] = true
	local kind = self.kind or "?"
	if kind == "pci" then
		log:warn("Device %d: hardware filters (%s) are not available in moonpy (DPDK 22.11 has "
			.. "no filter_ctrl); the filter is a no-op and frames arrive on the queue they "
			.. "arrive on", self.id, what)
	else
		log:warn("Device %d: %s is emulated as a no-op on %s ports (no hardware filters): frames "
			.. "still arrive on the queue they arrive on", self.id, what, kind)
	end
end

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

--- Steer frames with ethertype `etype` to `queue` (a queue or its id; filter.DROP drops).
function dev:l2Filter(etype, queue)
	local qid = queueId(self, queue)
	noOp(self, ("l2Filter(0x%04x -> queue %s)"):format(tonumber(etype) or 0, tostring(qid)))
end

--- Five-tuple filter: {srcIp=, dstIp=, srcIpMask=, dstIpMask=, srcPort=, dstPort=, srcPortMask=,
--- dstPortMask=, proto=, protoMask=, priority=1}. @return true (as libmoon)
function dev:fiveTupleFilter(filter, queue)
	if type(filter) ~= "table" then
		error("fiveTupleFilter: the first argument must be a table of fields", 2)
	end
	local qid = type(queue) == "number" and queue or (queue and queue.qid)
	noOp(self, ("fiveTupleFilter(-> queue %s)"):format(tostring(qid)))
	return true
end

--- Flow-director filter on the PTP type/version bytes; nothing to do for queue 0.
function dev:filterUdpTimestamps(queue, ptpType, ver) -- luacheck: ignore ptpType ver
	local qid = type(queue) == "table" and queue.qid or queue
	if qid == 0 then
		return
	end
	noOp(self, ("filterUdpTimestamps(-> queue %s)"):format(tostring(qid)))
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
	log:info("Device %d: no filters installed (filters are no-ops in moonpy)", self.id)
end

--- rte_flow ethertype filter (mlx5 path in libmoon).
function dev:l2GenericFilter(etype, queue, etypemask, priority, group) -- luacheck: ignore
	log:info("Using generic filter")
	self:l2Filter(etype, queue)
end

--- rte_flow filter for UDP timestamp packets.
function dev:UdpGenericFilter(queue, priority, group) -- luacheck: ignore priority group
	log:info("Using generic filter")
	local qid = type(queue) == "table" and queue.qid or queue
	noOp(self, ("UdpGenericFilter(-> queue %s)"):format(tostring(qid)))
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
