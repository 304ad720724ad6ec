-- headerc: DPDK's IP/ICMP/UDP/TCP/SCTP header structs (libmoon `headerc`; DPDK 17.x names).
-- Only the structs: the static inline checksum helpers cannot be called through the FFI (use
-- the packet library's checksum methods). Returns ffi.C, as libmoon does.
local ffi = require "ffi"

local function define(name, decl)
	if not pcall(ffi.sizeof, name) or ffi.sizeof(name) == nil then
		ffi.cdef(decl)
	end
end

define("struct ipv4_hdr", [[
struct ipv4_hdr {
	uint8_t  version_ihl;
	uint8_t  type_of_service;
	uint16_t total_length;
	uint16_t packet_id;
	uint16_t fragment_offset;
	uint8_t  time_to_live;
	uint8_t  next_proto_id;
	uint16_t hdr_checksum;
	uint32_t src_addr;
	uint32_t dst_addr;
} __attribute__((__packed__));
]])
define("struct ipv6_hdr", [[
struct ipv6_hdr {
	uint32_t vtc_flow;
	uint16_t payload_len;
	uint8_t  proto;
	uint8_t  hop_limits;
	uint8_t  src_addr[16];
	uint8_t  dst_addr[16];
} __attribute__((__packed__));
]])
define("struct icmp_hdr", [[
struct icmp_hdr {
	uint8_t  icmp_type;
	uint8_t  icmp_code;
	uint16_t icmp_cksum;
	uint16_t icmp_ident;
	uint16_t icmp_seq_nb;
} __attribute__((__packed__));
]])
define("struct udp_hdr", [[
struct udp_hdr {
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t dgram_len;
	uint16_t dgram_cksum;
} __attribute__((__packed__));
]])
define("struct tcp_hdr", [[
struct tcp_hdr {
	uint16_t src_port;
	uint16_t dst_port;
	uint32_t sent_seq;
	uint32_t recv_ack;
	uint8_t  data_off;
	uint8_t  tcp_flags;
	uint16_t rx_win;
	uint16_t cksum;
	uint16_t tcp_urp;
} __attribute__((__packed__));
]])
define("struct sctp_hdr", [[
struct sctp_hdr {
	uint16_t src_port;
	uint16_t dst_port;
	uint32_t tag;
	uint32_t cksum;
} __attribute__((__packed__));
]])

return ffi.C
