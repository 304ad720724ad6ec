-- lpm: libmoon's `lpm` module is not supported in moonpy (DPDK LPM routing tables).
-- The module loads; each function raises a clear error naming itself.
return require("moonpy.unsupported")("lpm", "DPDK LPM routing tables", {
	"createLpm4Table", "applyRoute", "decrementTTL",
})
