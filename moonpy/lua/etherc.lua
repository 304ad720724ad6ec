-- etherc: DPDK's Ethernet structs (libmoon `etherc`; rte_ether.h of DPDK 17.x names).
-- Only the structs: the static inline helpers of rte_ether.h cannot be called through the FFI.
-- Returns ffi.C, as libmoon does.
local ffi = require "ffi"

local function define(name, decl)
	if not pcall(ffi.sizeof, name) or ffi.sizeof(name) == nil then
		ffi.cdef(decl)
	end
end

define("struct ether_addr", [[
struct ether_addr {
	uint8_t addr_bytes[6];
} __attribute__((__packed__));
]])
define("struct ether_hdr", [[
struct ether_hdr {
	struct ether_addr d_addr;
	struct ether_addr s_addr;
	uint16_t ether_type;
} __attribute__((__packed__));
]])
define("struct vlan_hdr", [[
struct vlan_hdr {
	uint16_t vlan_tci;
	uint16_t eth_proto;
} __attribute__((__packed__));
]])
define("struct vxlan_hdr", [[
struct vxlan_hdr {
	uint32_t vx_flags;
	uint32_t vx_vni;
} __attribute__((__packed__));
]])

return ffi.C
