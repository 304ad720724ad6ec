-- A cable end with as many queues as a NIC has: -q TX queues on port 0 each send one burst
-- of 31 UDP frames (distinct addresses and ports); port 1 has -q RX queues and spreads them
-- over all by RSS (--rss 1) or, without RSS or filters, gets them all on RX queue 0. The
-- master reads every RX queue and prints one JSON line with what was sent, read, on how
-- many queues, and both devices' counters.
local memory = require "memory"
local device = require "device"

function configure(parser)
	parser:option("-q --queues", "Queues per end."):default(128):convert(tonumber)
	parser:option("--rss", "1: RSS over all RX queues."):default(1):convert(tonumber)
end

function master(args)
	local n = args.queues
	local tx = device.config{ port = 0, txQueues = n, rxQueues = 1 }
	local rx = device.config{ port = 1, rxQueues = n, txQueues = 1,
		rssQueues = args.rss == 1 and n or 0 }
	local mem = memory.createMemPool{ n = 8191, func = function(buf)
		buf:getUdpPacket():fill{ pktLength = 60 }
	end }
	local bufs = mem:bufArray(31)
	local sent = 0
	for q = 0, n - 1 do
		bufs:alloc(60)
		for i, buf in ipairs(bufs) do
			local pkt = buf:getUdpPacket()
			pkt.ip4.src:set(0x0A000000 + q * 31 + i)
			pkt.udp:setSrcPort(1000 + q * 31 + i)
		end
		sent = sent + tx:getTxQueue(q):send(bufs)
	end
	local rxBufs = memory.bufArray()
	local got, used, bytes, last = 0, 0, 0, -1
	for q = 0, n - 1 do
		local onQueue = 0
		while true do
			local k = rx:getRxQueue(q):tryRecv(rxBufs, 1000)
			if k == 0 then break end
			for i = 1, k do bytes = bytes + rxBufs[i]:getSize() end
			onQueue = onQueue + k
			rxBufs:free(k)
		end
		got = got + onQueue
		if onQueue > 0 then used = used + 1; last = q end
	end
	local txp, txb = tx:getTxStats()
	local rxp, rxb = rx:getRxStats()
	print(("{\"sent\": %d, \"received\": %d, \"bytes\": %d, \"queues_used\": %d, \"last_queue\": %d, "
		.. "\"dev_tx\": [%d, %d], \"dev_rx\": [%d, %d]}"):format(sent, got, bytes, used, last, txp, txb,
		rxp, rxb))
end
