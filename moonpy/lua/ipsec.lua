-- ipsec: libmoon's `ipsec` module is not supported in moonpy (Intel 82599 IPsec offload registers).
-- The module loads; each function raises a clear error naming itself.
return require("moonpy.unsupported")("ipsec", "Intel 82599 IPsec offload registers", {
	"enable", "disable", "tx_set_key", "tx_get_key", "rx_set_key", "rx_get_key", "rx_set_ip",
	"rx_get_ip", "rx_set_spi", "rx_get_spi", "calc_extra_pad", "get_extra_pad",
	"add_esp_trailer", "esp_vpn_decapsulate", "esp_vpn_encapsulate",
})
