--- Command-line parser for MoonGen `configure(parser)` functions.
---
--- Behaves like the argparse (about v0.5) that libmoon ships, including libmoon's three changes:
--- words that arrive as numbers are turned back into strings, `:combine()` joins a list result
--- with spaces, and `parser:args(...)` stores the words `parse()` uses when given none.
---
---   local argparse = require "argparse"
---   local parser = argparse("libmoon script.lua", "Description.")
---   parser:argument("dev", "Device."):convert(tonumber)
---   parser:option("-r --rate", "Rate."):default(10000):convert(tonumber)
---   local args = parser:parse()
---
--- Layout of this file: class builder, property setters, the element classes (Argument,
--- Option), the parser classes (Parser, Command), usage/help rendering, and the parse run.

local INF = math.huge

----------------------------------------------------------------------------------------------
-- Class builder
----------------------------------------------------------------------------------------------

local function copyTable(src, dst)
	dst = dst or {}
	for k, v in pairs(src) do
		if type(v) == "table" then
			v = copyTable(v)
		end
		dst[k] = v
	end
	return dst
end

--- Make a class whose instances start as a copy of `fields` (merged over the parent's) and
--- which has one chainable setter per property. `props` is an ordered list of
--- {name, setter}; a setter returning true has stored the value itself, otherwise the value is
--- kept as `_<name>`. The first `positional` properties can be given when calling the class or
--- an instance (`Option("-r --rate", "Rate.")`); a table argument sets properties by name.
local function class(parent, fields, props, positional)
	local cls = {}
	cls.__index = cls
	cls.fields = copyTable(fields, parent and copyTable(parent.fields) or {})
	local known = {}

	for _, prop in ipairs(props or {}) do
		local name, setter = prop[1], prop[2]
		known[name] = true
		cls[name] = function(self, value)
			if not setter(self, value, name) then
				self["_" .. name] = value
			end
			return self
		end
	end

	function cls.__call(self, ...)
		if select("#", ...) == 0 then
			return self
		end
		local first = ...
		if type(first) == "table" then
			for name, value in pairs(first) do
				if known[name] then
					self[name](self, value)
				end
			end
		else
			for i = 1, math.min(select("#", ...), positional or 0) do
				local value = select(i, ...)
				if value ~= nil then
					self[props[i][1]](self, value)
				end
			end
		end
		return self
	end

	return setmetatable(cls, {
		__index = parent,
		__call = function(c, ...)
			return setmetatable(copyTable(c.fields), c)(...)
		end,
	})
end

----------------------------------------------------------------------------------------------
-- Property setters
----------------------------------------------------------------------------------------------

local function checkType(name, value, types)
	local actual = type(value)
	for _, t in ipairs(types) do
		if actual == t then
			return
		end
	end
	error(("bad property '%s' (%s expected, got %s)"):format(name, table.concat(types, " or "),
		actual), 4)
end

--- A property that only checks its value's type.
local function typed(name, ...)
	local types = { ... }
	return { name, function(_, value)
		checkType(name, value, types)
	end }
end

--- "-r --rate": every word is an alias, the first one is the element's name.
local namesProp = { "name", function(self, value)
	checkType("name", value, { "string" })
	for alias in value:gmatch("%S+") do
		self._name = self._name or alias
		self._aliases[#self._aliases + 1] = alias
	end
	return true
end }

--- Bounds of "args"/"count": a number, "?", "*", "+", "n-m" or "n+".
local function parseBounds(spec)
	if tonumber(spec) then
		return tonumber(spec), tonumber(spec)
	end
	if spec == "?" then
		return 0, 1
	elseif spec == "*" then
		return 0, INF
	elseif spec == "+" then
		return 1, INF
	end
	local low, high = spec:match("^(%d+)%-(%d+)$")
	if low then
		return tonumber(low), tonumber(high)
	end
	low = spec:match("^(%d+)%+$")
	if low then
		return tonumber(low), INF
	end
end

local function boundsProp(name)
	return { name, function(self, value)
		checkType(name, value, { "number", "string" })
		local low, high = parseBounds(value)
		if not low then
			error(("bad property '%s'"):format(name), 3)
		end
		self["_min" .. name], self["_max" .. name] = low, high
		return true
	end }
end

-- Built-in actions: action(result, target, value, overwrite).
local actions = {}

function actions.store(result, target, value)
	result[target] = value
end

function actions.store_true(result, target)
	result[target] = true
end

function actions.store_false(result, target)
	result[target] = false
end

function actions.count(result, target, _, overwrite)
	if not overwrite then
		result[target] = result[target] + 1
	end
end

function actions.append(result, target, value, overwrite)
	local list = result[target] or {}
	result[target] = list
	list[#list + 1] = value
	if overwrite then
		table.remove(list, 1)
	end
end

function actions.concat(result, target, values, overwrite)
	if overwrite then
		error("'concat' action can't handle too many invocations")
	end
	local list = result[target] or {}
	result[target] = list
	for _, v in ipairs(values) do
		list[#list + 1] = v
	end
end

local actionProp = { "action", function(_, value)
	checkType("action", value, { "function", "string" })
	if type(value) == "string" and not actions[value] then
		error(("unknown action '%s'"):format(value), 3)
	end
end }

local initProp = { "init", function(self, value)
	self._init = value
	self._has_init = true
	return true
end }

-- A string default is converted when used; any other value is the initial result, unconverted.
local defaultProp = { "default", function(self, value)
	if type(value) ~= "string" then
		self._init = value
		self._has_init = true
		return true
	end
end }

local combineProp = { "combine", function(self, value)
	checkType("combine", value, { "boolean", "nil" })
	self._combine = value == nil or value
	return true
end }

----------------------------------------------------------------------------------------------
-- Elements: positional arguments and options
----------------------------------------------------------------------------------------------

local Argument = class(nil, {
	_minargs = 1,
	_maxargs = 1,
	_mincount = 1,
	_maxcount = 1,
	_defmode = "unused",
	_show_default = true,
}, {
	typed("name", "string"),
	typed("description", "string"),
	defaultProp,
	typed("convert", "function", "table"),
	boundsProp("args"),
	typed("target", "string"),
	typed("defmode", "string"),
	typed("show_default", "boolean"),
	typed("argname", "string", "table"),
	combineProp,
	actionProp,
	initProp,
}, 5)

local Option = class(Argument, {
	_aliases = {},
	_mincount = 0,
	_overwrite = true,
}, {
	namesProp,
	typed("description", "string"),
	defaultProp,
	typed("convert", "function", "table"),
	boundsProp("args"),
	boundsProp("count"),
	typed("target", "string"),
	typed("defmode", "string"),
	typed("show_default", "boolean"),
	typed("overwrite", "boolean"),
	typed("argname", "string", "table"),
	combineProp,
	actionProp,
	initProp,
}, 6)

--- Result key: the argument's name.
function Argument:_get_default_target()
	return self._name
end

--- Result key: the first "--long" alias (else the name) without its prefix, "-" as "_".
function Option:_get_default_target()
	local key
	for _, alias in ipairs(self._aliases) do
		if #alias > 2 and alias:sub(1, 1) == alias:sub(2, 2) then
			key = alias:sub(3)
			break
		end
	end
	key = key or self._name:sub(2)
	return (key:gsub("-", "_"))
end

function Argument:_is_vararg()
	return self._maxargs ~= self._minargs
end

--- The action function and the initial result value.
function Argument:_get_action()
	local action, init
	if self._maxcount == 1 then
		action = self._maxargs == 0 and "store_true" or "store"
	elseif self._maxargs == 0 then
		action, init = "count", 0
	else
		action, init = "append", {}
	end
	action = self._action or action
	if self._has_init then
		init = self._init
	end
	if type(action) == "string" then
		action = actions[action]
	end
	return action, init
end

function Argument:_get_default_argname()
	return "<" .. self._name .. ">"
end

function Option:_get_default_argname()
	return "<" .. self:_get_default_target() .. ">"
end

--- Placeholder of the i-th value.
function Argument:_get_argname(i)
	local argname = self._argname or self:_get_default_argname()
	if type(argname) == "table" then
		return argname[i]
	end
	return argname
end

--- Placeholders of the values, at most three, optional ones in brackets.
function Argument:_get_argument_list()
	local words = {}
	local i = 1
	while i <= math.min(self._minargs, 3) do
		local word = self:_get_argname(i)
		if self._default and self._defmode:find("a") then
			word = "[" .. word .. "]"
		end
		words[#words + 1] = word
		i = i + 1
	end
	while i <= math.min(self._maxargs, 3) do
		words[#words + 1] = "[" .. self:_get_argname(i) .. "]"
		i = i + 1
		if self._maxargs == INF then
			break
		end
	end
	if i < self._maxargs and not self._combine then
		words[#words + 1] = "..."
	end
	return words
end

function Argument:_get_usage()
	local usage = table.concat(self:_get_argument_list(), " ")
	if self._default and self._defmode:find("u") then
		if self._maxargs > 1 or (self._minargs == 1 and not self._defmode:find("a")) then
			usage = "[" .. usage .. "]"
		end
	end
	return usage
end

function Option:_get_usage()
	local words = self:_get_argument_list()
	table.insert(words, 1, self._name)
	local usage = table.concat(words, " ")
	if self._mincount == 0 or self._default then
		usage = "[" .. usage .. "]"
	end
	return usage
end

function Argument:_get_label()
	return self._name
end

--- "-r <rate>, --rate <rate>"
function Option:_get_label()
	local values = table.concat(self:_get_argument_list(), " ")
	local variants = {}
	for _, alias in ipairs(self._aliases) do
		variants[#variants + 1] = values == "" and alias or (alias .. " " .. values)
	end
	return table.concat(variants, ", ")
end

function Argument:_get_description()
	if self._default and self._show_default then
		if self._description then
			return ("%s (default: %s)"):format(self._description, self._default)
		end
		return ("default: %s"):format(self._default)
	end
	return self._description or ""
end

----------------------------------------------------------------------------------------------
-- Parsers and commands
----------------------------------------------------------------------------------------------

local helpProp -- defined below, needs Parser:flag

local parserFields = {
	_arguments = {},
	_options = {},
	_commands = {},
	_mutexes = {},
	_require_command = true,
	_handle_options = true,
}

local Parser = class(nil, parserFields, {
	typed("name", "string"),
	typed("description", "string"),
	typed("epilog", "string"),
	typed("usage", "string"),
	typed("help", "string"),
	typed("require_command", "boolean"),
	typed("handle_options", "boolean"),
	typed("action", "function"),
	typed("command_target", "string"),
	{ "add_help", function(self, value)
		return helpProp(self, value)
	end },
}, 3)

local Command = class(Parser, { _aliases = {} }, {
	namesProp,
	typed("description", "string"),
	typed("epilog", "string"),
	typed("target", "string"),
	typed("usage", "string"),
	typed("help", "string"),
	typed("require_command", "boolean"),
	typed("handle_options", "boolean"),
	typed("action", "function"),
	typed("command_target", "string"),
	{ "add_help", function(self, value)
		return helpProp(self, value)
	end },
}, 3)

--- add_help(true | false | "-? --usage" | {property table}): (re)create the help flag.
function helpProp(self, value)
	checkType("add_help", value, { "boolean", "string", "table" })
	if self._help_option then
		for i, option in ipairs(self._options) do
			if option == self._help_option then
				table.remove(self._options, i)
				break
			end
		end
		self._help_option = nil
	end
	if value then
		local help = self:flag()
			:description("Show this help message and exit.")
			:action(function()
				print(self:get_help())
				os.exit(0)
			end)
		if value ~= true then
			help(value)
		end
		if not help._name then
			help("-h")("--help")
		end
		self._help_option = help
	end
	return true
end

function Parser:argument(...)
	local argument = Argument(...)
	self._arguments[#self._arguments + 1] = argument
	return argument
end

--- A new option; the help flag stays the last option.
function Parser:option(...)
	local option = Option(...)
	local options = self._options
	if self._help_option and options[#options] == self._help_option then
		table.insert(options, #options, option)
	else
		options[#options + 1] = option
	end
	return option
end

function Parser:flag(...)
	return self:option():args(0)(...)
end

function Parser:command(...)
	local command = Command():add_help(true)(...)
	command._parent = self
	self._commands[#self._commands + 1] = command
	return command
end

function Parser:mutex(...)
	local group = { ... }
	for i, option in ipairs(group) do
		if getmetatable(option) ~= Option then
			error(("bad argument #%d to 'mutex' (Option expected)"):format(i), 2)
		end
	end
	self._mutexes[#self._mutexes + 1] = group
	return self
end

--- libmoon: remember the words parse() uses when it gets none (numbers become strings again).
function Parser:args(...)
	local words = ...
	if select("#", ...) == 0 or words == nil then
		self.default_args = {}
		return self
	end
	if type(words) ~= "table" then
		words = { ... }
	end
	local copy = {}
	for i = 1, table.maxn(words) do
		copy[i] = tostring(words[i])
	end
	self.default_args = copy
	return self
end

function Parser:_get_fullname()
	local names = {}
	local p = self
	while p do
		table.insert(names, 1, p._name)
		p = p._parent
	end
	return table.concat(names, " ")
end

function Command:_get_label()
	return table.concat(self._aliases, ", ")
end

function Command:_get_description()
	return self._description or ""
end

--- Every character that starts an option alias here or in any subcommand.
function Parser:_update_charset(charset)
	charset = charset or {}
	for _, command in ipairs(self._commands) do
		command:_update_charset(charset)
	end
	for _, option in ipairs(self._options) do
		for _, alias in ipairs(option._aliases) do
			charset[alias:sub(1, 1)] = true
		end
	end
	return charset
end

----------------------------------------------------------------------------------------------
-- Usage and help text
----------------------------------------------------------------------------------------------

local USAGE_WIDTH = 120
local USAGE_PREFIX = "Usage: "
local LABEL_INDENT = 3
local DESCRIPTION_COLUMN = 40

--- "Usage: name [options without varargs] <arguments> [vararg options] [<command>] ..."
function Parser:get_usage()
	if self._usage then
		return self._usage
	end
	local lines = { USAGE_PREFIX .. self:_get_fullname() }
	local function add(word)
		local last = lines[#lines]
		if #last + 1 + #word <= USAGE_WIDTH then
			lines[#lines] = last .. " " .. word
		else
			lines[#lines + 1] = (" "):rep(#USAGE_PREFIX) .. word
		end
	end

	local inMutex = {}
	local varargMutexes = {}
	for _, group in ipairs(self._mutexes) do
		local parts, vararg = {}, false
		for _, option in ipairs(group) do
			vararg = vararg or option:_is_vararg()
			parts[#parts + 1] = option:_get_usage()
			inMutex[option] = true
		end
		local text = "(" .. table.concat(parts, " | ") .. ")"
		if vararg then
			varargMutexes[#varargMutexes + 1] = text
		else
			add(text)
		end
	end
	for _, option in ipairs(self._options) do
		if not inMutex[option] and not option:_is_vararg() then
			add(option:_get_usage())
		end
	end
	for _, argument in ipairs(self._arguments) do
		add(argument:_get_usage())
	end
	for _, text in ipairs(varargMutexes) do
		add(text)
	end
	for _, option in ipairs(self._options) do
		if not inMutex[option] and option:_is_vararg() then
			add(option:_get_usage())
		end
	end
	if #self._commands > 0 then
		add(self._require_command and "<command>" or "[<command>]")
		add("...")
	end
	return table.concat(lines, "\n")
end

--- One help entry: label indented, description from column 40 (next line if the label is long).
local function helpEntry(label, description)
	local indent = (" "):rep(LABEL_INDENT)
	if description == "" then
		return indent .. label
	end
	local column = (" "):rep(DESCRIPTION_COLUMN)
	description = description:gsub("\n", "\n" .. column)
	local width = DESCRIPTION_COLUMN - LABEL_INDENT
	if #label < width then
		return indent .. label .. (" "):rep(width - #label) .. description
	end
	return indent .. label .. "\n" .. column .. description
end

function Parser:get_help()
	if self._help then
		return self._help
	end
	local blocks = { self:get_usage() }
	if self._description then
		blocks[#blocks + 1] = self._description
	end
	local sections = {
		{ "Arguments:", self._arguments },
		{ "Options:", self._options },
		{ "Commands:", self._commands },
	}
	for _, section in ipairs(sections) do
		local elements = section[2]
		if #elements > 0 then
			local lines = { section[1] }
			for _, element in ipairs(elements) do
				lines[#lines + 1] = helpEntry(element:_get_label(), element:_get_description())
			end
			blocks[#blocks + 1] = table.concat(lines, "\n")
		end
	end
	if self._epilog then
		blocks[#blocks + 1] = self._epilog
	end
	return table.concat(blocks, "\n\n")
end

--- "Did you mean ...?" for a name one edit (insert, delete or replace) away from a known one.
local function suggestion(known, wrong)
	local byDeletion = {}
	for name in pairs(known) do
		if type(name) == "string" then
			for i = 1, #name do
				local shorter = name:sub(1, i - 1) .. name:sub(i + 1)
				byDeletion[shorter] = byDeletion[shorter] or {}
				table.insert(byDeletion[shorter], name)
			end
		end
	end
	local found = {}
	for i = 1, #wrong + 1 do
		local variant = wrong:sub(1, i - 1) .. wrong:sub(i + 1)
		if known[variant] then
			found[variant] = true
		elseif byDeletion[variant] then
			for _, name in ipairs(byDeletion[variant]) do
				found[name] = true
			end
		end
	end
	local names = {}
	for name in pairs(found) do
		names[#names + 1] = "'" .. name .. "'"
	end
	if #names == 0 then
		return ""
	elseif #names == 1 then
		return "\nDid you mean " .. names[1] .. "?"
	end
	table.sort(names)
	return "\nDid you mean one of these: " .. table.concat(names, " ") .. "?"
end

----------------------------------------------------------------------------------------------
-- Parse run: the state of one parse() call
----------------------------------------------------------------------------------------------

--- "at most 2 times", "1 argument", "at least 1 argument"
local function bound(noun, min, max, isMax)
	local n = isMax and max or min
	local text = ""
	if min ~= max then
		text = "at " .. (isMax and "most" or "least") .. " "
	end
	return text .. tostring(n) .. " " .. noun .. (n == 1 and "" or "s")
end

-- Tracker: what happened to one argument or option during the run.
local Tracker = {}
Tracker.__index = Tracker

local function newTracker(run, element)
	local tracker = setmetatable({
		run = run,
		element = element,
		invocations = 0,
		args = {},
		open = false,
	}, Tracker)
	tracker.target = element._target or element:_get_default_target()
	local action, init = element:_get_action()
	tracker.action = action
	run.result[tracker.target] = init
	return tracker
end

function Tracker:error(fmt, ...)
	self.run:error(fmt, ...)
end

function Tracker:convert(word)
	local converter = self.element._convert
	if not converter then
		return word
	end
	local value, message
	if type(converter) == "function" then
		value, message = converter(word)
	else
		value = converter[word]
	end
	if value == nil then
		if message then
			self:error("%s", message)
		end
		self:error("malformed argument '%s'", word)
	end
	return value
end

--- The string default, when the element's defmode contains `mode` ("u" or "a").
function Tracker:defaultFor(mode)
	return self.element._defmode:find(mode) and self.element._default
end

--- Start one use of the element (alias given for options); returns whether it takes values.
function Tracker:invoke(alias)
	local element = self.element
	self.open = true
	self.name = alias and ("option '%s'"):format(alias) or ("argument '%s'"):format(element._name)
	self.overwrite = false
	if self.invocations >= element._maxcount then
		if element._overwrite then
			self.overwrite = true
		else
			self:error("%s must be used %s", self.name,
				bound("time", element._mincount, element._maxcount, true))
		end
	else
		self.invocations = self.invocations + 1
	end
	self.args = {}
	if element._maxargs <= 0 then
		self:close()
	end
	return self.open
end

--- Add one value; returns whether the element still takes more.
function Tracker:pass(word)
	self.args[#self.args + 1] = self:convert(word)
	if #self.args >= self.element._maxargs then
		self:close()
	end
	return self.open
end

--- Fill the missing mandatory values with the default.
function Tracker:complete()
	while #self.args < self.element._minargs do
		self:pass(self.element._default)
	end
end

--- End the current use: check the number of values and run the action.
function Tracker:close()
	if not self.open then
		return
	end
	self.open = false
	local element = self.element
	if #self.args < element._minargs then
		if self:defaultFor("a") then
			self:complete()
		else
			if #self.args == 0 then
				if getmetatable(element) == Argument then
					self:error("missing %s", self.name)
				elseif element._maxargs == 1 then
					self:error("%s requires an argument", self.name)
				end
			end
			self:error("%s requires %s", self.name,
				bound("argument", element._minargs, element._maxargs))
		end
	end
	local value = self.args
	if element._maxargs <= 1 then
		value = value[1]
	end
	if element._maxargs == 1 and element._minargs == 0
		and element._mincount ~= element._maxcount then
		value = self.args
	end
	if element._combine and type(value) == "table" then
		value = table.concat(value, " ")
	end
	self.action(self.run.result, self.target, value, self.overwrite)
end

local Run = {}
Run.__index = Run

local function newRun(parser, onError)
	local run = setmetatable({
		result = {},
		options = {}, -- trackers in declaration order, plus alias -> tracker
		arguments = {},
		argIndex = 1,
		mutexesOf = {}, -- option element -> list of mutex groups
		usedInMutex = {}, -- mutex group -> tracker used
		commandActions = {},
		onError = onError,
	}, Run)
	run.charset = parser:_update_charset()
	run:switch(parser)
	return run
end

function Run:error(fmt, ...)
	self.onError(self.parser, fmt:format(...))
end

--- Make `parser` (the root or a chosen command) the current one and register its elements.
function Run:switch(parser)
	self.parser = parser
	if parser._action then
		self.commandActions[#self.commandActions + 1] = { action = parser._action,
			name = parser._name }
	end
	for _, option in ipairs(parser._options) do
		local tracker = newTracker(self, option)
		self.options[#self.options + 1] = tracker
		for _, alias in ipairs(option._aliases) do
			self.options[alias] = tracker
		end
	end
	for _, group in ipairs(parser._mutexes) do
		for _, option in ipairs(group) do
			local list = self.mutexesOf[option] or {}
			self.mutexesOf[option] = list
			list[#list + 1] = group
		end
	end
	for _, argument in ipairs(parser._arguments) do
		local tracker = newTracker(self, argument)
		self.arguments[#self.arguments + 1] = tracker
		tracker:invoke()
	end
	self.handleOptions = parser._handle_options
	self.argument = self.arguments[self.argIndex]
	self.commands = {}
	for i, command in ipairs(parser._commands) do
		self.commands[i] = command
		for _, alias in ipairs(command._aliases) do
			self.commands[alias] = command
		end
	end
end

function Run:getOption(name)
	local tracker = self.options[name]
	if not tracker then
		self:error("unknown option '%s'%s", name, suggestion(self.options, name))
	end
	return tracker
end

function Run:getCommand(name)
	local command = self.commands[name]
	if not command then
		if #self.commands > 0 then
			self:error("unknown command '%s'%s", name, suggestion(self.commands, name))
		end
		self:error("too many arguments")
	end
	return command
end

--- Close the open option, if any.
function Run:close()
	if self.option then
		self.option:close()
		self.option = nil
	end
end

function Run:invoke(tracker, alias)
	self:close()
	for _, group in ipairs(self.mutexesOf[tracker.element] or {}) do
		local used = self.usedInMutex[group]
		if used and used ~= tracker then
			self:error("option '%s' can not be used together with %s", alias, used.name)
		end
		self.usedInMutex[group] = tracker
	end
	if tracker:invoke(alias) then
		self.option = tracker
	end
end

--- A plain word: a value of the open option, of the current argument, or a command name.
function Run:pass(word)
	if self.option then
		if not self.option:pass(word) then
			self.option = nil
		end
	elseif self.argument then
		if not self.argument:pass(word) then
			self.argIndex = self.argIndex + 1
			self.argument = self.arguments[self.argIndex]
		end
	else
		local command = self:getCommand(word)
		self.result[command._target or command._name] = true
		if self.parser._command_target then
			self.result[self.parser._command_target] = command._name
		end
		self:switch(command)
	end
end

--- One word that starts with an option character and is longer than that character.
function Run:handleOptionWord(word)
	local prefix = word:sub(1, 1)
	if word:sub(2, 2) == prefix then
		if #word == 2 then
			-- "--": everything after it is plain
			self:close()
			self.handleOptions = false
			return
		end
		local eq = word:find("=", 1, true)
		if eq then
			local name = word:sub(1, eq - 1)
			local tracker = self:getOption(name)
			if tracker.element._maxargs <= 0 then
				self:error("option '%s' does not take arguments", name)
			end
			self:invoke(tracker, name)
			self:pass(word:sub(eq + 1))
		else
			self:invoke(self:getOption(word), word)
		end
		return
	end
	-- short options, possibly bundled ("-ab") or with an attached value ("-r10")
	for i = 2, #word do
		local name = prefix .. word:sub(i, i)
		local tracker = self:getOption(name)
		self:invoke(tracker, name)
		if i < #word and tracker.element._maxargs > 0 then
			self:pass(word:sub(i + 1))
			break
		end
	end
end

--- After the last word: defaults, missing elements, command actions.
function Run:finalize()
	self:close()
	for i = self.argIndex, #self.arguments do
		local tracker = self.arguments[i]
		if #tracker.args == 0 and tracker:defaultFor("u") then
			tracker:complete()
		else
			tracker:close()
		end
	end
	if self.parser._require_command and #self.commands > 0 then
		self:error("a command is required")
	end
	for _, tracker in ipairs(self.options) do
		local element = tracker.element
		if tracker.invocations == 0 and tracker:defaultFor("u") then
			tracker:invoke(element._name)
			tracker:complete()
			tracker:close()
		end
		local name = tracker.name or ("option '%s'"):format(element._name)
		local mincount = element._mincount
		if tracker.invocations < mincount then
			if tracker:defaultFor("a") then
				while tracker.invocations < mincount do
					tracker:invoke(element._name)
					tracker:close()
				end
			elseif tracker.invocations == 0 then
				self:error("missing %s", name)
			else
				self:error("%s must be used %s", name,
					bound("time", mincount, element._maxcount))
			end
		end
	end
	for i = #self.commandActions, 1, -1 do
		local entry = self.commandActions[i]
		entry.action(self.result, entry.name)
	end
end

function Run:parse(words)
	for _, word in ipairs(words) do
		-- moonpy: a negative number ("-r -500") is a value, not an unknown option "-5"
		local negative = word:match("^%-%.?%d") and tonumber(word)
			and not self.options[word:sub(1, 2)]
		if self.handleOptions and #word > 1 and self.charset[word:sub(1, 1)] and not negative then
			self:handleOptionWord(word)
		else
			self:pass(word)
		end
	end
	self:finalize()
	return self.result
end

----------------------------------------------------------------------------------------------
-- Public parse entry points
----------------------------------------------------------------------------------------------

--- Words to parse: an explicit table or varargs, else the stored defaults, else the global arg.
local function wordsFrom(parser, ...)
	local first = ...
	local source
	if first == nil then
		source = parser.default_args or rawget(_G, "arg") or {}
	elseif type(first) == "table" then
		source = first
	else
		source = { ... }
	end
	local words = {}
	for i, v in ipairs(source) do
		words[i] = tostring(v)
	end
	return words
end

--- Print the usage and the message to stderr and exit with status 1.
function Parser:error(msg)
	io.stderr:write(("%s\n\nError: %s\n"):format(self:get_usage(), msg))
	os.exit(1)
end

function Parser:_parse(words, onError)
	return newRun(self, onError):parse(words)
end

function Parser:parse(...)
	return self:_parse(wordsFrom(self, ...), function(parser, msg)
		return parser:error(msg)
	end)
end

--- Like parse(), but returns false and the message instead of exiting.
function Parser:pparse(...)
	local words = wordsFrom(self, ...)
	local parseError
	local ok, result = pcall(function()
		return self:_parse(words, function(_, msg)
			parseError = msg
			error(msg, 0)
		end)
	end)
	if ok then
		return true, result
	elseif parseError then
		return false, parseError
	end
	error(result, 0)
end

----------------------------------------------------------------------------------------------
-- Module: argparse(name, description, epilog) creates a parser with -h/--help
----------------------------------------------------------------------------------------------

local argparse = {
	Parser = Parser,
	Command = Command,
	Argument = Argument,
	Option = Option,
	actions = actions,
	version = "0.5.0-moonpy",
}

local function defaultName()
	local arg = rawget(_G, "arg")
	return type(arg) == "table" and arg[0] and tostring(arg[0]) or "libmoon"
end

return setmetatable(argparse, {
	__call = function(_, ...)
		local parser = Parser(defaultName()):add_help(true)
		return parser(...)
	end,
})
