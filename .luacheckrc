-- luacheck for moonpy/lua: LuaJIT with MoonGen's globals (`make lint`).
-- moonpy/compat.lua adds Lua 5.2's table.pack/unpack to LuaJIT for every VM
stds.moonpy = { read_globals = { table = { fields = { "pack", "unpack", "getn" } } } }
std = "luajit+moonpy"

-- the library keeps MoonGen's and libmoon's signatures; many stubs and callbacks take
-- arguments they do not use (self included)
unused_args = false

-- globals a MoonGen script finds without require: utils.lua and colors.lua export them,
-- packet.lua defines createStack, moonpy's host sets the MOONPY_* and LIBMOON_TASK_* values
-- before the script runs, and scripts define master/configure (and flows' helpers)
globals = {
	"printf", "errorf", "mapVarArg", "map", "tostringall", "tonumberall", "toCsv", "printCsv",
	"trim", "strSplit", "poissonDelay", "rateToByteDelay", "timeToByteDelay", "imixSize",
	"bswap16", "hton16", "ntoh16", "bswap", "hton", "ntoh",
	"gettimeofday", "time", "wallTime", "getMonotonicTime", "timevalSpan", "getTimeMicros",
	"checksum", "dumpHex", "mergeTables", "concatArrays", "range", "incAndWrap", "unpackAll",
	"deepCopy", "getOS", "fileExists", "strError", "checkDpdkError", "waitForFunc",
	"voidPtrType", "parseMacAddress", "parseIPAddress", "parseIP4Address", "parseIP6Address",
	"ip4ToString",
	"getColorCode", "getColorizedString", "red", "bred", "yellow", "green", "white",
	"createStack",
	"master", "configure",
	-- set by moonpy's host (moonpy/lua_bridge/vm.py) before the script runs
	"MOONPY_HOST", "MOONPY_ABI_VERSION", "MOONPY_API_ADDR", "MOONPY_CDEF", "MOONPY_MBUF_CDEF",
	"MOONPY_LUA_PATH", "MOONPY_SCRIPT", "MOONPY_CORES", "MOONPY_SHARED_CORES", "MOONPY_LIVE",
	"LIBMOON_TASK_NAME", "LIBMOON_TASK_ID", "LIBMOON_TASK_CORE",
	-- MoonGen's own run-wide switches, kept as globals for scripts that set them
	"__MOONPY_SIMPLE_LOAD", "__MOONPY_SIMPLE_TIMER", "__MG_RATE_LIMITER_MAIN",
	"MOONPY_STATS_PLAIN_OUTPUT",
}

-- moongen-simple flow files: the flow DSL's names are globals of the loader's environment
files["moonpy/lua/moonpy/flows"] = {
	read_globals = { "Flow", "Packet", "mac", "ip", "range", "list", "randomRange" },
}

-- Lua 5.2 names on LuaJIT, os.exit through the host, math.random on the host's generator:
-- these files replace standard functions on purpose
files["moonpy/lua/moonpy/compat.lua"] = { globals = { "table" } }
files["moonpy/lua/utils.lua"] = { globals = { "table" } }
files["moonpy/lua/moonpy/prelude.lua"] = { globals = { "os" } }
files["moonpy/lua/moonpy/random.lua"] = { globals = { "math" } }
