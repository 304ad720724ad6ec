-- A bufArray's checksum-offload request is carried out when the array is sent, as a NIC
-- computes checksums when the frame leaves (memory.lua). On a port without offload (a pcap
-- file) the test checks every frame's checksums:
--   A: the source address changed through bufs.array after the request: right at send
--   B: bufs[i] after the request sees its flags and lengths
--   C: sendN of half the array, trySend of the rest: both halves right
--   D: a request not sent does not reach the buffers the next alloc hands out: a frame
--      sent without one keeps the checksum bytes the script wrote (0xadde)
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"

local function fill(bufs, src)
    for i = 0, bufs.size - 1 do
        local p = bufs.array[i]:getUdpPacket()
        p:fill{ pktLength = 60, ip4Src = src, ip4Dst = "10.0.0.2", udpSrc = 1000 + i }
        p.udp:setChecksum(0xadde) -- garbage, which a request overwrites
        p.ip4:setChecksum(0xadde)
    end
end

function master()
    local dev = device.config{port = 0, txQueues = 1}
    local queue = dev:getTxQueue(0)
    local mem = memory.createMemPool()
    local bufs = mem:bufArray(4)

    bufs:alloc(60)                                      -- A
    fill(bufs, "10.0.0.1")
    bufs:offloadUdpChecksums()
    for i = 0, bufs.size - 1 do
        bufs.array[i]:getUdpPacket().ip4:setSrcString("10.1.1." .. (i + 1))
    end
    queue:send(bufs)

    bufs:alloc(60)                                      -- B
    fill(bufs, "10.0.0.3")
    bufs:offloadUdpChecksums()
    local b = bufs[2]
    local txo = tonumber(b.tx_offload)
    print(("B flags %s l2 %d l3 %d"):format(
        tostring(bit.band(b.ol_flags, bit.lshift(0xfULL, 52)) ~= 0ULL), txo % 128,
        math.floor(txo / 128) % 512))
    queue:send(bufs)

    bufs:alloc(60)                                      -- C
    fill(bufs, "10.0.0.4")
    bufs:offloadUdpChecksums()
    queue:sendN(bufs, 2)
    while queue:trySend(bufs, 2, 2) == 0 do end

    bufs:alloc(60)                                      -- D
    fill(bufs, "10.0.0.5")
    bufs:offloadUdpChecksums()
    bufs:freeAll()
    bufs:alloc(60)
    fill(bufs, "10.0.0.6")
    queue:send(bufs)

    mg.sleepMillis(200)
    print("SENT 16")
end
