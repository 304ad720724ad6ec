-- bitmask: bit masks of any size (libmoon `bitmask` module), in Lua over FFI memory.
--
--   local m = bitmask.createBitMask(100)   -- all bits 0
--   m[1] = 1; if m[1] then ... end; m:setN(10); m:setAll(); m:clearAll()
--   bitmask.band(a, b, result), bor, bxor, bnot(a, result)
-- Indices start at 1; `m.bitmask` is the `struct mg_bitmask*` (blocks of 64 bits).
local ffi = require "ffi"
local bit = require "bit"

local band, bor, bxor, bnot, lshift = bit.band, bit.bor, bit.bxor, bit.bnot, bit.lshift

local mod = {}

if not pcall(ffi.typeof, "struct mg_bitmask") then
	ffi.cdef [[
	struct mg_bitmask {
		uint16_t size;
		uint16_t n_blocks;
		uint64_t mask[?];
	};
	]]
end

local maskType = ffi.typeof("struct mg_bitmask")
local ONE = 1ULL
local ALL = bnot(0ULL)

local mg_bitMask = {}

--- A mask of `size` bits, all 0.
function mod.createBitMask(size)
	if type(size) ~= "number" or size < 1 or size > 65535 then
		error(("bitmask.createBitMask: size must be 1..65535, got %s"):format(tostring(size)), 2)
	end
	local blocks = math.ceil(size / 64)
	local m = maskType(blocks)
	m.size = size
	m.n_blocks = blocks
	return setmetatable({ bitmask = m }, mg_bitMask)
end

--- An array of `struct mg_bitmask*` for C code.
function mod.linkToArray(bitmasks)
	local array = ffi.new("struct mg_bitmask*[?]", #bitmasks)
	for i, m in ipairs(bitmasks) do
		array[i - 1] = m.bitmask
	end
	return array
end

local function checkIndex(m, x)
	if type(x) ~= "number" or x < 1 or x > m.size or x ~= math.floor(x) then
		error(("bitmask: index %s out of range 1..%d"):format(tostring(x), m.size), 3)
	end
	return x - 1
end

local function clearTail(m)
	local rest = m.size % 64
	if rest ~= 0 then
		m.mask[m.n_blocks - 1] = band(m.mask[m.n_blocks - 1], lshift(ONE, rest) - 1)
	end
end

--- Set bits 1..n (others unchanged).
function mg_bitMask:setN(n)
	local m = self.bitmask
	for i = 0, math.min(n, m.size) - 1 do
		local b = math.floor(i / 64)
		m.mask[b] = bor(m.mask[b], lshift(ONE, i % 64))
	end
	return self
end

function mg_bitMask:clearAll()
	local m = self.bitmask
	for b = 0, m.n_blocks - 1 do
		m.mask[b] = 0
	end
	return self
end

function mg_bitMask:setAll()
	local m = self.bitmask
	for b = 0, m.n_blocks - 1 do
		m.mask[b] = ALL
	end
	clearTail(m)
	return self
end

--- m[i] -> true when bit i (1-based) is set; other keys are methods
function mg_bitMask:__index(x)
	if type(x) == "number" then
		local m = rawget(self, "bitmask")
		local i = checkIndex(m, x)
		return band(m.mask[math.floor(i / 64)], lshift(ONE, i % 64)) ~= 0ULL
	end
	return mg_bitMask[x]
end

--- m[i] = 0 clears bit i, any other value sets it
function mg_bitMask:__newindex(x, y)
	local m = rawget(self, "bitmask")
	local i = checkIndex(m, x)
	local b = math.floor(i / 64)
	if y == 0 or y == false or y == nil then
		m.mask[b] = band(m.mask[b], bnot(lshift(ONE, i % 64)))
	else
		m.mask[b] = bor(m.mask[b], lshift(ONE, i % 64))
	end
end

local function iter(self, i)
	if i >= self.bitmask.size then
		return nil
	end
	return i + 1, self[i + 1]
end

function mg_bitMask.__ipairs(self)
	return iter, self, 0
end

local function binary(op)
	return function(a, b, result)
		local ma, mb, mr = a.bitmask, b.bitmask, result.bitmask
		for i = 0, mr.n_blocks - 1 do
			mr.mask[i] = op(i < ma.n_blocks and ma.mask[i] or 0ULL,
				i < mb.n_blocks and mb.mask[i] or 0ULL)
		end
		clearTail(mr)
	end
end

--- result = a AND b
mod.band = binary(band)
--- result = a OR b
mod.bor = binary(bor)
--- result = a XOR b
mod.bxor = binary(bxor)

--- result = NOT a
function mod.bnot(a, result)
	local ma, mr = a.bitmask, result.bitmask
	for i = 0, mr.n_blocks - 1 do
		mr.mask[i] = bnot(i < ma.n_blocks and ma.mask[i] or 0ULL)
	end
	clearTail(mr)
end

return mod
