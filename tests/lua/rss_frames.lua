-- Receive-side scaling on a virtual cable: send the frames of a hex file (one per line)
-- from port 0 to port 1, whose RX queues 1 and 2 share them by RSS hash; print each
-- frame as it arrives: "RX <queue> <hash.rss> <frame hex>".
local mg     = require "moongen"
local memory = require "memory"
local device = require "device"
local dpdk   = require "dpdk"
local ffi    = require "ffi"

function configure(parser)
    parser:argument("frames", "File with one frame in hex per line.")
    parser:option("--types", "ip4 (addresses only) or all (default)."):default("all")
end

function master(args)
    local funcs = nil
    if args.types == "ip4" then funcs = { dpdk.ETH_RSS_IPV4 } end
    local tx = device.config{ port = 0 }
    local rx = device.config{ port = 1, rxQueues = 3, rssQueues = 2, rssBaseQueue = 1,
        rssFunctions = funcs }
    device.waitForLinks()
    local frames = {}
    for line in io.lines(args.frames) do
        frames[#frames + 1] = line:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)
    end
    local mem = memory.createMemPool()
    local bufs = mem:bufArray(1)
    local queue = tx:getTxQueue(0)
    for _, frame in ipairs(frames) do
        bufs:alloc(#frame)
        ffi.copy(bufs[1]:getData(), frame, #frame)
        queue:send(bufs)
    end
    local got = memory.bufArray(64)
    local seen = 0
    local deadline = mg.getTime() + 5
    while seen < #frames and mg.getTime() < deadline do
        for q = 0, 2 do
            local n = rx:getRxQueue(q):tryRecv(got, 0)
            for i = 1, n do
                local buf = got[i]
                local data = ffi.string(buf:getData(), buf:getSize())
                print(("RX %d %08x %s"):format(q, buf.hash.rss, (data:gsub(".", function(c)
                    return ("%02x"):format(c:byte())
                end))))
            end
            got:free(n)
            seen = seen + n
        end
    end
end
