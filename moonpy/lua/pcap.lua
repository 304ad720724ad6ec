-- pcap: read and write pcap files (libmoon `pcap` module; constructors take a colon).
--
--   local writer = pcap:newWriter("out.pcap"[, startTime])
--   writer:writeBuf(libmoon.getTime(), buf[, snapLen]); writer:write(ts, ptr, len[, origLen])
--   writer:close()
--   local reader = pcap:newReader("in.pcap")
--   local n = reader:read(bufs); local buf = reader:readSingle(mempool)
--   reader:reset(); reader:close()
--
-- Writer: classic pcap (magic 0xa1b2c3d4, version 2.4, snaplen 0x40000, Ethernet), written
-- through a 1 MiB stdio buffer instead of libmoon's growing mmap (close() flushes; an unclosed
-- writer is flushed when its VM ends). Timestamps are seconds relative to `startTime` (default:
-- wall clock minus libmoon.getTime(), so libmoon.getTime() stamps become wall-clock time).
-- Reader: mmaps the file; microsecond (0xa1b2c3d4) and nanosecond (0xa1b23c4d) little-endian
-- files. Each buffer gets udata64 = timestamp in microseconds and the captured bytes followed
-- by zeros up to the original length (bounded by the buffer). A file cut off in the middle of
-- a record ends with a warning; a corrupt header or record is a clear error.
local ffi = require "ffi"
local api = require "moonpy.api"
local libmoon = require "libmoon"
local utils = require "utils"
local log = require "log"

local cast, sizeof = ffi.cast, ffi.sizeof
local min, max, floor = math.min, math.max, math.floor
local allocBulk = api.alloc_bulk

local mod = {}

if not pcall(ffi.typeof, "pcap_hdr_t") then
	ffi.cdef [[
	typedef struct {
		uint32_t magic_number;
		uint16_t version_major;
		uint16_t version_minor;
		int32_t  thiszone;
		uint32_t sigfigs;
		uint32_t snaplen;
		uint32_t network;
	} pcap_hdr_t;
	typedef struct {
		uint32_t ts_sec;
		uint32_t ts_usec;
		uint32_t incl_len;
		uint32_t orig_len;
		uint8_t data[];
	} pcaprec_hdr_t;
	]]
end

if not pcall(ffi.typeof, "struct moonpy_pcap_file") then
	ffi.cdef [[
	struct moonpy_pcap_file;
	struct moonpy_pcap_file *moonpy_pcap_fopen(const char *path, const char *mode)
		__asm__("fopen");
	int moonpy_pcap_setvbuf(struct moonpy_pcap_file *f, char *buf, int mode, size_t size)
		__asm__("setvbuf");
	size_t moonpy_pcap_fwrite(const void *ptr, size_t size, size_t n,
		struct moonpy_pcap_file *f) __asm__("fwrite");
	int moonpy_pcap_fflush(struct moonpy_pcap_file *f) __asm__("fflush");
	int moonpy_pcap_fclose(struct moonpy_pcap_file *f) __asm__("fclose");
	int moonpy_pcap_open(const char *path, int flags, ...) __asm__("open");
	int moonpy_pcap_close(int fd) __asm__("close");
	int64_t moonpy_pcap_lseek(int fd, int64_t offset, int whence) __asm__("lseek");
	void *moonpy_pcap_mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)
		__asm__("mmap");
	int moonpy_pcap_munmap(void *addr, size_t len) __asm__("munmap");
	char *moonpy_pcap_strerror(int errnum) __asm__("strerror");
	]]
end

local C = ffi.C
local hdrPtr = ffi.typeof("pcap_hdr_t *")
local recPtr = ffi.typeof("pcaprec_hdr_t *")
local u8p = ffi.typeof("uint8_t *")
local HDR_SIZE = sizeof("pcap_hdr_t")
local REC_SIZE = sizeof("pcaprec_hdr_t")
local MAGIC_US, MAGIC_NS = 0xa1b2c3d4, 0xa1b23c4d
local MAX_RECORD = 0x40000 -- snaplen written by libmoon (and tcpdump's default)
local HEADROOM = 128

local function errnoText()
	return ffi.string(C.moonpy_pcap_strerror(ffi.errno()))
end

--- Kept for compatibility: the writer grows as needed, no size is preallocated.
function mod:setInitialFilesize(newSizeInBytes) -- luacheck: ignore self newSizeInBytes
end

---------------------------------------------------------------------------------------------------
-- writer
---------------------------------------------------------------------------------------------------

local writer = {}
writer.__index = writer

--- pcap:newWriter(filename[, startTime]) -> writer
function mod:newWriter(filename, startTime) -- luacheck: ignore self
	if type(filename) ~= "string" then
		error(("pcap:newWriter: expected a file name, got %s"):format(type(filename)), 2)
	end
	startTime = startTime or utils.wallTime() - libmoon.getTime()
	local f = C.moonpy_pcap_fopen(filename, "wb")
	if f == nil then
		log:fatal("could not create pcap file %s: %s", filename, errnoText())
	end
	f = ffi.gc(f, C.moonpy_pcap_fclose)
	local buffer = ffi.new("char[?]", 1024 * 1024)
	C.moonpy_pcap_setvbuf(f, buffer, 0, 1024 * 1024) -- _IOFBF
	local hdr = ffi.new("pcap_hdr_t")
	hdr.magic_number = MAGIC_US
	hdr.version_major = 2
	hdr.version_minor = 4
	hdr.thiszone = 0
	hdr.sigfigs = 0
	hdr.snaplen = MAX_RECORD
	hdr.network = 1
	local self = setmetatable({ -- luacheck: ignore 412 (the writer, not the module)
		file = f, buffer = buffer, filename = filename, startTime = startTime,
		offset = 0, rec = ffi.new("pcaprec_hdr_t"),
	}, writer)
	self:writeRaw(hdr, HDR_SIZE)
	return self
end

function writer:writeRaw(ptr, len)
	if self.file == nil then
		error("pcap writer: the file is closed", 3)
	end
	if len > 0 and C.moonpy_pcap_fwrite(ptr, len, 1, self.file) ~= 1 then
		log:fatal("writing pcap file %s failed: %s", self.filename, errnoText())
	end
	self.offset = self.offset + len
end

--- Write one packet of `len` bytes at `data`; `timestamp` in seconds relative to startTime.
function writer:write(timestamp, data, len, origLen)
	len = tonumber(len)
	local t = self.startTime + tonumber(timestamp)
	local sec = floor(t)
	local usec = floor((t - sec) * 1e6 + 0.5)
	if usec >= 1000000 then
		sec, usec = sec + 1, usec - 1000000
	end
	local rec = self.rec
	rec.ts_sec = sec
	rec.ts_usec = usec
	rec.incl_len = len
	rec.orig_len = max(len, tonumber(origLen) or len)
	self:writeRaw(rec, REC_SIZE)
	self:writeRaw(data, len)
end

--- Write a packet buffer, truncated to `snapLen` bytes when given.
function writer:writeBuf(timestamp, buf, snapLen)
	local size = buf:getSize()
	self:write(timestamp, buf:getData(), min(size, snapLen or size), size)
end

--- Flush what was written so far to the file.
function writer:flush()
	if self.file ~= nil then
		C.moonpy_pcap_fflush(self.file)
	end
end

--- libmoon grows its memory-mapped file with resize(size) when it is full; moonpy's
--- writer writes through stdio, so the file grows as frames are written. A script's own
--- call flushes what was written so far (the file then holds every frame written).
function writer:resize(size) -- luacheck: ignore size
	self:flush()
end

--- Flush and close the file.
function writer:close()
	local f = self.file
	if f == nil then
		return
	end
	self.file = nil
	ffi.gc(f, nil)
	if C.moonpy_pcap_fclose(f) ~= 0 then
		log:fatal("closing pcap file %s failed: %s", self.filename, errnoText())
	end
	self.buffer = nil
end

---------------------------------------------------------------------------------------------------
-- reader
---------------------------------------------------------------------------------------------------

local reader = {}
reader.__index = reader

local function readHeader(filename, ptr, size)
	if size < HDR_SIZE then
		log:fatal("%s is not a pcap file: %d bytes, shorter than a pcap file header", filename,
			size)
	end
	local hdr = cast(hdrPtr, ptr)
	local magic = hdr.magic_number
	if magic == 0xd4c3b2a1 or magic == 0x4d3cb2a1 then
		log:fatal("%s: big endian pcaps are not supported", filename)
	elseif magic ~= MAGIC_US and magic ~= MAGIC_NS then
		log:fatal("%s is not a pcap file (magic number 0x%08x)", filename, magic)
	end
	if hdr.version_major ~= 2 or hdr.version_minor ~= 4 then
		log:fatal("%s: unsupported pcap version %d.%d", filename, hdr.version_major,
			hdr.version_minor)
	end
	if hdr.thiszone ~= 0 then
		log:warn("timezone information in pcap header ignored")
	end
	if hdr.network ~= 1 then
		log:fatal("%s: unsupported link layer type %d (only Ethernet, 1)", filename, hdr.network)
	end
	return magic == MAGIC_NS, max(hdr.snaplen, MAX_RECORD)
end

--- pcap:newReader(filename) -> reader
function mod:newReader(filename) -- luacheck: ignore self
	if type(filename) ~= "string" then
		error(("pcap:newReader: expected a file name, got %s"):format(type(filename)), 2)
	end
	local fd = C.moonpy_pcap_open(filename, 0) -- O_RDONLY
	if fd < 0 then
		log:fatal("could not open pcap file %s: %s", filename, errnoText())
	end
	local size = tonumber(C.moonpy_pcap_lseek(fd, 0, 2)) -- SEEK_END
	if size < HDR_SIZE then
		C.moonpy_pcap_close(fd)
		log:fatal("%s is not a pcap file: %d bytes, shorter than a pcap file header", filename,
			math.max(size, 0))
	end
	local ptr = C.moonpy_pcap_mmap(nil, size, 1, 2, fd, 0) -- PROT_READ, MAP_PRIVATE
	if ptr == nil or cast("intptr_t", ptr) == -1 then
		local text = errnoText()
		C.moonpy_pcap_close(fd)
		log:fatal("mmap of %s failed: %s", filename, text)
	end
	local ok, nanos, maxRecord = pcall(readHeader, filename, ptr, size)
	if not ok then
		C.moonpy_pcap_munmap(ptr, size)
		C.moonpy_pcap_close(fd)
		error(nanos, 0)
	end
	return setmetatable({
		fd = fd, ptr = cast(u8p, ptr), size = size, offset = HDR_SIZE, filename = filename,
		nanos = nanos, maxRecord = maxRecord, warned = false,
	}, reader)
end

-- The record at the current offset: header pointer, or nil at the end of the file.
local function nextRecord(self)
	if self.ptr == nil then
		error(("pcap reader for %s: the file is closed"):format(self.filename), 3)
	end
	local remaining = self.size - self.offset
	if remaining <= 0 then
		return nil
	end
	if remaining < REC_SIZE then
		self:truncated(remaining)
		return nil
	end
	local rec = cast(recPtr, self.ptr + self.offset)
	local incl = rec.incl_len
	if incl > self.maxRecord then
		log:fatal("%s: corrupt pcap record at offset %d: captured length %d exceeds the "
			.. "snapshot length %d", self.filename, self.offset, incl, self.maxRecord)
	end
	if incl > remaining - REC_SIZE then
		self:truncated(remaining)
		return nil
	end
	return rec
end

function reader:truncated(remaining)
	if not self.warned then
		self.warned = true
		log:warn("%s is truncated: the record at offset %d is incomplete (%d bytes left); "
			.. "reading stops there", self.filename, self.offset, remaining)
	end
	self.offset = self.size
end

local oneBuf = ffi.new("struct rte_mbuf *[1]")

-- Copy the record into a fresh buffer from `pool`; nil when the pool is empty.
local function fill(self, rec, buf, bufSize)
	local incl, orig = rec.incl_len, rec.orig_len
	local room = min(bufSize - HEADROOM, buf.buf_len - buf.data_off)
	local copyLen = min(incl, room)
	local zeroLen = max(0, min(room - copyLen, orig - incl))
	local data = buf:getBytes()
	ffi.copy(data, rec.data, copyLen)
	if zeroLen > 0 then
		ffi.fill(data + copyLen, zeroLen)
	end
	buf.pkt_len = copyLen + zeroLen
	buf.data_len = copyLen + zeroLen
	local frac = rec.ts_usec
	if self.nanos then
		frac = floor(frac / 1000)
	end
	buf.udata64 = ffi.cast("uint64_t", rec.ts_sec) * 1000000 + frac
	self.offset = self.offset + REC_SIZE + incl
end

--- Read the next packet into a buffer of `mempool`. @return the buffer, or nil at the end
--- of the file (or when the pool is empty)
function reader:readSingle(mempool, mempoolBufSize)
	local rec = nextRecord(self)
	if rec == nil then
		return nil
	end
	if allocBulk(mempool, oneBuf, 1, 0) < 0 then
		return nil
	end
	local buf = oneBuf[0]
	fill(self, rec, buf, mempoolBufSize or 2048)
	return buf
end

--- Read up to bufs.size packets into `bufs` (allocated from bufs.mem).
--- @return the number read; 0 at the end of the file
function reader:read(bufs, mempoolBufSize)
	local pool = bufs.mem
	if pool == nil then
		log:fatal("pcap reader: the buf array is not associated with a memory pool")
	end
	local bufSize = mempoolBufSize or 2048
	local arr = bufs.array
	for i = 0, bufs.size - 1 do
		local rec = nextRecord(self)
		if rec == nil then
			return i
		end
		if allocBulk(pool, arr + i, 1, 0) < 0 then
			return i
		end
		fill(self, rec, arr[i], bufSize)
	end
	return bufs.size
end

--- Start again at the first packet.
function reader:reset()
	self.offset = HDR_SIZE
	self.warned = false
end

function reader:close()
	if self.ptr ~= nil then
		C.moonpy_pcap_munmap(self.ptr, self.size)
		C.moonpy_pcap_close(self.fd)
	end
	self.ptr = nil
	self.fd = nil
end

return mod
