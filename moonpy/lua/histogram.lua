--- Histogram of exact sample values (MoonGen/libmoon `histogram.lua` compatible).
--- Every distinct value gets its own bucket; statistics are computed lazily by calc().
--- moonpy extras: percentiles(), jitter(), toTable(), histogram.fromTable(t).

local histogram = {}
histogram.__index = histogram

local NAN = 0 / 0

local function isNan(x)
	return x ~= x
end

--- A new, empty histogram. Also reachable as histogram:new() and histogram().
function histogram:create()
	local h = setmetatable({}, histogram)
	h.histo = {}
	h.dirty = true
	-- running jitter state: previous sample (arrival order), sum of |differences|, their count
	h.lastSample = nil
	h.jitterSum = 0
	h.jitterCount = 0
	return h
end

histogram.new = histogram.create

setmetatable(histogram, {
	__call = function(_, ...)
		return histogram.create(...)
	end,
})

--- Count one sample of value `k`; nil (a lost packet) is ignored.
function histogram:update(k)
	if k == nil then
		return
	end
	self.histo[k] = (self.histo[k] or 0) + 1
	local last = self.lastSample
	if type(k) == "number" and type(last) == "number" then
		self.jitterSum = (self.jitterSum or 0) + math.abs(k - last)
		self.jitterCount = (self.jitterCount or 0) + 1
	end
	self.lastSample = k
	self.dirty = true
	-- moonpy: every 512 samples, offer the histogram to the live dashboard (if any)
	local since = (self.sinceReport or 0) + 1
	if since >= 512 then
		since = 0
		local sink = rawget(_G, "MOONPY_HIST_SINK")
		if sink then sink(self) end
	end
	self.sinceReport = since
end

--- Walk the sorted samples once: q1, q2, q3 are the first values at 0-based positions
--- >= N/4, N/2, 3N/4, at most one per step (MoonGen's walk; unreached quartiles stay NaN).
local function walkQuartiles(sorted, n)
	local q = {}
	local quarter = n / 4
	local pos = 0
	for _, cell in ipairs(sorted) do
		for _ = 1, cell.v do
			if not q[1] and pos >= quarter then
				q[1] = cell.k
			elseif not q[2] and pos >= 2 * quarter then
				q[2] = cell.k
			elseif not q[3] and pos >= 3 * quarter then
				q[3] = cell.k
				break
			end
			pos = pos + 1
		end
	end
	return { q[1] or NAN, q[2] or NAN, q[3] or NAN }
end

--- Compute every statistic; called automatically by the getters when the data changed.
function histogram:calc()
	local sorted = {}
	local n, sum = 0, 0
	for k, v in pairs(self.histo) do
		sorted[#sorted + 1] = { k = k, v = v }
		n = n + v
		sum = sum + k * v
	end
	table.sort(sorted, function(a, b)
		return a.k < b.k
	end)
	self.sortedHisto = sorted
	self.numSamples = n
	self.sum = sum
	self.avg = sum / n
	local squares = 0
	for _, cell in ipairs(sorted) do
		squares = squares + cell.v * (cell.k - self.avg) ^ 2
	end
	self.stdDev = (squares / (n - 1)) ^ 0.5
	if #sorted > 0 then
		self.minimum = sorted[1].k
		self.maximum = sorted[#sorted].k
		self.quarts = walkQuartiles(sorted, n)
	else
		self.minimum, self.maximum = nil, nil
		self.quarts = { NAN, NAN, NAN }
	end
	self.dirty = false
end

function histogram:ensureCalculated()
	if self.dirty or not self.sortedHisto then
		self:calc()
	end
end

--- Smallest value at 0-based sample position >= N * p / 100 (p from 0 to 100).
function histogram:percentile(p)
	self:ensureCalculated()
	if type(p) ~= "number" or p < 0 or p > 100 then
		error("invalid argument", 2)
	end
	local target = self.numSamples * p / 100
	local pos = 0
	for _, cell in ipairs(self.sortedHisto) do
		-- the cell covers positions pos .. pos + v - 1
		if pos + cell.v - 1 >= target then
			return cell.k
		end
		pos = pos + cell.v
	end
	return nil
end

function histogram:totals()
	self:ensureCalculated()
	return self.numSamples, self.sum, self.avg
end

function histogram:average()
	self:ensureCalculated()
	return self.avg
end

function histogram:min()
	self:ensureCalculated()
	return self.minimum
end

function histogram:max()
	self:ensureCalculated()
	return self.maximum
end

function histogram:standardDeviation()
	self:ensureCalculated()
	return self.stdDev
end

function histogram:quartiles()
	self:ensureCalculated()
	return self.quarts[1], self.quarts[2], self.quarts[3]
end

function histogram:median()
	self:ensureCalculated()
	return self.quarts[2]
end

--- Iterator over the buckets {k = value, v = count} in increasing order of value.
--- Stops early when the histogram changes during the iteration, as MoonGen's does.
function histogram:samples()
	self:ensureCalculated()
	local i, n = 0, #self.sortedHisto
	return function()
		if self.dirty then
			return nil
		end
		i = i + 1
		if i <= n then
			return self.sortedHisto[i]
		end
	end
end

--- Mean absolute difference between consecutive samples (arrival order); NaN below 2 samples.
function histogram:jitter()
	local count = self.jitterCount or 0
	if count == 0 then
		return NAN
	end
	return self.jitterSum / count
end

--- The usual tail percentiles in one table. A percentile that MoonGen's walk does not reach
--- (too few samples, e.g. p99 of 50 samples) is reported as the maximum; nil when empty.
function histogram:percentiles()
	self:ensureCalculated()
	local function at(p)
		return self:percentile(p) or self.maximum
	end
	return { p50 = at(50), p90 = at(90), p99 = at(99), p999 = at(99.9), max = self.maximum }
end

-- glibc prints NaN of either sign as "-nan" for 0/0; Lua may print "nan" or "-nan".
local function fmt1(x)
	if isNan(x) then
		return "-nan"
	end
	return ("%.1f"):format(x)
end

--- The summary line, without printing it.
function histogram:summary(prefix)
	self:ensureCalculated()
	return ("%sSamples: %d, Average: %s ns, StdDev: %s ns, Quartiles: %s/%s/%s ns"):format(
		prefix and ("[" .. prefix .. "] ") or "", self.numSamples, fmt1(self.avg),
		fmt1(self.stdDev), fmt1(self.quarts[1]), fmt1(self.quarts[2]), fmt1(self.quarts[3]))
end

--- Print the summary line (no colour), optionally tagged with `[prefix] `.
function histogram:print(prefix)
	print(self:summary(prefix))
end

--- Write "value,count" lines in increasing order of value to a file name or an open handle.
function histogram:save(file)
	self:ensureCalculated()
	local handle, mustClose = file, false
	if type(file) ~= "userdata" then
		require("log"):info("Saving histogram to '%s'", file)
		handle = assert(io.open(file, "w+"))
		mustClose = true
	end
	for _, cell in ipairs(self.sortedHisto) do
		handle:write(("%s,%s\n"):format(tostring(cell.k), tostring(cell.v)))
	end
	if mustClose then
		handle:close()
	end
end

-- NaN and missing values become nil in plain tables (JSON has no NaN).
local function plain(x)
	if x == nil or isNan(x) then
		return nil
	end
	return x
end

--- Every statistic as a plain table (for JSON): no NaN, no metatables.
function histogram:toTable()
	self:ensureCalculated()
	local buckets = {}
	for i, cell in ipairs(self.sortedHisto) do
		buckets[i] = { cell.k, cell.v }
	end
	return {
		samples = self.numSamples,
		sum = self.sum,
		average = plain(self.avg),
		stdDev = plain(self.stdDev),
		min = self.minimum,
		max = self.maximum,
		quartiles = { plain(self.quarts[1]), plain(self.quarts[2]), plain(self.quarts[3]) },
		median = plain(self.quarts[2]),
		percentiles = self:percentiles(),
		jitter = plain(self:jitter()),
		buckets = buckets,
		-- raw state so that histogram.fromTable() can rebuild the object
		jitterSum = self.jitterSum or 0,
		jitterCount = self.jitterCount or 0,
		lastSample = self.lastSample,
	}
end

--- Rebuild a histogram from toTable() output, from a plain copy of a histogram's fields
--- (`histo` map) or from a bucket list ({{value, count}, ...} or {{k=, v=}, ...}).
function histogram.fromTable(t)
	local h = histogram.create()
	if t == nil then
		return h
	end
	if type(t.histo) == "table" then
		for k, v in pairs(t.histo) do
			h.histo[tonumber(k) or k] = v
		end
	else
		for _, cell in ipairs(t.buckets or t) do
			local k, v = cell.k or cell[1], cell.v or cell[2]
			h.histo[k] = (h.histo[k] or 0) + v
		end
	end
	h.jitterSum = t.jitterSum or 0
	h.jitterCount = t.jitterCount or 0
	h.lastSample = t.lastSample
	return h
end

--- Serialization hook for task arguments and results (Serpent-style: code that rebuilds it).
function histogram:__serialize()
	local parts = {}
	for k, v in pairs(self.histo) do
		parts[#parts + 1] = ("[%.17g]=%d"):format(tonumber(k), v)
	end
	local code = ("return require('histogram').fromTable({histo={%s},jitterSum=%.17g,"
		.. "jitterCount=%d,lastSample=%s})"):format(table.concat(parts, ","), self.jitterSum or 0,
		self.jitterCount or 0, self.lastSample and ("%.17g"):format(self.lastSample) or "nil")
	return code, true
end

-- ---- timestamp source and JSON (latency measurements) -----------------------------------
-- Convention: `hist.source` names where the samples' timestamps came from ("software
-- timestamps (TSC)", "hardware timestamps (IEEE 1588)") and `hist.resolution` is their
-- resolution in ns. A timestamper sets them with timestamper:label(hist); histograms without
-- their own fall back to histogram.defaultSource, which the last timestamper created in this
-- VM sets ({source =, resolution =}).

--- Set the timestamp source (a string) and its resolution (ns) of this histogram.
function histogram:setSource(source, resolution)
	self.source = source
	self.resolution = resolution
	return self
end

--- The timestamp source and resolution (ns) of this histogram, or nil when unknown.
function histogram:getSource()
	if self.source then
		return self.source, self.resolution
	end
	local d = histogram.defaultSource
	if type(d) == "table" and d.source then
		return d.source, d.resolution
	end
	return nil
end

--- "Timestamps: <source>, resolution <r> ns" (nil when the source is unknown).
function histogram:sourceLine()
	local source, resolution = self:getSource()
	if not source then
		return nil
	end
	if resolution then
		return ("Timestamps: %s, resolution %.1f ns"):format(source, resolution)
	end
	return ("Timestamps: %s"):format(source)
end

local function jsonString(s)
	return '"' .. s:gsub('[%c"\\]', function(c)
		local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t" }
		return named[c] or ("\\u%04x"):format(c:byte())
	end) .. '"'
end

local function jsonValue(v, out)
	local t = type(v)
	if t == "nil" then
		out[#out + 1] = "null"
	elseif t == "boolean" then
		out[#out + 1] = tostring(v)
	elseif t == "number" then
		if v ~= v or v == math.huge or v == -math.huge then
			out[#out + 1] = "null"
		elseif v == math.floor(v) and math.abs(v) < 2 ^ 53 then
			out[#out + 1] = ("%d"):format(v)
		else
			out[#out + 1] = ("%.17g"):format(v)
		end
	elseif t == "string" then
		out[#out + 1] = jsonString(v)
	elseif t == "table" then
		local n = 0
		for k in pairs(v) do
			if type(k) ~= "number" then
				n = -1
				break
			end
			n = math.max(n, k)
		end
		if n >= 0 and (n > 0 or next(v) == nil) then
			out[#out + 1] = "["
			for i = 1, n do
				if i > 1 then
					out[#out + 1] = ","
				end
				jsonValue(v[i], out)
			end
			out[#out + 1] = "]"
		else
			local keys = {}
			for k in pairs(v) do
				keys[#keys + 1] = tostring(k)
			end
			table.sort(keys)
			out[#out + 1] = "{"
			for i, k in ipairs(keys) do
				if i > 1 then
					out[#out + 1] = ","
				end
				out[#out + 1] = jsonString(k) .. ":"
				local val = v[k]
				if val == nil then
					val = v[tonumber(k)]
				end
				jsonValue(val, out)
			end
			out[#out + 1] = "}"
		end
	else
		out[#out + 1] = jsonString(tostring(v))
	end
end

--- Every statistic (toTable()) plus the timestamp source and resolution, as JSON text.
function histogram:toJson()
	local t = self:toTable()
	t.unit = "ns"
	t.source, t.resolution = self:getSource()
	local out = {}
	jsonValue(t, out)
	return table.concat(out)
end

--- Save toJson() to a file name or an open handle.
function histogram:saveJson(file)
	local handle, mustClose = file, false
	if type(file) ~= "userdata" then
		require("log"):info("Saving histogram to '%s'", file)
		handle = assert(io.open(file, "w+"))
		mustClose = true
	end
	handle:write(self:toJson(), "\n")
	if mustClose then
		handle:close()
	end
end

return histogram
