-- moonpy.addr: MAC / IPv4 / IPv6 address unions and the address parsers.
--
-- The unions are the FFI types MoonGen scripts see as `pkt.eth.src`, `pkt.ip4.dst`, ...
-- Number conventions follow MoonGen (see moongen-api.md, "Address unions" and §6.4):
--   * MAC as a number: 48 bit, the first byte on the wire is the least significant one.
--   * IPv4 as a number: host order, signed 32 bit (the result of bit.bswap).
--   * IPv6 "host order": a union whose 128-bit little-endian value is the address
--     (uint64[0] is the low half); get()/set() and the parsers use this form.
-- utils.lua re-exports the parsers as globals (parseMacAddress, parseIPAddress, ...).

local ffi = require "ffi"
local bit = require "bit"

-- loading this file twice (e.g. after package.loaded was cleared) must not redefine
-- the cdefs or metatypes: keep the first module instance in the registry
local registry = debug.getregistry()
if registry["moonpy.addr"] then
	return registry["moonpy.addr"]
end

local band, bor, lshift, rshift, bswap = bit.band, bit.bor, bit.lshift, bit.rshift, bit.bswap
local istype, cast = ffi.istype, ffi.cast
local format, match, tonumber, tostring, type = string.format, string.match, tonumber, tostring, type

local mod = {}

local function typeExists(name)
	return (pcall(ffi.typeof, name))
end

if not typeExists("union mac_address") then
	ffi.cdef [[
		union __attribute__((__packed__)) mac_address {
			uint8_t  uint8[6];
			uint64_t uint64[0];
		};
	]]
end
if not typeExists("union ip4_address") then
	ffi.cdef [[
		union ip4_address {
			uint8_t  uint8[4];
			uint32_t uint32;
		};
	]]
end
if not typeExists("union ip6_address") then
	ffi.cdef [[
		union ip6_address {
			uint8_t  uint8[16];
			uint32_t uint32[4];
			uint64_t uint64[2];
		};
	]]
end

local macType = ffi.typeof("union mac_address")
local ip4Type = ffi.typeof("union ip4_address")
local ip6Type = ffi.typeof("union ip6_address")
local uint64Type = ffi.typeof("uint64_t")

mod.macType = macType
mod.ip4Type = ip4Type
mod.ip6Type = ip6Type

local function warn(fmt, ...)
	io.stderr:write("[WARN]  " .. format(fmt, ...) .. "\n") -- one write: a whole line
end

---------------------------------------------------------------------------------------------------
-- parsers
---------------------------------------------------------------------------------------------------

local MAC_PATTERN = "(%x+)[-:](%x+)[-:](%x+)[-:](%x+)[-:](%x+)[-:](%x+)"

--- Parse "aa:bb:cc:dd:ee:ff" (or with '-').
--- @return union mac_address, or (asNumber) a number with the first byte least significant;
---         nil when the string is not a MAC address.
function mod.parseMacAddress(mac, asNumber)
	if type(mac) ~= "string" then
		if type(mac) ~= "number" then
			return nil
		end
		mac = tostring(mac)
	end
	local b1, b2, b3, b4, b5, b6 = match(mac, MAC_PATTERN)
	if not b1 then
		return nil
	end
	local bytes = { tonumber(b1, 16), tonumber(b2, 16), tonumber(b3, 16),
	                tonumber(b4, 16), tonumber(b5, 16), tonumber(b6, 16) }
	for i = 1, 6 do
		if bytes[i] > 0xFF then
			return nil
		end
	end
	if asNumber then
		local n = 0
		for i = 6, 1, -1 do
			n = n * 256 + bytes[i]
		end
		return n
	end
	local addr = macType()
	for i = 0, 5 do
		addr.uint8[i] = bytes[i + 1]
	end
	return addr
end

--- Parse a dotted quad. Like MoonGen the match is not anchored ("1.2.3.4.5" gives 1.2.3.4).
--- @return host-order number as a signed 32-bit value, or nil
function mod.parseIP4Address(ip)
	ip = tostring(ip)
	local a, b, c, d = match(ip, "(%d+)%.(%d+)%.(%d+)%.(%d+)")
	if not a then
		return nil
	end
	a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
	if a > 255 or b > 255 or c > 255 or d > 255 then
		return nil
	end
	return bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
end

-- split one side of an IPv6 address into 16-bit words; `last` allows a trailing dotted quad
local function ip6Words(part, last, out)
	if part == "" then
		return out
	end
	local fields = {}
	for field in (part .. ":"):gmatch("([^:]*):") do
		fields[#fields + 1] = field
	end
	for i = 1, #fields do
		local field = fields[i]
		if last and i == #fields and field:find(".", 1, true) then
			local a, b, c, d = match(field, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
			if not a then
				return nil
			end
			a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
			if a > 255 or b > 255 or c > 255 or d > 255 then
				return nil
			end
			out[#out + 1] = a * 256 + b
			out[#out + 1] = c * 256 + d
		else
			if not match(field, "^%x%x?%x?%x?$") then
				return nil
			end
			out[#out + 1] = tonumber(field, 16)
		end
	end
	return out
end

local function wordsToHostUnion(w)
	local addr = ip6Type()
	addr.uint32[3] = w[1] * 65536 + w[2]
	addr.uint32[2] = w[3] * 65536 + w[4]
	addr.uint32[1] = w[5] * 65536 + w[6]
	addr.uint32[0] = w[7] * 65536 + w[8]
	return addr
end

--- Parse an IPv6 address (RFC 4291 text forms, incl. "::" and a trailing dotted quad).
--- @return union ip6_address in host order, or nil
function mod.parseIP6Address(ip)
	ip = tostring(ip)
	local words
	local head, tail = match(ip, "^(.-)::(.*)$")
	if head then
		if tail:find("::", 1, true) then
			return nil
		end
		local left = ip6Words(head, false, {})
		local right = left and ip6Words(tail, true, {})
		if not right or #left + #right > 7 then
			return nil
		end
		words = left
		for _ = 1, 8 - #left - #right do
			words[#words + 1] = 0
		end
		for i = 1, #right do
			words[#words + 1] = right[i]
		end
	else
		words = ip6Words(ip, true, {})
		if not words or #words ~= 8 then
			return nil
		end
	end
	return wordsToHostUnion(words)
end

--- @return addr, isIPv4: a number and true for IPv4, a host-order union and false for IPv6,
---         nil when neither
function mod.parseIPAddress(ip)
	ip = tostring(ip)
	local v4 = mod.parseIP4Address(ip)
	if v4 == nil then
		return mod.parseIP6Address(ip), false
	end
	return v4, true
end

--- Dotted quad of a host-order number.
function mod.ip4ToString(ip)
	return format("%d.%d.%d.%d", rshift(ip, 24), band(rshift(ip, 16), 0xFF),
		band(rshift(ip, 8), 0xFF), band(ip, 0xFF))
end

---------------------------------------------------------------------------------------------------
-- union mac_address
---------------------------------------------------------------------------------------------------

local mac = {}
mac.__index = mac

--- @return the address as a number, first wire byte least significant
function mac:get()
	local b = self.uint8
	return ((((b[5] * 256 + b[4]) * 256 + b[3]) * 256 + b[2]) * 256 + b[1]) * 256 + b[0]
end

--- Set from a number (first wire byte least significant); nil means 0.
function mac:set(addr)
	addr = addr or 0
	local b = self.uint8
	if type(addr) == "number" then
		local low = addr % 4294967296
		local high = (addr - low) / 4294967296
		b[0] = band(low, 0xFF)
		b[1] = band(rshift(low, 8), 0xFF)
		b[2] = band(rshift(low, 16), 0xFF)
		b[3] = rshift(low, 24)
		b[4] = band(high, 0xFF)
		b[5] = band(rshift(high, 8), 0xFF)
	elseif istype(macType, addr) then
		ffi.copy(self, addr, 6)
	else
		local v = cast(uint64Type, addr)
		for i = 0, 5 do
			b[i] = tonumber(band(rshift(v, i * 8), 0xFF))
		end
	end
end

local warnedMacs = {}
local warnedMacCount = 0

--- Set from "aa:bb:cc:dd:ee:ff". Like MoonGen an invalid string gives 00:00:00:00:00:00,
--- but moonpy says so once per bad string.
function mac:setString(str)
	local n = mod.parseMacAddress(str, true)
	if n == nil then
		local key = tostring(str)
		if not warnedMacs[key] and warnedMacCount < 100 then
			warnedMacs[key] = true
			warnedMacCount = warnedMacCount + 1
			warn("invalid MAC address %q, using 00:00:00:00:00:00 (as MoonGen does)", key)
		end
		n = 0
	end
	self:set(n)
end

function mac:getString()
	local b = self.uint8
	return format("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
end

function mac.__eq(lhs, rhs)
	if not (istype(macType, lhs) and istype(macType, rhs)) then
		return false
	end
	for i = 0, 5 do
		if lhs.uint8[i] ~= rhs.uint8[i] then
			return false
		end
	end
	return true
end

---------------------------------------------------------------------------------------------------
-- union ip4_address (network byte order)
---------------------------------------------------------------------------------------------------

local ip4 = {}
ip4.__index = ip4

--- @return host-order value as a signed 32-bit number (192.168.1.1 -> -1062731519)
function ip4:get()
	return bswap(self.uint32)
end

--- @param ip host-order number (signed or unsigned 32 bit); nil means 0
function ip4:set(ip)
	self.uint32 = bswap(ip or 0)
end

function ip4:setString(str)
	local ip = mod.parseIP4Address(str)
	if ip == nil then
		error(format("invalid IPv4 address: %s", tostring(str)), 2)
	end
	self.uint32 = bswap(ip)
end

function ip4:getString()
	local b = self.uint8
	return format("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
end

--- In-place addition (wraps at 32 bit).
function ip4:add(n)
	self.uint32 = bswap(bswap(self.uint32) + n)
end

function ip4.__eq(lhs, rhs)
	return istype(ip4Type, lhs) and istype(ip4Type, rhs) and lhs.uint32 == rhs.uint32
end

--- addr + n and n + addr give a number (host order), as in MoonGen
function ip4.__add(lhs, rhs)
	if istype(ip4Type, lhs) then
		return bswap(lhs.uint32) + rhs
	end
	return lhs + bswap(rhs.uint32)
end

function ip4.__sub(lhs, rhs)
	if istype(ip4Type, lhs) then
		return bswap(lhs.uint32) - rhs
	end
	return lhs - bswap(rhs.uint32)
end

---------------------------------------------------------------------------------------------------
-- union ip6_address
---------------------------------------------------------------------------------------------------

local ip6 = {}
ip6.__index = ip6

--- @return a new union in host order
function ip6:get()
	local addr = ip6Type()
	addr.uint32[0] = bswap(self.uint32[3])
	addr.uint32[1] = bswap(self.uint32[2])
	addr.uint32[2] = bswap(self.uint32[1])
	addr.uint32[3] = bswap(self.uint32[0])
	return addr
end

--- @param addr union ip6_address in host order (what get() and the parsers return);
---        a plain number sets an address below 2^53
function ip6:set(addr)
	if type(addr) == "number" or addr == nil then
		local n = addr or 0
		local low = n % 4294967296
		local high = (n - low) / 4294967296
		self.uint32[0] = 0
		self.uint32[1] = 0
		self.uint32[2] = bswap(high)
		self.uint32[3] = bswap(low)
		return
	end
	local a0, a1, a2, a3 = addr.uint32[0], addr.uint32[1], addr.uint32[2], addr.uint32[3]
	self.uint32[0] = bswap(a3)
	self.uint32[1] = bswap(a2)
	self.uint32[2] = bswap(a1)
	self.uint32[3] = bswap(a0)
end

function ip6:setString(str)
	local addr = mod.parseIP6Address(str)
	if addr == nil then
		error(format("invalid IPv6 address: %s", tostring(str)), 2)
	end
	self:set(addr)
end

--- All 8 groups, uncompressed, lower case. With doByteSwap the host-order form is printed.
function ip6:getString(doByteSwap)
	local a = self
	if doByteSwap then
		a = self:get()
	end
	local b = a.uint8
	return format("%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x",
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
		b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
end

-- 128-bit addition on (low, high) uint64 halves with carry / borrow
local function add128(low, high, n)
	local newLow = low + n
	if n >= 0 then
		if newLow < low then
			high = high + 1
		end
	elseif newLow > low then
		high = high - 1
	end
	return newLow, high
end

--- In-place addition on an address in network order (a header field).
function ip6:add(n)
	local low, high = bswap(self.uint64[1]), bswap(self.uint64[0])
	low, high = add128(low, high, n)
	self.uint64[1] = bswap(low)
	self.uint64[0] = bswap(high)
end

--- addr + n: a new union; both are in host order (uint64[0] = low half)
function ip6.__add(lhs, rhs)
	local addr, n = lhs, rhs
	if not istype(ip6Type, lhs) then
		addr, n = rhs, lhs
	end
	local result = ip6Type()
	result.uint64[0], result.uint64[1] = add128(addr.uint64[0], addr.uint64[1], n)
	return result
end

function ip6.__sub(lhs, rhs)
	return lhs + (-rhs)
end

function ip6.__eq(lhs, rhs)
	return istype(ip6Type, lhs) and istype(ip6Type, rhs)
		and lhs.uint64[0] == rhs.uint64[0] and lhs.uint64[1] == rhs.uint64[1]
end

--- Ordering of host-order unions (what the parsers, get() and + return).
function ip6.__lt(lhs, rhs)
	if lhs.uint64[1] == rhs.uint64[1] then
		return lhs.uint64[0] < rhs.uint64[0]
	end
	return lhs.uint64[1] < rhs.uint64[1]
end

function ip6.__le(lhs, rhs)
	return not ip6.__lt(rhs, lhs)
end

ffi.metatype(macType, mac)
ffi.metatype(ip4Type, ip4)
ffi.metatype(ip6Type, ip6)

mod.mac = mac
mod.ip4 = ip4
mod.ip6 = ip6

registry["moonpy.addr"] = mod
return mod
