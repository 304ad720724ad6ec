-- packet: every mbuf (struct rte_mbuf, ffi.cdef'd by the runtime before this file is loaded) is a
-- packet object with the methods below, and protocol stacks are packed FFI structs laid over
-- the packet data (createStack, buf:getUdpPacket(), ...). See moongen-api.md §2.5 and §4.4.
--
-- Returns the mbuf method table (like libmoon's packet.lua). Globals defined on purpose, as in
-- MoonGen: createStack, packetCreate, getHeaderData, packetSetLength, listPacketStructs
-- (moonpy.stacks; initHeader comes from proto.template).

local ffi = require "ffi"
local bit = require "bit"

local registry = debug.getregistry()
if registry["moonpy.packet"] then
	return registry["moonpy.packet"]
end

if not pcall(ffi.typeof, "struct rte_mbuf") then
	error("packet.lua: struct rte_mbuf must be ffi.cdef'd (by the runtime) before loading packet")
end

local template = require "proto.template"
local offload = require "moonpy.offload"
local dump = require "moonpy.pktdump"     -- colors, time of day, hex dump
local stacks = require "moonpy.stacks"    -- createStack and the stack methods
local isStream = dump.isStream

local band, bor, lshift, rshift = bit.band, bit.bor, bit.lshift, bit.rshift
local cast = ffi.cast
local type, tostring, error = type, tostring, error

local u8p = ffi.typeof("uint8_t*")
local u32p = ffi.typeof("uint32_t*")
local u64p = ffi.typeof("uint64_t*")
local voidp = ffi.typeof("void*")

local pkt = {}
pkt.__index = pkt
pkt.timeMicros = dump.timeMicros

---------------------------------------------------------------------------------------------------
-- mbuf methods
---------------------------------------------------------------------------------------------------

--- void* to the packet data (buf_addr + data_off)
function pkt:getData()
	return cast(voidp, cast(u8p, self.buf_addr) + self.data_off)
end

--- uint8_t* to the packet data
function pkt:getBytes()
	return cast(u8p, self.buf_addr) + self.data_off
end

function pkt:getSize()
	return self.pkt_len
end

--- sets pkt_len and data_len
function pkt:setSize(size)
	self.pkt_len = size
	self.data_len = size
end

local api
--- return the buffer to its pool (through the runtime's moonpy.api.free_one)
function pkt:free()
	if not api then
		local ok, mod = pcall(require, "moonpy.api")
		local fn = ok and type(mod) == "table" and mod.free_one
		if type(fn) ~= "function" and type(fn) ~= "cdata" then
			error("buf:free(): the moonpy runtime module 'moonpy.api' with free_one() is not "
				.. "available" .. (ok and "" or (": " .. tostring(mod))), 2)
		end
		api = mod
	end
	return api.free_one(self)
end

--- Decode the packet into the best-matching stack.
function pkt:get()
	return self:getEthernetPacket():resolveLastHeader()
end

--- Print the decoded packet (format of moongen-api.md §4.4).
--- @param bytes default pkt_len; a file (or a table with :write) here is taken as the stream
function pkt:dump(bytes, stream, colorized, wireshark)
	if isStream(bytes) then
		bytes, stream, colorized, wireshark = nil, bytes, stream, colorized
	end
	colorized = colorized == nil or colorized
	return self:get():dump(bytes or self.pkt_len, stream or io.stdout, colorized, wireshark)
end

function pkt:getTimesync()
	return self.timesync
end

function pkt:dumpFlags()
	template.debug("%s %s", tostring(self.ol_flags), tostring(self.tx_offload))
end

--- Hardware RX timestamp in ns from the packet data. Like MoonGen it always reads (the
--- original's flag check can never fail).
function pkt:getTimestamp(dev)
	if dev and dev.embeddedTimestampAtEndOfBuffer then
		local ts = cast(u32p, cast(u8p, self.buf_addr) + self.data_off + self.pkt_len - 8)
		return ts[1] * 1e9 + ts[0]
	end
	local data = cast(u32p, cast(u8p, self.buf_addr) + self.data_off)
	return data[3] * 4294967296 + data[2]
end

--- always true (MoonGen quirk)
function pkt:hasTimestamp()
	return true
end

function pkt:enableTimestamps()
	self.ol_flags = bor(self.ol_flags, offload.TX_IEEE1588_TMST)
end

--- TX VLAN insertion offload
function pkt:setVlan(vlan, pcp, cfi)
	self.vlan_tci = vlan + lshift(pcp or 0, 13) + lshift(cfi or 0, 12)
	self.ol_flags = bor(self.ol_flags, offload.TX_VLAN)
end

--- @return vlan, pcp, cfi from vlan_tci; never nil (MoonGen quirk: its flag check always passes)
function pkt:getVlan()
	local tci = self.vlan_tci
	return band(tci, 0xFFF), rshift(tci, 13), band(rshift(tci, 12), 1)
end

function pkt:getSecFlags()
	local flags = self.ol_flags
	local secp = band(rshift(flags, 18), 1)
	local secerr = band(rshift(flags, 19), 1)
	return tonumber(secp), tonumber(secerr)
end

function pkt:offloadIPSec(idx, secType, espMode) -- luacheck: ignore
	if secType ~= "esp" and secType ~= "ah" then
		error("Wrong IPSec type (esp/ah)", 2)
	end
	template.warnOnce("ipsec", "IPsec offload is not supported by moonpy, packets are sent as is")
end

function pkt:setESPTrailerLength(len) -- luacheck: ignore
	template.warnOnce("ipsec", "IPsec offload is not supported by moonpy, packets are sent as is")
end

--- Checksum offload requests (see moonpy.offload).
function pkt:offloadIPChecksum(ipv4, l2Len, l3Len)
	return offload.ip(self, ipv4, l2Len, l3Len)
end

function pkt:offloadUdpChecksum(ipv4, l2Len, l3Len)
	return offload.udp(self, ipv4, l2Len, l3Len)
end

function pkt:offloadTcpChecksum(ipv4, l2Len, l3Len)
	return offload.tcp(self, ipv4, l2Len, l3Len)
end

--- copy a Lua string into the packet and set the size to its length
function pkt:setRawPacket(data)
	self:setSize(#data)
	ffi.copy(self:getData(), data, #data)
end

--- MoonGen: gap before this packet in byte times (software rate control)
function pkt:setDelay(delay)
	self.udata64 = delay
end

--- MoonGen: gap matching a rate in Mpps (at 10 GbE byte times)
function pkt:setRate(rate)
	self.udata64 = 10 ^ 10 / 8 / (rate * 10 ^ 6) - self.pkt_len - 24
end

--- MoonGen: the TSC that sendWithTimestamp wrote at byte offset offs (default 48), uint64 cdata
function pkt:getSoftwareTxTimestamp(offs)
	local idx = offs and math.floor(offs / 8) or 6
	return cast(u64p, cast(u8p, self.buf_addr) + self.data_off)[idx]
end
---------------------------------------------------------------------------------------------------
-- stacks (moonpy.stacks)
---------------------------------------------------------------------------------------------------

pkt.packetStructs = stacks.packetStructs -- "struct <name>" -> { args }, as in libmoon

---------------------------------------------------------------------------------------------------
-- predefined stacks (moongen-api.md §2.5 "Stack getters")
---------------------------------------------------------------------------------------------------

-- getXxxPacket(self, [ip4 = true]) choosing between a v4 and a v6 getter
local function ipSwitch(get4, get6)
	return function(self, ip4)
		if ip4 == nil or ip4 then
			return get4(self)
		end
		return get6(self)
	end
end

pkt.getRawPacket = createStack()

pkt.getEthernetPacket = createStack("eth")
pkt.getEthPacket = pkt.getEthernetPacket
pkt.getEthernetVlanPacket = createStack({ "eth", subType = "vlan" })
pkt.getEthVlanPacket = pkt.getEthernetVlanPacket
pkt.getEthernetQinQPacket = createStack({ "eth", subType = "qinq" })
pkt.getEthQinQPacket = pkt.getEthernetQinQPacket

pkt.getIP4Packet = createStack("eth", "ip4")
pkt.getIP6Packet = createStack("eth", "ip6")
pkt.getIPPacket = ipSwitch(pkt.getIP4Packet, pkt.getIP6Packet)

pkt.getArpPacket = createStack("eth", "arp")

pkt.getIcmp4Packet = createStack("eth", "ip4", "icmp")
pkt.getIcmp6Packet = createStack("eth", "ip6", "icmp")
pkt.getIcmpPacket = ipSwitch(pkt.getIcmp4Packet, pkt.getIcmp6Packet)

pkt.getUdp4Packet = createStack("eth", "ip4", "udp")
pkt.getUdp6Packet = createStack("eth", "ip6", "udp")
pkt.getUdpPacket = ipSwitch(pkt.getUdp4Packet, pkt.getUdp6Packet)

pkt.getTcp4Packet = createStack("eth", "ip4", "tcp")
pkt.getTcp6Packet = createStack("eth", "ip6", "tcp")
pkt.getTcpPacket = ipSwitch(pkt.getTcp4Packet, pkt.getTcp6Packet)

pkt.getPtpPacket = createStack("eth", "ptp")
pkt.getUdpPtpPacket = createStack("eth", "ip4", "udp", "ptp")

pkt.getVxlanPacket = createStack("eth", "ip4", "udp", "vxlan")
pkt.getVxlanEthernetPacket = createStack("eth", "ip4", "udp", "vxlan",
	{ "eth", name = "innerEth" })

pkt.getEsp4Packet = createStack("eth", "ip4", "esp")
pkt.getEsp6Packet = createStack("eth", "ip6", "esp")
pkt.getEspPacket = ipSwitch(pkt.getEsp4Packet, pkt.getEsp6Packet)

pkt.getAH4Packet = createStack("eth", "ip4", "ah")
pkt.getAH6Packet = nil -- not in MoonGen either
pkt.getAHPacket = function(self, ip4)
	if ip4 == nil or ip4 then
		return pkt.getAH4Packet(self)
	end
	return pkt.getAH6Packet(self)
end

pkt.getDns4Packet = createStack("eth", "ip4", "udp", "dns")
pkt.getDns6Packet = createStack("eth", "ip6", "udp", "dns")
pkt.getDnsPacket = ipSwitch(pkt.getDns4Packet, pkt.getDns6Packet)

pkt.getSFlowPacket = createStack("eth", "ip4", "udp", { "sflow", subType = "ip4" }, "noPayload")

pkt.getIpfixPacket = createStack("eth", "ip4", "udp", "ipfix")

pkt.getLacpPacket = createStack("eth", "lacp")

pkt.getGre4Packet = createStack("eth", "ip4", "gre")
pkt.getGre6Packet = createStack("eth", "ip6", "gre")
pkt.getGrePacket = ipSwitch(pkt.getGre4Packet, pkt.getGre6Packet)

local qinq = { "eth", subType = "qinq", name = "etherQinQ" }
pkt.getGre4QinQPacket = createStack("eth", "ip4", "gre", qinq, { "ip4", name = "nestedIp4" })
pkt.getGre6QinQPacket = createStack("eth", "ip6", "gre", qinq, { "ip6", name = "nestedIp6" })
pkt.getGreQinQPacket = ipSwitch(pkt.getGre4QinQPacket, pkt.getGre6QinQPacket)

pkt.getGreQinQArpPacket = createStack("eth", "ip4", "gre", qinq, "arp")

pkt.getGre4QinQUdpPacket = createStack("eth", "ip4", "gre", qinq, { "ip4", name = "nestedIp4" },
	"udp")
pkt.getGre6QinQUdpPacket = createStack("eth", "ip6", "gre", qinq, { "ip6", name = "nestedIp6" },
	"udp")
pkt.getGreQinQUdpPacket = ipSwitch(pkt.getGre4QinQUdpPacket, pkt.getGre6QinQUdpPacket)

ffi.metatype("struct rte_mbuf", pkt)

registry["moonpy.packet"] = pkt
return pkt
