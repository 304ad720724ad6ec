-- The pcap module: `write FILE` writes packets from a task (the test reads them with scapy);
-- `read FILE` prints every packet the reader returns (PKT <size> <udata64> <hex>), then reads
-- the first one again after reset() with readSingle.
local lm     = require "libmoon"
local memory = require "memory"
local pcap   = require "pcap"
local ffi    = require "ffi"

function configure(parser)
	parser:argument("mode", "write or read")
	parser:argument("file", "pcap file")
	parser:option("--batch", "Buffers per read() call."):default(4):convert(tonumber)
end

function master(args)
	if args.mode == "write" then
		local n = lm.startTask("writer", args.file):wait()
		print("WROTE " .. tostring(n))
	else
		read(args.file, args.batch)
	end
end

function writer(file)
	local pool = memory.createMemPool { n = 255 }
	local bufs = pool:bufArray(10)
	-- timestamps relative to startTime: packet i at 1700000000 + i/4 s
	local w = pcap:newWriter(file, 1700000000)
	local n = 0
	for round = 0, 1 do
		bufs:alloc(60)
		for i, buf in ipairs(bufs) do
			local k = round * 10 + i
			buf:getUdpPacket():fill { pktLength = 60 + k, udpSrc = 1000 + k, udpDst = 2000,
				ip4Src = "10.0.0.1", ip4Dst = "10.0.0.2" }
			buf:setSize(60 + k)
			-- the last packet is cut to 42 bytes (snapLen) but keeps its original length
			w:writeBuf(k / 4, buf, k == 20 and 42 or nil)
			n = n + 1
		end
		bufs:freeAll()
	end
	-- raw bytes with write()
	local raw = ffi.new("uint8_t[64]")
	for i = 0, 63 do raw[i] = i end
	w:write(6.5, raw, 64)
	w:close()
	return n + 1
end

function read(file, batch)
	local pool = memory.createMemPool { n = 511 }
	local r = pcap:newReader(file)
	local bufs = pool:bufArray(batch)
	local total = 0
	while true do
		local n = r:read(bufs)
		if n == 0 then
			break
		end
		for i = 1, n do
			local buf = bufs[i]
			local d = buf:getBytes()
			local hex = {}
			for j = 0, buf:getSize() - 1 do
				hex[#hex + 1] = ("%02x"):format(d[j])
			end
			print(("PKT %d %s %s"):format(buf:getSize(), tostring(buf.udata64):gsub("ULL", ""),
				table.concat(hex)))
		end
		bufs:free(n)
		total = total + n
	end
	print("TOTAL " .. total)
	r:reset()
	local first = r:readSingle(pool)
	if first then
		print("FIRST " .. first:getSize())
		first:free()
	end
	r:close()
	print("POOL " .. pool:getAvail())
end
