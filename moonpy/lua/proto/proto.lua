-- proto.proto: every protocol module by stack name (eth/ethernet, ip4, ip6, arp, icmp, udp,
-- tcp, ptp, vxlan, esp, ah, dns, ipfix, sflow, lacp, gre). Add an entry to make a user-written
-- protocol usable in createStack.

-- one table per VM, even if this file is loaded again (createStack looks protocols up here)
local registry = debug.getregistry()
if registry["proto.proto"] then
	return registry["proto.proto"]
end

local proto = {}

proto.eth = require "proto.ethernet"
proto.ethernet = proto.eth
proto.ip4 = require "proto.ip4"
proto.ip6 = require "proto.ip6"
proto.arp = require "proto.arp"
proto.icmp = require "proto.icmp"
proto.udp = require "proto.udp"
proto.tcp = require "proto.tcp"
proto.ptp = require "proto.ptp"
proto.vxlan = require "proto.vxlan"
proto.esp = require "proto.esp"
proto.ah = require "proto.ah"
proto.dns = require "proto.dns"
proto.ipfix = require "proto.ipfix"
proto.sflow = require "proto.sflow"
proto.lacp = require "proto.lacp"
proto.gre = require "proto.gre"

registry["proto.proto"] = proto
return proto
