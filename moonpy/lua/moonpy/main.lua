-- moonpy.main: MoonGen's start-up of the master VM (configure, parse, master)
-- and the entry point of task VMs. Called by lua_bridge with xpcall.
local marshal = require "moonpy.marshal"

local main = {}

-- Command-line words that look like numbers become numbers, as in MoonGen.
local function convertWords(words, n)
    local out = {}
    for i = 1, n do
        local w = words[i]
        out[i] = tonumber(w) or w
    end
    return out
end

function main.master(scriptPath, words, n)
    local raw = convertWords(words, n)
    local results = { n = 0 }
    if type(configure) == "function" then
        local argparse = require "argparse"
        local parser = argparse("moonpy " .. scriptPath)
        parser:args(unpack(raw, 1, n))
        results = table.pack(configure(parser, unpack(raw, 1, n)))
        if results.n == 0 then
            results = table.pack(parser:parse())
        end
    end
    if type(master) ~= "function" then
        error(("%s defines no global function 'master'"):format(scriptPath), 0)
    end
    local all = {}
    for i = 1, results.n do all[i] = results[i] end
    for i = 1, n do all[results.n + i] = raw[i] end
    return master(unpack(all, 1, results.n + n))
end

function main.task(fname, descs, n)
    local fn = _G[fname]
    if type(fn) ~= "function" then
        error(("task function '%s' is not a global function of the script (task entry points "
            .. "must be global)"):format(fname), 0)
    end
    local results = table.pack(fn(marshal.unpackList(descs, n)))
    local packed, count = marshal.packList(results, 1, results.n, ("task %s result"):format(fname),
        true)
    -- cdata in the results points into this VM's memory: Python keeps the VM then
    return packed, count, marshal.crossedByAddress
end

return main
