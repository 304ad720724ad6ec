# mbufview.pxi - packet views over mbuf memory for the Python API (moonpy.packet,
# moonpy.memory): the (documented as slow) per-packet path; nothing else here runs Python
# per packet.

from cpython.buffer cimport PyBUF_FORMAT


cdef class MbufView:
    """A window on one buffer of a BufArray: its data room as a writable buffer
    (``memoryview(view)``) plus the mbuf fields scripts use.

    Valid while the buffer is in its array: once the array is sent or freed,
    every access raises instead of touching a recycled buffer. (A memoryview
    taken earlier is not tracked: do not keep one past ``send``.)
    Python subclasses (moonpy.packet.Packet) add the header accessors.
    """
    cdef rte_mbuf *m
    cdef BufArray owner
    cdef unsigned idx
    cdef public object layout  # the header layout, when the array knows it (moonpy.proto)
    cdef Py_ssize_t _shape[1]
    cdef Py_ssize_t _strides[1]

    def __init__(self):
        raise TypeError("packet views come from a BufArray (iterate over it)")

    cdef inline int _check(self) except -1:
        if self.owner is None or self.idx >= self.owner.count \
                or self.owner.bufs[self.idx] != self.m:
            raise ValueError("this packet's buffer was already sent or freed; "
                             "views are valid until the BufArray is sent or freed")
        return 0

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        self._check()
        cdef rte_mbuf *m = self.m
        self._shape[0] = m.buf_len - m.data_off
        self._strides[0] = 1
        buffer.buf = <char *>m.buf_addr + m.data_off
        buffer.obj = self
        buffer.len = self._shape[0]
        buffer.readonly = 0
        buffer.itemsize = 1
        buffer.format = NULL
        if flags & PyBUF_FORMAT:
            buffer.format = b"B"
        buffer.ndim = 1
        buffer.shape = self._shape
        buffer.strides = self._strides
        buffer.suboffsets = NULL
        buffer.internal = NULL

    def __releasebuffer__(self, Py_buffer *buffer):
        pass

    @property
    def valid(self) -> bool:
        """Whether the buffer still belongs to its array."""
        return not (self.owner is None or self.idx >= self.owner.count
                    or self.owner.bufs[self.idx] != self.m)

    @property
    def index(self) -> int:
        return self.idx

    @property
    def size(self) -> int:
        """The frame length (``pkt_len``/``data_len``, CRC excluded)."""
        self._check()
        return self.m.data_len

    @size.setter
    def size(self, unsigned n):
        self._check()
        if n > <unsigned>(self.m.buf_len - self.m.data_off):
            raise ValueError(f"a frame of {n} bytes does not fit this buffer "
                             f"({self.m.buf_len - self.m.data_off} bytes)")
        self.m.pkt_len = n
        self.m.data_len = n

    @property
    def capacity(self) -> int:
        """Bytes of data room from the start of the frame."""
        self._check()
        return self.m.buf_len - self.m.data_off

    @property
    def ol_flags(self) -> int:
        self._check()
        return self.m.ol_flags

    @ol_flags.setter
    def ol_flags(self, uint64_t v):
        self._check()
        self.m.ol_flags = v

    @property
    def tx_offload(self) -> int:
        self._check()
        return self.m.tx_offload

    @tx_offload.setter
    def tx_offload(self, uint64_t v):
        self._check()
        self.m.tx_offload = v

    @property
    def vlan_tci(self) -> int:
        self._check()
        return self.m.vlan_tci

    @vlan_tci.setter
    def vlan_tci(self, uint16_t v):
        self._check()
        self.m.vlan_tci = v

    @property
    def udata64(self) -> int:
        """moonpy's 8-byte user field: the RX TSC after ``recv_with_timestamps``."""
        self._check()
        return (<uint64_t *>(<char *>self.m + _udata64_offset))[0]

    @udata64.setter
    def udata64(self, uint64_t v):
        self._check()
        (<uint64_t *>(<char *>self.m + _udata64_offset))[0] = v

    def read_tsc(self, unsigned offset=48) -> int:
        """The 8-byte host-order value at ``offset`` (a software TX timestamp)."""
        self._check()
        if offset + 8 > <unsigned>(self.m.buf_len - self.m.data_off):
            raise ValueError(f"offset {offset} is outside the buffer")
        cdef uint64_t v
        memcpy(&v, <char *>self.m.buf_addr + self.m.data_off + offset, 8)
        return v

    def get_bytes(self) -> bytes:
        """A copy of the frame (``size`` bytes)."""
        self._check()
        return PyBytes_FromStringAndSize(<char *>self.m.buf_addr + self.m.data_off,
                                         self.m.data_len)

    def set_bytes(self, const uint8_t[:] data, bint resize=True):
        """Copy ``data`` to the start of the frame; ``resize`` sets the size to its length."""
        self._check()
        cdef unsigned n = data.shape[0]
        if n > <unsigned>(self.m.buf_len - self.m.data_off):
            raise ValueError(f"{n} bytes do not fit a buffer of "
                             f"{self.m.buf_len - self.m.data_off}")
        if n:
            memcpy(<char *>self.m.buf_addr + self.m.data_off, &data[0], n)
        if resize:
            self.m.pkt_len = n
            self.m.data_len = n


def mbuf_views(BufArray arr, type cls=MbufView, layout=None) -> list:
    """One view (an instance of ``cls``, a MbufView subclass) per filled buffer,
    each with ``layout`` as its header layout hint."""
    if not issubclass(cls, MbufView):
        raise TypeError(f"{cls.__name__} is not a MbufView subclass")
    cdef list out = []
    cdef MbufView v
    cdef unsigned i
    for i in range(arr.count):
        if arr.bufs[i] == NULL:
            continue
        v = <MbufView>cls.__new__(cls)
        v.m = arr.bufs[i]
        v.owner = arr
        v.idx = i
        v.layout = layout
        out.append(v)
    return out


def mbuf_view(BufArray arr, unsigned i, type cls=MbufView, layout=None):
    """The view of buffer ``i`` of ``arr``."""
    if not issubclass(cls, MbufView):
        raise TypeError(f"{cls.__name__} is not a MbufView subclass")
    arr._get(i)
    cdef MbufView v = <MbufView>cls.__new__(cls)
    v.m = arr.bufs[i]
    v.owner = arr
    v.idx = i
    v.layout = layout
    return v
