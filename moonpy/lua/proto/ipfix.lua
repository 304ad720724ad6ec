-- proto.ipfix: IPFIX message header (member `ipfix`, behind UDP), 16 bytes, plus helpers that
-- build template / data sets. The set ctypes are also exported as globals, as MoonGen does
-- (SetHeader, InformationElement, DataSet, TmplSet, TmplRecord, TmplRecordHeader, OptsTmplSet,
-- OptsTmplRecord, OptsTmplRecordHeader).

local ffi = require "ffi"
local bit = require "bit"
local template = require "proto.template"

local rshift, bswap = bit.rshift, bit.bswap

local function hton16(n)
	return rshift(bswap(n), 16)
end

local function ntohu32(n)
	return bswap(n) % 4294967296
end

local ipfix = {}

ipfix.VERSION_NFV5 = 0x0005
ipfix.VERSION_NFV9 = 0x0009
ipfix.VERSION_IPFIX = 0x000a

ipfix.ID_TEMPLATE_SET = 0x0002
ipfix.ID_OPTION_TEMPLATE_SET = 0x0003
ipfix.ID_MIN_DATA_SET = 0x00ff
ipfix.ENTERPRISE_BIT = 0x00

template.cdefOnce("struct ipfix_set_header", [[
	struct __attribute__((__packed__)) ipfix_set_header {
		uint16_t set_id;
		uint16_t length;
	};
	struct __attribute__((__packed__)) ipfix_tmpl_record_header {
		uint16_t template_id;
		uint16_t field_count;
	};
	struct __attribute__((__packed__)) ipfix_opts_tmpl_record_header {
		uint16_t template_id;
		uint16_t field_count;
		uint16_t scope_field_count;
	};
	struct __attribute__((__packed__)) ipfix_information_element {
		uint16_t ie_id;
		uint16_t length;
	};
	struct __attribute__((__packed__)) ipfix_data_record {
		uint8_t field_values[?];
	};
	struct __attribute__((__packed__)) ipfix_tmpl_record {
		struct ipfix_tmpl_record_header  template_header;
		struct ipfix_information_element information_elements[5];
	};
	struct __attribute__((__packed__)) ipfix_opts_tmpl_record {
		struct ipfix_opts_tmpl_record_header template_header;
		struct ipfix_information_element     information_elements[5];
	};
	struct __attribute__((__packed__)) ipfix_data_set {
		struct ipfix_set_header set_header;
		uint8_t                 field_values[?];
	};
	struct __attribute__((__packed__)) ipfix_tmpl_set {
		struct ipfix_set_header  set_header;
		struct ipfix_tmpl_record record;
		uint8_t                  padding;
	};
	struct __attribute__((__packed__)) ipfix_opts_tmpl_set {
		struct ipfix_set_header       set_header;
		struct ipfix_opts_tmpl_record record;
		uint8_t                       padding;
	};
]])

local SetHeaderT = ffi.typeof("struct ipfix_set_header")
local InformationElementT = ffi.typeof("struct ipfix_information_element")
local DataSetT = ffi.typeof("struct ipfix_data_set")
local TmplSetT = ffi.typeof("struct ipfix_tmpl_set")
local TmplRecordT = ffi.typeof("struct ipfix_tmpl_record")
local TmplRecordHeaderT = ffi.typeof("struct ipfix_tmpl_record_header")
local OptsTmplSetT = ffi.typeof("struct ipfix_opts_tmpl_set")
local OptsTmplRecordT = ffi.typeof("struct ipfix_opts_tmpl_record")
local OptsTmplRecordHeaderT = ffi.typeof("struct ipfix_opts_tmpl_record_header")

-- luacheck: push ignore
SetHeader = SetHeaderT
InformationElement = InformationElementT
DataSet = DataSetT
TmplSet = TmplSetT
TmplRecord = TmplRecordT
TmplRecordHeader = TmplRecordHeaderT
OptsTmplSet = OptsTmplSetT
OptsTmplRecord = OptsTmplRecordT
OptsTmplRecordHeader = OptsTmplRecordHeaderT
-- luacheck: pop

ipfix.headerFormat = [[
	uint16_t version;
	uint16_t length;
	uint32_t export_time;
	uint32_t sequence_number;
	uint32_t observation_domain_id;
]]
ipfix.headerVariableMember = nil

local ipfixHeader = template.initHeader()

function ipfixHeader:setVersion(n)
	self.version = hton16(n or ipfix.VERSION_IPFIX)
end

function ipfixHeader:getVersion()
	return hton16(self.version)
end

function ipfixHeader:getVersionString()
	return self:getVersion()
end

--- message length (header + sets); the stack default is pktLength - offset
function ipfixHeader:setLength(n)
	self.length = hton16(n or 0)
end

function ipfixHeader:getLength()
	return hton16(self.length)
end

function ipfixHeader:getLengthString()
	return self:getLength()
end

local u32Fields = {
	ExportTime = "export_time",
	Seq = "sequence_number",
	ObservationDomain = "observation_domain_id",
}
for name, field in pairs(u32Fields) do
	ipfixHeader["set" .. name] = function(self, n)
		self[field] = bswap(n or 0)
	end
	ipfixHeader["get" .. name] = function(self)
		return ntohu32(self[field])
	end
	ipfixHeader["get" .. name .. "String"] = function(self)
		return ntohu32(self[field])
	end
end

function ipfixHeader:fill(args, pre)
	args = args or {}
	pre = pre or "ipfix"
	self:setVersion(args[pre .. "Version"])
	self:setLength(args[pre .. "Length"])
	self:setExportTime(args[pre .. "ExportTime"])
	self:setSeq(args[pre .. "Seq"])
	self:setObservationDomain(args[pre .. "ObservationDomain"])
end

function ipfixHeader:get(pre)
	pre = pre or "ipfix"
	return {
		[pre .. "Version"] = self:getVersion(),
		[pre .. "Length"] = self:getLength(),
		[pre .. "ExportTime"] = self:getExportTime(),
		[pre .. "Seq"] = self:getSeq(),
		[pre .. "ObservationDomain"] = self:getObservationDomain(),
	}
end

function ipfixHeader:getString()
	return "ipfix > "
		.. " version " .. self:getVersion()
		.. " length " .. self:getLength()
		.. " export time " .. self:getExportTime()
		.. " sequence number " .. self:getSeq()
		.. " observation domain id " .. self:getObservationDomain()
end

function ipfixHeader:setDefaultNamedArgs(pre, namedArgs, nextHeader, accumulatedLength)
	if not namedArgs[pre .. "Length"] and namedArgs.pktLength then
		namedArgs[pre .. "Length"] = namedArgs.pktLength - accumulatedLength
	end
	return namedArgs
end

ipfix.metatype = ipfixHeader

---------------------------------------------------------------------------------------------------
-- set builders (called with a colon on the module: ipfix:createTmplSet(...))
---------------------------------------------------------------------------------------------------

function ipfix:createInformationElement(id, length)
	local ie = InformationElementT()
	ie.ie_id = hton16(id)
	ie.length = hton16(length)
	return ie
end

function ipfix:createSetHeader(id, length)
	local h = SetHeaderT()
	h.set_id = hton16(id)
	h.length = hton16(length)
	return h
end

function ipfix:createTmplRecordHeader(id, fieldCount)
	local h = TmplRecordHeaderT()
	h.template_id = hton16(id)
	h.field_count = hton16(fieldCount)
	return h
end

function ipfix:createOptsTmplRecordHeader(id, fieldCount, scopeFieldCount)
	local h = OptsTmplRecordHeaderT()
	h.template_id = hton16(id)
	h.field_count = hton16(fieldCount)
	h.scope_field_count = hton16(scopeFieldCount)
	return h
end

--- @param tmpl list of { id = <IE id>, length = <bytes> } (at most 5)
function ipfix:createTmplSet(id, tmpl)
	local n = #tmpl
	local length = ffi.sizeof(SetHeaderT) + ffi.sizeof(TmplRecordHeaderT)
		+ ffi.sizeof(InformationElementT) * n
	local set = TmplSetT()
	set.set_header = self:createSetHeader(self.ID_TEMPLATE_SET, length)
	set.record.template_header = self:createTmplRecordHeader(id, n)
	for i, ie in ipairs(tmpl) do
		set.record.information_elements[i - 1] = self:createInformationElement(ie.id, ie.length)
	end
	return set
end

function ipfix:createOptsTmplSet(id, tmpl)
	local n = #tmpl
	-- 2 more octets for the padding, as MoonGen counts them
	local length = ffi.sizeof(SetHeaderT) + ffi.sizeof(OptsTmplRecordHeaderT) + 2
		+ ffi.sizeof(InformationElementT) * n
	local set = OptsTmplSetT()
	set.set_header = self:createSetHeader(self.ID_OPTION_TEMPLATE_SET, length)
	set.record.template_header = self:createOptsTmplRecordHeader(id, n, 1)
	for i, ie in ipairs(tmpl) do
		set.record.information_elements[i - 1] = self:createInformationElement(ie.id, ie.length)
	end
	set.padding = 0
	return set
end

function ipfix:getRecordLength(tmpl)
	local length = 0
	for _, ie in ipairs(tmpl) do
		length = length + ie.length
	end
	return length
end

--- @param tmpl list of { length = <bytes>, value = <function returning a number> }
function ipfix:createDataSet(id, tmpl, recordLength, numRecords)
	local headerLength = ffi.sizeof(SetHeaderT)
	local set = DataSetT(numRecords * recordLength)
	local pos = 0
	for _ = 1, numRecords do
		for _, ie in ipairs(tmpl) do
			local value = tonumber(ie.value())
			for shift = ie.length - 1, 0, -1 do
				set.field_values[pos] = math.floor(value / 2 ^ (shift * 8)) % 256
				pos = pos + 1
			end
		end
	end
	set.set_header = self:createSetHeader(id, headerLength + numRecords * recordLength)
	return set
end

--- copy a set (length from its header) to dest[pos ...]; returns the position after it
function ipfix:copyTo(dest, pos, set)
	local length = hton16(set.set_header.length)
	ffi.copy(ffi.cast("uint8_t*", dest) + pos, set, length)
	return pos + length
end

function ipfix:getHeadersLength()
	return 16
end

return ipfix
