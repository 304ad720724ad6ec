-- proto.dns: DNS header (member `dns`, behind UDP), 12 bytes + `body`.

local ffi = require "ffi"
local bit = require "bit"
local template = require "proto.template"

local band, bor, bnot, lshift, rshift, bswap = bit.band, bit.bor, bit.bnot, bit.lshift, bit.rshift,
	bit.bswap
local format, type = string.format, type

local function hton16(n)
	return rshift(bswap(n), 16)
end

local dns = {}

dns.headerFormat = [[
	uint16_t id;
	uint16_t hdrflags;
	uint16_t qdcount;
	uint16_t ancount;
	uint16_t nscount;
	uint16_t arcount;
	uint8_t  body[];
]]
-- MoonGen declares `body` but never sizes it
dns.headerVariableMember = nil

-- flag bits of the host-order hdrflags word
local QR, AA, TC, RD, RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080

local dnsHeader = template.initHeader()

local function getFlags(self)
	return hton16(self.hdrflags)
end

local function setFlags(self, v)
	self.hdrflags = hton16(v)
end

--- id; random in 10000..65335 by default
function dnsHeader:setId(n)
	self.id = hton16(n or math.random(10000, 65335))
end

function dnsHeader:getId()
	return hton16(self.id)
end

function dnsHeader:getIdString()
	return self:getId()
end

local flagNames = {
	{ "QR", QR }, { "AA", AA }, { "TC", TC }, { "RD", RD }, { "RA", RA },
}
for _, f in ipairs(flagNames) do
	local name, mask = f[1], f[2]
	dnsHeader["set" .. name] = function(self)
		setFlags(self, bor(getFlags(self), mask))
	end
	dnsHeader["unset" .. name] = function(self)
		setFlags(self, band(getFlags(self), bnot(mask)))
	end
	--- 1 or 0
	dnsHeader["get" .. name] = function(self)
		return band(getFlags(self), mask) ~= 0 and 1 or 0
	end
end

function dnsHeader:getQRString()
	return self:getQR() == 1 and "R" or "Q"
end

function dnsHeader:getAAString()
	return self:getAA() == 1 and "Authoritative answer" or "Non-Authoritative answer"
end

function dnsHeader:getTCString()
	return self:getTC() == 1 and "Truncated message" or "Non-truncated message"
end

function dnsHeader:getRDString()
	return self:getRD() == 1 and "Recursion desired" or "Recursion undesired"
end

function dnsHeader:getRAString()
	return self:getRA() == 1 and "Recursion available" or "Recursion unavailable"
end

--- 4-bit opcode (0 standard query, 1 inverse query, 2 status)
function dnsHeader:setOPCode(n)
	n = n or 0
	if n >= 0 and n <= 15 then
		setFlags(self, bor(band(getFlags(self), 0x87FF), lshift(n, 11)))
	end
end

function dnsHeader:getOPCode()
	return band(rshift(getFlags(self), 11), 0x0F)
end

local opcodeLabels = { [0] = "StandardQuery", [1] = "InverseQuery", [2] = "ServerStatus" }

function dnsHeader:getOPCodeString()
	return opcodeLabels[self:getOPCode()] or tostring(self:getOPCode())
end

--- 4-bit response code
function dnsHeader:setRCode(n)
	n = n or 0
	if n >= 0 and n <= 15 then
		setFlags(self, bor(band(getFlags(self), 0xFFF0), n))
	end
end

function dnsHeader:getRCode()
	return band(getFlags(self), 0x0F)
end

local rcodeLabels = {
	[0] = "NOERROR", [1] = "FORMERR", [2] = "SERVFAIL", [3] = "NXDOMAIN", [4] = "NOTIMP",
	[5] = "REFUSED",
}

function dnsHeader:getRCodeString()
	return rcodeLabels[self:getRCode()] or tostring(self:getRCode())
end

local counts = { QDCount = "qdcount", ANCount = "ancount", NSCount = "nscount", ARCount = "arcount" }
for name, field in pairs(counts) do
	dnsHeader["set" .. name] = function(self, n)
		self[field] = hton16(n or 0)
	end
	dnsHeader["get" .. name] = function(self)
		return hton16(self[field])
	end
	dnsHeader["get" .. name .. "String"] = function(self)
		return hton16(self[field])
	end
end

--- Copy message content (a string, a table of byte values, or a function returning either)
--- into the body right after the header.
function dnsHeader:setMessageContent(content)
	if type(content) == "function" then
		content = content()
	end
	if type(content) == "string" then
		ffi.copy(self.body, content, #content)
	elseif type(content) == "table" then
		for i = 1, #content do
			self.body[i - 1] = content[i]
		end
	end
end

--- pointer to the body (its length is not known to the header)
function dnsHeader:getMessageContent()
	return self.body
end

function dnsHeader:getMessageContentString()
	return "<body>"
end

local function truthy(v)
	return v and v ~= 0
end

function dnsHeader:fill(args, pre)
	args = args or {}
	pre = pre or "dns"
	self:setId(args[pre .. "Id"])
	local flags = 0
	if truthy(args[pre .. "Resp"]) then
		flags = bor(flags, QR)
	end
	if truthy(args[pre .. "AuthAnswer"]) then
		flags = bor(flags, AA)
	end
	if truthy(args[pre .. "Truncated"]) then
		flags = bor(flags, TC)
	end
	if truthy(args[pre .. "RecDesired"]) then
		flags = bor(flags, RD)
	end
	if truthy(args[pre .. "RecAvailable"]) then
		flags = bor(flags, RA)
	end
	setFlags(self, flags)
	self:setOPCode(args[pre .. "QueryType"])
	self:setRCode(args[pre .. "RCode"])
	self:setQDCount(args[pre .. "QDCount"])
	self:setANCount(args[pre .. "ANCount"])
	self:setNSCount(args[pre .. "NSCount"])
	self:setARCount(args[pre .. "ARCount"])
	self:setMessageContent(args[pre .. "MessageContent"])
end

function dnsHeader:get(pre)
	pre = pre or "dns"
	return {
		[pre .. "Id"] = self:getId(),
		[pre .. "Resp"] = self:getQR(),
		[pre .. "QueryType"] = self:getOPCode(),
		[pre .. "AuthAnswer"] = self:getAA(),
		[pre .. "Truncated"] = self:getTC(),
		[pre .. "RecDesired"] = self:getRD(),
		[pre .. "RecAvailable"] = self:getRA(),
		[pre .. "RCode"] = self:getRCode(),
		[pre .. "QDCount"] = self:getQDCount(),
		[pre .. "ANCount"] = self:getANCount(),
		[pre .. "NSCount"] = self:getNSCount(),
		[pre .. "ARCount"] = self:getARCount(),
	}
end

function dnsHeader:getString()
	return "DNS"
		.. " Transaction ID: " .. self:getId()
		.. " Response/Query: " .. self:getQRString()
		.. " Kind of query: " .. self:getOPCodeString()
		.. " Authoritative Answer: " .. self:getAAString()
		.. " Truncated message: " .. self:getTCString()
		.. " Recursion desired: " .. self:getRDString()
		.. " Recursion available: " .. self:getRAString()
		.. " Response Code: " .. self:getRCodeString()
		.. " QDCount: " .. self:getQDCount()
		.. " ANCount: " .. self:getANCount()
		.. " NSCount: " .. self:getNSCount()
		.. " ARCount: " .. self:getARCount()
		.. format(" MessageContent: %s", self:getMessageContentString())
end

dns.metatype = dnsHeader

return dns
