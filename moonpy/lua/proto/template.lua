-- proto.template: shared pieces of the protocol header modules.
--
-- * initHeader([format]) (also the MoonGen global of that name): a new header method table whose
--   fallbacks are the header-wide defaults (fill, get, getString, resolveNextHeader,
--   setDefaultNamedArgs, getVariableLength, getSubType). Given a header format string it also
--   generates setX/getX/getXString for every uint8/16/32 member (network order for 16/32 bit).
-- * byte-order and checksum helpers, a log shim (uses the `log` module when present), and the
--   `union payload_t` cdef that header formats and stacks refer to.

local ffi = require "ffi"
local bit = require "bit"

local band, bnot, rshift, bswap = bit.band, bit.bnot, bit.rshift, bit.bswap
local cast, format = ffi.cast, string.format

local registry = debug.getregistry()
if registry["proto.template"] then
	return registry["proto.template"]
end

local mod = {}

assert(ffi.abi("le"), "moonpy's packet library assumes a little-endian host")

if not pcall(ffi.typeof, "union payload_t") then
	ffi.cdef [[
		union payload_t {
			uint8_t  uint8[0];
			uint16_t uint16[0];
			uint32_t uint32[0];
			uint64_t uint64[0];
		};
	]]
end

local u8p = ffi.typeof("uint8_t*")
local u16p = ffi.typeof("uint16_t*")
mod.u8p, mod.u16p = u8p, u16p

--- ffi.cdef `code` unless `typeName` (e.g. "union ipsec_iv") already exists
function mod.cdefOnce(typeName, code)
	if not pcall(ffi.typeof, typeName) then
		ffi.cdef(code)
	end
	return ffi.typeof(typeName)
end

local boundMetatypes = {}

--- ffi.metatype once per type, even if a module is loaded twice
function mod.metatypeOnce(typeName, methods)
	if not boundMetatypes[typeName] then
		ffi.metatype(typeName, methods)
		boundMetatypes[typeName] = methods
	end
	return boundMetatypes[typeName]
end

---------------------------------------------------------------------------------------------------
-- byte order
---------------------------------------------------------------------------------------------------

--- 16-bit byte swap of the low 16 bits of n
function mod.hton16(n)
	return rshift(bswap(n), 16)
end
mod.ntoh16 = mod.hton16
mod.bswap16 = mod.hton16
--- 32-bit byte swap, signed result (MoonGen's hton)
mod.hton = bswap
mod.ntoh = bswap

--- 32-bit byte swap with an unsigned result (0 .. 2^32-1)
function mod.ntohu(n)
	return bswap(n) % 4294967296
end

---------------------------------------------------------------------------------------------------
-- checksums
---------------------------------------------------------------------------------------------------

--- Sum of `len` bytes as 16-bit words in memory order (not folded, not complemented).
--- An odd trailing byte counts as the high-order (first) byte of a word.
function mod.sum16(data, len)
	local words = cast(u16p, data)
	local n = rshift(len, 1)
	local sum = 0
	for i = 0, n - 1 do
		sum = sum + words[i]
	end
	if band(len, 1) == 1 then
		sum = sum + cast(u8p, data)[len - 1]
	end
	return sum
end

--- Fold a 16-bit word sum to 16 bits (end-around carry).
function mod.fold16(sum)
	while sum > 0xFFFF do
		sum = (sum % 65536) + math.floor(sum / 65536)
	end
	return sum
end

--- Internet checksum (complemented) of `len` bytes, memory order (store it unswapped).
function mod.checksum(data, len)
	return band(bnot(mod.fold16(mod.sum16(data, len))), 0xFFFF)
end

---------------------------------------------------------------------------------------------------
-- logging: the log module is written elsewhere and may be absent
---------------------------------------------------------------------------------------------------

local function getLog()
	local ok, log = pcall(require, "log")
	if ok and type(log) == "table" then
		return log
	end
	return nil
end

local function emit(level, fmt, ...)
	local log = getLog()
	if log and log[level] then
		return log[level](log, fmt, ...)
	end
	if level == "debug" then
		return
	end
	io.stderr:write(format("[%s] ", level:upper()) .. format(fmt, ...) .. "\n") -- one write: a whole line
end

function mod.warn(fmt, ...)
	return emit("warn", fmt, ...)
end

function mod.info(fmt, ...)
	return emit("info", fmt, ...)
end

function mod.debug(fmt, ...)
	return emit("debug", fmt, ...)
end

local warnedOnce = {}

--- warn once per key
function mod.warnOnce(key, fmt, ...)
	if warnedOnce[key] then
		return
	end
	warnedOnce[key] = true
	return mod.warn(fmt, ...)
end

---------------------------------------------------------------------------------------------------
-- header method tables
---------------------------------------------------------------------------------------------------

local defaults = {}
defaults.__index = defaults

function defaults:fill(args, pre) -- luacheck: ignore
end

function defaults:get(pre) -- luacheck: ignore
	return {}
end

function defaults:getString()
	return ""
end

function defaults:resolveNextHeader()
	return nil
end

function defaults:setDefaultNamedArgs(pre, namedArgs) -- luacheck: ignore
	return namedArgs
end

function defaults:getVariableLength()
	return nil
end

function defaults:getSubType()
	return nil
end

mod.defaults = defaults

local function capitalize(name)
	return (name:gsub("^%l", string.upper))
end

-- accessors for one integer member of a header format (used by initHeader(format))
local function addAccessors(methods, member, ctype)
	local name = capitalize(member)
	local set, get
	if ctype == "uint16_t" then
		set = function(self, v) self[member] = rshift(bswap(v or 0), 16) end
		get = function(self) return rshift(bswap(self[member]), 16) end
	elseif ctype == "uint32_t" then
		set = function(self, v) self[member] = bswap(v or 0) end
		get = function(self) return bswap(self[member]) end
	else
		set = function(self, v) self[member] = v or 0 end
		get = function(self) return self[member] end
	end
	methods["set" .. name] = set
	methods["get" .. name] = get
	methods["get" .. name .. "String"] = function(self) return tostring(get(self)) end
end

--- A new header method table. `members` (optional): the header's C member list; accessors are
--- generated for its integer members.
function mod.initHeader(members)
	local methods = setmetatable({}, defaults)
	methods.__index = methods
	if members then
		for line in (members .. "\n"):gmatch("([^\n]*)\n") do
			line = line:gsub("//.*$", ""):gsub("/%*.-%*/", "")
			local ctype, member = line:match("^%s*([%w_]+)%s+([%w_]+)%s*%[?%d*%]?%s*;")
			if ctype and (ctype == "uint8_t" or ctype == "uint16_t" or ctype == "uint32_t") then
				addAccessors(methods, member, ctype)
			end
		end
	end
	return methods
end

-- MoonGen defines this as a global for user-written protocol files
initHeader = mod.initHeader -- luacheck: ignore

registry["proto.template"] = mod
return mod
