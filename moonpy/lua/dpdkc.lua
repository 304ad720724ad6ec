-- dpdkc: MoonGen's raw FFI binding. In moonpy the C side is the fast-path
-- table (moonpy.api); `struct rte_mbuf` is declared from DPDK's real offsets.
local api = require "moonpy.api"
return setmetatable({}, {
    __index = function(_, name)
        error(("dpdkc.%s is not available in moonpy: raw DPDK calls go through moonpy's "
            .. "fast path; use the device/memory modules"):format(tostring(name)), 2)
    end,
    api = api,
})
