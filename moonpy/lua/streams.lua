-- streams: per-stream statistics (moonpy; TRex-style flow stats) for Lua scripts.
--
--   local streams = require "streams"
--   local set = streams.new(4)            -- in the master; pass set.id to tasks
--   local set = streams.attach(id)        -- in a task
--   set:stamp(bufs, streamId)             -- before queue:send(bufs)
--   set:count(bufs, n[, rxTimestamps])    -- after queue:recv(bufs) / recvWithTimestamps
--   set:get(streamId)                     -- table of counts, latency in ns
--   set:send(queue, mem, count, size[, first, nStreams, drain])  -- a trial's TX, in C
--   set:receive(queue)                    -- a trial's RX, in C, until send's end + drain
--
-- Every call is one C function of the fast-path table (csrc/mp_streams.c), per burst or,
-- for send/receive, per trial.
local ffi = require "ffi"
local api = require "moonpy.api"

local C = api.C
local mod = {}
mod.SIGNATURE_OFFSET = 42

local set = {}
set.__index = set

function mod.new(n, offset)
    local id = C.streams_create(n or 1)
    if id < 0 then
        error(("streams.new(%s): cannot create a stream set (error %d): 1..65536 streams, "
            .. "at most 16 sets"):format(tostring(n), -id), 2)
    end
    return setmetatable({ id = id, n = n or 1, offset = offset or mod.SIGNATURE_OFFSET }, set)
end

function mod.attach(id, offset)
    local n = C.streams_size(id)
    if n == 0 then
        error(("streams.attach(%s): no such stream set"):format(tostring(id)), 2)
    end
    return setmetatable({ id = id, n = n, offset = offset or mod.SIGNATURE_OFFSET }, set)
end

function set:stamp(bufs, stream)
    return C.streams_tx(self.id, stream, bufs.array, bufs.size, self.offset)
end

function set:count(bufs, n, rxTimestamps)
    return C.streams_rx(self.id, bufs.array, n or bufs.size, self.offset,
        rxTimestamps and ffi.C.MP_STREAMS_RX_TS or 0)
end

-- `count` stamped frames of `size` bytes from mempool `mem` on TX `queue` in one C call
-- (alloc, stamp, send, paced by the queue's rate), frame i as stream first + i % nStreams;
-- its end stops a receive on this set `drain` seconds later (nil/0: leaves it running).
-- Returns frames sent, seconds from the first to the last departure, times the pool was
-- empty.
function set:send(queue, mem, count, size, first, nStreams, drain)
    local out = ffi.new("uint64_t[3]")
    local hz = api.tsc_hz
    local sent = C.streams_send(self.id, first or 0, nStreams or 1, mem, queue.pid, queue.qid,
        size, count, self.offset, 0, (drain or 0) * hz, out)
    return tonumber(sent), tonumber(out[1] - out[0]) / hz, tonumber(out[2])
end

-- Receive on RX `queue` in one C call (each burst's RX TSC right after the rx_burst,
-- counted, freed) until the run stops or a send's end + drain (stopReceive) passed.
-- Returns frames received, of them with this set's signature, seconds the loop did not
-- run (preempted), seconds it ran.
function set:receive(queue)
    local out = ffi.new("uint64_t[4]")
    C.streams_recv(self.id, queue.pid, queue.qid, self.offset, out)
    local hz = api.tsc_hz
    return tonumber(out[0]), tonumber(out[1]), tonumber(out[2]) / hz, tonumber(out[3]) / hz
end

-- A receive on this set (in another task) returns `after` seconds from now.
function set:stopReceive(after)
    C.streams_recv_stop(self.id, C.rdtsc() + (after or 0) * api.tsc_hz)
end

function set:reset() C.streams_reset(self.id) end

function set:percentile(stream, pct)
    return tonumber(C.streams_percentile(self.id, stream, pct))
end

function set:get(stream)
    local c = ffi.new("struct mp_stream_counters")
    api.check(C.streams_read(self.id, stream, c), "streams:get")
    local r = {}
    for _, k in ipairs({ "tx_pkts", "tx_bytes", "rx_pkts", "rx_bytes", "out_of_order",
        "duplicates", "late", "lat_count", "lat_min_ns", "lat_max_ns" }) do
        r[k] = tonumber(c[k])
    end
    r.lost = math.max(0, r.tx_pkts - (r.rx_pkts - r.duplicates))
    r.lat_avg_ns = r.lat_count > 0 and tonumber(c.lat_sum_ns) / r.lat_count or 0
    r.jitter_ns = c.jitter_ns
    r.p50, r.p99 = self:percentile(stream, 50), self:percentile(stream, 99)
    return r
end

function set:malformed()
    local c = ffi.new("struct mp_streams_set_counters")
    C.streams_read_set(self.id, c)
    return { short = tonumber(c.short_frames), foreign = tonumber(c.foreign),
        bad_stream = tonumber(c.bad_stream), counted = tonumber(c.counted),
        rx_tsc = tonumber(c.rx_tsc) }
end

return mod
