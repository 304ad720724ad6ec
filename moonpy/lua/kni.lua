-- kni: libmoon's `kni` module is not supported in moonpy (KNI was removed from DPDK).
-- The module loads; each function raises a clear error naming itself.
return require("moonpy.unsupported")("kni", "KNI, the kernel NIC interface (removed from DPDK)", {
	"createKni", "init", "close",
})
