-- ipsec: libmoon's `ipsec` module is not supported in moonpy (Intel 82599 IPsec offload registers).
-- The module loads, so scripts that only require it run; each function raises a clear
-- error naming itself.
local mod = {}

local WHAT = "Intel 82599 IPsec offload registers"

local function unsupported(fn)
	return function()
		error(("ipsec.%s: %s is not supported in moonpy"):format(fn, WHAT), 2)
	end
end

for _, fn in ipairs({
	"enable", "disable", "tx_set_key", "tx_get_key", "rx_set_key", "rx_get_key", "rx_set_ip",
	"rx_get_ip", "rx_set_spi", "rx_get_spi", "calc_extra_pad", "get_extra_pad", "add_esp_trailer",
	"esp_vpn_decapsulate", "esp_vpn_encapsulate",
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
