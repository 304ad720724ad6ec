-- dpdk: DPDK-level names of old scripts, and the deprecated launchLua-era
-- aliases of libmoon (each warns once per VM, as MoonGen's compat layer does).
local lm = require "libmoon"

local mod = {}

local warned = {}
local function deprecated(old, new, fn)
    return function(...)
        if not warned[old] then
            warned[old] = true
            print(("\027[1;33m[WARN]  dpdk.%s() is deprecated, use moongen.%s() instead.\027[0m")
                :format(old, new))
        end
        return fn(...)
    end
end

mod.launchLua = deprecated("launchLua", "startTask", lm.startTask)
mod.launchLuaOnCore = deprecated("launchLuaOnCore", "startTaskOnCore", lm.startTaskOnCore)
mod.waitForSlaves = deprecated("waitForSlaves", "waitForTasks", lm.waitForTasks)
for _, name in ipairs { "getCycles", "getCyclesFrequency", "getTime", "setRuntime", "running",
    "stop", "sleepMillis", "sleepMicros", "sleepMillisIdle", "sleepMicrosIdle", "getCore",
    "disableBadSocketWarning" } do
    mod[name] = lm[name]
end

-- EAL is started by moonpy before any script code runs
function mod.init() return true end
function mod.skipInit() lm.config.skipInit = true end

-- mbuf flag constants (DPDK 22.11 bit positions; MoonGen's names)
mod.PKT_RX_VLAN_PKT = 1ULL
mod.PKT_RX_RSS_HASH = 2ULL
mod.PKT_RX_FDIR = 4ULL
mod.PKT_RX_L4_CKSUM_BAD = 8ULL
mod.PKT_RX_IP_CKSUM_BAD = 16ULL
mod.PKT_RX_IEEE1588_PTP = 512ULL
mod.PKT_RX_IEEE1588_TMST = 1024ULL
local one = 1ULL
mod.PKT_TX_NO_CRC_CSUM = bit.lshift(one, 48)
mod.PKT_TX_QINQ_PKT = bit.lshift(one, 49)
mod.PKT_TX_TCP_SEG = bit.lshift(one, 50)
mod.PKT_TX_IEEE1588_TMST = bit.lshift(one, 51)
mod.PKT_TX_TCP_CKSUM = bit.lshift(one, 52)
mod.PKT_TX_SCTP_CKSUM = bit.lshift(2ULL, 52)
mod.PKT_TX_UDP_CKSUM = bit.lshift(3ULL, 52)
mod.PKT_TX_L4_MASK = bit.lshift(3ULL, 52)
mod.PKT_TX_IP_CKSUM = bit.lshift(one, 54)
mod.PKT_TX_IPV4 = bit.lshift(one, 55)
mod.PKT_TX_IPV6 = bit.lshift(one, 56)
mod.PKT_TX_VLAN_PKT = bit.lshift(one, 57)
mod.PKT_TX_OUTER_IP_CKSUM = bit.lshift(one, 58)
mod.PKT_TX_OUTER_IPV4 = bit.lshift(one, 59)
mod.PKT_TX_OUTER_IPV6 = bit.lshift(one, 60)

local flows = { "UNKNOWN", "RAW", "IPV4", "FRAG_IPV4", "NONFRAG_IPV4_TCP", "NONFRAG_IPV4_UDP",
    "NONFRAG_IPV4_SCTP", "NONFRAG_IPV4_OTHER", "IPV6", "FRAG_IPV6", "NONFRAG_IPV6_TCP",
    "NONFRAG_IPV6_UDP", "NONFRAG_IPV6_SCTP", "NONFRAG_IPV6_OTHER", "L2_PAYLOAD", "IPV6_EX",
    "IPV6_TCP_EX", "IPV6_UDP_EX", "MAX" }
for i, name in ipairs(flows) do
    mod["RTE_ETH_FLOW_" .. name] = i - 1
    mod["ETH_RSS_" .. name] = bit.lshift(one, i - 1)
end

return mod
