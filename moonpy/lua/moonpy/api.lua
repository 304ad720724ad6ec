-- moonpy.api: the fast path of this VM.
--
-- Python injects MOONPY_CDEF (the marked region of csrc/mp_api.h),
-- MOONPY_MBUF_CDEF (a `struct rte_mbuf` view generated from the installed
-- DPDK's offsets) and MOONPY_API_ADDR (the address of `struct mp_api`).
-- Everything per packet or per burst goes through the function pointers cached
-- here: no Python and no lupa crossing in any loop.
local ffi = require "ffi"

ffi.cdef(MOONPY_MBUF_CDEF)
ffi.cdef(MOONPY_CDEF)
ffi.cdef[[
struct mp_bufarray {
    uint32_t size;
    uint32_t maxSize;
    struct rte_mempool *mem;
    struct mp_offload_req ol; /* the offload request the next send carries out (memory.lua) */
    struct rte_mbuf *array[?];
};
struct mp_eth_stats {
    uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
    uint64_t q_ipackets[16], q_opackets[16], q_ibytes[16], q_obytes[16], q_errors[16];
};
int usleep(unsigned int usec);
]]

local C = ffi.cast("const struct mp_api *", MOONPY_API_ADDR)
if C.abi_version ~= MOONPY_ABI_VERSION or C.size ~= ffi.sizeof("struct mp_api") then
    error(("moonpy: fast-path ABI mismatch (C has version %d size %d, Lua expects %d/%d); "
        .. "rebuild moonpy (make build)"):format(C.abi_version, C.size, MOONPY_ABI_VERSION,
        ffi.sizeof("struct mp_api")))
end

local api = {
    C = C,
    host = MOONPY_HOST,
    tsc_hz = tonumber(C.tsc_hz),
    alloc_bulk = C.alloc_bulk,
    free_bulk = C.free_bulk,
    free_one = C.free_one,
    send_all = C.send_all,
    send_all_req = C.send_all_req,
    try_send = C.try_send,
    rx_burst = C.rx_burst,
    rx_burst_ts = C.rx_burst_ts,
    rdtsc = C.rdtsc,
    running = C.running,
    stop = C.stop,
    set_runtime_cycles = C.set_runtime_cycles,
    delay_cycles = C.delay_cycles,
    pace_flush = C.pace_flush,
    sw_checksums = C.sw_checksums,
    ring_enqueue = C.ring_enqueue,
    ring_dequeue = C.ring_dequeue,
    ring_count = C.ring_count,
    udata64_offset = C.udata64_offset,
    usleep = ffi.C.usleep,
}

-- A bufArray's checksum-offload request (memory.lua keeps it for the send, which carries
-- it out in its pass over the buffers), carried out now: for every other path that reads
-- the buffers or hands them on. Array-likes without one (a table of array and size) pass.
function api.applyOffloads(bufs)
    local r = bufs.ol
    if r ~= nil and r.flags ~= 0 then
        C.offload_l4(bufs.array, r.n, r.flags, r.l2_len, r.l3_len, r.cs_offset)
        r.flags = 0
    end
end

-- Raise a Lua error for a negative return code (the Lua end of the one funnel).
function api.check(rc, what)
    if rc < 0 then
        error(("%s failed: error %d"):format(what, -rc), 2)
    end
    return rc
end

-- The software pacer's counts of one TX queue (C pacer_stats, MP_PACER_STATS values):
-- [0] first and [1] last departure TSC, [2] frames, [3] bytes, [4] gaps judged, [5] gaps
-- within +-256 ns, [6] frames more than 256 ns late, [7] cycles the waiting thread did not
-- run, [8] cycles late frames had the schedule make up from later gaps.
function api.pacerStats(pid, qid)
    local s = ffi.new("uint64_t[?]", ffi.C.MP_PACER_STATS)
    C.pacer_stats(pid, qid, s)
    return s
end

return api
