-- hs: libmoon's `hs` module is not supported in moonpy (Hyperscan).
-- The module loads, so scripts that only require it run; each function raises a clear
-- error naming itself.
local mod = {}

local WHAT = "Hyperscan"

local function unsupported(fn)
	return function()
		error(("hs.%s: %s is not supported in moonpy"):format(fn, WHAT), 2)
	end
end

for _, fn in ipairs({
	"free_database", "free_scratch", "alloc_scratch", "clone_scratch", "serialize_database",
	"deserialize_database", "compile", "compile_multi", "scan", "scan_vector", "new",
}) do
	mod[fn] = unsupported(fn)
end

return setmetatable(mod, {
	__index = function(_, fn)
		if type(fn) == "string" and not fn:match("^__") then
			return unsupported(fn)
		end
	end,
})
