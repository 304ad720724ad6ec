-- moonpy.prelude: what every VM (master and task) loads before the script,
-- as MoonGen's main does: 5.2 compatibility, logging, the utils globals, and
-- the core modules (which also define global task entry points).
local compat = require "moonpy.compat"
compat.install(_G)

-- a JIT-inlined math.random: scripts call it per packet
require("moonpy.random").install()

-- whole lines reach a pipe (the dashboard, a test) as soon as they are printed
io.stdout:setvbuf("line")

-- One write per line: LuaJIT's print writes each argument, tab and the newline with
-- separate stdio calls, so lines printed by several task threads at once (all VMs share
-- the process's stdout) could interleave mid-line; and even one fwrite of a whole line
-- may leave in two write()s when the stdio buffer fills, with a stderr line between
-- them. So print hands the whole line to one write(2) on fd 1 (after flushing what
-- io.write left in the stdio buffer, to keep the order); users parse these lines.
do
    local ffi = require "ffi"
    pcall(ffi.cdef, "long write(int fd, const void *buf, unsigned long count);")
    local C, stdout, select, concat = ffi.C, io.stdout, select, table.concat
    -- like Lua's print, call the global tostring (a script may replace it)
    local G = _G
    local function writeLine(line)
        stdout:flush()
        local len, off = #line, 0
        local p = ffi.cast("const char *", line)
        while off < len do
            local n = tonumber(C.write(1, p + off, len - off))
            if n <= 0 then
                if ffi.errno() ~= 4 then return end -- EINTR: again; else drop like stdio
            else
                off = off + n
            end
        end
    end
    rawset(_G, "print", function(...)
        local n = select("#", ...)
        if n == 1 then
            writeLine(G.tostring((...)) .. "\n")
            return
        end
        local parts = { ... }
        local tostr = G.tostring
        for i = 1, n do parts[i] = tostr(parts[i]) end
        writeLine(concat(parts, "\t", 1, n) .. "\n")
    end)
end

-- a script's os.exit must not kill the process under DPDK: end the run instead
local host = MOONPY_HOST
os.exit = function(code)
    if code == true or code == nil then code = 0 elseif code == false then code = 1 end
    host.request_exit(code)
    error("__MOONPY_EXIT__", 0)
end

require "colors"
require "log"
require "utils"
require "libmoon"
require "dpdk"
require "device"
require "memory"
require "packet"
-- MoonGen's main loads its timestamping and rate control extensions in every VM
require "software-timestamps"
require "crc-ratecontrol"
require "software-ratecontrol"

-- The live dashboard (when on) receives script counters and histograms: at most a
-- call per counter per second and per histogram per half second, never per packet.
if MOONPY_LIVE then
    local lm = require "libmoon"
    rawset(_G, "MOONPY_STATS_SINK", function(event, ctr)
        local n = #ctr.mpps
        if event == "update" and n > 0 then
            host.counter_report(ctr.name, ctr.dir, ctr.mpps[n], ctr.mbit[n], ctr.total or 0)
        end
    end)
    local nextId, lastReport = 0, {}
    rawset(_G, "MOONPY_HIST_SINK", function(h)
        local now = lm.getTime()
        if (lastReport[h] or 0) > now - 0.5 then return end
        lastReport[h] = now
        if not h.liveId then
            nextId = nextId + 1
            h.liveId = ("%s#%d"):format(LIBMOON_TASK_NAME, nextId)
        end
        local p = h:percentiles()
        local lo, hi = h.minimum, p.p99 or h.maximum
        local buckets = { 0, 0, 0, 0, 0, 0, 0, 0 }
        local width = (hi - lo) / 8
        for _, cell in ipairs(h.sortedHisto) do
            local i = width > 0 and math.floor((cell.k - lo) / width) + 1 or 1
            if i > 8 then i = 8 end
            buckets[i] = buckets[i] + cell.v
        end
        host.hist_report(h.liveId, h.numSamples, p.p50, p.p90, p.p99, p.max, lo, hi, buckets)
    end)
end
