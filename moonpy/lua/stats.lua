--- Throughput counters (MoonGen/libmoon `stats.lua` compatible).
---
--- Counters sample cumulative packet/byte totals, report at most once per second and print
--- averages at the end. Output strings, sample dropping and number formatting follow libmoon.
---
--- moonpy additions:
---   * `MOONPY_STATS_SINK(event, counter)` (a global function, optional) is called after every
---     reported sample (event "update") and after every finalize (event "final").
---   * `MOONPY_STATS_PLAIN_OUTPUT == false` (global) mutes the "plain" lines that would go to
---     stdout; files and CSV output are unaffected.
---   * Device counters add 4 CRC bytes per packet to the device's byte counter, unless the
---     device object sets `statsIncludeCrc` (its counters already include the CRC).

local mod = {}

local libmoon = require "libmoon"

-- log may be missing in stripped-down environments: fall back to a minimal fatal().
local log
do
	local ok, loaded = pcall(require, "log")
	if ok and type(loaded) == "table" then
		log = loaded
	else
		log = {}
		function log.fatal(_, fmt, ...)
			error("\027[0;31m" .. tostring(fmt):format(...) .. "\027[0m", 2)
		end
		function log.warn(_, fmt, ...)
			print("\027[1;33m[WARN]  " .. tostring(fmt):format(...) .. "\027[0m")
		end
	end
end

-- Process-wide shared state (counter ids, web server pipe). Uses the namespaces module when the
-- runtime has one; otherwise the state is local to this VM.
local function lockedCall(share, fn)
	local lockFn = share.lock
	if type(lockFn) == "function" then
		lockFn(fn)
	else
		fn()
	end
end

do
	local share
	local okNs, ns = pcall(require, "namespaces")
	if okNs and type(ns) == "table" and ns.get then
		-- an explicit name: the default (the caller's file:line) would be pcall's here
		local okGet, got = pcall(ns.get, ns, "__LIBMOON_STATS_SHARE")
		if okGet and got then
			share = got
		end
	end
	share = share or {}
	mod.share = share
	lockedCall(share, function()
		if share.initialized then
			return
		end
		share.counterId = 0
		local okPipe, pipeMod = pcall(require, "pipe")
		if okPipe and type(pipeMod) == "table" and pipeMod.newSlowPipe then
			-- storing the pipe in a namespace may fail (serialization); the web server is optional
			pcall(function()
				share.pipe = pipeMod:newSlowPipe()
			end)
		end
		share.initialized = true
	end)
end


------------------------------------------------------------------------------------------------
-- Math helpers
------------------------------------------------------------------------------------------------

function mod.sum(data)
	local total = 0
	for _, v in ipairs(data) do
		total = total + v
	end
	return total
end

function mod.average(data)
	-- an empty list gives 0/0, i.e. NaN, as in libmoon
	return mod.sum(data) / #data
end

function mod.percentile(data, p)
	local sorted = {}
	for i, v in ipairs(data) do
		sorted[i] = v
	end
	table.sort(sorted)
	return sorted[math.ceil(#data * p / 100)]
end

function mod.median(data)
	return mod.percentile(data, 50)
end

--- Sample standard deviation (n - 1 in the denominator).
function mod.stdDev(data)
	local avg = mod.average(data)
	local squares = 0
	for _, v in ipairs(data) do
		squares = squares + (v - avg) ^ 2
	end
	return (squares / (#data - 1)) ^ 0.5
end

--- Store avg, stdDev, median and sum in `data`, optionally without its first and last entry.
function mod.addStats(data, ignoreFirstAndLast)
	local values = {}
	local first, last = 1, #data
	if ignoreFirstAndLast then
		first, last = 2, #data - 1
	end
	for i = first, last do
		values[#values + 1] = data[i]
	end
	data.avg = mod.average(values)
	data.stdDev = mod.stdDev(values)
	data.median = mod.median(values)
	data.sum = mod.sum(values)
end

function mod.numCounters()
	return mod.share.counterId
end


------------------------------------------------------------------------------------------------
-- Output formats (moonpy.stats_output)
------------------------------------------------------------------------------------------------

local output = require "moonpy.stats_output"
local formatters, wallClock = output.formatters, output.wallClock


------------------------------------------------------------------------------------------------
-- Counter core
------------------------------------------------------------------------------------------------

-- Output files opened by name: name -> { file = handle, refCount = n }.
local openFiles = {}
-- Names whose file was already closed by its last user; reopened for appending.
local closedFiles = {}

local function acquireFile(name)
	local entry = openFiles[name]
	if entry then
		entry.refCount = entry.refCount + 1
		return entry.file
	end
	local handle, err = io.open(name, closedFiles[name] and "a+" or "w+")
	if not handle then
		log:fatal("Could not open stats output file %s: %s", name, tostring(err))
	end
	openFiles[name] = { file = handle, refCount = 1 }
	return handle
end

local function releaseFile(name)
	local entry = openFiles[name]
	if not entry then
		return
	end
	if entry.refCount <= 1 then
		entry.file:close()
		openFiles[name] = nil
		closedFiles[name] = true
	else
		entry.refCount = entry.refCount - 1
	end
end

local function newCounter(name, dev, format, file, dir)
	local id
	lockedCall(mod.share, function()
		id = (mod.share.counterId or 0) + 1
		mod.share.counterId = id
	end)
	name = tostring(name)
	if name:sub(1, 1) == "[" and name:sub(-1) == "]" then
		name = name:sub(2, -2)
	end
	format = format or "plain"
	file = file or io.stdout
	local fileName = false
	if type(file) == "string" then
		fileName = file
		file = acquireFile(fileName)
	end
	if not formatters[format] then
		log:fatal("Unsupported output format %s", tostring(format))
	end
	return {
		name = name,
		dev = dev,
		format = format,
		file = file,
		closeFile = fileName,
		fileKey = fileName or nil,
		total = 0,
		totalBytes = 0,
		current = 0,
		currentBytes = 0,
		mpps = {},
		mbit = {},
		wireMbit = {},
		id = id,
		dir = dir,
	}
end

local function emit(ctr, statsType, event, ...)
	local fn = formatters[ctr.format][statsType .. event]
	if fn then
		fn(ctr, ctr.file, ...)
	else
		print("[Missing formatter for " .. ctr.format .. "]", ctr.name, statsType, event, ...)
	end
end

local function notifySink(event, ctr)
	local sink = rawget(_G, "MOONPY_STATS_SINK")
	if type(sink) == "function" then
		sink(event, ctr)
	end
end

-- The web server module is looked up at the first reported sample, as libmoon does.
local webserver
local function forwardToWebserver(ctr, mpps, mbit, wireMbit)
	if webserver == nil then
		local ok, loaded = pcall(require, "webserver")
		webserver = ok and type(loaded) == "table" and loaded or false
	end
	local serverPipe = mod.share.pipe
	if not webserver or not serverPipe or type(webserver.running) ~= "function" then
		return
	end
	if webserver.running() then
		serverPipe:send{
			id = ctr.id, name = ctr.name, dev = ctr.dev and ctr.dev.id, dir = ctr.dir,
			packets = ctr.total, bytes = ctr.totalBytes,
			mpps = mpps, mbit = mbit, wireMbit = wireMbit,
			time = wallClock(),
		}
	end
end

--- Record a sample at `now` with cumulative `pkts`/`bytes`. The very first call only sets the
--- baseline (and emits the Init event). `silent` suppresses printing and the sink.
local function takeSample(ctr, now, pkts, bytes, silent)
	if not ctr.lastUpdate then
		ctr.total, ctr.totalBytes = pkts, bytes
		ctr.lastUpdate = now
		ctr.startTime, ctr.startTotal, ctr.startBytes = now, pkts, bytes
		ctr:print("Init")
		return false
	end
	local elapsed = now - ctr.lastUpdate
	ctr.lastUpdate = now
	local mpps = (pkts - ctr.total) / elapsed / 10 ^ 6
	local mbit = (bytes - ctr.totalBytes) / elapsed / 10 ^ 6 * 8
	local wireMbit = mbit + mpps * 20 * 8
	ctr.total, ctr.totalBytes = pkts, bytes
	if not silent then
		forwardToWebserver(ctr, mpps, mbit, wireMbit)
		ctr:print("Update", ctr.total, mpps, mbit, wireMbit, ctr.totalBytes)
	end
	local mppsList, mbitList, wireList = ctr.mpps, ctr.mbit, ctr.wireMbit
	mppsList[#mppsList + 1] = mpps
	mbitList[#mbitList + 1] = mbit
	wireList[#wireList + 1] = wireMbit
	if not silent then
		notifySink("update", ctr)
	end
	return true
end

local function summarize(ctr)
	-- libmoon drops the first and last sample (ramp-up, the partial last second); a run too
	-- short for three samples would then average nothing and print nan: its averages are
	-- the whole span's instead, baseline to last sample
	local trim = #ctr.mpps >= 3
	for _, list in ipairs({ ctr.mpps, ctr.mbit, ctr.wireMbit }) do
		mod.addStats(list, trim)
	end
	local n = trim and #ctr.mpps - 2 or #ctr.mpps
	if not trim and ctr.startTime and ctr.lastUpdate then
		local span = ctr.lastUpdate - ctr.startTime
		local mpps = span > 0 and (ctr.total - ctr.startTotal) / span / 10 ^ 6 or 0
		local mbit = span > 0 and (ctr.totalBytes - ctr.startBytes) / span / 10 ^ 6 * 8 or 0
		ctr.mpps.avg, ctr.mbit.avg, ctr.wireMbit.avg = mpps, mbit, mbit + mpps * 20 * 8
	end
	if n < 2 then -- one value (or none) has no spread
		ctr.mpps.stdDev, ctr.mbit.stdDev, ctr.wireMbit.stdDev = 0, 0, 0
	end
	return ctr.mpps, ctr.mbit, ctr.wireMbit, ctr.total, ctr.totalBytes
end

local function dueForReport(ctr, now)
	return not ctr.lastUpdate or now > ctr.lastUpdate + 1
end

-- Methods shared by RX and TX counters.
local base = {}

function base:update()
	local now = libmoon.getTime()
	if not dueForReport(self, now) then
		return false
	end
	local pkts, bytes = self:getThroughput()
	return takeSample(self, now, pkts, bytes)
end

function base:getStats(forceUpdate)
	if forceUpdate then
		local pkts, bytes = self:getThroughput()
		takeSample(self, libmoon.getTime(), pkts, bytes, true)
	end
	return summarize(self)
end

function base:finalize(sleep)
	-- give packets still in flight time to be counted (busy wait, as in libmoon)
	libmoon.sleepMillis(sleep or self.sleep or 0)
	-- this last sample mostly serves to get the totals right; it is dropped from the averages
	local pkts, bytes = self:getThroughput()
	takeSample(self, libmoon.getTime(), pkts, bytes, true)
	summarize(self)
	self:print("Final")
	if self.closeFile then
		releaseFile(self.closeFile)
	end
	notifySink("final", self)
end

-- Counters fed with packet buffers.
local pktMethods = {}

function pktMethods:countPacket(buf)
	self.current = self.current + 1
	self.currentBytes = self.currentBytes + buf.pkt_len + 4 -- CRC
end

function pktMethods:getThroughput()
	return self.current, self.currentBytes
end

-- Counters fed by the script.
local manualMethods = {}

function manualMethods:getThroughput()
	return self.current, self.currentBytes
end

local function manualTick(ctr)
	local now = libmoon.getTime()
	if not dueForReport(ctr, now) then
		return false
	end
	local pkts, bytes = ctr:getThroughput()
	return takeSample(ctr, now, pkts, bytes)
end

function manualMethods:update(pkts, bytes)
	self.current = self.current + pkts
	self.currentBytes = self.currentBytes + bytes
	return manualTick(self)
end

function manualMethods:updateWithSize(pkts, size)
	self.current = self.current + pkts
	self.currentBytes = self.currentBytes + pkts * (size + 4)
	return manualTick(self)
end

local function withCrc(dev, pkts, bytes)
	if dev.statsIncludeCrc then
		return pkts, bytes
	end
	return pkts, bytes + pkts * 4
end

-- Build one counter class: `parent` supplies the direction-specific print, `extra` the kind.
local function makeClass(parent, extra)
	local class = setmetatable({}, parent)
	class.__index = class
	for k, v in pairs(extra) do
		class[k] = v
	end
	return class
end

local function makeDirection(statsType)
	local dirBase = {}
	dirBase.__index = dirBase
	for k, v in pairs(base) do
		dirBase[k] = v
	end
	function dirBase:print(event, ...)
		emit(self, statsType, event, ...)
	end
	return dirBase
end

local rxBase = makeDirection("rxStats")
local txBase = makeDirection("txStats")

local devRxCounter = makeClass(rxBase, {
	getThroughput = function(self)
		return withCrc(self.dev, self.dev:getRxStats())
	end,
	clearThroughput = function(self)
		if self.dev.clearRxStats then
			return self.dev:clearRxStats()
		end
	end,
})
local devTxCounter = makeClass(txBase, {
	getThroughput = function(self)
		return withCrc(self.dev, self.dev:getTxStats())
	end,
})
local pktRxCounter = makeClass(rxBase, pktMethods)
local pktTxCounter = makeClass(txBase, pktMethods)
local manualRxCounter = makeClass(rxBase, manualMethods)
local manualTxCounter = makeClass(txBase, manualMethods)


------------------------------------------------------------------------------------------------
-- Constructors (colon calls: stats:newDevTxCounter(...))
------------------------------------------------------------------------------------------------

local function resolveDevice(dev)
	-- a queue stands for its device
	if type(dev) == "table" and dev.dev ~= nil then
		dev = dev.dev
	end
	if type(dev) ~= "table" then
		log:fatal("Bad device")
	end
	return dev
end

--- stats:newDevRxCounter([name,] devOrQueue[, format[, file]])
function mod:newDevRxCounter(name, dev, format, file)
	if type(name) == "table" then
		-- name omitted: shift the arguments (a fourth one is dropped, as in libmoon)
		return self:newDevRxCounter(nil, name, dev, format)
	end
	dev = resolveDevice(dev)
	-- "[Device: id=N]" -> "Device: id=N"; the brackets come back in the output
	name = name or tostring(dev):sub(2, -2)
	local ctr = setmetatable(newCounter(name, dev, format, file, "rx"), devRxCounter)
	ctr.sleep = 100
	ctr:clearThroughput()
	return ctr
end

--- stats:newDevTxCounter([name,] devOrQueue[, format[, file]])
function mod:newDevTxCounter(name, dev, format, file)
	if type(name) == "table" then
		return self:newDevTxCounter(nil, name, dev, format)
	end
	dev = resolveDevice(dev)
	name = name or tostring(dev):sub(2, -2)
	local ctr = setmetatable(newCounter(name, dev, format, file, "tx"), devTxCounter)
	ctr.sleep = 50
	-- read once: some NICs clear their counters on read
	ctr:getThroughput()
	return ctr
end

function mod:newPktRxCounter(name, format, file)
	return setmetatable(newCounter(name, nil, format, file, "rx"), pktRxCounter)
end

function mod:newPktTxCounter(name, format, file)
	return setmetatable(newCounter(name, nil, format, file, "tx"), pktTxCounter)
end

function mod:newManualRxCounter(name, format, file)
	return setmetatable(newCounter(name, nil, format, file, "rx"), manualRxCounter)
end

function mod:newManualTxCounter(name, format, file)
	return setmetatable(newCounter(name, nil, format, file, "tx"), manualTxCounter)
end

------------------------------------------------------------------------------------------------
-- Stats task (moonpy.stats_task)
------------------------------------------------------------------------------------------------

require("moonpy.stats_task")(mod, libmoon)

return mod
