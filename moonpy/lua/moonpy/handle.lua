-- moonpy.handle: small C-memory handles to objects that live in Python (locks, barriers).
--
-- A handle is `struct <name> { id, magic }` in malloc'd, process-global memory, so passing
-- it to a task passes the same object (by address, as libmoon's lock/barrier pointers);
-- its methods call the host with the id. Never freed, like libmoon's.
local ffi = require "ffi"
local marshal = require "moonpy.marshal"

local handle = {}

pcall(ffi.cdef, [[void *moonpy_handle_malloc(size_t size) __asm__("malloc");]])

--- The host of this VM; a clear error outside the moonpy runtime.
function handle.host(module)
	local host = rawget(_G, "MOONPY_HOST")
	if host == nil then
		error(("%s: needs the moonpy runtime (MOONPY_HOST); run the script with moonpy")
			:format(module), 3)
	end
	return host
end

--- Call a host function; its error is raised at the script line that called the method.
function handle.call(fn, ...)
	local ok, res = pcall(fn, ...)
	if not ok then error(tostring(res), 3) end
	return res
end

--- Define `struct <name>` with `methods` as its metatype. Returns check(self) -> id (an
--- error at the script's line for anything else) and new(id) -> struct <name>*.
function handle.define(name, magic, methods)
	local ctype = "struct " .. name
	ffi.cdef(("%s { uint32_t id; uint32_t magic; };"):format(ctype))
	local ptr = ffi.typeof(ctype .. " *")
	ffi.metatype(ctype, methods)
	marshal.registerPointer(ctype .. " *")
	local function check(self)
		if self == nil or self.magic ~= magic then
			error(("%s: not a %s created by %s:new() (or its memory was overwritten)")
				:format(name, name, name), 3)
		end
		return self.id
	end
	local function new(id)
		local p = ffi.cast(ptr, ffi.C.moonpy_handle_malloc(ffi.sizeof(ctype)))
		p.id = id
		p.magic = magic
		return p
	end
	return check, new
end

return handle
