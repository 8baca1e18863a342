"""Progress and warnings on stderr. On a terminal a progress bar is tqdm's; elsewhere (a CI log, a file) it is
one line each time another few percent of the work is done, with the elapsed time, so a log is never silent
for minutes and never fills with carriage returns."""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, Iterator, Sequence, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def warn(message: str) -> None:
    """One warning line on stderr, above any progress bar."""
    tqdm.write(f"cdbench: warning: {message}", file=sys.stderr)


def elapsed(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h {s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"


class LineProgress:
    """tqdm's ``update`` / ``close`` for a stream that is not a terminal: a line ``DESC: n/total UNITs (p%),
    Ts elapsed`` whenever the done fraction reaches the next multiple of ``step_pct`` (and the last item),
    once ``quiet_s`` seconds have passed since the start (short jobs stay silent)."""

    def __init__(self, total: int, desc: str, unit: str = "it", step_pct: float = 5.0, quiet_s: float = 0.0,
                 clock: Callable[[], float] = time.monotonic, file: Any = None) -> None:
        self.total, self.desc, self.unit, self.step, self.quiet_s = total, desc, unit, step_pct, quiet_s
        self.clock, self.file = clock, file
        self.n, self.start, self.next_pct = 0, clock(), step_pct

    def update(self, n: int = 1) -> None:
        self.n += n
        pct = 100.0 * self.n / self.total if self.total else 100.0
        if pct + 1e-9 < self.next_pct and self.n < self.total:
            return
        while self.next_pct <= pct + 1e-9:
            self.next_pct += self.step
        spent = self.clock() - self.start
        if spent >= self.quiet_s:
            print(f"{self.desc}: {self.n}/{self.total} {self.unit}s ({pct:.0f}%), {elapsed(spent)} elapsed",
                  file=self.file or sys.stderr, flush=True)

    def close(self) -> None:
        pass


def progress(total: int, desc: str, unit: str = "it", *, leave: bool = True, step_pct: float = 5.0,
             quiet_s: float = 0.0, disable: bool = False) -> Any:
    """A tqdm bar on a terminal, a :class:`LineProgress` elsewhere (nothing when ``disable``)."""
    if sys.stderr.isatty() or disable:
        return tqdm(total=total, desc=desc, unit=unit, leave=leave, disable=disable, file=sys.stderr)
    return LineProgress(total, desc, unit, step_pct, quiet_s)


def track(items: Sequence[T], desc: str, unit: str = "it", *, step_pct: float = 10.0, quiet_s: float = 30.0) -> Iterator[T]:
    """Iterate ``items`` under :func:`progress`: a sweep of a few slow steps (ACDC's thresholds, SP's
    lambdas) says how far it is in a CI log once it has run ``quiet_s`` seconds."""
    bar = progress(len(items), desc, unit, leave=False, step_pct=step_pct, quiet_s=quiet_s)
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        bar.close()
