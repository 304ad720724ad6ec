-- Filters on virtual ports are accepted as no-ops: the calls succeed (one log line), frames
-- still arrive on the queue they arrive on, a queue of another device is still an error.
local lm     = require "libmoon"
local device = require "device"
local memory = require "memory"
local filter = require "filter"

function master()
	local dev0 = device.config { port = 0, rxQueues = 2, txQueues = 2 }
	local dev1 = device.config { port = 1, rxQueues = 2, txQueues = 2 }
	local q1 = dev1:getRxQueue(1)
	dev1:l2Filter(0x88F7, q1)
	dev1:l2Filter(0x0806, 1)
	local ok5 = dev1:fiveTupleFilter({ dstIp = "10.0.0.1", proto = 17, dstPort = 319 }, q1)
	dev1:filterUdpTimestamps(q1)
	dev1:filterL2Timestamps(q1)
	q1:filterUdpTimestamps()
	q1:filterL2Timestamps()
	dev1:l2GenericFilter(0x88F7, q1)
	dev1:UdpGenericFilter(q1)
	dev1:dumpFilters()
	local wrong, err = pcall(dev1.l2Filter, dev1, 0x88F7, dev0:getRxQueue(1))
	print(("FIVETUPLE %s DROP %d WRONG %s %s"):format(tostring(ok5), filter.DROP, tostring(wrong),
		tostring(err):match("Queue must belong to the device being configured") or err))
	-- a PTP frame sent on queue 0 still arrives on queue 0
	local pool = memory.createMemPool { n = 63 }
	local bufs = pool:bufArray(1)
	bufs:alloc(60)
	bufs[1]:getPtpPacket():fill {}
	dev0:getTxQueue(0):send(bufs)
	local rx = memory.bufArray(4)
	local n0 = dev1:getRxQueue(0):tryRecv(rx, 100000)
	local etype = n0 > 0 and rx[1]:getEthernetPacket().eth:getType() or -1
	rx:free(n0)
	local n1 = dev1:getRxQueue(1):tryRecv(rx, 10000)
	rx:free(n1)
	print(("QUEUE0 %d QUEUE1 %d TYPE 0x%04x"):format(n0, n1, etype))
end
