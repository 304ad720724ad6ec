-- moonpy.stats_output: the output formats of stats.lua's counters ("plain", "CSV", "nil"):
-- MoonGen's exact counter lines (tests/snapshots/moongen_stats.txt) and libmoon's CSV rows.

local colorCode
do
	local ok, colorsMod = pcall(require, "colors")
	if ok and type(colorsMod) == "table" and colorsMod.getColorCode then
		colorCode = colorsMod.getColorCode
	else
		local fallback = { cyan = "1;36", blue = "0;34" }
		colorCode = function(name)
			return "\027[" .. (fallback[name] or "0") .. "m"
		end
	end
end

local dirColors = { RX = "cyan", TX = "blue" }

local function wallClock()
	local fn = rawget(_G, "time")
	if type(fn) ~= "function" then
		fn = os.time
	end
	return fn()
end

local function plainMuted(file)
	return file == io.stdout and rawget(_G, "MOONPY_STATS_PLAIN_OUTPUT") == false
end

local function plainUpdate(dir)
	return function(ctr, file, _, mpps, mbit, wireMbit)
		if plainMuted(file) then
			return
		end
		file:write(("%s[%s] %s%s: %.2f Mpps, %.0f Mbit/s (%.0f Mbit/s with framing)\n"):format(
			colorCode(dirColors[dir]), ctr.name, dir, colorCode(), mpps, mbit, wireMbit))
		file:flush()
	end
end

local function plainFinal(dir)
	return function(ctr, file)
		if plainMuted(file) then
			return
		end
		file:write((
			"%s[%s] %s%s: %.2f (StdDev %.2f) Mpps, %.0f (StdDev %.0f) Mbit/s"
			.. " (%.0f Mbit/s with framing), total %d packets with %d bytes (incl. CRC)\n"
		):format(
			colorCode(dirColors[dir]), ctr.name, dir, colorCode(),
			ctr.mpps.avg, ctr.mpps.stdDev, ctr.mbit.avg, ctr.mbit.stdDev, ctr.wireMbit.avg,
			ctr.total, ctr.totalBytes))
		file:flush()
	end
end

-- CSV headers already written, keyed by file name (named files) or handle.
local csvHeaderDone = {}

local function csvInit()
	return function(ctr, file)
		local key = ctr.fileKey or file
		if csvHeaderDone[key] then
			return
		end
		csvHeaderDone[key] = true
		file:write("Time,Device,Direction,PacketRate,Mbit,MbitWithFraming,TotalPackets,TotalBytes\n")
	end
end

local function csvRow(file, ctr, dir, mpps, mbit, wireMbit, total, totalBytes)
	-- %s goes through tostring, i.e. %.14g for numbers
	file:write(("%d,%s,%s,%s,%s,%s,%s,%s\n"):format(
		wallClock(), ctr.name, dir, mpps, mbit, wireMbit, total, totalBytes))
	file:flush()
end

local function csvUpdate(dir)
	return function(ctr, file, total, mpps, mbit, wireMbit, totalBytes)
		csvRow(file, ctr, dir, mpps, mbit, wireMbit, total, totalBytes)
	end
end

local function csvFinal(dir)
	return function(ctr, file)
		csvRow(file, ctr, dir, ctr.mpps.avg, ctr.mbit.avg, ctr.wireMbit.avg,
			ctr.total, ctr.totalBytes)
	end
end

local function nothing() end

local formatters = {
	plain = {
		rxStatsInit = nothing,
		rxStatsUpdate = plainUpdate("RX"),
		rxStatsFinal = plainFinal("RX"),
		txStatsInit = nothing,
		txStatsUpdate = plainUpdate("TX"),
		txStatsFinal = plainFinal("TX"),
	},
	CSV = {
		rxStatsInit = csvInit(),
		rxStatsUpdate = csvUpdate("RX"),
		rxStatsFinal = csvFinal("RX"),
		txStatsInit = csvInit(),
		txStatsUpdate = csvUpdate("TX"),
		txStatsFinal = csvFinal("TX"),
	},
	["nil"] = {
		rxStatsInit = nothing,
		rxStatsUpdate = nothing,
		rxStatsFinal = nothing,
		txStatsInit = nothing,
		txStatsUpdate = nothing,
		txStatsFinal = nothing,
	},
}
formatters.csv = formatters.CSV

return { formatters = formatters, wallClock = wallClock }
