"""Run a validated plan: every run in turn (or on Ray, :mod:`bench.ray_executor`), one progress bar over
the grid (one line per few percent when stderr is not a terminal), each finished run recorded at once (its
run file, then its rows appended under the results file's lock), so an interrupted grid keeps everything
that finished. A run that fails is reported with its error line and does not stop the others."""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from bench.errors import CdbenchError
from bench.harness import RunSpec, run_one
from bench.plan import Plan
from bench.progress import progress
from bench.results import append_rows, known_keys, write_run

log = logging.getLogger(__name__)
# What stops one run but not the grid: bad input found late (NaN scores, a setting the model cannot serve) and
# running out of memory; any other exception is a bug and stops everything with its traceback.
RUN_ERRORS = (CdbenchError, MemoryError) + ((torch.OutOfMemoryError,) if hasattr(torch, "OutOfMemoryError") else ())


@dataclass
class Outcome:
    rows: list[dict[str, Any]] = field(default_factory=list)  # every finished run's rows, cached ones included
    failures: list[tuple[RunSpec, str]] = field(default_factory=list)
    appended: int = 0  # rows this command added to the results file (a cached rerun's rows are there already)


class Recorder:
    """Writes each finished run into the results file and its run file, once per cache key."""

    def __init__(self, results: Path) -> None:
        self.results = results
        self.known = known_keys(results)
        self.outcome = Outcome()

    def record(self, run: dict[str, Any]) -> None:
        key = run["rows"][0]["cache_key"]
        write_run(self.results, key, run)
        if key not in self.known:
            self.outcome.appended += append_rows(self.results, run["rows"])
            self.known.add(key)
        self.outcome.rows.extend(run["rows"])

    def fail(self, spec: RunSpec, message: str) -> None:
        self.outcome.failures.append((spec, message))
        tqdm.write(f"cdbench: run failed: {spec.method} on {spec.task}/{spec.model} seed {spec.seed}: {message}",
                   file=sys.stderr)


def grid_bar(n: int, desc: str) -> Any:
    return progress(n, desc, "run", disable=n < 2)


def run_plan(plan: Plan, cache_dir: Path | None) -> Outcome:
    rec = Recorder(plan.results)
    bar = grid_bar(len(plan.specs), "cdbench run")
    try:
        for spec in plan.specs:
            try:
                rec.record(run_one(spec, plan.device, cache_dir))
            except RUN_ERRORS as exc:
                rec.fail(spec, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            bar.update()
    finally:
        bar.close()
    return rec.outcome
