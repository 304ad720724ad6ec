-- pf: packet filters from tcpdump-style expressions (the part of pflua that scripts use).
--
--   local pf = require "pf"
--   local match = pf.compile_filter("udp and dst port 53")   -- errors are raised as strings
--   if match(buf:getBytes(), buf:getSize()) then ... end
--
-- Supported (libpcap semantics on untagged Ethernet frames; every access is bounds-checked
-- against `len`, so truncated frames simply do not match):
--   protocols   ether, ip, ip6, arp, rarp, tcp, udp, icmp, icmp6, sctp
--               ip proto N|name, ip6 proto N|name, proto N|name
--   addresses   [src|dst|src or dst|src and dst] host A.B.C.D   (IPv4, also ARP/RARP addresses)
--               [src|dst] net A.B.C.D/len | net A.B.C.D mask M.M.M.M
--               ether [src|dst] host MAC, ether src|dst MAC, broadcast, multicast
--   ports       [tcp|udp|sctp] [src|dst] port N, portrange N-M (IPv4 non-fragments and IPv6)
--   lengths     less N, greater N, len < <= > >= = != N
--   operators   and/&&, or/||, not/!, parentheses; "and" and "or" have equal precedence and
--               associate to the left (as in libpcap); a bare value after and/or repeats the
--               previous qualifiers ("port 80 or 443")
-- Anything else (IPv6 addresses, vlan, byte-offset expressions like ip[2:2], ...) is an error
-- naming the unsupported part. opts.bpf (compile with libpcap) is ignored: there is no libpcap.
local ffi = require "ffi"
local bit = require "bit"

local band, bor, lshift = bit.band, bit.bor, bit.lshift
local cast = ffi.cast
local u8p = ffi.typeof("const uint8_t *")

local mod = {}

---------------------------------------------------------------------------------------------------
-- frame accessors (p: const uint8_t*, len: number)
---------------------------------------------------------------------------------------------------

local ETH_IP, ETH_IP6, ETH_ARP, ETH_RARP = 0x0800, 0x86dd, 0x0806, 0x8035

local function etherType(p, len)
	if len < 14 then
		return -1
	end
	return p[12] * 256 + p[13]
end

local function isIp(p, len)
	return len >= 34 and p[12] == 0x08 and p[13] == 0x00
end

local function isIp6(p, len)
	return len >= 54 and p[12] == 0x86 and p[13] == 0xdd
end

local function be32(p, off)
	return bor(lshift(p[off], 24), lshift(p[off + 1], 16), lshift(p[off + 2], 8), p[off + 3])
end

-- offset of the transport header of an IPv4 non-fragment / IPv6 packet with next header `proto`
-- (no extension headers), or nil
local function l4Offset(p, len, proto)
	if isIp(p, len) then
		if p[23] ~= proto then
			return nil
		end
		if band(p[20], 0x1F) ~= 0 or p[21] ~= 0 then
			return nil -- a fragment after the first: no transport header
		end
		return 14 + band(p[14], 0x0F) * 4
	elseif isIp6(p, len) then
		if p[20] ~= proto then
			return nil
		end
		return 54
	end
	return nil
end

---------------------------------------------------------------------------------------------------
-- primitives: each returns a predicate fn(p, len)
---------------------------------------------------------------------------------------------------

local function always(p, len) -- luacheck: ignore
	return true
end

local function ipProto(proto, family)
	if family == "ip" then
		return function(p, len) return isIp(p, len) and p[23] == proto end
	elseif family == "ip6" then
		return function(p, len) return isIp6(p, len) and p[20] == proto end
	end
	return function(p, len)
		return (isIp(p, len) and p[23] == proto) or (isIp6(p, len) and p[20] == proto)
	end
end

local function etherProto(etype)
	return function(p, len) return etherType(p, len) == etype end
end

-- IPv4 address match: dir "src", "dst", "or" (either), "and" (both)
local function hostMatch(addr, mask, dir, family)
	local function ipTest(p, len)
		if not isIp(p, len) then
			return false
		end
		local s = band(be32(p, 26), mask) == addr
		local d = band(be32(p, 30), mask) == addr
		if dir == "src" then return s elseif dir == "dst" then return d
		elseif dir == "and" then return s and d end
		return s or d
	end
	local function arpTest(p, len)
		local t = etherType(p, len)
		if (t ~= ETH_ARP and t ~= ETH_RARP) or len < 42 or p[16] ~= 0x08 or p[17] ~= 0
			or p[18] ~= 6 or p[19] ~= 4 then
			return false
		end
		local s = band(be32(p, 28), mask) == addr
		local d = band(be32(p, 38), mask) == addr
		if dir == "src" then return s elseif dir == "dst" then return d
		elseif dir == "and" then return s and d end
		return s or d
	end
	if family == "ip" then
		return ipTest
	elseif family == "arp" or family == "rarp" then
		local etype = family == "arp" and ETH_ARP or ETH_RARP
		return function(p, len) return etherType(p, len) == etype and arpTest(p, len) end
	end
	return function(p, len) return ipTest(p, len) or arpTest(p, len) end
end

local function etherMatch(mac, dir)
	return function(p, len)
		if len < 14 then
			return false
		end
		local s, d = true, true
		for i = 0, 5 do
			if p[i] ~= mac[i + 1] then d = false end
			if p[6 + i] ~= mac[i + 1] then s = false end
		end
		if dir == "src" then return s elseif dir == "dst" then return d
		elseif dir == "and" then return s and d end
		return s or d
	end
end

local PORT_PROTOS = { tcp = { 6 }, udp = { 17 }, sctp = { 132 } }

local function portMatch(lo, hi, dir, proto)
	local protos = proto and PORT_PROTOS[proto] or { 6, 17, 132 }
	return function(p, len)
		for i = 1, #protos do
			local off = l4Offset(p, len, protos[i])
			if off and len >= off + 4 then
				local s = p[off] * 256 + p[off + 1]
				local d = p[off + 2] * 256 + p[off + 3]
				local sm, dm = s >= lo and s <= hi, d >= lo and d <= hi
				if dir == "src" then return sm elseif dir == "dst" then return dm
				elseif dir == "and" then return sm and dm end
				return sm or dm
			end
		end
		return false
	end
end

local CMP = {
	["<"] = function(a, b) return a < b end, ["<="] = function(a, b) return a <= b end,
	[">"] = function(a, b) return a > b end, [">="] = function(a, b) return a >= b end,
	["="] = function(a, b) return a == b end, ["=="] = function(a, b) return a == b end,
	["!="] = function(a, b) return a ~= b end,
}

---------------------------------------------------------------------------------------------------
-- tokenizer and parser
---------------------------------------------------------------------------------------------------

local function tokenize(expr)
	local toks = {}
	local i, n = 1, #expr
	while i <= n do
		local c = expr:sub(i, i)
		if c:match("%s") then
			i = i + 1
		elseif c == "(" or c == ")" then
			toks[#toks + 1] = c
			i = i + 1
		else
			local two = expr:sub(i, i + 1)
			if two == "&&" or two == "||" or two == "<=" or two == ">=" or two == "==" or two == "!=" then
				toks[#toks + 1] = two
				i = i + 2
			elseif c == "!" or c == "<" or c == ">" or c == "=" then
				toks[#toks + 1] = c
				i = i + 1
			else
				local word = expr:match("^[%w%.:/_%-]+", i)
				if c == "[" then
					error(("pf: byte-offset expressions (proto[offset:size]) are not supported in "
						.. "filter expression \"%s\""):format(expr), 0)
				end
				if not word then
					error(("pf: unexpected character '%s' in filter expression \"%s\""):format(c,
						expr), 0)
				end
				toks[#toks + 1] = word
				i = i + #word
			end
		end
	end
	return toks
end

local PROTO_NAMES = { icmp = 1, igmp = 2, tcp = 6, udp = 17, icmp6 = 58, sctp = 132 }

local function parseIp4(s)
	local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
	if not a then
		return nil
	end
	a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
	if a > 255 or b > 255 or c > 255 or d > 255 then
		return nil
	end
	return bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
end

local function parseMac(s)
	local bytes = {}
	for h in s:gmatch("[^:%-%.]+") do
		if not h:match("^%x%x?$") then
			return nil
		end
		bytes[#bytes + 1] = tonumber(h, 16)
	end
	if #bytes ~= 6 then
		return nil
	end
	return bytes
end

local function prefixMask(bits)
	if bits <= 0 then
		return 0
	end
	return bit.tobit(lshift(0xFFFFFFFF, 32 - bits))
end

local Parser = {}
Parser.__index = Parser

function Parser:fail(msg, tok)
	tok = tok or self.toks[self.pos]
	local where = tok and ("at '" .. tok .. "'") or "at the end"
	error(("pf: %s %s in filter expression \"%s\""):format(msg, where, self.source), 0)
end

function Parser:peek(k)
	return self.toks[self.pos + (k or 0)]
end

function Parser:next()
	local t = self.toks[self.pos]
	self.pos = self.pos + 1
	return t
end

function Parser:accept(...)
	local t = self.toks[self.pos]
	for i = 1, select("#", ...) do
		if t == select(i, ...) then
			self.pos = self.pos + 1
			return t
		end
	end
	return nil
end

function Parser:number(what)
	local t = self:next()
	local n = t and tonumber(t)
	if not n or n < 0 or n ~= math.floor(n) then
		self:fail("expected " .. what, t)
	end
	return n
end

-- expr := term { (and|or) term }   (equal precedence, left to right)
function Parser:expr()
	local left = self:term()
	while true do
		local op = self:accept("and", "&&", "or", "||")
		if not op then
			return left
		end
		local right = self:term(true)
		local a, b = left, right
		if op == "and" or op == "&&" then
			left = function(p, len) return a(p, len) and b(p, len) end
		else
			left = function(p, len) return a(p, len) or b(p, len) end
		end
	end
end

-- term := (not|!) term | "(" expr ")" | primitive
function Parser:term(afterOperator)
	if self:accept("not", "!") then
		local inner = self:term(afterOperator)
		return function(p, len) return not inner(p, len) end
	end
	if self:accept("(") then
		local inner = self:expr()
		if not self:accept(")") then
			self:fail("expected ')'")
		end
		return inner
	end
	local t = self:peek()
	if t == nil then
		self:fail("expected a primitive")
	end
	if afterOperator and self.last and (tonumber(t) or parseIp4(t) or t:match("/")) then
		-- "port 80 or 443", "host a or b": repeat the previous qualifiers
		return self:primitive(self.last)
	end
	return self:primitive()
end

local DIRS = { src = true, dst = true }

-- primitive := [proto] [dir] [type] value | proto-only | less/greater/len
function Parser:primitive(inherit)
	local q = inherit and { proto = inherit.proto, dir = inherit.dir, kind = inherit.kind } or {}
	if not inherit then
		local t = self:peek()
		if t == "less" or t == "greater" then
			self:next()
			local n = self:number("a length")
			if t == "less" then
				return function(p, len) return len <= n end -- luacheck: ignore p
			end
			return function(p, len) return len >= n end -- luacheck: ignore p
		end
		if t == "len" then
			self:next()
			local op = self:next()
			local cmp = CMP[op]
			if not cmp then
				self:fail("expected a comparison after 'len'", op)
			end
			local n = self:number("a length")
			return function(p, len) return cmp(len, n) end -- luacheck: ignore p
		end
		if t == "ether" and (self:peek(1) == "broadcast" or self:peek(1) == "multicast") then
			self:next()
			t = self:peek()
		end
		if t == "broadcast" or t == "multicast" then
			self:next()
			if t == "broadcast" then
				return etherMatch({ 255, 255, 255, 255, 255, 255 }, "dst")
			end
			return function(p, len) return len >= 14 and band(p[0], 1) == 1 end
		end
		-- protocol qualifier
		if t == "ether" or t == "ip" or t == "ip6" or t == "arp" or t == "rarp" or t == "tcp"
			or t == "udp" or t == "icmp" or t == "icmp6" or t == "sctp" then
			q.proto = self:next()
		elseif t == "vlan" or t == "mpls" or t == "pppoes" or t == "geneve" or t == "wlan"
			or t == "decnet" or t == "atalk" or t == "ipx" or t == "iso" or t == "stp"
			or t == "gateway" or t == "inbound" or t == "outbound" or t == "ifname" then
			self:fail("unsupported primitive", t)
		end
		-- direction
		local d = self:peek()
		if DIRS[d] then
			self:next()
			q.dir = d
			local nxt = self:peek()
			if (nxt == "or" or nxt == "and") and DIRS[self:peek(1)] then
				-- "src or dst", "src and dst"
				self:next()
				self:next()
				q.dir = nxt
			end
		end
		-- type
		local k = self:peek()
		if k == "host" or k == "net" or k == "port" or k == "portrange" or k == "proto" then
			self:next()
			q.kind = k
		end
	end
	self.last = q
	return self:build(q)
end

function Parser:build(q)
	local proto, dir, kind = q.proto, q.dir or "or", q.kind
	local t = self:peek()
	local value = nil
	if kind or q.dir or (t and (tonumber(t) or parseIp4(t) or parseMac(t))) then
		value = self:next()
		if value == nil then
			self:fail("expected a value")
		end
	end
	if value == nil then
		-- a protocol on its own
		if proto == "ether" then
			self:fail("'ether' needs host, src or dst")
		elseif proto == "ip" then return etherProto(ETH_IP)
		elseif proto == "ip6" then return etherProto(ETH_IP6)
		elseif proto == "arp" then return etherProto(ETH_ARP)
		elseif proto == "rarp" then return etherProto(ETH_RARP)
		elseif proto == "icmp" then return ipProto(1, "ip")
		elseif proto == "icmp6" then return ipProto(58, "ip6")
		elseif proto then return ipProto(PROTO_NAMES[proto], nil)
		end
		self:fail("expected a primitive")
	end
	if proto == "ether" then
		if kind and kind ~= "host" then
			self:fail("'ether' takes host, src or dst")
		end
		local mac = parseMac(value)
		if not mac then
			self:fail("expected a MAC address", value)
		end
		return etherMatch(mac, dir)
	end
	if kind == "proto" then
		local n = PROTO_NAMES[value] or tonumber(value)
		if not n or n < 0 or n > 255 then
			self:fail("expected a protocol number or name", value)
		end
		if proto and proto ~= "ip" and proto ~= "ip6" then
			self:fail("'proto' needs ip or ip6", proto)
		end
		return ipProto(n, proto)
	end
	if kind == "port" or kind == "portrange" or (not kind and tonumber(value)) then
		if proto and not PORT_PROTOS[proto] and proto ~= "ip" and proto ~= "ip6" then
			self:fail("ports need tcp, udp or sctp", proto)
		end
		local lo, hi
		if kind == "portrange" then
			local a, b = value:match("^(%d+)%-(%d+)$")
			lo, hi = tonumber(a), tonumber(b)
		else
			lo = tonumber(value)
			hi = lo
		end
		if not lo or not hi or lo > 65535 or hi > 65535 or lo > hi then
			self:fail("expected a port number" .. (kind == "portrange" and " range" or ""), value)
		end
		local pred = portMatch(lo, hi, dir, PORT_PROTOS[proto] and proto or nil)
		if proto == "ip" then
			return function(p, len) return isIp(p, len) and pred(p, len) end
		elseif proto == "ip6" then
			return function(p, len) return isIp6(p, len) and pred(p, len) end
		end
		return pred
	end
	-- host / net: IPv4 (also inside ARP and RARP)
	if proto and proto ~= "ip" and proto ~= "arp" and proto ~= "rarp" then
		self:fail("host and net need ip, arp or rarp (or no protocol)", proto)
	end
	local addr, mask
	if kind == "net" or value:match("/") then
		local a, bits = value:match("^([%d%.]+)/(%d+)$")
		if a then
			bits = tonumber(bits)
			addr = parseIp4(a)
			if not addr or bits > 32 then
				self:fail("expected a network A.B.C.D/len", value)
			end
			mask = prefixMask(bits)
		else
			addr = parseIp4(value)
			if not addr then
				self:fail("expected a network A.B.C.D/len", value)
			end
			mask = -1
			if self:accept("mask") then
				mask = parseIp4(self:next() or "")
				if not mask then
					self:fail("expected a netmask A.B.C.D")
				end
			end
		end
		addr = band(addr, mask)
	else
		addr = parseIp4(value)
		if not addr then
			if value:match(":") then
				self:fail("IPv6 addresses are not supported (IPv4 only)", value)
			end
			self:fail("expected an IPv4 address (host names are not resolved)", value)
		end
		mask = -1
	end
	return hostMatch(bit.tobit(addr), bit.tobit(mask), dir, proto)
end

--- Compile a filter expression into fn(bytePtr, len) -> boolean.
--- @param expr tcpdump-style expression; empty matches everything
--- @param opts {bpf = bool}: ignored (no libpcap in moonpy)
function mod.compile_filter(expr, opts) -- luacheck: ignore opts
	if type(expr) ~= "string" then
		error(("pf: the filter expression must be a string, got %s"):format(type(expr)), 0)
	end
	local toks = tokenize(expr)
	local pred = always
	if #toks > 0 then
		local parser = setmetatable({ toks = toks, pos = 1, source = expr }, Parser)
		pred = parser:expr()
		if parser.pos <= #toks then
			parser:fail("unexpected")
		end
	end
	return function(bytes, len)
		return pred(cast(u8p, bytes), tonumber(len)) == true
	end
end

return mod
