-- proto.ah: IPsec AH header (member `ah`), 36 bytes with a 64-bit IV and a 128-bit ICV
-- (the AES-GMAC layout MoonGen uses for NIC offload).

local ffi = require "ffi"
local bit = require "bit"
local template = require "proto.template"
require "proto.esp" -- union ipsec_iv

local bswap = bit.bswap
local format, istype = string.format, ffi.istype

local function ntohu32(n)
	return bswap(n) % 4294967296
end

local ah = {}

local icvType = template.cdefOnce("union ipsec_icv", [[
	union ipsec_icv {
		uint32_t uint32[4];
	};
]])
ah.icvType = icvType

-- host form: uint32[3] is the most significant word; zero by default (needed for offload)
local icv = {}
icv.__index = icv

function icv:set(value)
	if value == nil then
		for i = 0, 3 do
			self.uint32[i] = 0
		end
		return
	end
	local w0, w1, w2, w3 = value.uint32[0], value.uint32[1], value.uint32[2], value.uint32[3]
	self.uint32[0] = bswap(w3)
	self.uint32[1] = bswap(w2)
	self.uint32[2] = bswap(w1)
	self.uint32[3] = bswap(w0)
end

function icv:get()
	local result = icvType()
	for i = 0, 3 do
		result.uint32[i] = bswap(self.uint32[3 - i])
	end
	return result
end

function icv:getString(doByteSwap)
	local v = self
	if doByteSwap then
		v = self:get()
	end
	return format("0x%08x%08x%08x%08x", v.uint32[3], v.uint32[2], v.uint32[1], v.uint32[0])
end

function icv.__eq(lhs, rhs)
	if not (istype(icvType, lhs) and istype(icvType, rhs)) then
		return false
	end
	for i = 0, 3 do
		if lhs.uint32[i] ~= rhs.uint32[i] then
			return false
		end
	end
	return true
end

template.metatypeOnce("union ipsec_icv", icv)

ah.headerFormat = [[
	uint8_t         nextHeader;
	uint8_t         len;
	uint16_t        reserved;
	uint32_t        spi;
	uint32_t        sqn;
	union ipsec_iv  iv;
	union ipsec_icv icv;
]]
ah.headerVariableMember = nil

local ahHeader = template.initHeader()

function ahHeader:setSPI(n)
	self.spi = bswap(n or 0)
end

function ahHeader:getSPI()
	return ntohu32(self.spi)
end

function ahHeader:getSPIString()
	return self:getSPI()
end

function ahHeader:setSQN(n)
	self.sqn = bswap(n or 0)
end

function ahHeader:getSQN()
	return ntohu32(self.sqn)
end

function ahHeader:getSQNString()
	return self:getSQN()
end

function ahHeader:setIV(v)
	self.iv:set(v)
end

function ahHeader:getIV()
	return self.iv:get()
end

function ahHeader:getIVString()
	return self.iv:getString(true)
end

function ahHeader:setICV(v)
	self.icv:set(v)
end

function ahHeader:getICV()
	return self.icv:get()
end

function ahHeader:getICVString()
	return self.icv:getString(true)
end

function ahHeader:setNextHeader(n)
	self.nextHeader = n or 0
end

function ahHeader:getNextHeader()
	return self.nextHeader
end

function ahHeader:getNextHeaderString()
	return self.nextHeader
end

--- length in 32-bit words minus 2; 7 for the IPv4 AES-GMAC layout
function ahHeader:setLength(n)
	self.len = n or 7
end

function ahHeader:getLength()
	return self.len
end

function ahHeader:getLengthString()
	return self.len
end

function ahHeader:fill(args, pre)
	args = args or {}
	pre = pre or "ah"
	self:setSPI(args[pre .. "SPI"])
	self:setSQN(args[pre .. "SQN"])
	self:setIV(args[pre .. "IV"])
	self:setICV(args[pre .. "ICV"])
	self:setNextHeader(args[pre .. "NextHeader"])
	self:setLength(args[pre .. "Length"])
	self.reserved = 0
end

function ahHeader:get(pre)
	pre = pre or "ah"
	return {
		[pre .. "SPI"] = self:getSPI(),
		[pre .. "SQN"] = self:getSQN(),
		[pre .. "IV"] = self:getIV(),
		[pre .. "ICV"] = self:getICV(),
		[pre .. "NextHeader"] = self:getNextHeader(),
		[pre .. "Length"] = self:getLength(),
	}
end

function ahHeader:getString()
	return "AH spi " .. self:getSPI() .. " sqn " .. self:getSQN()
		.. " iv " .. self:getIVString() .. " icv " .. self:getICVString()
		.. " next_hdr " .. self:getNextHeader() .. " len " .. self:getLength()
end

ah.metatype = ahHeader

return ah
