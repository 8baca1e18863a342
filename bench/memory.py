"""Peak resident memory of this process over one run (a row's ``peak_rss_gb``), so ``--dry-run`` can say what
a grid will need from what runs needed before. Linux only: the kernel's high-water mark (``VmHWM``) is reset
by writing 5 to ``/proc/self/clear_refs`` at the run's start, then read at its end. It counts everything
resident: the loaded model, and whatever earlier runs in the same process left resident (freed memory the
allocator keeps), so it bounds what the run needs from above. Where the mark cannot
be reset (another OS, a locked-down /proc), nothing is recorded: a process maximum since start-up would
charge one run with an earlier run's memory."""
from __future__ import annotations

from pathlib import Path

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")


def reset_peak() -> bool:
    """Start a new high-water mark at the current resident size; False where the kernel does not allow it."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_gb() -> float | None:
    """The resident high-water mark since the last reset, in GiB (None when /proc does not say)."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None
