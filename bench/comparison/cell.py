"""One cell: the harness's run (the same quantities as a ``cdbench run`` row, never from a cache), with the
method's own run handed to a timer (pytest-benchmark's), and the forward-pass floor it is compared with."""
from __future__ import annotations

import dataclasses
import math
import statistics
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from bench.comparison.profiles import Cell

Timer = Callable[[Callable[..., Any], tuple], Any]  # timer(fn, args) -> fn(*args), timed
FLOOR_ROUNDS = 5
LEVEL_COLUMNS = ("auc", "auc_mib", "null_auc", "auc_acdc", "precision_at_k", "recall_at_k", "k")


@contextmanager
def _timed_method(key: str, timer: Timer) -> Iterator[None]:
    """Register, for the duration, a copy of method ``key`` whose first run goes through ``timer``: the
    harness's main run is the method's first, its null control (contrast methods) the second."""
    from methods import METHODS

    spec = METHODS[key]
    calls: list[int] = []

    def run(model, prompts, config, seed):
        calls.append(1)
        if len(calls) == 1:
            return timer(_synced(spec.run), (model, prompts, config, seed))
        return spec.run(model, prompts, config, seed)

    METHODS[key] = dataclasses.replace(spec, run=run)
    try:
        yield
    finally:
        METHODS[key] = spec


def _synced(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` that waits for the GPU before returning (its time is then the work's, not the launch's)."""
    def wrapped(model, *args):
        out = fn(model, *args)
        if str(model.cfg.device).startswith("cuda"):
            import torch

            torch.cuda.synchronize()
        return out
    return wrapped


def run_cell(cell: Cell, timer: Timer) -> dict[str, Any]:
    """The cell's run record (``rows`` as ``cdbench run`` records them, scores, faithfulness), computed
    afresh by ``bench.harness.prepare`` / ``compute`` with the method's run timed by ``timer``."""
    from bench.harness import compute, prepare

    with _timed_method(cell.spec.method, timer):
        prepared = prepare(cell.spec, cell.device)
        return compute(prepared, cell.device)


def _forward(model, prompts) -> None:
    import torch

    with torch.inference_mode():
        for batch in (prompts.clean, prompts.corrupted):
            for i in range(0, len(batch), 64):
                model(batch.tokens[i: i + 64].to(model.cfg.device))
        if str(model.cfg.device).startswith("cuda"):
            torch.cuda.synchronize()


def floor_target(cell: Cell) -> tuple[Callable[..., None], tuple]:
    """The floor for the cell's group: one batched forward pass of the model over the cell's positive and
    negative prompts (the least any method that looks at activations must do), as ``(fn, args)``."""
    from bench.models.registry import load_model
    from bench.tasks import get_task

    loaded = load_model(cell.spec.model, cell.device)
    prompts = get_task(cell.spec.task).build(loaded, cell.spec.n_prompts, cell.spec.seed)
    return _forward, (loaded.model, prompts)


def measure_floor(cell: Cell, rounds: int = FLOOR_ROUNDS) -> float:
    """The floor's median seconds over ``rounds`` timed passes after one warm-up (used when the group's
    floor test did not run in this session, e.g. under ``-k``)."""
    fn, args = floor_target(cell)
    return median_seconds(fn, *args, rounds=rounds)


def median_seconds(fn: Callable[..., Any], *args: Any, rounds: int = FLOOR_ROUNDS) -> float:
    """Median wall seconds of ``fn(*args)`` over ``rounds`` calls after one untimed warm-up call."""
    fn(*args)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _number(v: Any) -> Any:
    """JSON-safe: NaN (a column that does not apply) becomes None."""
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def extra_info(cell: Cell, run: dict[str, Any], method_s: float, floor_s: float, profile: str) -> dict[str, Any]:
    """What ``benchmark.extra_info`` records for a cell: per level (``node``, ``edge``, ``edge_head``, ``node_mlp``)
    the AUC, MIB's AUROC, null AUC, AUC (ACDC), precision and recall at k; CPR / CMD at the faithfulness level; the
    method's seconds, the floor's and their ratio; seed, prompt count, cache key and commit. Columns that
    do not apply to the cell (a null AUC for a method without a null control) are left out."""
    rows = run["rows"]
    first = rows[0]
    info: dict[str, Any] = {"cell": cell.id, "profile": profile, "method": cell.spec.method, "task": first["task"],
                            "model": first["model"], "seed": first["seed"], "n_prompts": first["n_prompts"],
                            "gt_version": first["gt_version"], "cache_key": first["cache_key"],
                            "commit": first["cdbench_commit"], "device": first["device"]}
    for row in rows:
        for col in LEVEL_COLUMNS:
            v = _number(row.get(col))
            if v is not None and not (col == "k" and v == 0):
                info[f"{col}_{row['level']}"] = v
        if row.get("faith_level"):
            info.update(cpr=_number(row["cpr"]), cmd=_number(row["cmd"]), faith_level=row["faith_level"],
                        faith_status=row["faith_status"])
    info.update(wall_s=first["wall_s"], method_s=method_s, floor_s=floor_s,
                time_ratio=method_s / floor_s if floor_s > 0 else None)
    return info
