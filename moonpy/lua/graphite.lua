-- graphite: libmoon's `graphite` module is not supported in moonpy (the Graphite writer).
-- The module loads; each function raises a clear error naming itself.
return require("moonpy.unsupported")("graphite", "the Graphite writer", {
	"newWriter",
})
