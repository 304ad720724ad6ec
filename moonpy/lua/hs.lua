-- hs: libmoon's `hs` module is not supported in moonpy (Hyperscan).
-- The module loads; each function raises a clear error naming itself.
return require("moonpy.unsupported")("hs", "Hyperscan", {
	"free_database", "free_scratch", "alloc_scratch", "clone_scratch", "serialize_database",
	"deserialize_database", "compile", "compile_multi", "scan", "scan_vector", "new",
})
