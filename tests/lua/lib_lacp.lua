-- The LACP task (proto.lacp) on port 0 against a switch-like partner on port 1 (the other end
-- of the virtual cable) that answers every LACPDU with its own actor in sync, collecting and
-- distributing, and the received actor as its partner. The channel must come up.
local lm     = require "libmoon"
local device = require "device"
local memory = require "memory"
local lacp   = require "proto.lacp"
local ffi    = require "ffi"

function master()
	local dev0 = device.config { port = 0 }
	local dev1 = device.config { port = 1 }
	lacp.startLacpTask("chan", { { rxQueue = dev0:getRxQueue(0), txQueue = dev0:getTxQueue(0) } })
	lm.startTask("switch", dev1:getRxQueue(0), dev1:getTxQueue(0))
	lm.setRuntime(30)
	local up = lacp:waitForLink("chan")
	print(("LACP up=%s mac=%s"):format(tostring(up), tostring(lacp.getMac("chan"))))
	lm.stop()
	lm.waitForTasks()
end

function switch(rxQueue, txQueue)
	local pool = memory.createMemPool { n = 255 }
	local rxBufs = memory.bufArray(16)
	local tx = pool:bufArray(1)
	local printed = false
	local inSync = bit.bor(lacp.STATE_ACT, lacp.STATE_AGG, lacp.STATE_SYNC, lacp.STATE_COL,
		lacp.STATE_DIST)
	while lm.running() do
		local rx = rxQueue:tryRecv(rxBufs, 1000)
		for i = 1, rx do
			local buf = rxBufs[i]
			if buf:getSize() >= lacp.PKT_SIZE and buf:getLacpPacket().lacp:validate() then
				if not printed then
					local d, hex = buf:getBytes(), {}
					for j = 0, buf:getSize() - 1 do hex[#hex + 1] = ("%02x"):format(d[j]) end
					print("LACPDU " .. table.concat(hex))
					printed = true
				end
				tx:alloc(lacp.PKT_SIZE)
				local pkt = tx[1]:getLacpPacket()
				pkt:fill { pktLength = lacp.PKT_SIZE, ethSrc = "02:aa:bb:cc:dd:ee",
					lacpActorSysId = "02:aa:bb:cc:dd:ee", lacpActorKey = 77,
					lacpActorPortId = 5, lacpActorState = inSync }
				ffi.copy(pkt.lacp.partner, buf:getLacpPacket().lacp.actor,
					ffi.sizeof("struct lacp_info"))
				txQueue:send(tx)
			end
		end
		rxBufs:free(rx)
	end
end
