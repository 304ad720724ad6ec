"""TSC timers and clocks (MoonGen's ``timer`` module and ``getTime``)."""

from __future__ import annotations

import time

from moonpy import _dpdk

__all__ = ["Timer", "get_time", "sleep_micros", "sleep_millis", "tsc_hz"]


def get_time() -> float:
    """Seconds on the TSC clock (MoonGen's ``getTime``); monotonic time before DPDK runs."""
    if _dpdk.eal_initialized():
        return _dpdk.rdtsc() / _dpdk.tsc_hz()
    return time.monotonic()


def tsc_hz() -> int:
    """TSC cycles per second (MoonGen's ``getCyclesFrequency``)."""
    return _dpdk.tsc_hz()


class Timer:
    """A timer that expires ``seconds`` after it was created or reset.

    ``busy_wait()`` spins (with the GIL released between checks of the stop
    flag it never holds for long) until the timer expires or the run stops.
    """

    def __init__(self, seconds: float = 0.0) -> None:
        self.time = seconds
        self.stop = get_time() + seconds

    def running(self) -> bool:
        return self.stop > get_time()

    def expired(self) -> bool:
        return self.stop <= get_time()

    def time_left(self) -> float:
        return self.stop - get_time()

    def reset(self, seconds: float | None = None) -> None:
        self.stop = get_time() + (self.time if seconds is None else seconds)

    def busy_wait(self) -> bool:
        """Spin until expired or the run stops; returns whether the run goes on."""
        while not self.expired() and _dpdk.running():
            pass
        return _dpdk.running()

    wait = busy_wait

    def sleep(self) -> bool:
        """Like ``busy_wait`` but sleeps (lets other Python threads run)."""
        left = self.time_left()
        while left > 0 and _dpdk.running():
            time.sleep(min(left, 0.01))
            left = self.time_left()
        return _dpdk.running()


def sleep_millis(ms: float) -> None:
    """Sleep ``ms`` milliseconds (MoonGen's ``sleepMillis``; this one yields the CPU)."""
    time.sleep(ms / 1000)


def sleep_micros(us: float) -> None:
    """Busy-wait ``us`` microseconds on the TSC."""
    end = get_time() + us / 1e6
    while get_time() < end:
        pass
