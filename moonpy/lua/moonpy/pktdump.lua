-- moonpy.pktdump: the output helpers of packet dumps (packet.lua, moonpy.stacks): colors,
-- time of day, hex dump, in the same bytes as MoonGen's colors/utils helpers.

local ffi = require "ffi"
local template = require "proto.template"

local format, type = string.format, type

local M = {}

local PALETTE = { "0;34", "1;32", "0;35", "1;31", "0;33", "1;36", "0;32", "1;33", "0;31" }
local WHITE = "\027[1;37m"
local RESET = "\027[0m"

local function colorCode(i)
	return "\027[" .. PALETTE[(i - 1) % #PALETTE + 1] .. "m"
end

template.cdefOnce("struct moonpy_packet_timeval", [[
	struct moonpy_packet_timeval { long tv_sec; long tv_usec; };
	int moonpy_packet_gettimeofday(struct moonpy_packet_timeval *tv, void *tz)
		__asm__("gettimeofday");
]])
local timeval = ffi.new("struct moonpy_packet_timeval")

--- UTC time of day as hh:mm:s.ffffff (seconds not zero-padded, like MoonGen's getTimeMicros)
local function timeMicros()
	ffi.C.moonpy_packet_gettimeofday(timeval, nil)
	local t = tonumber(timeval.tv_sec) + tonumber(timeval.tv_usec) / 1e6
	local secs = math.floor(t)
	local frac = t - secs
	local mins = math.floor(secs / 60)
	secs = secs - mins * 60
	local hours = math.floor(mins / 60)
	mins = mins - hours * 60
	return format("%02d:%02d:%02.6f", hours % 24, mins, secs + frac)
end

-- hex dump into `out`; `seps` (header end offsets) switches colors on, as in MoonGen's dumpHex
local function hexDump(out, data, bytes, seps, wireshark)
	local sep = 1
	local nseps = seps and #seps or 0
	local color = seps and colorCode(1) or ""
	local offsetFormat = wireshark and "  %06x   " or "  0x%04x:   "
	for i = 0, bytes - 1 do
		if sep <= nseps and seps[sep] == i then
			sep = sep + 1
			color = colorCode(sep)
		end
		if i % 16 == 0 then
			out[#out + 1] = (seps and WHITE or "") .. format(offsetFormat, i)
			color = seps and colorCode(sep) or ""
		end
		out[#out + 1] = color .. format("%02x", data[i])
		color = ""
		if wireshark or i % 2 == 1 then
			out[#out + 1] = " "
		end
		if i % 16 == 15 then
			out[#out + 1] = "\n"
		end
	end
	out[#out + 1] = (seps and RESET or "") .. "\n\n"
end

local function isStream(x)
	local t = type(x)
	return t == "userdata" or (t == "table" and type(x.write) == "function")
end

M.PALETTE, M.WHITE, M.RESET = PALETTE, WHITE, RESET
M.colorCode = colorCode
M.timeMicros = timeMicros
M.hexDump = hexDump
M.isStream = isStream
return M
