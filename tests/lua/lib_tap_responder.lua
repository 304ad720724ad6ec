-- The ARP and ICMP tasks answering the Linux kernel on a tap port (`--port tap,iface=...`).
-- One dispatcher task receives everything and hands ARP frames to arp.handlePacket and ICMP
-- frames to icmp.handlePacket (the dump-pkts pattern; tap ports have no filters). The master
-- also resolves the kernel's address through the ARP task, then waits for the test to create
-- the file `--done` before it ends the run.
local lm     = require "libmoon"
local device = require "device"
local memory = require "memory"
local arp    = require "proto.arp"
local icmp   = require "proto.icmp"

function configure(parser)
	parser:option("--ip", "Our IPv4 address."):default("198.18.9.2")
	parser:option("--kernel-ip", "The kernel's address to resolve."):default("198.18.9.1")
		:target("kernelIp")
	parser:option("--done", "File whose existence ends the run."):default("/tmp/moonpy-done")
	parser:option("--timeout", "Seconds before giving up."):default(60):convert(tonumber)
end

function master(args)
	-- tap ports need as many rx as tx queues; the kernel may use either rx queue
	local dev = device.config { port = 0, rxQueues = 2, txQueues = 2 }
	arp.startArpTask { txQueue = dev:getTxQueue(0), ips = args.ip }
	icmp.startIcmpTask { txQueue = dev:getTxQueue(1), ips = args.ip }
	lm.startTask("dispatcher", dev:getRxQueue(0), dev:getRxQueue(1))
	arp.waitForStartup()
	print("OUR MAC " .. dev:getMacString():lower())
	print("READY")
	local mac = arp.blockingLookup(args.kernelIp, args.timeout)
	print("KERNEL MAC " .. tostring(mac))
	local deadline = lm.getTime() + args.timeout
	while lm.running() and not fileExists(args.done) and lm.getTime() < deadline do
		lm.sleepMillisIdle(20)
	end
	lm.stop()
	lm.waitForTasks()
	print("RESPONDER DONE")
end

function dispatcher(...)
	local queues = { ... }
	local bufs = memory.bufArray(32)
	local nArp, nIcmp = 0, 0
	while lm.running() do
		local rx = 0
		for _, q in ipairs(queues) do
			rx = q:tryRecv(bufs, 0)
			if rx > 0 then
				break
			end
		end
		if rx == 0 then
			lm.sleepMicrosIdle(100)
		end
		for i = 1, rx do
			local buf = bufs[i]
			local d = buf:getBytes()
			local len = buf:getSize()
			if len >= 14 and d[12] == 0x08 and d[13] == 0x06 then
				arp.handlePacket(buf)
				nArp = nArp + 1
			elseif len >= 34 and d[12] == 0x08 and d[13] == 0x00 and d[23] == 1 then
				icmp.handlePacket(buf)
				nIcmp = nIcmp + 1
			else
				buf:free()
			end
		end
	end
	print(("DISPATCHED arp=%d icmp=%d"):format(nArp, nIcmp))
end
