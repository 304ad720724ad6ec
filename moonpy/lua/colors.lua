--- ANSI colour helpers (MoonGen/libmoon `colors.lua` compatible).
--- MoonGen defines these helpers as globals on purpose, so scripts can call
--- `red("...")` without a require; they are also returned as a module table.

local colors = {}

-- Escape-code bodies, keyed by colour name.
local codes = {
	black   = "0;30",
	dgrey   = "1;30",
	red     = "0;31",
	bred    = "1;31",
	green   = "0;32",
	bgreen  = "1;32",
	brown   = "0;33",
	yellow  = "1;33",
	blue    = "0;34",
	bblue   = "1;34",
	dblue   = "2;34",
	dpurple = "0;35",
	bpurple = "1;35",
	dcyan   = "0;36",
	cyan    = "1;36",
	bgrey   = "0;37",
	white   = "1;37",
	none    = "0",
}
colors.codes = codes

-- Colours picked by a numeric index (1-based, cycling).
colors.colorPallet = { "blue", "bgreen", "dpurple", "bred", "brown", "cyan", "green", "yellow", "red" }
colors.colorPalette = colors.colorPallet

--- Escape sequence for a colour name or a palette index; unknown names give the reset code.
--- Empty when moonpy runs with --no-color (the global MOONPY_LOG_COLOR is then false), so
--- plain output is parseable.
function colors.getColorCode(color)
	if rawget(_G, "MOONPY_LOG_COLOR") == false then return "" end
	local body
	if type(color) == "number" then
		local palette = colors.colorPallet
		body = codes[palette[(color - 1) % #palette + 1]]
	else
		body = codes[color]
	end
	return "\027[" .. (body or codes.none) .. "m"
end

--- Wrap `str` in the escape code of `color` followed by a reset.
function colors.getColorizedString(str, color)
	return colors.getColorCode(color) .. str .. colors.getColorCode()
end

-- The named helpers format first (`red("%d lost", n)`), then colourize.
local function painter(name)
	return function(fmt, ...)
		return colors.getColorizedString(fmt:format(...), name)
	end
end

colors.red = painter("red")
colors.bred = painter("bred")
colors.yellow = painter("yellow")
colors.green = painter("green")
colors.white = painter("white")

-- Intentional globals, as in MoonGen.
local exported = { "getColorCode", "getColorizedString", "red", "bred", "yellow", "green", "white" }
for _, name in ipairs(exported) do
	rawset(_G, name, colors[name])
end

return colors
