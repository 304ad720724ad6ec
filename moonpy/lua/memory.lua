-- memory: mempools and bufArrays (MoonGen/libmoon `memory` module).
--
-- A mempool is a `struct rte_mempool *` (shared by address between tasks). A
-- bufArray is FFI cdata, `struct mp_bufarray`, so `#bufs` honours `__len` and
-- `ipairs(bufs)` works through moonpy.compat. Buffer contents survive free +
-- alloc: only metadata is reset, so pool initialisers write templates once.
local ffi = require "ffi"
local api = require "moonpy.api"
local compat = require "moonpy.compat"
local marshal = require "moonpy.marshal"
local log = require "log"

local host = api.host
local allocBulk, freeBulk, cRunning = api.alloc_bulk, api.free_bulk, api.running

local mod = {}

ffi.cdef[[ struct rte_mempool { uint8_t _opaque; }; ]]
marshal.registerPointer("struct rte_mempool *")

local mempool = {}
mempool.__index = mempool
ffi.metatype("struct rte_mempool", mempool)

local bufArray = {}
local bufArrayMt = {}
local bufArrayType = ffi.typeof("struct mp_bufarray")

local EMSGSIZE = -90

local function badSize(len)
    log:fatal("memory: cannot allocate packets of %s bytes: the size must be a whole number "
        .. "from 14 (an Ethernet header) up to the pool's buffer size (bufSize, default 2048)",
        tostring(len))
end

-- ---- mempools ----------------------------------------------------------

local function newPool(n, bufSize, socket)
    local ok, addr = pcall(host.create_mempool, n, bufSize, socket or -1)
    if not ok then error(tostring(addr), 3) end
    return ffi.cast("struct rte_mempool *", addr)
end

--- createMemPool{n=, socket=, bufSize=, func=} or (func[, socket]) or (n[, func[, socket]]).
function mod.createMemPool(...)
    local first = ...
    local n, func, socket, bufSize = 2047, nil, nil, 2048
    if first == mod then
        -- MoonGen quirk: `memory:createMemPool(...)` reads the module table as the
        -- named arguments and ignores everything else; scripts rely on it working.
        local args = mod
        n, socket, bufSize = args.n or 2047, args.socket, args.bufSize or 2048
    elseif type(first) == "table" then
        n = first.n or 2047
        func, socket, bufSize = first.func, first.socket, first.bufSize or 2048
    elseif type(first) == "function" then
        func, socket = first, select(2, ...)
    elseif type(first) == "number" then
        local second, third = select(2, ...)
        if type(second) == "number" then
            socket = second          -- MoonGen quirk: n is not taken in this form
        else
            n, func, socket = first, second, third
        end
    end
    local pool = newPool(n, bufSize, socket)
    if func then
        local bufs = pool:bufArray(n)
        bufs:alloc(math.min(1522, bufSize))
        for i = 0, n - 1 do
            func(bufs.array[i])
        end
        bufs:freeAll()
    end
    return pool
end

function mempool:alloc(len)
    local arr = ffi.new("struct rte_mbuf *[1]")
    if type(len) ~= "number" or len ~= len or len < 14 then badSize(len) end
    local rc = allocBulk(self, arr, 1, len)
    if rc == EMSGSIZE then badSize(len) end
    if rc < 0 then
        log:fatal("memory: mempool exhausted: no free buffer left; use a larger pool "
            .. "(createMemPool{n=...}) or free buffers")
    end
    return arr[0]
end

function mempool:bufArray(n)
    n = n or 63
    if type(n) ~= "number" or n ~= n or n < 1 or n > 65535 or n % 1 ~= 0 then
        error(("bufArray(%s): the size must be a whole number from 1 to 65535"):format(
            tostring(n)), 2)
    end
    local b = bufArrayType(n)
    b.size, b.maxSize, b.mem = n, n, self
    return b
end
mempool.createBufArray = mempool.bufArray

function mempool:retain() end

function mempool:getAvail()
    return host.mempool_avail(tonumber(ffi.cast("uintptr_t", self)))
end

-- ---- bufArrays -----------------------------------------------------------

function mod.bufArray(n)
    if n == mod then
        error("memory.bufArray must be called with a dot, not a colon", 2)
    end
    n = n or 63
    local b = bufArrayType(n)
    b.size, b.maxSize, b.mem = n, n, nil
    return b
end
mod.createBufArray = mod.bufArray

-- A checksum-offload request (bufs:offloadUdpChecksums() ...) waits in the array for the
-- send, which carries it out in its one pass over the buffers (device.lua: txProto:send),
-- as a NIC computes checksums when the frame leaves. Anything else that looks at or hands
-- on the buffers has it carried out first: indexing, ipairs, free, the other send and
-- enqueue calls (api.applyOffloads).
local applyOffloads = api.applyOffloads
bufArray.applyOffloads = applyOffloads

function bufArrayMt.__index(self, k)
    if type(k) == "number" then
        if self.ol.flags ~= 0 then applyOffloads(self) end
        return self.array[k - 1]
    end
    return bufArray[k]
end

function bufArrayMt.__newindex(self, k, v)
    if type(k) == "number" then
        self.array[k - 1] = v
        return
    end
    error(("bufArray has no field '%s'"):format(tostring(k)), 2)
end

function bufArrayMt.__len(self)
    return self.size
end

function bufArrayMt.__tostring(self)
    return ("[BufArray: size=%d]"):format(self.size)
end

ffi.metatype(bufArrayType, bufArrayMt)

local function bufsIter(self, i)
    if i < self.size then
        if self.ol.flags ~= 0 then applyOffloads(self) end
        return i + 1, self.array[i]
    end
end

compat.registerIpairs(bufArrayType, function(self) return bufsIter, self, 0 end)

-- As in libmoon (`bufArray.__index`, `bufArray.__len`, ... are fields of the method
-- table): the metamethods are callable as methods too, `bufs:__len()`.
bufArray.__index = bufArrayMt.__index
bufArray.__newindex = bufArrayMt.__newindex
bufArray.__len = bufArrayMt.__len
bufArray.__tostring = bufArrayMt.__tostring
function bufArray.__ipairs(self) return bufsIter, self, 0 end

-- Fill all `size` entries from the pool. When the pool is empty the call
-- waits for buffers in flight (a cable ring, another task) while the run
-- goes on; once stopped it empties the array instead of handing out garbage.
function bufArray:alloc(len)
    local mem = self.mem
    if mem == nil then
        log:fatal("buf array not associated with a memory pool")
    end
    if type(len) ~= "number" or len ~= len or len < 14 then badSize(len) end
    local n = self.size
    self.ol.flags = 0 -- a request not sent was for the buffers this replaces
    local rc = allocBulk(mem, self.array, n, len)
    if rc >= 0 then return end
    if rc == EMSGSIZE then badSize(len) end
    local deadline = api.rdtsc() + api.tsc_hz * 2
    while allocBulk(mem, self.array, n, len) < 0 do
        if cRunning(0) == 0 then
            self.size = 0
            return
        end
        if api.rdtsc() > deadline then
            log:fatal("memory: mempool exhausted: %d buffers wanted but the pool stayed empty "
                .. "for 2 s; use a larger pool (createMemPool{n=...}), free received buffers, "
                .. "or send what you allocate", n)
        end
    end
end

function bufArray:allocN(len, n)
    self:resize(n)
    self:alloc(len)
end

function bufArray:resize(n)
    if n > self.maxSize then
        log:fatal("bufArray:resize(%d) exceeds the maximum size %d", n, self.maxSize)
    end
    self.size = n
end

function bufArray:free(n)
    applyOffloads(self) -- for the buffers that stay
    freeBulk(self.array, n)
end

-- free_bulk skips empty slots and empties the ones it frees
function bufArray:freeAll()
    self.ol.flags = 0
    freeBulk(self.array, self.size)
end

function bufArray:freeAfter(n)
    applyOffloads(self)
    if n < self.size then
        freeBulk(self.array + n, self.size - n)
    end
end

-- checksum offload requests: kept in the array for its send (above), an earlier one not
-- yet sent carried out first
local F_IPV4, F_IPV6 = bit.lshift(1ULL, 55), bit.lshift(1ULL, 56)
local F_IP_CKSUM = bit.lshift(1ULL, 54)
local F_UDP, F_TCP = bit.lshift(3ULL, 52), bit.lshift(1ULL, 52)
local UDP4 = bit.bor(F_IPV4, F_IP_CKSUM, F_UDP)
local TCP4 = bit.bor(F_IPV4, F_IP_CKSUM, F_TCP)
local UDP6, TCP6 = bit.bor(F_IPV6, F_UDP), bit.bor(F_IPV6, F_TCP)
local IP4 = bit.bor(F_IPV4, F_IP_CKSUM)

--- IPSec offload for every buffer of the array (libmoon: buf:offloadIPSec on each).
function bufArray:offloadIPSec(idx, mode, secType)
    for i = 0, self.size - 1 do
        self.array[i]:offloadIPSec(idx, mode, secType)
    end
end

local function request(self, flags, l2Len, l3Len, csOffset, n)
    applyOffloads(self)
    local r = self.ol
    r.flags, r.l2_len, r.l3_len, r.cs_offset = flags, l2Len, l3Len, csOffset
    r.n = math.min(n or self.size, self.maxSize)
end

function bufArray:offloadUdpChecksums(ipv4, l2Len, l3Len)
    local v4 = ipv4 == nil or ipv4
    request(self, v4 and UDP4 or UDP6, l2Len or 14, l3Len or (v4 and 20 or 40), 6)
end

function bufArray:offloadTcpChecksums(ipv4, l2Len, l3Len, n)
    local v4 = ipv4 == nil or ipv4
    request(self, v4 and TCP4 or TCP6, l2Len or 14, l3Len or (v4 and 20 or 40), 16, n)
end

function bufArray:offloadIPChecksums(ipv4, l2Len, l3Len, n)
    local v4 = ipv4 == nil or ipv4
    request(self, v4 and IP4 or F_IPV6, l2Len or 14, l3Len or (v4 and 20 or 40), 0, n)
end

function bufArray:setVlans(vlan, pcp, cfi)
    local tci = vlan + bit.lshift(pcp or 0, 13) + bit.lshift(cfi or 0, 12)
    local flag = bit.lshift(1ULL, 57)
    for i = 0, self.size - 1 do
        local b = self.array[i]
        b.vlan_tci = tci
        b.ol_flags = bit.bor(b.ol_flags, flag)
    end
end

-- ---- raw memory -----------------------------------------------------------

ffi.cdef[[
void *malloc(size_t size);
void free(void *ptr);
]]

function mod.alloc(ctype, size)
    return ffi.cast(ctype, ffi.C.malloc(size))
end

function mod.free(ptr)
    ffi.C.free(ptr)
end

mod.allocHuge = mod.alloc
function mod.freeHuge(ptr) ffi.C.free(ptr) end

function mod.fence()
    -- a full barrier: LuaJIT has none; a C call is one for the compiler and x86's TSO suffices
    api.rdtsc()
end

function mod.enableCache()
    log:warn("memory.enableCache: the buffer cache is not used by moonpy")
end

function mod.freeMemPools() end

return mod
