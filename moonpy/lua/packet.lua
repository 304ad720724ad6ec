-- packet: every mbuf (struct rte_mbuf, ffi.cdef'd by the runtime before this file is loaded) is a
-- packet object with the methods below, and protocol stacks are packed FFI structs laid over
-- the packet data (createStack, buf:getUdpPacket(), ...). See moongen-api.md §2.5 and §4.4.
--
-- Returns the mbuf method table (like libmoon's packet.lua). Globals defined on purpose, as in
-- MoonGen: createStack, packetCreate, getHeaderData, packetSetLength, listPacketStructs
-- (initHeader comes from proto.template).

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
local proto = require "proto.proto"

local band, bor, lshift, rshift = bit.band, bit.bor, bit.lshift, bit.rshift
local cast, sizeof = ffi.cast, ffi.sizeof
local format, concat = string.format, table.concat
local type, ipairs, pairs, tostring, error = type, ipairs, pairs, tostring, error

local u8p = ffi.typeof("uint8_t*")
local u32p = ffi.typeof("uint32_t*")
local u64p = ffi.typeof("uint64_t*")
local voidp = ffi.typeof("void*")

local pkt = {}
pkt.__index = pkt

---------------------------------------------------------------------------------------------------
-- output helpers: colors, time of day, hex dump (same bytes as MoonGen's colors/utils helpers)
---------------------------------------------------------------------------------------------------

local PALETTE = { "0;34", "1;32", "0;35", "1;31", "0;33", "1;36", "0;32", "1;33", "0;31" }
local WHITE = "\027[1;37m"
local RESET = "\027[0m"

local function colorCode(i)
	return "\027[" .. PALETTE[(i - 1) % #PALETTE + 1] .. "m"
end

template.cdefOnce("struct moonpy_packet_timeval", [[
	struct moonpy_packet_timeval { long tv_sec; long tv_usec; };
	int moonpy_packet_gettimeofday(struct moonpy_packet_timeval *tv, void *tz)
		__asm__("gettimeofday");
]])
local timeval = ffi.new("struct moonpy_packet_timeval")

--- UTC time of day as hh:mm:s.ffffff (seconds not zero-padded, like MoonGen's getTimeMicros)
local function timeMicros()
	ffi.C.moonpy_packet_gettimeofday(timeval, nil)
	local t = tonumber(timeval.tv_sec) + tonumber(timeval.tv_usec) / 1e6
	local secs = math.floor(t)
	local frac = t - secs
	local mins = math.floor(secs / 60)
	secs = secs - mins * 60
	local hours = math.floor(mins / 60)
	mins = mins - hours * 60
	return format("%02d:%02d:%02.6f", hours % 24, mins, secs + frac)
end
pkt.timeMicros = timeMicros

-- hex dump into `out`; `seps` (header end offsets) switches colors on, as in MoonGen's dumpHex
local function hexDump(out, data, bytes, seps, wireshark)
	local sep = 1
	local nseps = seps and #seps or 0
	local color = seps and colorCode(1) or ""
	local offsetFormat = wireshark and "  %06x   " or "  0x%04x:   "
	for i = 0, bytes - 1 do
		if sep <= nseps and seps[sep] == i then
			sep = sep + 1
			color = colorCode(sep)
		end
		if i % 16 == 0 then
			out[#out + 1] = (seps and WHITE or "") .. format(offsetFormat, i)
			color = seps and colorCode(sep) or ""
		end
		out[#out + 1] = color .. format("%02x", data[i])
		color = ""
		if wireshark or i % 2 == 1 then
			out[#out + 1] = " "
		end
		if i % 16 == 15 then
			out[#out + 1] = "\n"
		end
	end
	out[#out + 1] = (seps and RESET or "") .. "\n\n"
end

local function isStream(x)
	local t = type(x)
	return t == "userdata" or (t == "table" and type(x.write) == "function")
end

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
-- stacks
---------------------------------------------------------------------------------------------------

pkt.packetStructs = {} -- "struct <name>" -> { args }, as in libmoon

local stacksByName = {} -- "struct <name>" -> stack descriptor
local stackList = {}    -- descriptors in creation order (decoding prefers the first match)
local MAX_DECODE_HEADERS = 24

--- Normalize one createStack argument: a protocol name or { proto, [member] | name = member,
--- subType = ..., length = n }.
--- @return { proto = <module name>, name = <member>, length = n|nil, subType = s|nil }
local function headerData(v)
	if v == nil then
		return nil
	end
	local p, member, length, subType
	if type(v) == "table" then
		p, member, length, subType = v[1], v.name or v[2], v.length, v.subType
	else
		p = v
	end
	if p == "eth" or p == "ethernet" then
		p = "ethernet"
		member = member or "eth"
	end
	local module = proto[p]
	if type(module) ~= "table" then
		error(format("createStack: unknown protocol %q", tostring(p)), 3)
	end
	member = member or p
	if module.defaultType then
		subType = subType or module.defaultType
	end
	return { proto = p, name = member, length = length, subType = subType }
end
getHeaderData = headerData -- luacheck: ignore (MoonGen global)

local definedHeaders = {}

-- define (once) the packed header struct for a protocol variant; returns its name
local function defineHeader(p, subType, length)
	local name = p .. (subType and ("_" .. subType) or "") .. "_header"
		.. (length and ("_" .. length) or "")
	if definedHeaders[name] then
		return name
	end
	local module = proto[p]
	local def = module
	if subType then
		def = module[subType]
		if type(def) ~= "table" or not def.headerFormat then
			error(format("createStack: protocol %s has no subtype %q", p, tostring(subType)), 4)
		end
	end
	local body = def.headerFormat
	local var = def.headerVariableMember
	if var then
		body = body:gsub(var .. "%[%]", var .. "[" .. (length or 0) .. "]")
	end
	template.cdefOnce("struct " .. name, format("struct __attribute__((__packed__)) %s {\n%s};",
		name, body))
	if def.metatype then
		template.metatypeOnce("struct " .. name, def.metatype)
	end
	definedHeaders[name] = true
	return name
end

local function entryKey(d)
	return d.proto .. "_" .. d.name .. "_" .. (d.length or "x") .. "_" .. (d.subType or "x")
end

local function capitalize(s)
	return (s:gsub("^%l", string.upper))
end

-- setLength(self, length) specialised for a stack (straight-line code, one call per length field)
local function compileSetLength(entries)
	local lines = { "local self, length = ..." }
	for _, d in ipairs(entries) do
		local p = d.subType == nil and d.proto or nil
		if p == "ip4" or p == "udp" or p == "ptp" or p == "ipfix" then
			lines[#lines + 1] = format("self[%q]:setLength(length - %d)", d.name, d.offset)
		elseif p == "ip6" then
			lines[#lines + 1] = format("self[%q]:setLength(length - %d)", d.name, d.offset + 40)
		end
	end
	return assert(loadstring(concat(lines, "\n"), "=setLength"))
end

-- calculateChecksums(self, data, len, ipv4): software checksums for ip4, icmp and tcp headers
local function compileChecksums(entries)
	local lines = { "local self, data, len, ipv4 = ..." }
	local lastIp
	for _, d in ipairs(entries) do
		if d.proto == "ip4" or d.proto == "icmp" then
			lines[#lines + 1] = format("self[%q]:calculateChecksum()", d.name)
		elseif d.proto == "tcp" then
			local v4 = not lastIp or lastIp.proto == "ip4"
			local lenExpr = "len"
			if lastIp then
				lenExpr = format("len or (self[%q]:getLength() + %d)", lastIp.name,
					lastIp.offset + (lastIp.proto == "ip6" and 40 or 0))
			end
			lines[#lines + 1] = format("self[%q]:calculateChecksum(data or self, %s, "
				.. "(ipv4 == nil and %s) or ipv4)", d.name, lenExpr, tostring(v4))
		end
		if d.proto == "ip4" or d.proto == "ip6" then
			lastIp = d
		end
	end
	return assert(loadstring(concat(lines, "\n"), "=calculateChecksums"))
end

local stackDump, resolveLastHeader

local function buildStack(args, noPayload)
	local entries, seen, offset = {}, {}, 0
	for i, v in ipairs(args) do
		local d = headerData(v)
		if seen[d.name] then
			error(format("createStack: two headers use the member name %q", d.name), 3)
		end
		seen[d.name] = true
		d.struct = defineHeader(d.proto, d.subType, d.length)
		d.size = sizeof("struct " .. d.struct)
		d.offset = offset
		offset = offset + d.size
		entries[i] = d
	end
	local keys = {}
	for i, d in ipairs(entries) do
		keys[i] = "__" .. entryKey(d)
	end
	local bare = concat(keys)
	if bare == "" then
		bare = "raw"
	end
	if noPayload then
		bare = bare .. "_np"
	end
	local name = "struct " .. bare
	if stacksByName[name] then
		return stacksByName[name]
	end

	local members = {}
	for _, d in ipairs(entries) do
		members[#members + 1] = format("\tstruct %s %s;\n", d.struct, d.name)
	end
	if not noPayload then
		members[#members + 1] = "\tunion payload_t payload;\n"
	end
	ffi.cdef(format("struct __attribute__((__packed__)) %s {\n%s};", bare, concat(members)))

	local stack = {
		name = name,
		args = args,
		entries = entries,
		noPayload = noPayload,
		size = offset,
		extensions = {},
	}
	local methods = {}
	methods.__index = methods

	function methods.getArgs()
		return args
	end

	function methods.getName()
		return name
	end

	function methods.getHeaders(self)
		local headers = {}
		for i, d in ipairs(entries) do
			headers[i] = self[d.name]
		end
		return headers
	end

	function methods.getHeader(self, h)
		return self[headerData(h).name]
	end

	--- Fill every header: neighbour-dependent defaults first, then the header's own fill.
	--- Mutates namedArgs, as MoonGen does.
	function methods.fill(self, namedArgs)
		namedArgs = namedArgs or {}
		for i, d in ipairs(entries) do
			local hdr = self[d.name]
			local nextEntry = entries[i + 1]
			namedArgs = hdr:setDefaultNamedArgs(d.name, namedArgs, nextEntry and nextEntry.proto,
				d.offset, d.size) or namedArgs
			hdr:fill(namedArgs, d.name)
		end
	end

	function methods.get(self)
		local result = {}
		for _, d in ipairs(entries) do
			for k, v in pairs(self[d.name]:get(d.name)) do
				result[k] = v
			end
		end
		return result
	end

	function methods.dump(self, bytes, stream, colorized, wireshark)
		return stackDump(self, stack, bytes, stream, colorized, wireshark)
	end

	function methods.resolveLastHeader(self)
		return resolveLastHeader(self, stack, 0)
	end

	methods.setLength = compileSetLength(entries)
	methods.calculateChecksums = compileChecksums(entries)

	for _, d in ipairs(entries) do
		if d.proto == "ip4" or d.proto == "icmp" then
			local member = d.name
			methods["calculate" .. capitalize(member) .. "Checksum"] = function(self)
				self[member]:calculateChecksum()
			end
		end
	end

	ffi.metatype(name, methods)
	local ptrType = ffi.typeof(name .. "*")
	stack.ptrType = ptrType
	stack.methods = methods
	--- the getter installed as buf:getXxxPacket(): a cast of buf_addr + data_off
	stack.cast = function(buf)
		return cast(ptrType, cast(u8p, buf.buf_addr) + buf.data_off)
	end

	stacksByName[name] = stack
	stackList[#stackList + 1] = stack
	pkt.packetStructs[name] = { args }
	template.debug("created packet struct %s", name)
	return stack
end

function stackDump(self, stack, bytes, stream, colorized, wireshark)
	if isStream(bytes) then
		bytes, stream, colorized, wireshark = nil, bytes, stream, colorized
	end
	bytes = bytes or sizeof(stack.name)
	stream = stream or io.stdout
	colorized = colorized == nil or colorized
	wireshark = wireshark or false

	local out = {}
	local seps = {}
	if not wireshark then
		local now = timeMicros()
		out[1] = colorized and (WHITE .. now .. RESET) or now
		local acc = 0
		for i, d in ipairs(stack.entries) do
			out[#out + 1] = (colorized and colorCode(i) or "") .. (i == 1 and " " or "")
				.. self[d.name]:getString() .. "\n"
			acc = acc + d.size
			seps[i] = acc
		end
	end
	hexDump(out, cast(u8p, self), bytes, colorized and seps or nil, wireshark)
	stream:write(concat(out))
end

-- argument list of a stack with the last entry replaced (or a new one appended)
local function argsWith(stack, index, entry)
	local args = {}
	for i, d in ipairs(stack.entries) do
		args[i] = { d.proto, name = d.name, length = d.length, subType = d.subType }
	end
	args[index] = { entry.proto, name = entry.name, length = entry.length, subType = entry.subType }
	return args
end

local function recast(self, stack)
	return cast(stack.ptrType, self)
end

-- an existing stack that is `stack` plus one header of protocol `nd.proto`
local function findExtension(stack, nd)
	local n = #stack.entries
	local best
	for _, s in ipairs(stackList) do
		if #s.entries == n + 1 then
			local last = s.entries[n + 1]
			local match = last.proto == nd.proto and last.subType == nd.subType
				and last.length == nil
			for i = 1, n do
				if not match then
					break
				end
				match = entryKey(s.entries[i]) == entryKey(stack.entries[i])
			end
			if match and (not best or (best.noPayload and not s.noPayload)) then
				best = s
			end
		end
	end
	return best
end

function resolveLastHeader(self, stack, depth)
	local entries = stack.entries
	local n = #entries
	if n == 0 or depth > MAX_DECODE_HEADERS * 3 then
		return self
	end
	local last = entries[n]
	local hdr = self[last.name]

	-- 1. the last header says it is another variant of its protocol
	local subType = hdr:getSubType()
	if subType and subType ~= last.subType then
		local s = buildStack(argsWith(stack, n, { proto = last.proto, name = last.name,
			length = last.length, subType = subType }), stack.noPayload)
		return resolveLastHeader(recast(self, s), s, depth + 1)
	end

	-- 2. its variable-length member (IPv4 / TCP options) has another size
	local len = hdr:getVariableLength()
	if len and len > 0 and len ~= (last.length or 0) then
		local s = buildStack(argsWith(stack, n, { proto = last.proto, name = last.name,
			length = len, subType = last.subType }), stack.noPayload)
		return resolveLastHeader(recast(self, s), s, depth + 1)
	end

	-- 3. a known next header follows
	if n >= MAX_DECODE_HEADERS then
		return self
	end
	local nextName = hdr:resolveNextHeader()
	if not nextName then
		return self
	end
	local nd = headerData(nextName)
	local key = entryKey(nd)
	local s = stack.extensions[key]
	if not s then
		s = findExtension(stack, nd)
		if not s then
			local used = {}
			for _, d in ipairs(entries) do
				used[d.name] = true
			end
			local member, counter = nd.name, 1
			while used[member] do
				counter = counter + 1
				member = nd.name .. counter
			end
			s = buildStack(argsWith(stack, n + 1, { proto = nd.proto, name = member,
				subType = nd.subType }), false)
		end
		stack.extensions[key] = s
	end
	return resolveLastHeader(recast(self, s), s, depth + 1)
end

--- createStack(hdr1, hdr2, ..., ["noPayload"]) -> cast function for buf:getXxxPacket()
function createStack(...) -- luacheck: ignore (MoonGen global)
	local args = { ... }
	local noPayload = args[#args] == "noPayload"
	if noPayload then
		args[#args] = nil
	end
	return buildStack(args, noPayload).cast
end

function packetCreate(...) -- luacheck: ignore (MoonGen global)
	template.warn("This function is deprecated and will be removed in the future.")
	template.warn("Renamed to createStack(...)")
	return createStack(...)
end

--- the specialised setLength function for a stack argument list (MoonGen global)
function packetSetLength(args) -- luacheck: ignore
	local entries, offset = {}, 0
	for i, v in ipairs(args) do
		local d = headerData(v)
		d.offset = offset
		offset = offset + sizeof("struct " .. defineHeader(d.proto, d.subType, d.length))
		entries[i] = d
	end
	return compileSetLength(entries)
end

function listPacketStructs() -- luacheck: ignore (MoonGen global)
	print("All available packet structs:")
	for _, s in ipairs(stackList) do
		print(s.name)
	end
end

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
