-- Flows shipped with moonpy for `moonpy simple` (MoonGen's moongen-simple format).
-- ./flows/*.lua in the working directory are read too, MoonGen's own flow files included.

Flow{"udp-basic", Packet.Udp{
		ethDst = mac"02:00:00:00:00:ff",
		ip4Src = ip"10.0.0.1",
		ip4Dst = ip"10.1.0.1",
		udpSrc = 1000,
		udpDst = 319,
		pktLength = 60
	}
}

Flow{"udp-flows", Packet.Udp{
		ip4Src = range(ip"10.0.0.1", ip"10.0.0.100"),
		udpSrc = list{1000, 2000, 3000},
	},
	parent = "udp-basic",
	mode = "all",
}

Flow{"udp-random-src", Packet.Udp{
		ip4Src = randomRange(ip"10.0.0.0", ip"10.0.255.255"),
		udpSrc = randomRange(1024, 65535),
	},
	parent = "udp-basic",
	mode = "all",
}

Flow{"tcp-syn", Packet.Tcp4{
		ethDst = mac"02:00:00:00:00:ff",
		ip4Src = range(ip"10.2.0.1", ip"10.2.0.200"),
		ip4Dst = ip"10.3.0.1",
		tcpSyn = 1,
		tcpSeqNumber = 1,
		tcpWindow = 1024,
		pktLength = 60
	},
	mode = "all",
}
