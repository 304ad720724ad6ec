-- moongen: MoonGen's module is libmoon under another name (`mg.x` == `lm.x`).
return setmetatable({}, { __index = require "libmoon" })
