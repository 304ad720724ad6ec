"""Histograms of latencies and other samples (MoonGen's ``histogram`` module).

Every distinct value is its own bucket, as in MoonGen; ``print()`` writes
MoonGen's line::

    [prefix] Samples: 12345, Average: 1234.5 ns, StdDev: 56.7 ns, Quartiles: 1200.0/1230.0/1270.0 ns
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import IO

from moonpy.log import log_info, lua_number


def _fmt1(x: float) -> str:
    return "-nan" if math.isnan(x) else f"{x:.1f}"


class Histogram:
    """Counts samples by value."""

    def __init__(self) -> None:
        self.histo: dict[float, int] = {}
        self._dirty = True
        self.num_samples = 0
        self.sum = 0.0
        self.avg = math.nan
        self.std_dev = math.nan
        self.minimum: float | None = None
        self.maximum: float | None = None
        self.quarts: tuple[float, float, float] = (math.nan, math.nan, math.nan)
        self.sorted_histo: list[tuple[float, int]] = []

    def update(self, k: float | None) -> None:
        """Count one sample; ``None`` (a lost packet) is ignored."""
        if k is None:
            return
        self.histo[k] = self.histo.get(k, 0) + 1
        self._dirty = True

    def update_many(self, values: list[float]) -> None:
        for k in values:
            self.histo[k] = self.histo.get(k, 0) + 1
        self._dirty = True

    def calc(self) -> None:
        cells = sorted(self.histo.items())
        n = sum(v for _, v in cells)
        total = float(sum(k * v for k, v in cells))
        self.sorted_histo = cells
        self.num_samples = n
        self.sum = total
        self.avg = total / n if n else math.nan
        squares = sum(v * (k - self.avg) ** 2 for k, v in cells) if n else 0.0
        self.std_dev = (squares / (n - 1)) ** 0.5 if n != 1 else math.nan
        if cells:
            self.minimum, self.maximum = cells[0][0], cells[-1][0]
            self.quarts = _quartiles(cells, n)
        else:
            self.minimum = self.maximum = None
            self.quarts = (math.nan, math.nan, math.nan)
        self._dirty = False

    def _ensure(self) -> None:
        if self._dirty:
            self.calc()

    def percentile(self, p: float) -> float | None:
        """The value at percentile ``p`` (0-100)."""
        if not 0 <= p <= 100:
            raise ValueError(f"percentile {p} is outside 0..100")
        self._ensure()
        target = self.num_samples * p / 100
        pos = 0
        for k, v in self.sorted_histo:
            if pos + v - 1 >= target:
                return k
            pos += v
        return None

    def totals(self) -> tuple[int, float, float]:
        self._ensure()
        return self.num_samples, self.sum, self.avg

    def average(self) -> float:
        self._ensure()
        return self.avg

    def min(self) -> float | None:
        self._ensure()
        return self.minimum

    def max(self) -> float | None:
        self._ensure()
        return self.maximum

    def standard_deviation(self) -> float:
        self._ensure()
        return self.std_dev

    def quartiles(self) -> tuple[float, float, float]:
        self._ensure()
        return self.quarts

    def median(self) -> float:
        self._ensure()
        return self.quarts[1]

    def samples(self) -> Iterator[tuple[float, int]]:
        """``(value, count)`` in increasing value."""
        self._ensure()
        return iter(list(self.sorted_histo))

    def summary(self, prefix: str | None = None) -> str:
        self._ensure()
        q1, q2, q3 = self.quarts
        head = f"[{prefix}] " if prefix else ""
        return (
            f"{head}Samples: {self.num_samples}, Average: {_fmt1(self.avg)} ns, "
            f"StdDev: {_fmt1(self.std_dev)} ns, "
            f"Quartiles: {_fmt1(q1)}/{_fmt1(q2)}/{_fmt1(q3)} ns"
        )

    def print(self, prefix: str | None = None) -> None:
        print(self.summary(prefix), flush=True)

    def save(self, file: str | IO[str]) -> None:
        """Write ``value,count`` lines in increasing value."""
        self._ensure()
        lines = "".join(f"{lua_number(k)},{v}\n" for k, v in self.sorted_histo)
        if isinstance(file, str):
            log_info(f"Saving histogram to '{file}'")
            with open(file, "w") as f:
                f.write(lines)
        else:
            file.write(lines)

    def __len__(self) -> int:
        self._ensure()
        return self.num_samples


def _quartiles(cells: list[tuple[float, int]], n: int) -> tuple[float, float, float]:
    """MoonGen's walk: the first values at positions >= N/4, N/2, 3N/4; one per step."""
    q: list[float | None] = [None, None, None]
    quarter = n / 4
    pos = 0
    for k, v in cells:
        done = False
        for _ in range(v):
            if q[0] is None and pos >= quarter:
                q[0] = k
            elif q[1] is None and pos >= 2 * quarter:
                q[1] = k
            elif q[2] is None and pos >= 3 * quarter:
                q[2] = k
                done = True
                break
            pos += 1
        if done:
            break
    return tuple(math.nan if x is None else float(x) for x in q)  # type: ignore[return-value]


def create() -> Histogram:
    return Histogram()
