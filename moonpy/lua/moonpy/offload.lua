-- moonpy.offload: DPDK 22.11 mbuf offload flags and the per-buffer checksum-offload requests.
--
-- A request sets ol_flags and tx_offload (l2_len in bits 0-6, l3_len in bits 7-15) and, for
-- UDP/TCP, writes the pseudo-header sum (not complemented) into the L4 checksum field, which is
-- what DPDK expects before a NIC (or moonpy's software TX path) finishes the checksum.
-- Used by packet.lua (buf:offloadUdpChecksum ...) and memory.lua (bufArray:offloadUdpChecksums).

local ffi = require "ffi"
local bit = require "bit"

local band, bor, rshift, bswap = bit.band, bit.bor, bit.rshift, bit.bswap
local cast = ffi.cast

local u8p = ffi.typeof("uint8_t*")
local u16p = ffi.typeof("uint16_t*")

local mod = {}

-- RX flags
mod.RX_VLAN               = 0x1ULL           -- 1 << 0
mod.RX_RSS_HASH           = 0x2ULL           -- 1 << 1
mod.RX_FDIR               = 0x4ULL           -- 1 << 2
mod.RX_VLAN_STRIPPED      = 0x40ULL          -- 1 << 6
mod.RX_IEEE1588_PTP       = 0x200ULL         -- 1 << 9
mod.RX_IEEE1588_TMST      = 0x400ULL         -- 1 << 10
mod.RX_SEC_OFFLOAD        = 0x40000ULL       -- 1 << 18
mod.RX_SEC_OFFLOAD_FAILED = 0x80000ULL       -- 1 << 19

-- TX flags
mod.TX_SEC_OFFLOAD   = bit.lshift(1ULL, 43)
mod.TX_QINQ          = bit.lshift(1ULL, 49)
mod.TX_TCP_SEG       = bit.lshift(1ULL, 50)
mod.TX_IEEE1588_TMST = bit.lshift(1ULL, 51)
mod.TX_L4_NO_CKSUM   = 0ULL
mod.TX_TCP_CKSUM     = bit.lshift(1ULL, 52)
mod.TX_SCTP_CKSUM    = bit.lshift(2ULL, 52)
mod.TX_UDP_CKSUM     = bit.lshift(3ULL, 52)
mod.TX_L4_MASK       = bit.lshift(3ULL, 52)
mod.TX_IP_CKSUM      = bit.lshift(1ULL, 54)
mod.TX_IPV4          = bit.lshift(1ULL, 55)
mod.TX_IPV6          = bit.lshift(1ULL, 56)
mod.TX_VLAN          = bit.lshift(1ULL, 57)

-- names as DPDK 22.11 spells them, for code that prefers those
mod.RTE_MBUF_F_TX_IP_CKSUM  = mod.TX_IP_CKSUM
mod.RTE_MBUF_F_TX_IPV4      = mod.TX_IPV4
mod.RTE_MBUF_F_TX_IPV6      = mod.TX_IPV6
mod.RTE_MBUF_F_TX_UDP_CKSUM = mod.TX_UDP_CKSUM
mod.RTE_MBUF_F_TX_TCP_CKSUM = mod.TX_TCP_CKSUM
mod.RTE_MBUF_F_TX_VLAN      = mod.TX_VLAN
mod.RTE_MBUF_F_TX_IEEE1588_TMST = mod.TX_IEEE1588_TMST

local IP4_UDP = bor(mod.TX_IPV4, mod.TX_IP_CKSUM, mod.TX_UDP_CKSUM)
local IP4_TCP = bor(mod.TX_IPV4, mod.TX_IP_CKSUM, mod.TX_TCP_CKSUM)
local IP4_IP = bor(mod.TX_IPV4, mod.TX_IP_CKSUM)
-- IPv6 has no header checksum: no TX_IP_CKSUM (DPDK rejects IP_CKSUM without IPV4)
local IP6_UDP = bor(mod.TX_IPV6, mod.TX_UDP_CKSUM)
local IP6_TCP = bor(mod.TX_IPV6, mod.TX_TCP_CKSUM)

local UDP_CS_OFFSET = 6
local TCP_CS_OFFSET = 16

local function hton16(n)
	return rshift(bswap(n), 16)
end

local function fold(sum)
	sum = band(sum, 0xFFFF) + rshift(sum, 16)
	sum = band(sum, 0xFFFF) + rshift(sum, 16)
	return sum
end

--- Pseudo-header sum of the IPv4 header at `ip` (uint8_t*), as a 16-bit value in memory order.
--- The L4 length is total_length - l3Len.
function mod.ipv4PseudoSum(ip, l3Len)
	local w = cast(u16p, ip)
	local l4Len = hton16(w[1]) - (l3Len or 20)
	local sum = w[6] + w[7] + w[8] + w[9] + hton16(ip[9]) + hton16(band(l4Len, 0xFFFF))
	return fold(sum)
end

--- Pseudo-header sum of the IPv6 header at `ip` (payload length and next header as given).
function mod.ipv6PseudoSum(ip)
	local w = cast(u16p, ip)
	local sum = w[4] + w[5] + w[6] + w[7] + w[8] + w[9] + w[10] + w[11]
		+ w[12] + w[13] + w[14] + w[15] + w[16] + w[17] + w[18] + w[19]
		+ w[2] + hton16(ip[6])
	return fold(sum)
end

local function l4Request(buf, ipv4, l2Len, l3Len, flags4, flags6, csOffset)
	ipv4 = ipv4 == nil or ipv4
	l2Len = l2Len or 14
	local data = cast(u8p, buf.buf_addr) + buf.data_off
	local ip = data + l2Len
	if ipv4 then
		l3Len = l3Len or 20
		buf.ol_flags = bor(buf.ol_flags, flags4)
		buf.tx_offload = l2Len + l3Len * 128
		cast(u16p, ip + l3Len + csOffset)[0] = mod.ipv4PseudoSum(ip, l3Len)
	else
		l3Len = l3Len or 40
		buf.ol_flags = bor(buf.ol_flags, flags6)
		buf.tx_offload = l2Len + l3Len * 128
		cast(u16p, ip + l3Len + csOffset)[0] = mod.ipv6PseudoSum(ip)
	end
end

--- Request IP (v4) + UDP checksum offload for one buffer.
--- @param ipv4 true/nil for IPv4, false for IPv6
--- @param l2Len default 14; l3Len default 20 (IPv4) / 40 (IPv6)
function mod.udp(buf, ipv4, l2Len, l3Len)
	return l4Request(buf, ipv4, l2Len, l3Len, IP4_UDP, IP6_UDP, UDP_CS_OFFSET)
end

--- Request IP (v4) + TCP checksum offload for one buffer.
function mod.tcp(buf, ipv4, l2Len, l3Len)
	return l4Request(buf, ipv4, l2Len, l3Len, IP4_TCP, IP6_TCP, TCP_CS_OFFSET)
end

--- Request IPv4 header checksum offload for one buffer. For IPv6 (no header checksum) only the
--- IPv6 flag and the lengths are set.
function mod.ip(buf, ipv4, l2Len, l3Len)
	ipv4 = ipv4 == nil or ipv4
	l2Len = l2Len or 14
	if ipv4 then
		buf.ol_flags = bor(buf.ol_flags, IP4_IP)
		buf.tx_offload = l2Len + (l3Len or 20) * 128
	else
		buf.ol_flags = bor(buf.ol_flags, mod.TX_IPV6)
		buf.tx_offload = l2Len + (l3Len or 40) * 128
	end
end

return mod
