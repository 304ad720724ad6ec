-- Frames of many sizes (odd ones too), UDP and TCP, with and without IPv4 options and with
-- random payload bytes, sent with checksum offload requests to a port without offload (a
-- pcap file): moonpy's software TX path must write every checksum. The test parses the file.
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local ffi    = require "ffi"

function master()
    local dev = device.config{port = 0, txQueues = 1}
    local queue = dev:getTxQueue(0)
    local mem = memory.createMemPool()
    local bufs = mem:bufArray(1)
    local sizes = { 54, 55, 60, 61, 64, 75, 127, 128, 333, 1001, 1514 }
    local count = 0
    math.randomseed(11)
    for _, proto in ipairs({ "udp", "tcp" }) do
        for _, size in ipairs(sizes) do
            for opts = 0, 1 do
                for _ = 1, 3 do
                    bufs:alloc(size)
                    local data = ffi.cast("uint8_t *", bufs[1]:getData())
                    for i = 0, size - 1 do data[i] = math.random(0, 255) end
                    local pkt = proto == "udp" and bufs[1]:getUdpPacket() or bufs[1]:getTcpPacket()
                    local ihl = 5 + opts
                    if proto == "tcp" and 14 + ihl * 4 + 20 > size then ihl = 5 end
                    pkt:fill{ pktLength = size, ip4Src = "10.0.0.1", ip4Dst = "10.0.0.2" }
                    pkt.ip4:setHeaderLength(ihl)
                    pkt.ip4:setLength(size - 14)
                    local l4 = data + 14 + ihl * 4
                    if proto == "udp" then
                        l4[4], l4[5] = bit.rshift(size - 14 - ihl * 4, 8), bit.band(size - 14 - ihl * 4, 255)
                        bufs:offloadUdpChecksums(true, 14, ihl * 4)
                    else
                        l4[12] = 0x50
                        bufs:offloadTcpChecksums(true, 14, ihl * 4)
                    end
                    queue:send(bufs)
                    count = count + 1
                end
            end
        end
    end
    mg.sleepMillis(200)
    print(("SENT %d"):format(count))
end
