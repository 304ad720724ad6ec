-- distribute: libmoon's `distribute` module is not supported in moonpy (the packet distributor).
-- The module loads; each function raises a clear error naming itself.
return require("moonpy.unsupported")("distribute", "the packet distributor", {
	"createDistributor",
})
