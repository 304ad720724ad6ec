-- proto.sflow: sFlow v5 datagram header (subtypes `ip4` / `ip6` by agent address type), followed
-- by `payload[]` holding the samples; getSFlowPacket uses the ip4 variant with "noPayload".
-- Sample and entry views: struct sflow_flow_sample, sflow_ext_switch_data, sflow_raw_packet,
-- sflow_unknown_entry (all big-endian on the wire).

local ffi = require "ffi"
local bit = require "bit"
require "moonpy.addr"
local template = require "proto.template"

local bswap = bit.bswap
local cast, format = ffi.cast, string.format

local function ntohu32(n)
	return bswap(n) % 4294967296
end

local sflow = {}

template.cdefOnce("struct sflow_unknown_entry", [[
	struct __attribute__((__packed__)) sflow_unknown_entry {
		uint32_t type;
		uint32_t len;
	};
	struct __attribute__((__packed__)) sflow_flow_sample {
		uint32_t type;
		uint32_t len;
		uint32_t seq;
		uint32_t source_id;
		uint32_t sampling_rate;
		uint32_t sample_pool;
		uint32_t drops;
		uint32_t input_port;
		uint32_t output_port;
		uint32_t num_entries;
		union payload_t payload;
	};
	struct __attribute__((__packed__)) sflow_ext_switch_data {
		uint32_t type;
		uint32_t len;
		uint32_t src_vlan;
		uint32_t src_prio;
		uint32_t dst_vlan;
		uint32_t dst_prio;
	};
	struct __attribute__((__packed__)) sflow_raw_packet {
		uint32_t type;
		uint32_t len;
		uint32_t proto;
		uint32_t packet_len;
		uint32_t stripped_bytes;
		uint32_t header_size;
		union payload_t payload;
	};
]])

local u32p = ffi.typeof("uint32_t*")
local unknownEntryPtr = ffi.typeof("struct sflow_unknown_entry*")
local flowSamplePtr = ffi.typeof("struct sflow_flow_sample*")
local extSwitchDataPtr = ffi.typeof("struct sflow_ext_switch_data*")
local rawPacketPtr = ffi.typeof("struct sflow_raw_packet*")

sflow.unknownEntryType = unknownEntryPtr
sflow.flowSampleType = flowSamplePtr
sflow.rawPacketType = rawPacketPtr

-- record type words as they appear when read as a native uint32 from the wire
sflow.RECORD_TYPE_FLOW_SAMPLE_BE = ntohu32(1)
sflow.RECORD_TYPE_EXT_SWITCH_DATA_BE = ntohu32(1001)
sflow.RECORD_TYPE_RAW_PACKET_BE = ntohu32(1)

local function headerFormat(addressUnion)
	return [[
	uint32_t version;
	uint32_t agent_ip_type;
	]] .. addressUnion .. [[ agent_ip;
	uint32_t sub_agent_id;
	uint32_t seq;
	uint32_t uptime;
	uint32_t num_samples;
	uint8_t  payload[];
]]
end

sflow.ip4 = { headerFormat = headerFormat("union ip4_address"), headerVariableMember = "payload" }
sflow.ip6 = { headerFormat = headerFormat("union ip6_address"), headerVariableMember = "payload" }
sflow.defaultType = "ip4"

local function u32Setter(field)
	return function(self, n)
		self[field] = bswap(n or 0)
	end
end

local function u32Getter(field)
	return function(self)
		return ntohu32(self[field])
	end
end

local function addU32(methods, name, field)
	methods["set" .. name] = u32Setter(field)
	methods["get" .. name] = u32Getter(field)
end

---------------------------------------------------------------------------------------------------
-- entries and samples
---------------------------------------------------------------------------------------------------

local unknownEntry = {}
unknownEntry.__index = unknownEntry
addU32(unknownEntry, "Type", "type")
addU32(unknownEntry, "Len", "len")

function unknownEntry:getString()
	return format("unsupported record type %d, len %d", self:getType(), self:getLen())
end

local function noEntries()
	return nil
end

function unknownEntry:iterateEntries()
	return noEntries
end

local flowSample = {}
flowSample.__index = flowSample
for name, field in pairs({ Type = "type", Len = "len", Seq = "seq", SourceId = "source_id",
	SamplingRate = "sampling_rate", SamplePool = "sample_pool", Drops = "drops",
	InputPort = "input_port", OutputPort = "output_port", NumEntries = "num_entries" }) do
	addU32(flowSample, name, field)
end

function flowSample:getString()
	return format("Flow sample, type %d, len %d, seq %d, source id %d, sampling_rate %d, "
		.. "sample_pool %d, drops %d, input port %d, output port %d, records %d",
		self:getType(), self:getLen(), self:getSeq(), self:getSourceId(), self:getSamplingRate(),
		self:getSamplePool(), self:getDrops(), self:getInputPort(), self:getOutputPort(),
		self:getNumEntries())
end

local extSwitchData = {}
extSwitchData.__index = extSwitchData
for name, field in pairs({ Type = "type", Len = "len", SrcVlan = "src_vlan",
	SrcPrio = "src_prio", DstVlan = "dst_vlan", DstPrio = "dst_prio" }) do
	addU32(extSwitchData, name, field)
end

function extSwitchData:getString()
	return format("Extended switch data, type %d, len %d, source vlan %d, src priority %d, "
		.. "dest vlan %d, dest priority %d", self:getType(), self:getLen(), self:getSrcVlan(),
		self:getSrcPrio(), self:getDstVlan(), self:getDstPrio())
end

local rawPacket = {}
rawPacket.__index = rawPacket
for name, field in pairs({ Type = "type", Len = "len", Proto = "proto",
	PacketLen = "packet_len", StrippedBytes = "stripped_bytes", HeaderSize = "header_size" }) do
	addU32(rawPacket, name, field)
end

function rawPacket:getData()
	return cast("void*", self.payload.uint8)
end

function rawPacket:getString()
	return format("Raw packet data, type %d, len %d, protocol %d, packet len %d, "
		.. "stripped bytes %d, header size %d", self:getType(), self:getLen(), self:getProto(),
		self:getPacketLen(), self:getStrippedBytes(), self:getHeaderSize())
end

-- records are not aligned; stop after 1600 bytes because the frame length is not known here
local MAX_WALK = 1600

function flowSample:iterateEntries()
	local count = self:getNumEntries()
	local base = self.payload.uint8
	local pos = 0
	return function(_, i)
		if i >= count then
			return nil
		end
		local words = cast(u32p, base + pos)
		local recordType, recordLen = words[0], ntohu32(words[1])
		local entry
		if recordType == sflow.RECORD_TYPE_EXT_SWITCH_DATA_BE then
			entry = cast(extSwitchDataPtr, base + pos)
		elseif recordType == sflow.RECORD_TYPE_RAW_PACKET_BE then
			entry = cast(rawPacketPtr, base + pos)
		else
			entry = cast(unknownEntryPtr, base + pos)
		end
		pos = pos + recordLen + 8
		if pos > MAX_WALK then
			return nil
		end
		return i + 1, entry
	end, self, 0
end

template.metatypeOnce("struct sflow_unknown_entry", unknownEntry)
template.metatypeOnce("struct sflow_flow_sample", flowSample)
template.metatypeOnce("struct sflow_ext_switch_data", extSwitchData)
template.metatypeOnce("struct sflow_raw_packet", rawPacket)

---------------------------------------------------------------------------------------------------
-- header (both variants share the methods; the address union differs)
---------------------------------------------------------------------------------------------------

local sflowHeader = template.initHeader()
sflow.headerType = sflowHeader

for name, field in pairs({ Version = "version", SubAgentId = "sub_agent_id", Seq = "seq",
	Uptime = "uptime", NumSamples = "num_samples" }) do
	addU32(sflowHeader, name, field)
end

local function agentType(self)
	return ffi.sizeof(self.agent_ip) == 4 and 1 or 2
end

function sflowHeader:setAgentIp(ip)
	self.agent_ip_type = bswap(agentType(self))
	if type(ip) == "string" then
		self.agent_ip:setString(ip)
	else
		self.agent_ip:set(ip or 0)
	end
end

function sflowHeader:getAgentIp()
	return self.agent_ip:get()
end

function sflowHeader:getAgentIpString()
	return self.agent_ip:getString()
end

function sflowHeader:fill(args, pre)
	args = args or {}
	pre = pre or "sflow"
	self:setVersion(args[pre .. "Version"])
	self:setAgentIp(args[pre .. "AgentIp"])
	self:setSubAgentId(args[pre .. "SubAgentId"])
	self:setSeq(args[pre .. "Seq"])
	self:setUptime(args[pre .. "Uptime"])
	self:setNumSamples(args[pre .. "NumSamples"])
end

function sflowHeader:get(pre)
	pre = pre or "sflow"
	return {
		[pre .. "Version"] = self:getVersion(),
		[pre .. "AgentIp"] = self:getAgentIpString(),
		[pre .. "SubAgentId"] = self:getSubAgentId(),
		[pre .. "Seq"] = self:getSeq(),
		[pre .. "Uptime"] = self:getUptime(),
		[pre .. "NumSamples"] = self:getNumSamples(),
	}
end

function sflowHeader:iterateSamples()
	local count = self:getNumSamples()
	local base = cast("uint8_t*", self.payload)
	local pos = 0
	return function(_, i)
		if i >= count then
			return nil
		end
		local words = cast(u32p, base + pos)
		local recordType, recordLen = words[0], ntohu32(words[1])
		local record
		if recordType == sflow.RECORD_TYPE_FLOW_SAMPLE_BE then
			record = cast(flowSamplePtr, base + pos)
		else
			record = cast(unknownEntryPtr, base + pos)
		end
		pos = pos + recordLen + 8
		if pos > MAX_WALK then
			return nil
		end
		return i + 1, record
	end, self, 0
end

function sflowHeader:getString()
	local lines = {
		format("sFlowv5, agent IP %s, sub agent id %d, seq %d, uptime %d, samples %d ",
			self:getAgentIpString(), self:getSubAgentId(), self:getSeq(), self:getUptime(),
			self:getNumSamples()),
	}
	for _, record in self:iterateSamples() do
		lines[#lines + 1] = "   " .. record:getString()
		for _, entry in record:iterateEntries() do
			lines[#lines + 1] = "      " .. entry:getString()
		end
	end
	return table.concat(lines, "\n")
end

function sflowHeader:getSubType()
	return ntohu32(self.agent_ip_type) == 2 and "ip6" or "ip4"
end

sflow.ip4.metatype = sflowHeader
sflow.ip6.metatype = sflowHeader

return sflow
