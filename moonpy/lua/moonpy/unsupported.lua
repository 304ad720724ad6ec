-- moonpy.unsupported: a libmoon module that moonpy does not provide, as a module that loads
-- (so scripts that only require it run) and whose every function raises a clear error
-- naming itself. Used by kni, lpm, distribute, graphite, ipsec and hs.
--
--   return require("moonpy.unsupported")("kni", "KNI, the kernel NIC interface", { "createKni" })
return function(name, what, functions)
	local function unsupported(fn)
		return function()
			error(("%s.%s: %s is not supported in moonpy"):format(name, fn, what), 2)
		end
	end
	local mod = {}
	for _, fn in ipairs(functions) do
		mod[fn] = unsupported(fn)
	end
	return setmetatable(mod, {
		__index = function(_, fn)
			if type(fn) == "string" and not fn:match("^__") then
				return unsupported(fn)
			end
		end,
	})
end
