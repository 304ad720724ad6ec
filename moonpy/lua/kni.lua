-- kni: libmoon's `kni` module is not supported in moonpy (KNI was removed from DPDK).
-- The module loads, so scripts that only require it run; each function raises a clear
-- error naming itself.
local mod = {}

local WHAT = "KNI, the kernel NIC interface (removed from DPDK)"

local function unsupported(fn)
	return function()
		error(("kni.%s: %s is not supported in moonpy"):format(fn, WHAT), 2)
	end
end

for _, fn in ipairs({
	"createKni", "init", "close",
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
