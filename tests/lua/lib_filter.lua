-- Filters on a cable's receiving end steer as a NIC's: frames sent on TX queue 0 arrive on
-- the queue a filter names (ethertype first, then five-tuple, then the PTP flex bytes),
-- the rest on RX queue 0; a queue of another device is an error, as in libmoon.
local device = require "device"
local memory = require "memory"
local filter = require "filter"

-- send one frame built by `fill` on dev0's TX queue 0; which RX queue of dev1 got it
local function where(dev0, dev1, fill)
	local pool = memory.createMemPool { n = 63 }
	local bufs = pool:bufArray(1)
	bufs:alloc(60)
	fill(bufs[1])
	dev0:getTxQueue(0):send(bufs)
	local rx = memory.bufArray(4)
	for q = 0, 3 do
		local n = dev1:getRxQueue(q):tryRecv(rx, q == 0 and 100000 or 10000)
		rx:free(n)
		if n > 0 then return q end
	end
	return -1
end

function master()
	local dev0 = device.config { port = 0, rxQueues = 4, txQueues = 2 }
	local dev1 = device.config { port = 1, rxQueues = 4, txQueues = 2 }
	local q1 = dev1:getRxQueue(1)
	local wrong, err = pcall(dev1.l2Filter, dev1, 0x88F7, dev0:getRxQueue(1))
	local udp = function(port)
		return function(buf) buf:getUdpPacket():fill { udpDst = port, ip4Dst = "10.0.0.1" } end
	end
	local before = where(dev0, dev1, function(buf) buf:getPtpPacket():fill {} end)
	dev1:l2Filter(0x88F7, q1)
	-- the same ethertype again (scripts install their timestamp filter once per trial): the
	-- device refuses it with a warning, the script goes on and the first filter stays
	dev1:l2Filter(0x88F7, 2)
	local ptp = where(dev0, dev1, function(buf) buf:getPtpPacket():fill {} end)
	local ok5 = dev1:fiveTupleFilter({ dstIp = "10.0.0.1", proto = 17, dstPort = 4000 }, 2)
	local tuple = where(dev0, dev1, udp(4000))
	local other = where(dev0, dev1, udp(4001))
	q1:filterUdpTimestamps() -- PTP type 0, version 2 at bytes 42/43 of IPv4 frames
	local udpPtp = where(dev0, dev1, function(buf) buf:getUdpPtpPacket():fill {} end)
	dev1:l2Filter(0x0806, 3)
	local arp = where(dev0, dev1, function(buf) buf:getArpPacket():fill {} end)
	dev1:dumpFilters()
	print(("FIVETUPLE %s DROP %d WRONG %s %s"):format(tostring(ok5), filter.DROP, tostring(wrong),
		tostring(err):match("Queue must belong to the device being configured") or err))
	print(("QUEUES before=%d ptp=%d tuple=%d other=%d udpptp=%d arp=%d"):format(before, ptp,
		tuple, other, udpPtp, arp))
end
