# eal.pxi - EAL lifetime, thread registration, time and the stop flag.

cdef bint _eal_up = False
cdef int _udata64_offset = -1


def eal_init(list args):
    """Initialise DPDK's EAL once per process with ``args`` (argv[0] included)."""
    global _eal_up, _udata64_offset
    if _eal_up:
        raise EalError("the DPDK EAL is already initialised in this process; "
                       "it can be started once per process")
    cdef int argc = len(args)
    cdef char **argv = <char **>PyMem_Malloc((argc + 1) * sizeof(char *))
    encoded = [a.encode() for a in args]
    for i, a in enumerate(encoded):
        argv[i] = a
    argv[argc] = NULL
    cdef int rc
    try:
        with nogil:
            rc = rte_eal_init(argc, argv)
    finally:
        PyMem_Free(argv)
    if rc < 0:
        raise EalError(f"DPDK EAL initialisation failed: {_strerror(rte_errno)}; "
                       "see the EAL messages above (try more memory with --memory, "
                       "or check --eal arguments)")
    _eal_up = True
    # moonpy's per-mbuf 8-byte user field (MoonGen's udata64), a DPDK dynfield
    cdef rte_mbuf_dynfield field
    memset(&field, 0, sizeof(field))
    strncpy(field.name, b"moonpy_udata64", 63)
    field.size = 8
    field.align = 8
    _udata64_offset = rte_mbuf_dynfield_register(&field)
    if _udata64_offset < 0:
        raise EalError(f"cannot register the udata64 mbuf field: {_strerror(rte_errno)}")
    mp_init(rte_get_tsc_hz(), _udata64_offset)
    return rc


def eal_cleanup():
    """Release DPDK's resources; call after every port is stopped."""
    global _eal_up
    if _eal_up:
        rte_eal_cleanup()
        _eal_up = False


def eal_initialized() -> bool:
    return _eal_up


def register_thread() -> int:
    """Make the calling (non-EAL) thread a DPDK lcore; returns its lcore id."""
    cdef int rc
    with nogil:
        rc = rte_thread_register()
    if rc < 0:
        raise EalError(f"rte_thread_register failed: {_strerror(rte_errno)}; "
                       "too many task threads for RTE_MAX_LCORE")
    return rte_lcore_id()


def thread_core(int core):
    """The CPU core the calling task thread runs on (-1: not a task thread); a task on a
    core marked shared (``core_share``) yields to the others where it polls."""
    mp_thread_core(core)


def core_share(int core, bint shared):
    """Mark ``core`` as run by several tasks at once (cooperative yielding) or not."""
    mp_core_share(core, shared)


def pace_flush():
    """Frames the calling thread's paced sends still hold leave on schedule (freed if
    the run stopped); at the end of every thread that sends."""
    with nogil:
        mp_pace_flush()


def unregister_thread():
    """The end of a task thread: its held paced frames, then the lcore id."""
    with nogil:
        mp_pace_flush()
        rte_thread_unregister()


def tsc_hz() -> int:
    return rte_get_tsc_hz()


def rdtsc() -> int:
    return rte_rdtsc()


def install_signal_handlers():
    """SIGINT/SIGTERM set the C stop flag (a second one aborts, as in MoonGen)."""
    mp_install_signal_handlers()


def signal_received() -> int:
    """The last signal number the C handler saw, or 0."""
    return mp_signal_received()


def running(double extra_seconds=0.0) -> bool:
    cdef uint64_t extra = <uint64_t>(extra_seconds * rte_get_tsc_hz())
    return mp_running(extra) != 0


def stop():
    mp_stop()


def time_left() -> float:
    """Seconds until the run's deadline; -1 without one, 0 once stopped."""
    return mp_time_left()


def reset_lifecycle():
    """Clear the stop flag so that one process can start another run (moonpy serve)."""
    mp_reset_lifecycle()


def set_runtime(double seconds):
    mp_set_runtime_cycles(<uint64_t>(seconds * rte_get_tsc_hz()))
