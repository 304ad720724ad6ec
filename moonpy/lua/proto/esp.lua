-- proto.esp: IPsec ESP header (member `esp`): SPI, sequence number, 64-bit IV (16 bytes).

local ffi = require "ffi"
local bit = require "bit"
local template = require "proto.template"

local bswap = bit.bswap
local format, istype, type = string.format, ffi.istype, type

local function ntohu32(n)
	return bswap(n) % 4294967296
end

local esp = {}

local ivType = template.cdefOnce("union ipsec_iv", [[
	union ipsec_iv {
		uint32_t uint32[2];
	};
]])
esp.ivType = ivType

-- union ipsec_iv: in a header it holds the IV in network order; get()/set() use a host form
-- where uint32[1] is the high and uint32[0] the low half.
local iv = {}
iv.__index = iv

--- @param value host-form union, a number / uint64 cdata, or nil for a random IV
function iv:set(value)
	local high, low
	if value == nil then
		high, low = math.random(0, 2 ^ 32 - 1), math.random(0, 2 ^ 32 - 1)
	elseif type(value) == "number" then
		low = value % 4294967296
		high = (value - low) / 4294967296
	elseif istype(ivType, value) then
		high, low = value.uint32[1], value.uint32[0]
	else
		local v = ffi.cast("uint64_t", value)
		high, low = tonumber(bit.rshift(v, 32)), tonumber(bit.band(v, 0xFFFFFFFFULL))
	end
	self.uint32[0] = bswap(high)
	self.uint32[1] = bswap(low)
end

function iv:get()
	local result = ivType()
	result.uint32[0] = bswap(self.uint32[1])
	result.uint32[1] = bswap(self.uint32[0])
	return result
end

function iv:getString(doByteSwap)
	local v = self
	if doByteSwap then
		v = self:get()
	end
	return format("0x%08x%08x", v.uint32[1], v.uint32[0])
end

function iv.__eq(lhs, rhs)
	return istype(ivType, lhs) and istype(ivType, rhs)
		and lhs.uint32[0] == rhs.uint32[0] and lhs.uint32[1] == rhs.uint32[1]
end

template.metatypeOnce("union ipsec_iv", iv)

esp.headerFormat = [[
	uint32_t       spi;
	uint32_t       sqn;
	union ipsec_iv iv;
]]
esp.headerVariableMember = nil

local espHeader = template.initHeader()

function espHeader:setSPI(n)
	self.spi = bswap(n or 0)
end

function espHeader:getSPI()
	return ntohu32(self.spi)
end

function espHeader:getSPIString()
	return format("0x%08x", self:getSPI())
end

function espHeader:setSQN(n)
	self.sqn = bswap(n or 0)
end

function espHeader:getSQN()
	return ntohu32(self.sqn)
end

function espHeader:getSQNString()
	return self:getSQN()
end

function espHeader:setIV(v)
	self.iv:set(v)
end

function espHeader:getIV()
	return self.iv:get()
end

function espHeader:getIVString()
	return self.iv:getString(true)
end

function espHeader:fill(args, pre)
	args = args or {}
	pre = pre or "esp"
	self:setSPI(args[pre .. "SPI"])
	self:setSQN(args[pre .. "SQN"])
	self:setIV(args[pre .. "IV"])
end

function espHeader:get(pre)
	pre = pre or "esp"
	return {
		[pre .. "SPI"] = self:getSPI(),
		[pre .. "SQN"] = self:getSQN(),
		[pre .. "IV"] = self:getIV(),
	}
end

function espHeader:getString()
	return "ESP spi " .. self:getSPIString() .. " sqn " .. self:getSQN()
		.. " iv " .. self:getIVString()
end

esp.metatype = espHeader

return esp
