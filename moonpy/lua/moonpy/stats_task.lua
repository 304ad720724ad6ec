-- moonpy.stats_task: stats.startStatsTask and the shared task behind it (libmoon's
-- __LIBMOON_STATS_TASK): device counters for every listed device, updated until the run stops.
-- stats.lua installs it with its module table and libmoon.

return function(mod, libmoon)
	local function copyList(list)
		local out = {}
		for i, v in ipairs(list or {}) do
			out[i] = v
		end
		return out
	end

	--- stats.startStatsTask{devices=, rxDevices=, txDevices=, format=, file=} or {dev1, dev2, ...}.
	--- List entries are devices, queues or { dev = ..., format = ..., file = ... }.
	function mod.startStatsTask(args)
		args.devices = args.devices or {}
		args.rxDevices = args.rxDevices or {}
		args.txDevices = args.txDevices or {}
		if #args.devices == 0 and #args.rxDevices == 0 and #args.txDevices == 0 then
			for i, v in ipairs(args) do
				args.devices[i] = v
			end
		end
		return libmoon.startSharedTask("__LIBMOON_STATS_TASK", {
			devices = args.devices,
			rxDevices = args.rxDevices,
			txDevices = args.txDevices,
			format = args.format,
			file = args.file,
		})
	end

	local function entryId(entry)
		if entry.id ~= nil then
			return entry.id
		end
		return entry.dev and entry.dev.id
	end

	-- Drop repeated devices (by id); like libmoon, the last occurrence is the one kept.
	local function dropDuplicates(list)
		local seen = {}
		for i = #list, 1, -1 do
			local id = entryId(list[i])
			if seen[id] then
				table.remove(list, i)
			end
			seen[id] = true
		end
	end

	-- A device or queue entry, or a { dev=, format=, file= } wrapper -> device, format, file.
	local function unpackEntry(entry, args)
		if entry.id == nil and entry.qid == nil and entry.dev ~= nil then
			return entry.dev, entry.format, entry.file
		end
		return entry, args.format, args.file
	end

	local function statsTask(args)
		args = args or {}
		-- This loop wakes 100 times a second and makes a little garbage each time; with Lua's
		-- default pause (collect when the heap has doubled) its heap crept up by about 1 MiB over
		-- the first minutes of a run, which a long run (the 10-minute soak) saw as memory growth.
		-- Collecting as it goes keeps the heap at its live size; the work is small and once a
		-- second.
		collectgarbage("setpause", 100)
		local rxList = copyList(args.rxDevices)
		local txList = copyList(args.txDevices)
		for _, entry in ipairs(args.devices or {}) do
			rxList[#rxList + 1] = entry
			txList[#txList + 1] = entry
		end
		dropDuplicates(rxList)
		dropDuplicates(txList)
		local counters = {}
		for _, entry in ipairs(rxList) do
			local dev, format, file = unpackEntry(entry, args)
			counters[#counters + 1] = mod:newDevRxCounter(dev, format, file)
		end
		for _, entry in ipairs(txList) do
			local dev, format, file = unpackEntry(entry, args)
			counters[#counters + 1] = mod:newDevTxCounter(dev, format, file)
		end
		local idle = libmoon.sleepMillisIdle or libmoon.sleepMillis
		while libmoon.running(200) do
			for _, ctr in ipairs(counters) do
				ctr:update()
			end
			idle(10)
		end
		for _, ctr in ipairs(counters) do
			ctr:finalize(0)
		end
	end

	-- Intentional global: the shared task started by startStatsTask looks it up by name.
	rawset(_G, "__LIBMOON_STATS_TASK", statsTask)
end
