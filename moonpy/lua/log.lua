--- Logging (MoonGen/libmoon `log.lua` compatible).
--- `log:info("fmt", ...)` prints one coloured line to stdout with `print`; `log:fatal` raises.
--- moonpy addition: when the global MOONPY_LOG_COLOR is exactly `false`, lines carry no escape
--- codes (the runtime sets it for `--no-color`); anything else keeps MoonGen's always-colour output.

local colors = require "colors"
require "utils" -- MoonGen's log pulls the utils globals in as a side effect; scripts rely on it

local log = {}

log.DEBUG = 0
log.INFO = 1
log.WARN = 2
log.ERROR = 3
log.FATAL = 4

local levelNames = { DEBUG = true, INFO = true, WARN = true, ERROR = true, FATAL = true }

log.level = log.INFO
log.fileEnabled = false
log.fileLevel = log.DEBUG

-- The log file: the last existing entry of `locations` wins, else the working directory.
log.locations = { "log/", "../log/" }
log.file = nil
for _, dir in ipairs(log.locations) do
	local handle = io.open(dir, "r")
	if handle then
		handle:close()
		log.file = dir .. "debug.log"
	end
end
log.file = log.file or "debug.log"

local function colorEnabled()
	return rawget(_G, "MOONPY_LOG_COLOR") ~= false
end

--- Map a level name ("DEBUG", "info", ...) or number to its numeric value; unknown means INFO.
local function levelValue(level)
	if type(level) == "string" and levelNames[level:upper()] then
		return log[level:upper()]
	elseif type(level) == "number" and level >= log.DEBUG and level <= log.FATAL then
		return level
	end
	return log.INFO
end

function log:setLevel(level)
	self.level = levelValue(level)
end

function log:setFileLevel(level)
	self.fileLevel = level == nil and log.DEBUG or levelValue(level)
end

function log:fileEnable()
	self.fileEnabled = true
	self:info("Enabled logging to '" .. self.file .. "'")
end

function log:fileDisable()
	self.fileEnabled = false
	-- the missing opening quote is MoonGen's
	self:info("Disabled logging to " .. self.file .. "'")
end

--- Append one time-stamped line to `log.file`.
function log:writeToLog(line)
	local handle = assert(io.open(self.file, "a"))
	handle:write(getTimeMicros() .. " " .. line .. "\n")
	handle:close()
end

-- Builds log:<method>: prefix, level and colour of one severity.
local function emitter(prefix, level, colorName)
	return function(self, fmt, ...)
		local line = prefix .. tostring(fmt):format(...)
		if level >= self.level then
			if colorEnabled() then
				print(colors.getColorizedString(line, colorName))
			else
				print(line)
			end
		end
		if self.fileEnabled and level >= self.fileLevel then
			self:writeToLog(line)
		end
	end
end

log.debug = emitter("[DEBUG] ", log.DEBUG, "green")
log.info = emitter("[INFO]  ", log.INFO, "white")
log.warn = emitter("[WARN]  ", log.WARN, "yellow")
log.error = emitter("[ERROR] ", log.ERROR, "bred")

--- Raise a Lua error with the formatted (red) message, blaming the caller.
function log:fatal(fmt, ...)
	local msg = tostring(fmt):format(...)
	if self.fileEnabled then
		self:writeToLog("[FATAL] " .. msg)
	end
	if colorEnabled() then
		msg = colors.getColorizedString(msg, "red")
	end
	error(msg, 2)
end

-- Keys already reported by warnOnce.
local warned = {}

--- Warn once per `key`; `log:warnOnce(fmt, ...)` with no separate key uses the format string.
function log:warnOnce(key, fmt, ...)
	if fmt == nil then
		fmt = key
	end
	if warned[key] then
		return false
	end
	warned[key] = true
	self:warn(fmt, ...)
	return true
end

return log
