-- timer: TSC-based timers (MoonGen `timer`).
local lm = require "libmoon"

local timer = {}
timer.__index = timer

function timer:new(seconds)
    seconds = seconds or 0
    return setmetatable({ time = seconds, stop = lm.getTime() + seconds }, timer)
end

function timer:running()
    return self.stop > lm.getTime()
end

function timer:expired()
    return self.stop <= lm.getTime()
end

function timer:timeLeft()
    return self.stop - lm.getTime()
end

function timer:reset(seconds)
    self.stop = lm.getTime() + (seconds or self.time)
end

function timer:busyWait()
    while not self:expired() and lm.running() do end
    return lm.running()
end

timer.wait = timer.busyWait

return timer
