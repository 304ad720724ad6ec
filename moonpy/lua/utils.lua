--- Global helper functions (MoonGen/libmoon `utils.lua` compatible).
--- MoonGen scripts call these without a `require`, so this module defines them as globals on
--- purpose (see moongen-api.md §2.17). The module table returned holds the same functions.
--- The address parsers live in `moonpy.addr`; the globals here forward to it at call time.

local ffi = require "ffi"
local bit = require "bit"
local colors = require "colors"

local band, bor, bnot = bit.band, bit.bor, bit.bnot
local lshift, rshift, arshift = bit.lshift, bit.rshift, bit.arshift
local floor, mlog, random = math.floor, math.log, math.random
local format = string.format

local utils = {}

-- C declarations, one at a time: a declaration some other module already made is harmless.
local function declare(decl)
	pcall(ffi.cdef, decl)
end

local function isComplete(ctype)
	local ok, size = pcall(ffi.sizeof, ctype)
	return ok and size ~= nil
end

if not isComplete("struct timeval") then
	declare "struct timeval { long tv_sec; long tv_usec; };"
end
if not isComplete("struct timespec") then
	declare "struct timespec { long tv_sec; long tv_nsec; };"
end
if not isComplete("struct utsname") then
	declare [[
	struct utsname {
		char sysname[65]; char nodename[65]; char release[65];
		char version[65]; char machine[65]; char domainname[65];
	};]]
end
declare "int gettimeofday(struct timeval *tv, void *tz);"
declare "int clock_gettime(int clk_id, struct timespec *tp);"
declare "int uname(struct utsname *buf);"
declare "char *strerror(int errnum);"
declare "const char *rte_strerror(int errnum);"
declare "int usleep(unsigned int usec);"

----------------------------------------------------------------------------------------------
-- Formatting and varargs
----------------------------------------------------------------------------------------------

function utils.printf(fmt, ...)
	return print(fmt:format(...))
end

function utils.errorf(fmt, ...)
	error(fmt:format(...), 2)
end

--- Apply `f` to every argument; nil arguments are kept in place.
function utils.mapVarArg(f, ...)
	local n = select("#", ...)
	local values = { ... }
	for i = 1, n do
		values[i] = f(values[i])
	end
	return unpack(values, 1, n)
end

--- Apply `f` to the array part of `t`, in place; returns `t`.
function utils.map(t, f)
	for i, v in ipairs(t) do
		t[i] = f(v)
	end
	return t
end

function utils.tostringall(...)
	return utils.mapVarArg(tostring, ...)
end

function utils.tonumberall(...)
	return utils.mapVarArg(tonumber, ...)
end

--- One CSV line (without newline); fields are quoted as RFC 4180 requires.
function utils.toCsv(...)
	local fields = { utils.tostringall(...) }
	for i = 1, select("#", ...) do
		local field = fields[i]
		if field:find("[\r\n\",]") then
			fields[i] = "\"" .. field:gsub("\"", "\"\"") .. "\""
		end
	end
	return table.concat(fields, ",")
end

function utils.printCsv(...)
	return print(utils.toCsv(...))
end

function utils.trim(str)
	return (str:match("^%s*(.-)%s*$"))
end

--- Split `str` at every match of the Lua pattern `sep`.
--- Like MoonGen: an empty first field and an empty last field are dropped, inner ones are kept.
function utils.strSplit(str, sep)
	local parts = {}
	local pos = 1
	local len = #str
	while pos <= len do
		local first, last = str:find(sep, pos)
		if not first or last < first then
			break
		end
		if first > 1 then
			parts[#parts + 1] = str:sub(pos, first - 1)
		end
		pos = last + 1
	end
	if pos <= len then
		parts[#parts + 1] = str:sub(pos)
	end
	return parts
end

----------------------------------------------------------------------------------------------
-- Rates and delays (byte times on a 10 GbE link, as in MoonGen's CRC rate control)
----------------------------------------------------------------------------------------------

--- Exponentially distributed delay with mean `average`, rounded to an integer.
function utils.poissonDelay(average)
	return floor(-mlog(1 - random()) * average + 0.5)
end

function utils.rateToByteDelay(rate, size)
	size = size or 60
	return 1e10 / 8 / (rate * 1e6) - size - 24
end

function utils.timeToByteDelay(time, rate, size)
	rate = rate or 10000
	size = size or 60
	return time * 1.25 * (rate / 1e4) - size - 24
end

function utils.imixSize()
	local roll = random(12)
	if roll == 1 then
		return 1518
	elseif roll <= 5 then
		return 574
	end
	return 68
end

----------------------------------------------------------------------------------------------
-- Byte order
----------------------------------------------------------------------------------------------

function utils.bswap16(n)
	return bor(rshift(n, 8), lshift(band(n, 0xFF), 8))
end

utils.hton16 = utils.bswap16
utils.ntoh16 = utils.bswap16
utils.bswap = bit.bswap
utils.hton = bit.bswap
utils.ntoh = bit.bswap

----------------------------------------------------------------------------------------------
-- Clocks
----------------------------------------------------------------------------------------------

do
	local tv = ffi.new("struct timeval")
	local ts = ffi.new("struct timespec")
	local CLOCK_MONOTONIC = 1

	--- Seconds and microseconds since the epoch, as Lua numbers.
	function utils.gettimeofday()
		ffi.C.gettimeofday(tv, nil)
		return tonumber(tv.tv_sec), tonumber(tv.tv_usec)
	end

	--- Wall-clock time in seconds (float).
	function utils.time()
		local sec, usec = utils.gettimeofday()
		return sec + usec / 1e6
	end

	--- Monotonic clock in seconds (float).
	function utils.getMonotonicTime()
		ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
		return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
	end
end

utils.wallTime = utils.time

--- Microseconds from timeval `earlier` to timeval `later`.
function utils.timevalSpan(later, earlier)
	return (tonumber(later.tv_sec) - tonumber(earlier.tv_sec)) * 1000000
		+ (tonumber(later.tv_usec) - tonumber(earlier.tv_usec))
end

--- UTC time of day as hh:mm:s.ffffff (seconds not zero-padded, as in MoonGen).
function utils.getTimeMicros()
	local now = utils.time()
	local whole = floor(now)
	local minutes = floor(whole / 60)
	local hours = floor(minutes / 60)
	local secs = whole - minutes * 60 + (now - whole)
	return format("%02d:%02d:%02.6f", hours % 24, minutes - hours * 60, secs)
end

----------------------------------------------------------------------------------------------
-- Checksums and dumps
----------------------------------------------------------------------------------------------

--- Internet checksum (ones' complement of the ones' complement sum) over `len` bytes at `data`.
--- Words are read in host order, as MoonGen does, so storing the result as a host-order
--- uint16_t puts the checksum bytes in network order into the packet.
function utils.checksum(data, len)
	local words = ffi.cast("const uint16_t*", data)
	local sum = 0
	for i = 0, floor(len / 2) - 1 do
		sum = sum + words[i]
		if sum > 0xFFFF then
			sum = band(sum, 0xFFFF) + 1
		end
	end
	if len % 2 == 1 then
		-- the trailing byte counts as the low byte of a little-endian word padded with zero
		sum = sum + ffi.cast("const uint8_t*", data)[len - 1]
		if sum > 0xFFFF then
			sum = band(sum, 0xFFFF) + 1
		end
	end
	return band(bnot(sum), 0xFFFF)
end

--- Hex dump of `bytes` bytes at `data` to `stream` (default stdout).
--- `seps` lists byte offsets where a new colour starts; `wireshark` gives text2pcap's layout.
function utils.dumpHex(data, bytes, stream, seps, wireshark)
	local ptr = ffi.cast("const uint8_t*", data)
	stream = stream or io.stdout
	local getColorCode = colors.getColorCode
	local sep = 1
	local pending = seps and getColorCode(sep) or ""
	for i = 0, bytes - 1 do
		if seps and sep <= #seps and seps[sep] == i then
			sep = sep + 1
			pending = getColorCode(sep)
		end
		if i % 16 == 0 then
			local lead = seps and getColorCode("white") or ""
			stream:write(lead .. format(wireshark and "  %06x   " or "  0x%04x:   ", i))
			pending = seps and getColorCode(sep) or ""
		end
		stream:write(pending .. format("%02x", ptr[i]))
		pending = ""
		if wireshark or i % 2 == 1 then
			stream:write(" ")
		end
		if i % 16 == 15 then
			stream:write("\n")
		end
	end
	stream:write((seps and getColorCode() or "") .. "\n\n")
end

----------------------------------------------------------------------------------------------
-- Tables
----------------------------------------------------------------------------------------------

--- Copy the keys of every further table into the first one (in place); returns it.
function utils.mergeTables(...)
	local n = select("#", ...)
	if n == 0 then
		return {}
	end
	local target = (...)
	for i = 2, n do
		for k, v in pairs((select(i, ...))) do
			target[k] = v
		end
	end
	return target
end

function utils.concatArrays(a, b)
	local out = {}
	for _, v in ipairs(a) do
		out[#out + 1] = v
	end
	for _, v in ipairs(b) do
		out[#out + 1] = v
	end
	return out
end

--- All integers from `start` (default 1) to `max`, as multiple return values.
function utils.range(max, start)
	start = start or 1
	local values, n = {}, 0
	for v = start, max do
		n = n + 1
		values[n] = v
	end
	return unpack(values, 1, n)
end

--- (val + 1) % max without a branch; valid for 0 <= val < max < 2^31.
function utils.incAndWrap(val, max)
	return band(val + 1, arshift(val - max + 1, 31))
end

--- unpack() up to table.maxn, so holes become nils.
function utils.unpackAll(t)
	return unpack(t, 1, table.maxn(t))
end

--- Recursive copy of a value; keys and metatables are copied too.
function utils.deepCopy(orig)
	if type(orig) ~= "table" then
		return orig
	end
	local copy = {}
	for k, v in next, orig, nil do
		copy[utils.deepCopy(k)] = utils.deepCopy(v)
	end
	return setmetatable(copy, utils.deepCopy(getmetatable(orig)))
end

----------------------------------------------------------------------------------------------
-- System
----------------------------------------------------------------------------------------------

--- Operating system name and kernel version numbers: sysname, major, minor, patch.
function utils.getOS()
	local info = ffi.new("struct utsname")
	if ffi.C.uname(info) ~= 0 then
		return nil
	end
	local release = ffi.string(info.release)
	local major, minor, patch = utils.tonumberall(release:match("^(%d+)%.(%d+)%.(%d+)"))
	return ffi.string(info.sysname), major, minor, patch
end

function utils.fileExists(path)
	local handle = io.open(path, "r")
	if handle then
		handle:close()
		return true
	end
	return false
end

-- DPDK's own error numbers (RTE errno base is 1000); everything else is a libc errno.
local dpdkErrors = {
	[1001] = "Invalid call in secondary process",
	[1002] = "Missing rte_config structure",
}

--- Text for an (optionally negated) errno value; DPDK's rte_strerror when it is linked in.
function utils.strError(err)
	err = math.abs(tonumber(err) or 0)
	local ok, text = pcall(function()
		return ffi.string(ffi.C.rte_strerror(err))
	end)
	if ok then
		return text
	end
	if dpdkErrors[err] then
		return dpdkErrors[err]
	end
	return ffi.string(ffi.C.strerror(err))
end

--- Log a warning (or level `lvl`) for a non-zero DPDK return code; always returns true.
function utils.checkDpdkError(err, msg, lvl)
	if err ~= 0 then
		local log = require "log"
		log[lvl or "warn"](log, "Error %s: %s", msg, utils.strError(err))
	end
	return true
end

--- Call `f(...)` until it returns a true value or about `waitUs` microseconds have passed.
function utils.waitForFunc(waitUs, f, ...)
	local okLm, lm = pcall(require, "libmoon")
	if not okLm or type(lm) ~= "table" then
		lm = nil
	end
	local remaining = waitUs or 0
	repeat
		local res = f(...)
		if res then
			return res
		end
		local step = math.min(10, remaining)
		if lm and lm.sleepMicrosIdle then
			lm.sleepMicrosIdle(step)
		elseif step > 0 then
			ffi.C.usleep(step)
		end
		remaining = remaining - 10
		if lm and lm.running and not lm.running() then
			break
		end
	until remaining < 0
	return nil
end

utils.voidPtrType = ffi.typeof("void*")

----------------------------------------------------------------------------------------------
-- Address parsers: owned by moonpy.addr, loaded on first use
----------------------------------------------------------------------------------------------

local function forwardToAddr(name)
	return function(...)
		return require("moonpy.addr")[name](...)
	end
end

for _, name in ipairs({ "parseMacAddress", "parseIPAddress", "parseIP4Address",
		"parseIP6Address", "ip4ToString" }) do
	utils[name] = forwardToAddr(name)
end

----------------------------------------------------------------------------------------------
-- Export as globals (intended: MoonGen scripts use them without require)
----------------------------------------------------------------------------------------------

local globalNames = {
	"printf", "errorf", "mapVarArg", "map", "tostringall", "tonumberall", "toCsv", "printCsv",
	"trim", "strSplit", "poissonDelay", "rateToByteDelay", "timeToByteDelay", "imixSize",
	"bswap16", "hton16", "ntoh16", "bswap", "hton", "ntoh",
	"gettimeofday", "time", "wallTime", "getMonotonicTime", "timevalSpan", "getTimeMicros",
	"checksum", "dumpHex", "mergeTables", "concatArrays", "range", "incAndWrap", "unpackAll",
	"deepCopy", "getOS", "fileExists", "strError", "checkDpdkError", "waitForFunc",
	"voidPtrType", "parseMacAddress", "parseIPAddress", "parseIP4Address", "parseIP6Address",
	"ip4ToString",
}
for _, name in ipairs(globalNames) do
	rawset(_G, name, utils[name])
end

if table.getn == nil then
	table.getn = function(t)
		return #t
	end
end

return utils
