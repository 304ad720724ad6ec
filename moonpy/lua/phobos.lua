-- phobos: an old name of libmoon.
io.stderr:write("[WARN]  phobos is deprecated, use require \"libmoon\" instead\n")
return require "libmoon"
