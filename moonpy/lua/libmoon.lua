-- libmoon: the task model and the clock (MoonGen's `mg.*` / libmoon's `lm.*`).
--
-- Control-plane calls (startTask, waitForTasks, task:wait) go to Python through
-- MOONPY_HOST; everything a loop calls per iteration (running, getCycles,
-- sleeps) is LuaJIT FFI into the C fast path.
local api = require "moonpy.api"
local marshal = require "moonpy.marshal"

local host = api.host
local mod = {}

local hz = api.tsc_hz
local rdtsc, cRunning = api.rdtsc, api.running

mod.config = {
    appName = "libmoon",
    userscript = MOONPY_SCRIPT,
    basePath = MOONPY_LUA_PATH .. "/",
    cores = MOONPY_CORES or {},
    numSharedCores = MOONPY_SHARED_CORES or 8,
    skipInit = false,
}

-- allow both `mg.f(x)` and `mg:f(x)`
local function dropSelf(self, ...)
    if self == mod or (type(self) == "table" and getmetatable(self) and
        getmetatable(self).__index == mod) then
        return ...
    end
    return self, ...
end

local taskMt = {}
taskMt.__index = taskMt

function taskMt:wait()
    local descs, n = host.wait_task(self.id)
    if not descs then return end
    return marshal.unpackList(descs, n)
end

function taskMt:isRunning()
    return host.task_running(self.id)
end

function taskMt.__tostring(self)
    return ("[Task: id=%d, core=%d, fn=%s]"):format(self.id, self.core, self.name)
end

local function start(kind, core, ...)
    if LIBMOON_TASK_NAME ~= "master" then
        error("This function is only available on the master task.", 3)
    end
    local args = { ... }
    local n = select("#", ...)
    local name = args[1]
    if type(name) ~= "string" then
        error(("startTask: the first argument must be the name of a global function, got a %s")
            :format(type(name)), 3)
    end
    local ok, descs, count = pcall(marshal.packList, args, 2, n,
        ("startTask(\"%s\")"):format(name), true)
    if not ok then error(descs, 3) end
    local id, gotCore = host.start_task(name, descs, count, kind, core or -1)
    return setmetatable({ id = id, core = gotCore, name = name }, taskMt)
end

-- (no tail calls below: error positions must point at the script's line)
function mod.startTask(...)
    local task = start("worker", nil, dropSelf(...))
    return task
end

function mod.startSharedTask(...)
    local task = start("shared", nil, dropSelf(...))
    return task
end

function mod.startTaskOnCore(...)
    local core = dropSelf(...)
    local task = start("core", core, select(2, dropSelf(...)))
    return task
end

function mod.waitForTasks()
    host.wait_for_tasks()
end

function mod.running(...)
    local extra = dropSelf(...)
    if type(extra) == "number" and extra > 0 then
        return cRunning(extra * hz / 1000) ~= 0
    end
    return cRunning(0) ~= 0
end

function mod.stop()
    api.stop()
end

--- A time argument must be a finite number >= 0 (nan or -5 would wrap to a huge count).
local function checkTime(fn, value)
    local n = tonumber(value)
    if n == nil or n ~= n or n < 0 or n == math.huge then
        error(("%s(%s): give a number >= 0"):format(fn, tostring(value)), 3)
    end
    return n
end

function mod.setRuntime(...)
    local seconds = checkTime("setRuntime", dropSelf(...))
    api.set_runtime_cycles(seconds * hz)
end

function mod.getCycles()
    return rdtsc()
end

function mod.getCyclesFrequency()
    return hz
end

function mod.getTime()
    return tonumber(rdtsc()) / hz
end

function mod.sleepMillis(...)
    local ms = checkTime("sleepMillis", dropSelf(...))
    api.delay_cycles(ms * hz / 1000)
end

function mod.sleepMicros(...)
    local us = checkTime("sleepMicros", dropSelf(...))
    api.delay_cycles(us * hz / 1e6)
end

-- The idle sleeps give the core away: frames a paced send still holds leave first.
function mod.sleepMillisIdle(...)
    local ms = checkTime("sleepMillisIdle", dropSelf(...))
    api.pace_flush()
    api.usleep(ms * 1000)
end

function mod.sleepMicrosIdle(...)
    local us = checkTime("sleepMicrosIdle", dropSelf(...))
    api.pace_flush()
    api.usleep(us)
end

function mod.getCore()
    return LIBMOON_TASK_CORE or 0, 0
end

function mod.disableBadSocketWarning() end

function mod.setupPaths() end

-- moonpy's own: the task's lcore / id
function mod.getTaskId()
    return LIBMOON_TASK_ID
end

return mod
