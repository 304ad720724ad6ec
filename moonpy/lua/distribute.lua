-- distribute: libmoon's `distribute` module is not supported in moonpy (the packet distributor).
-- The module loads, so scripts that only require it run; each function raises a clear
-- error naming itself.
local mod = {}

local WHAT = "the packet distributor"

local function unsupported(fn)
	return function()
		error(("distribute.%s: %s is not supported in moonpy"):format(fn, WHAT), 2)
	end
end

for _, fn in ipairs({
	"createDistributor",
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
