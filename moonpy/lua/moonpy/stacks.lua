-- moonpy.stacks: protocol stacks as packed FFI structs laid over the packet data: createStack
-- and the stack methods (fill, get, dump, setLength, calculateChecksums, resolveLastHeader),
-- decoding into the best-matching stack. packet.lua installs the getters on every mbuf.
-- Globals defined on purpose, as in MoonGen: createStack, packetCreate, getHeaderData,
-- packetSetLength, listPacketStructs.

local ffi = require "ffi"
local template = require "proto.template"
local proto = require "proto.proto"
local dump = require "moonpy.pktdump"

local cast, sizeof = ffi.cast, ffi.sizeof
local format, concat = string.format, table.concat
local type, ipairs, pairs, tostring, error = type, ipairs, pairs, tostring, error
local colorCode, timeMicros, hexDump, isStream = dump.colorCode, dump.timeMicros, dump.hexDump,
	dump.isStream
local WHITE, RESET = dump.WHITE, dump.RESET

local u8p = ffi.typeof("uint8_t*")

local packetStructs = {} -- "struct <name>" -> { args }, as in libmoon

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
	packetStructs[name] = { args }
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

return {
	packetStructs = packetStructs,
	stackList = stackList,
	buildStack = buildStack,
	headerData = headerData,
}
