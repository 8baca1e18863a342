"""ACDC (Conmy et al. 2023) through auto-circuit, as the ACDC paper ran it: KL divergence to the clean
output (squared error where the output is a real value, as its tracr runs), edges patched from the
corrupted prompts, over the paper's per-task threshold sweep (its launch configuration,
``experiments/launch_spreadsheet.py``: IOI 10^linspace(-6, 0, 31), greater-than 10^linspace(-6, -4, 11),
docstring and induction 10^linspace(-4, 0, 21), tracr 10^linspace(-5, -1, 21)), on every prompt.

Each threshold tau gives one circuit (the edges ACDC keeps). An edge's score is the largest tau at which
it is kept (0 if it never is), and a head's node score is the largest tau at which any incident edge is
kept (ACDC's rule: a node is in the circuit when one of its edges is). The circuits themselves are returned
as a sweep, which the harness scores the way ACDC scores its ROC (Pareto points, staircase area). Each tau's
outcome is cached on disk under ``$CDBENCH_HOME/acdc``, keyed by the model's parameters and the prompts, so
an interrupted sweep resumes."""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bench.home import acdc_dir
from bench.io import atomic_write_text
from bench.patching import Bridge, for_prompts
from bench.progress import track
from bench.provenance import source_hash, state_sha256, versions
from bench.tasks.base import TaskPrompts
from methods.base import MethodResult, Sweep, check_target, quiet_progress, resolve_target

log = logging.getLogger(__name__)


def sweep(lo: float, hi: float, n: int) -> tuple[float, ...]:
    return tuple(float(x) for x in 10 ** np.linspace(lo, hi, n))


@dataclass(frozen=True)
class Config:
    thresholds: tuple[float, ...] = sweep(-4, 0, 21)  # ACDC's docstring / induction KL sweep
    target: str = "auto"  # "kl_div", "mse", or "auto": mse where the task's output is a real value

    def __post_init__(self) -> None:
        if not self.thresholds or any(not (t > 0 and np.isfinite(t)) for t in self.thresholds):
            raise ValueError("thresholds must be positive finite numbers")
        check_target(self.target)


# The ACDC paper's sweep per task family (experiments/launch_spreadsheet.py), KL (l2 for tracr).
FAMILY_SETTINGS = {"ioi": {"thresholds": sweep(-6, 0, 31)}, "greater_than": {"thresholds": sweep(-6, -4, 11)},
                   "docstring": {"thresholds": sweep(-4, 0, 21)}, "induction": {"thresholds": sweep(-4, 0, 21)},
                   "tracr": {"thresholds": sweep(-5, -1, 21)}}


def _run_key(model, prompts: TaskPrompts, target: str) -> str:
    """Everything a threshold's outcome depends on: parameters, prompts, target, code and library versions."""
    h = hashlib.sha256()
    h.update(state_sha256(model).encode())
    h.update(prompts.content_hash().encode())
    h.update(f"{target}|{source_hash()}|{versions()}|{model.cfg.device}".encode())
    return h.hexdigest()[:16]


def _fix_edge_order(bridge: Bridge) -> None:
    """ACDC's result depends on the order it visits edges; auto-circuit keeps them in a set (its order
    changes with Python's hash seed, so two processes gave edge AUC 0.65-0.70 on one seed) and sorts only by
    receiver layer. Fix the order: receivers from the output back (by layer, then name), each one's senders
    from the latest layer back, as ACDC walks its graph."""
    from ordered_set import OrderedSet

    bridge.pm.edges = OrderedSet(sorted(bridge.pm.edges, key=lambda e: (-e.dest.layer, e.dest.name, -e.src.layer,
                                                                      e.src.name)))


def read_tau_entry(path: Path, n_edges: int) -> tuple[list[int], float] | None:
    """One threshold's cached outcome ``{"seconds": s, "kept": [edge indices]}`` as (kept, seconds); None on a
    miss, and on a file that is unreadable, truncated or out of range (a warning names it; it is recomputed)."""
    from bench.progress import warn

    try:
        entry = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        warn(f"ACDC cache file {path} is unreadable ({type(exc).__name__}); recomputing that threshold")
        return None
    kept = entry.get("kept") if isinstance(entry, dict) else None
    seconds = entry.get("seconds") if isinstance(entry, dict) else None
    if (not isinstance(kept, list) or not all(isinstance(i, int) and 0 <= i < n_edges for i in kept)
            or isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0):
        warn(f"ACDC cache file {path} is malformed; recomputing that threshold")
        return None
    return kept, float(seconds)


def _kept_at(bridge: Bridge, tau: float, target: str, path: Path) -> tuple[torch.Tensor, float, bool]:
    """(kept mask over the additive edges' cdbench indices, seconds, from cache) for one threshold."""
    import auto_circuit.prune_algos.ACDC as acdc_module

    entry = read_tau_entry(path, len(bridge.graph.edges))
    if entry is not None:
        kept = torch.zeros(len(bridge.graph.edges), dtype=torch.bool)
        kept[entry[0]] = True
        return kept, entry[1], True
    t0 = time.perf_counter()
    with quiet_progress(acdc_module):
        ps = acdc_module.acdc_prune_scores(bridge.pm, bridge.loader, None, tao_exps=[0], tao_bases=[tau],  # type: ignore[list-item]
                               faithfulness_target=target)
    seconds = time.perf_counter() - t0
    kept = torch.isinf(bridge.to_graph(ps, fill=0.0))
    atomic_write_text(path, json.dumps({"tau": tau, "seconds": seconds, "kept": kept.nonzero().flatten().tolist()}))
    return kept, seconds, False


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    target = resolve_target(config.target, prompts)
    bridge = for_prompts(model, prompts)
    _fix_edge_order(bridge)
    graph = bridge.graph
    key = _run_key(model, prompts, target)
    taus = sorted(config.thresholds)
    score = torch.zeros(len(graph.edges))
    kept_all, work_s, from_cache = [], 0.0, 0
    for tau in track(taus, "ACDC tau sweep", "threshold"):
        kept, seconds, cached = _kept_at(bridge, tau, target, acdc_dir() / key / f"tau={tau:.6e}.json")
        kept = graph.fold_internal(kept)  # an internal edge is kept while any edge into its port is
        kept_all.append(kept)
        work_s += seconds
        from_cache += cached
        score = torch.where(kept, torch.tensor(tau), score)  # taus ascend: ends as the largest tau kept
    return MethodResult.from_edges(graph, score, ablation="corrupted-patching", metric=f"{target} (ACDC)",
                                   compute_s=work_s, sweep=Sweep("tau", taus, torch.stack(kept_all)),
                                   diagnostics={"n_prompts_used": bridge.n_prompts, "n_taus": len(taus),
                                                "taus_from_cache": from_cache})
