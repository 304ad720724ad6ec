-- The names a script can call or index on each object type of libmoon/MoonGen's Lua API,
-- taken from libmoon's sources (github:libmoon/libmoon, lua/*.lua and lua/proto/*.lua:
-- each prototype's methods and metamethods; in libmoon the metatable IS the prototype,
-- `txQueue.__index = txQueue`, so metamethods are callable as methods too).
-- tests/lua/api_parity.lua checks every name on moonpy's objects (tests/test_api_parity.py).
-- Written once: a name added here is checked on its type by the same generated checks.
-- Left out: fields libmoon's sources assign but that are no methods (dev.totalRate,
-- dev.initialized) and names libmoon sets to nil (pkt.getAH6Packet).
return {
    device = {
        "__eq", "__index", "__serialize", "__tostring", "addMac", "checkSocket", "clearRxStats",
        "clearTimestamps", "dumpFilters", "enableRxTimestamps", "enableRxTimestampsAllPackets",
        "enableTxTimestamps", "filterL2Timestamps", "filterTimestamps", "filterUdpTimestamps",
        "fiveTupleFilter", "getDriverName", "getFirmware", "getInfo", "getLinkStatus", "getMac",
        "getMacString", "getName", "getPciId", "getRxQueue", "getRxStats", "getRxTimestamp",
        "getSocket", "getStats", "getTxQueue", "getTxStats", "getTxTimestamp", "hasRxTimestamp",
        "l2Filter", "readTime", "removeMac", "resetTimeCounters", "setPromisc", "setRate",
        "setRssQueues", "stop", "unsupported", "wait",
    },
    txQueue = {
        -- MoonGen (lua/crc-ratecontrol.lua, lua/software-timestamps.lua)
        "sendWithDelay", "sendWithTimestamp",
        "__eq", "__index", "__serialize", "__tostring", "enableTimestamps", "getMacAddr",
        "getTimestamp", "send", "sendN", "sendSingle", "setRate", "setRateMpps", "start",
        "stop", "trySend", "trySendSingle",
    },
    rxQueue = {
        "__eq", "__index", "__serialize", "__tostring", "enableTimestamps",
        "enableTimestampsAllPackets", "filterL2Timestamps", "filterUdpTimestamps", "getMacAddr",
        "getTimestamp", "recv", "recvWithTimestamps", "tryRecv", "tryRecvIdle",
    },
    mempool = {
        "__index", "alloc", "bufArray", "retain",
    },
    bufArray = {
        "__index", "__ipairs", "__len", "__newindex", "alloc", "allocN", "free", "freeAfter",
        "freeAll", "offloadIPChecksums", "offloadIPSec", "offloadTcpChecksums",
        "offloadUdpChecksums", "resize", "setVlans",
    },
    packetBuffer = {
        -- MoonGen (lua/crc-ratecontrol.lua, lua/software-timestamps.lua)
        "setDelay", "setRate", "getSoftwareTxTimestamp",
        "__index", "dump", "dumpFlags", "enableTimestamps", "free", "get", "getAH4Packet",
        "getAHPacket", "getArpPacket", "getBytes", "getData", "getDns4Packet",
        "getDns6Packet", "getDnsPacket", "getEsp4Packet", "getEsp6Packet", "getEspPacket",
        "getEthPacket", "getEthQinQPacket", "getEthVlanPacket", "getEthernetPacket",
        "getEthernetQinQPacket", "getEthernetVlanPacket", "getGre4Packet", "getGre4QinQPacket",
        "getGre4QinQUdpPacket", "getGre6Packet", "getGre6QinQPacket", "getGre6QinQUdpPacket",
        "getGrePacket", "getGreQinQArpPacket", "getGreQinQPacket", "getGreQinQUdpPacket",
        "getIP4Packet", "getIP6Packet", "getIPPacket", "getIcmp4Packet", "getIcmp6Packet",
        "getIcmpPacket", "getIpfixPacket", "getLacpPacket", "getPtpPacket", "getRawPacket",
        "getSFlowPacket", "getSecFlags", "getSize", "getTcp4Packet", "getTcp6Packet",
        "getTcpPacket", "getTimestamp", "getTimesync", "getUdp4Packet", "getUdp6Packet",
        "getUdpPacket", "getUdpPtpPacket", "getVlan", "getVxlanEthernetPacket",
        "getVxlanPacket", "hasTimestamp", "offloadIPChecksum", "offloadIPSec",
        "offloadTcpChecksum", "offloadUdpChecksum", "setESPTrailerLength", "setRawPacket",
        "setSize", "setVlan",
    },
    packet = {
        "__index", "calculateChecksums", "dump", "fill", "get", "getArgs", "getHeader",
        "getHeaders", "getName", "resolveLastHeader", "setLength",
    },
    devRxCounter = {
        "__index", "clearThroughput", "finalize", "getStats", "getThroughput", "print",
        "update",
    },
    devTxCounter = {
        "__index", "finalize", "getStats", "getThroughput", "print", "update",
    },
    pktRxCounter = {
        "__index", "countPacket", "finalize", "getStats", "getThroughput", "print", "update",
    },
    pktTxCounter = {
        "__index", "countPacket", "finalize", "getStats", "getThroughput", "print", "update",
    },
    manualRxCounter = {
        "__index", "finalize", "getStats", "getThroughput", "print", "update", "updateWithSize",
    },
    manualTxCounter = {
        "__index", "finalize", "getStats", "getThroughput", "print", "update", "updateWithSize",
    },
    -- MoonGen (lua/software-ratecontrol.lua)
    rateLimiter = { "__index", "__serialize", "send", "sendN", "stop" },
    timer = {
        "__index", "busyWait", "expired", "reset", "running", "timeLeft", "wait",
    },
    slowPipe = {
        "__index", "__serialize", "count", "delete", "empty", "recv", "send", "tryRecv",
    },
    fastPipe = {
        "__index", "__serialize", "count", "delete", "recv", "send", "tryRecv", "trySend",
    },
    packetRing = {
        "__index", "__serialize", "count", "empty", "free", "freeCount", "full", "recv",
        "recvN", "send", "sendN",
    },
    histogram = {
        "__index", "__serialize", "average", "calc", "create", "max", "median", "min", "new",
        "percentile", "print", "quartiles", "samples", "save", "standardDeviation", "totals",
        "update",
    },
    timestamper = {
        "__index", "measureLatency",
    },
    pcapWriter = {
        "__index", "close", "resize", "write", "writeBuf",
    },
    pcapReader = {
        "__index", "close", "read", "readSingle", "reset",
    },
    barrier = {
        "__index", "reinit", "wait",
    },
    lock = {
        "__call", "__index", "lock", "tryLock", "unlock",
    },
    etherHeader = {
        "__index", "fill", "get", "getDst", "getDstString", "getSrc", "getSrcString",
        "getString", "getSubType", "getType", "getTypeString", "resolveNextHeader",
        "setDefaultNamedArgs", "setDst", "setDstString", "setSrc", "setSrcString", "setType",
    },
    etherVlanHeader = {
        "__index", "fill", "get", "getDst", "getDstString", "getSrc", "getSrcString",
        "getString", "getSubType", "getType", "getTypeString", "getVlanTag",
        "resolveNextHeader", "setDefaultNamedArgs", "setDst", "setDstString", "setSrc",
        "setSrcString", "setType", "setVlanTag",
    },
    macAddr = {
        "__eq", "__index", "get", "getString", "set", "setString",
    },
    ip4Header = {
        "__index", "calculateChecksum", "fill", "get", "getChecksum", "getChecksumString",
        "getDst", "getDstString", "getFlags", "getFlagsString", "getFragment",
        "getFragmentString", "getHeaderLength", "getHeaderLengthString", "getID", "getIDString",
        "getLength", "getLengthString", "getOptionsString", "getProtocol", "getProtocolString",
        "getSrc", "getSrcString", "getString", "getTOS", "getTOSString", "getTTL",
        "getTTLString", "getVariableLength", "getVersion", "getVersionString",
        "resolveNextHeader", "setChecksum", "setDefaultNamedArgs", "setDst", "setDstString",
        "setFlags", "setFragment", "setHeaderLength", "setID", "setLength", "setProtocol",
        "setSrc", "setSrcString", "setTOS", "setTTL", "setVersion",
    },
    ip4Addr = {
        "__add", "__eq", "__index", "__sub", "add", "get", "getString", "set", "setString",
    },
    ip6Header = {
        "__index", "fill", "get", "getDst", "getDstString", "getFlowLabel",
        "getFlowLabelString", "getLength", "getLengthString", "getNextHeader",
        "getNextHeaderString", "getSrc", "getSrcString", "getString", "getTTL", "getTTLString",
        "getTrafficClass", "getTrafficClassString", "getVersion", "getVersionString",
        "resolveNextHeader", "setDefaultNamedArgs", "setDst", "setDstString", "setFlowLabel",
        "setLength", "setNextHeader", "setSrc", "setSrcString", "setTTL", "setTrafficClass",
        "setVersion",
    },
    ip6Addr = {
        "__add", "__eq", "__index", "__lt", "__sub", "add", "get", "getString", "set",
        "setString",
    },
    udpHeader = {
        "__index", "calculateChecksum", "fill", "get", "getChecksum", "getChecksumString",
        "getDstPort", "getDstPortString", "getLength", "getLengthString", "getSrcPort",
        "getSrcPortString", "getString", "resolveNextHeader", "setChecksum",
        "setDefaultNamedArgs", "setDstPort", "setLength", "setSrcPort",
    },
    tcpHeader = {
        "__index", "calculateChecksum", "fill", "fillOptions", "get", "getAck", "getAckNumber",
        "getAckNumberString", "getAckString", "getChecksum", "getChecksumString",
        "getDataOffset", "getDataOffsetString", "getDst", "getDstPort", "getDstPortString",
        "getDstString", "getFin", "getFinString", "getFlags", "getFlagsString", "getMssOption",
        "getMssOptionString", "getOptions", "getOptionsString", "getPsh", "getPshString",
        "getReserved", "getReservedString", "getRst", "getRstString", "getSeqNumber",
        "getSeqNumberString", "getSrc", "getSrcPort", "getSrcPortString", "getSrcString",
        "getString", "getSyn", "getSynString", "getTSOption", "getTSOptionString", "getUrg",
        "getUrgString", "getUrgentPointer", "getUrgentPointerString", "getVariableLength",
        "getWSOption", "getWSOptionString", "getWindow", "getWindowString", "setAck",
        "setAckNumber", "setChecksum", "setDataOffset", "setDefaultNamedArgs", "setDst",
        "setDstPort", "setEolOption", "setFin", "setFlags", "setMssOption", "setNopOption",
        "setPsh", "setReserved", "setRst", "setSeqNumber", "setSrc", "setSrcPort", "setSyn",
        "setTSOption", "setUrg", "setUrgentPointer", "setWSOption", "setWindow", "unsetAck",
        "unsetFin", "unsetPsh", "unsetRst", "unsetSyn", "unsetUrg",
    },
    arpHeader = {
        "__index", "fill", "get", "getHardwareAddressLength", "getHardwareAddressLengthString",
        "getHardwareAddressType", "getHardwareAddressTypeString", "getHardwareDst",
        "getHardwareDstString", "getHardwareSrc", "getHardwareSrcString", "getOperation",
        "getOperationString", "getProtoAddressLength", "getProtoAddressLengthString",
        "getProtoAddressType", "getProtoAddressTypeString", "getProtoDst", "getProtoDstString",
        "getProtoSrc", "getProtoSrcString", "getString", "setHardwareAddressLength",
        "setHardwareAddressType", "setHardwareDst", "setHardwareDstString", "setHardwareSrc",
        "setHardwareSrcString", "setOperation", "setProtoAddressLength", "setProtoAddressType",
        "setProtoDst", "setProtoDstString", "setProtoSrc", "setProtoSrcString",
    },
    icmpHeader = {
        "__index", "calculateChecksum", "fill", "get", "getChecksum", "getChecksumString",
        "getCode", "getCodeString", "getMessageBody", "getMessageBodyString", "getString",
        "getType", "getTypeString", "setChecksum", "setCode", "setMessageBody", "setType",
    },
    -- the other protocols of libmoon's lua/proto/
    ptpHeader = {
        "__index", "fill", "get", "getControl", "getControlString", "getCorrection",
        "getCorrectionString", "getDomain", "getDomainString", "getFlags", "getFlagsString",
        "getLength", "getLengthString", "getLogMessageInterval", "getLogMessageIntervalString",
        "getMessageType", "getMessageTypeString", "getNodePort", "getNodePortString", "getOui",
        "getOuiString", "getReserved", "getReserved2", "getReserved2String",
        "getReservedString", "getSequenceID", "getSequenceIDString", "getString", "getUuid",
        "getUuidString", "getVersion", "getVersionString", "setControl", "setCorrection",
        "setDefaultNamedArgs", "setDomain", "setFlags", "setLength", "setLogMessageInterval",
        "setMessageType", "setNodePort", "setOui", "setReserved", "setReserved2",
        "setSequenceID", "setUuid", "setVersion",
    },
    vxlanHeader = {
        "__index", "fill", "get", "getFlags", "getFlagsString", "getReserved", "getReserved2",
        "getReserved2String", "getReservedString", "getString", "getVNI", "getVNIString",
        "resolveNextHeader", "setFlags", "setReserved", "setReserved2", "setVNI",
    },
    espHeader = {
        "__index", "fill", "get", "getIV", "getIVString", "getSPI", "getSPIString", "getSQN",
        "getSQNString", "getString", "setIV", "setSPI", "setSQN",
    },
    ahHeader = {
        "__index", "fill", "get", "getICV", "getICVString", "getIV", "getIVString", "getLength",
        "getLengthString", "getNextHeader", "getNextHeaderString", "getSPI", "getSPIString",
        "getSQN", "getSQNString", "getString", "resolveNextHeader", "setICV", "setIV",
        "setLength", "setNextHeader", "setSPI", "setSQN",
    },
    greHeader = {
        "__index", "fill", "get", "getFlagsAndVersion", "getProtoType", "getString",
        "resolveNextHeader", "setDefaultNamedArgs", "setFlagsAndVersion", "setProtoType",
    },
    dnsHeader = {
        "__index", "fill", "get", "getAA", "getAAString", "getANCount", "getANCountString",
        "getARCount", "getARCountString", "getId", "getIdString", "getMessageContent",
        "getMessageContentString", "getNSCount", "getNSCountString", "getOPCode",
        "getOPCodeString", "getQDCount", "getQDCountString", "getQR", "getQRString", "getRA",
        "getRAString", "getRCode", "getRCodeString", "getRD", "getRDString", "getString",
        "getTC", "getTCString", "setAA", "setANCount", "setARCount", "setId",
        "setMessageContent", "setNSCount", "setOPCode", "setQDCount", "setQR", "setRA",
        "setRCode", "setRD", "setTC", "unsetAA", "unsetQR", "unsetRA", "unsetRD", "unsetTC",
    },
    lacpHeader = {
        "__index", "fill", "get", "getString", "validate",
    },
    ipfixHeader = {
        "__index", "fill", "get", "getExportTime", "getExportTimeString", "getLength",
        "getLengthString", "getObservationDomain", "getObservationDomainString", "getSeq",
        "getSeqString", "getString", "getVersion", "getVersionString", "setDefaultNamedArgs",
        "setExportTime", "setLength", "setObservationDomain", "setSeq", "setVersion",
    },
    sflowHeader = {
        "__index", "fill", "get", "getAgentIp", "getAgentIpString", "getNumSamples", "getSeq",
        "getString", "getSubAgentId", "getUptime", "getVersion", "iterateSamples", "setAgentIp",
        "setNumSamples", "setSeq", "setSubAgentId", "setUptime", "setVersion",
    },
    etherQinQHeader = {
        "__index", "fill", "get", "getDst", "getDstString", "getInnerVlanTag", "getOuterVlanId",
        "getOuterVlanTag", "getSrc", "getSrcString", "getString", "getSubType", "getType",
        "getTypeString", "resolveNextHeader", "setDefaultNamedArgs", "setDst", "setDstString",
        "setInnerVlanTag", "setOuterVlanId", "setOuterVlanTag", "setSrc", "setSrcString",
        "setType",
    },
    -- What calls return in libmoon (the Lua types of the results, in order), where a
    -- script goes on with the value: { method, arguments..., returns = "type,type" }.
    returns = {
        device = {
            { "getMacString", returns = "string" }, { "getMac", returns = "cdata" },
            { "getMac", true, returns = "number" }, { "getLinkStatus", returns = "table" },
            { "getRxStats", returns = "number,number" }, { "getTxStats", returns = "number,number" },
            { "getSocket", returns = "number" }, { "getName", returns = "string" },
            { "getDriverName", returns = "string" }, { "getTxQueue", 0, returns = "table" },
            { "getRxQueue", 0, returns = "table" }, { "getInfo", returns = "table|cdata" },
            { "__tostring", returns = "string" }, { "__eq", "@self", returns = "boolean" },
        },
        txQueue = {
            { "getMacAddr", returns = "cdata" }, { "__tostring", returns = "string" },
            { "__serialize", returns = "string,boolean" },
        },
        rxQueue = { { "getMacAddr", returns = "cdata" }, { "__tostring", returns = "string" } },
        mempool = { { "bufArray", 4, returns = "cdata" } },
        bufArray = { { "__len", returns = "number" } },
        packetBuffer = {
            { "getSize", returns = "number" }, { "getBytes", returns = "cdata" },
            { "getData", returns = "cdata" }, { "getUdpPacket", returns = "cdata" },
            { "hasTimestamp", returns = "boolean" },
        },
        ip4Header = {
            { "getSrc", returns = "number" }, { "getSrcString", returns = "string" },
            { "getTTL", returns = "number" }, { "getLength", returns = "number" },
            { "getProtocol", returns = "number" }, { "getString", returns = "string" },
        },
        ip6Header = {
            { "getSrcString", returns = "string" }, { "getNextHeader", returns = "number" },
            { "getLength", returns = "number" },
        },
        ip4Addr = { { "get", returns = "number" }, { "getString", returns = "string" } },
        ip6Addr = { { "getString", returns = "string" } },
        macAddr = { { "getString", returns = "string" }, { "get", returns = "number" } },
        udpHeader = {
            { "getSrcPort", returns = "number" }, { "getDstPort", returns = "number" },
            { "getLength", returns = "number" }, { "getChecksum", returns = "number" },
        },
        tcpHeader = { { "getSeqNumber", returns = "number" }, { "getSrcPort", returns = "number" } },
        etherHeader = {
            { "getDstString", returns = "string" }, { "getType", returns = "number" },
            { "getTypeString", returns = "string" },
        },
        timer = {
            { "running", returns = "boolean" }, { "expired", returns = "boolean" },
            { "timeLeft", returns = "number" },
        },
        histogram = {
            { "totals", returns = "number,number,number" }, { "median", returns = "number" },
            { "quartiles", returns = "number,number,number" }, { "samples", returns = "function" },
            { "percentile", 50, returns = "number" }, { "__serialize", returns = "string,boolean" },
        },
        slowPipe = { { "count", returns = "number" }, { "__serialize", returns = "string,boolean" } },
        fastPipe = { { "count", returns = "number" } },
        packetRing = { { "count", returns = "number" }, { "empty", returns = "boolean" } },
        devRxCounter = { { "getThroughput", returns = "number,number" } },
        devTxCounter = { { "getThroughput", returns = "number,number" } },
    },
}
