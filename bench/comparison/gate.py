"""The regression gate: a cell's figures today against the same cell in a committed baseline (a
pytest-benchmark JSON written by ``pytest --benchmark --benchmark-json PATH``; its ``extra_info``).

- **AUC**: every AUC column of the baseline cell (``auc_<level>``, ``auc_acdc_<level>``) must be present
  today and not below the baseline by more than ``AUC_TOLERANCE``. On CPU a cell's scores are a function
  of its seed (the same cell run twice gives identical AUCs, ``tests/test_plugin_gate.py``), so any
  drop is a change in the code or its libraries; the tolerance only absorbs what a different machine's
  floating-point kernels (another BLAS path, another thread count) can move in a rank-based AUC.
- **Time**: the method's seconds over the forward-pass floor measured in the same session must not grow
  beyond ``TIME_FACTOR`` times the baseline's ratio. Both are single wall-clock measurements on shared
  CI machines, so the factor is generous (sae_codes_fast on planted-frac measured 50.8 and 7.8 times its
  floor in two runs on the 2-core machine, busy with other jobs, that wrote the baseline); and a method whose run is under ``TIME_MIN_S`` today is not
  time-gated (its ratio is timer and scheduler noise).
- A figure above its baseline by more than the tolerance (AUC) or faster by the factor (time) passes and
  is reported as improved; a cell with no baseline passes and is listed as new."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AUC_TOLERANCE = 0.02
TIME_FACTOR = 10.0  # the ratio moved 6.5x between two runs of one cell on a shared 2-core machine
TIME_MIN_S = 0.5

NEW, SAME, IMPROVED, REGRESSED = "new", "same", "improved", "regressed"


@dataclass(frozen=True)
class Verdict:
    """The gate's word on one cell: its status and one line per figure that moved (or why it failed)."""

    cell: str
    status: str
    lines: tuple[str, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> bool:
        return self.status == REGRESSED


class BaselineError(ValueError):
    """A baseline file that cannot be read as a pytest-benchmark JSON with cdbench cells."""


def load_baseline(path: Path) -> dict[str, dict[str, Any]]:
    """Cell id -> the cell's ``extra_info`` from a pytest-benchmark JSON (entries without a cdbench cell,
    such as the floors, are ignored)."""
    try:
        data = json.loads(Path(path).read_text())
        benches = data["benchmarks"]
        return {b["extra_info"]["cell"]: b["extra_info"] for b in benches if "cell" in b.get("extra_info", {})}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BaselineError(f"baseline {path} is not a pytest-benchmark JSON of cdbench cells ({exc})") from None


def auc_columns(info: dict[str, Any]) -> list[str]:
    """The AUC columns the gate holds a cell to: ROC AUC and ACDC's AUC at every level (not the null AUC,
    which is a control and is better low)."""
    return sorted(k for k, v in info.items() if k.startswith("auc_") and v is not None)


def judge(cell: str, today: dict[str, Any], base: dict[str, Any] | None, baseline_name: str = "the baseline",
          auc_tolerance: float = AUC_TOLERANCE, time_factor: float = TIME_FACTOR,
          time_min_s: float = TIME_MIN_S) -> Verdict:
    """Compare one cell's ``extra_info`` today with its baseline entry (None: no baseline for it)."""
    if base is None:
        return Verdict(cell, NEW, (f"cell {cell}: not in {baseline_name}; new",))
    failed, better = [], []
    for col in auc_columns(base):
        was, now = float(base[col]), today.get(col)
        if now is None:
            failed.append(f"cell {cell}: {col} was {was:.4f} in {baseline_name} and is not reported today")
        elif now < was - auc_tolerance:
            failed.append(f"cell {cell}: {col} fell from {was:.4f} in {baseline_name} to {now:.4f} today "
                          f"(by {was - now:.4f}, tolerance {auc_tolerance})")
        elif now > was + auc_tolerance:
            better.append(f"cell {cell}: {col} rose from {was:.4f} in {baseline_name} to {now:.4f} today")
    was_r, now_r = base.get("time_ratio"), today.get("time_ratio")
    if was_r and now_r:
        if now_r > time_factor * was_r and today.get("method_s", 0.0) >= time_min_s:
            failed.append(f"cell {cell}: time / floor grew from {was_r:.2f} in {baseline_name} to {now_r:.2f} today "
                          f"({now_r / was_r:.1f}x, allowed {time_factor}x; method {today['method_s']:.3f} s, "
                          f"floor {today['floor_s']:.4f} s)")
        elif now_r < was_r / time_factor and base.get("method_s", 0.0) >= time_min_s:
            better.append(f"cell {cell}: time / floor fell from {was_r:.2f} in {baseline_name} to {now_r:.2f} today")
    if failed:
        return Verdict(cell, REGRESSED, tuple(failed + better))
    return Verdict(cell, IMPROVED if better else SAME, tuple(better))
