# errors.pxi - the one funnel from DPDK return codes to Python exceptions.


class DpdkError(Exception):
    """A DPDK call failed; the message says what failed and what to do."""


class EalError(DpdkError):
    """EAL initialisation or a process-wide DPDK facility failed."""


class DeviceError(DpdkError):
    """A port could not be created, configured, started or queried."""


class PoolExhausted(DpdkError):
    """A mempool had no free buffers left."""


cdef str _strerror(int rc):
    cdef int code = -rc if rc < 0 else rc
    return rte_strerror(code).decode("utf-8", "replace")


cdef object convert_error(int rc, str what, str fix="", type cls=DeviceError):
    """Build the exception for a negative DPDK return code ``rc``."""
    msg = f"{what}: {_strerror(rc)}"
    if fix:
        msg += f"; {fix}"
    return cls(msg)


cdef inline int check(int rc, str what, str fix="", type cls=DeviceError) except -1:
    if rc < 0:
        raise convert_error(rc, what, fix, cls)
    return rc
