"""What a grid will cost, from what runs cost before: the committed ``reports/results.csv`` (beside the
package in a source checkout). A run's cost is wall_s + null_s + faith_s (method, null control,
faithfulness curve); per (method, model) the estimate is the median over its recorded runs at the recorded
prompt count nearest the one asked for (the larger on a tie), scaled linearly from that count (a median over
mixed prompt counts, scaled from their median count, was 3x too high for the paper preset). Peak memory (``peak_rss_gb``, the run's resident high-water
mark, model included) is the largest recorded for the pair, with the prompt count it was measured at, and
is not scaled (methods and the faithfulness curve batch their prompts); a pair whose rows record none says
so, it is never guessed. A (method, model) pair without recorded runs is named as absent and counts nothing
in the total, which is then a lower bound."""
from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

COMMITTED = Path(__file__).resolve().parent.parent / "reports" / "results.csv"


@dataclass(frozen=True)
class Cost:
    seconds: float  # median wall_s + null_s + faith_s per run
    n_prompts: int  # median prompt count of those runs
    runs: int  # how many recorded runs the median is over
    by_prompts: dict[int, float]  # recorded prompt count -> median seconds a run at that count (never empty)
    peak_rss_gb: float | None = None  # the largest recorded peak resident memory of a run (None: none recorded)
    peak_n_prompts: int | None = None  # the prompt count of the run with that peak

    def seconds_for(self, n_prompts: int) -> float:
        """Seconds a run of ``n_prompts`` takes: the runs at the nearest recorded count, scaled linearly."""
        near = min(self.by_prompts, key=lambda n: (abs(n - n_prompts), -n))
        return self.by_prompts[near] * n_prompts / max(near, 1)


@dataclass
class Estimate:
    total_s: float
    per_run_s: dict[tuple[str, str, int], float] = field(default_factory=dict)  # (method, model, n_prompts)
    peak_gb: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)  # (method, model): (GiB, prompts)
    absent: list[tuple[str, str]] = field(default_factory=list)  # (method, model) with no recorded cost
    runs: int = 0

    def text(self) -> str:
        t = _duration(self.total_s)
        if not self.absent:
            return f"about {t}"
        return f"at least {t} ({len(self.absent)} method/model pairs have no recorded cost)"


def _duration(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{s / 60:.0f} min"
    return f"{s:.0f} s"


@lru_cache(maxsize=4)
def committed_costs(path: Path = COMMITTED) -> dict[tuple[str, str], Cost]:
    """Per (method, model): the median recorded cost of one run. Empty when the file is not there; rows
    that do not parse are skipped (this is an estimate, not a report)."""
    per_run: dict[str, tuple[str, str, float, int, float | None]] = {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                try:
                    s = sum(float(r[c] or 0) for c in ("wall_s", "null_s", "faith_s"))
                    n = int(r["n_prompts"])
                except (KeyError, TypeError, ValueError):
                    continue
                if math.isfinite(s) and r.get("cache_key"):  # one entry per run, not per level
                    per_run[r["cache_key"]] = (r["method"], r["model"], s, n, _gigabytes(r.get("peak_rss_gb")))
    except OSError:
        return {}
    groups: dict[tuple[str, str], list[tuple[float, int, float | None]]] = {}
    for method, model, s, n, gb in per_run.values():
        groups.setdefault((method, model), []).append((s, n, gb))
    out = {}
    for k, v in groups.items():
        peaks = [(gb, n) for _, n, gb in v if gb is not None]
        gb, at = max(peaks) if peaks else (None, None)
        counts = sorted({n for _, n, _ in v})
        by_prompts = {c: statistics.median(s for s, n, _ in v if n == c) for c in counts}
        out[k] = Cost(statistics.median(s for s, _, _ in v), int(statistics.median(n for _, n, _ in v)), len(v),
                      by_prompts, gb, at)
    return out


def _gigabytes(cell: str | None) -> float | None:
    try:
        x = float(cell) if cell else math.nan
    except ValueError:
        return None
    return x if math.isfinite(x) and x >= 0 else None


def estimate(specs: list, costs: dict[tuple[str, str], Cost] | None = None) -> Estimate:
    """Seconds the runs ``specs`` (RunSpec-like: method, model, n_prompts) will take by the recorded costs."""
    costs = committed_costs() if costs is None else costs
    est = Estimate(0.0, runs=len(specs))
    for s in specs:
        c = costs.get((s.method, s.model))
        if c is None:
            if (s.method, s.model) not in est.absent:
                est.absent.append((s.method, s.model))
            continue
        per = c.seconds_for(s.n_prompts)
        est.per_run_s[(s.method, s.model, s.n_prompts)] = per
        est.total_s += per
        if c.peak_rss_gb is not None:
            est.peak_gb[(s.method, s.model)] = (c.peak_rss_gb, c.peak_n_prompts or 0)
    return est
