"""One run, from settings to rows: resolve it (settings, model, prompts, the ground-truth reference and
the cache key), run the method (timed; it gets model, prompts, settings and seed only), its null control,
then parse the ground truth, score and measure faithfulness (timed apart). A run is cached under a key
made of everything its result depends on (:mod:`bench.run_key`); an interrupted sweep resumes from what
finished."""
from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from bench import memory, truth
from bench.faithfulness import faithfulness_curve
from bench.models.registry import LoadedModel, get_spec, load_model
from bench.null_control import null_prompts
from bench.provenance import commit, method_code, versions
from bench.results import load_cached_run, run_file, store_run
from bench.run_key import cache_key
from bench.scoring import level_rows, validate
from bench.settings import check_config_for, config_hash, make_config, setting_text
from bench.tasks import get_task
from bench.tasks.base import Task, TaskPrompts
from bench.truth import GroundTruthRef
from methods import MethodResult, MethodSpec, get_method

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSpec:
    """One run as asked for: method, task, model, seed, prompt count, ground-truth version, ``--set``."""

    method: str
    task: str
    model: str
    seed: int
    n_prompts: int = 100
    gt_version: str | None = None  # asked for by name; None: the task's default where it fits the model
    overrides: tuple[tuple[str, str], ...] = ()


def _round(values: torch.Tensor | None) -> list[float] | None:
    """Scores as stored in run files: 9 significant digits, which round-trip every float32 score exactly (6,
    used before, tied IFR's near-equal proportions on tracr and moved their AUC by 0.02)."""
    return None if values is None else [float(f"{v:.9g}") for v in values.tolist()]


def _scores(result: MethodResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"node_scores": _round(result.nodes.flat()), "mlp_scores": _round(result.nodes.flat_mlps()),
            "edge_scores": _round(result.edges.flat() if result.edges is not None else None)}


def load_cached(cache_dir: Path | None, key: str) -> dict | None:
    """The stored run for ``key`` (rows, scores, curves, diagnostics), or None (an unreadable entry: a warning)."""
    return load_cached_run(cache_dir, key) if cache_dir is not None else None


@dataclass(frozen=True)
class Prepared:
    """A run resolved up to the point where work starts: the cache key is known. Ground truth is only a
    reference to its file here (:class:`bench.truth.GroundTruthRef`), parsed after the method returns."""

    spec: RunSpec
    method: MethodSpec
    config: Any
    task: Task
    loaded: LoadedModel
    prompts: TaskPrompts
    gt_ref: GroundTruthRef | None
    key: str


def prepare(spec: RunSpec, device: str) -> Prepared:
    """Resolve settings, model, prompts and the ground-truth reference (cheap next to a method run) and
    the cache key."""
    method = get_method(spec.method)
    task = get_task(spec.task)
    config = make_config(method, task.family, spec.overrides)
    loaded = load_model(spec.model, device)
    gt_ref = truth.resolve(task, loaded.stands_for, loaded.graph, spec.gt_version, get_spec(spec.model).ground_truth)
    prompts = task.build(loaded, spec.n_prompts, spec.seed)
    check_config_for(method, config, len(prompts.clean), loaded.graph.attn_only)
    return Prepared(spec, method, config, task, loaded, prompts, gt_ref,
                    cache_key(spec.method, config_hash(config), spec.task, spec.model, loaded.weights_sha256, prompts,
                              spec.seed, gt_ref.file_sha256 if gt_ref else None, device))


def _timed(fn: Callable[[], Any], device: str) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def _run_method(p: Prepared, prompts: TaskPrompts, device: str) -> tuple[MethodResult, float]:
    """The method on ``prompts`` (seeded, timed, validated). Its arguments are all it gets."""
    torch.manual_seed(p.spec.seed)
    result, wall = _timed(lambda: p.method.run(p.loaded.model, prompts, p.config, p.spec.seed), device)
    validate(result, p.loaded.graph, p.spec.method)
    # A method with its own resumable cache (ACDC's per-tau sweep) reports the compute its result took.
    return result, max(wall, result.compute_s or 0.0)


def compute(p: Prepared, device: str) -> dict[str, Any]:
    """Do the run: the method (timed), its null control, then ground truth, metrics and faithfulness; the
    process's peak resident memory over all of it (the model included) goes in every row."""
    measured = memory.reset_peak()
    result, wall = _run_method(p, p.prompts, device)
    null, null_s = None, 0.0
    null_in = null_prompts(p.task, p.loaded, p.prompts, p.spec.seed) if p.method.contrast else None
    if null_in is not None:
        null, null_s = _run_method(p, null_in, device)
    graph = p.loaded.graph
    gt = truth.load(p.gt_ref, graph) if p.gt_ref is not None else None  # only now: every method call is done
    faith, faith_s = _timed(lambda: faithfulness_curve(p.loaded.model, p.prompts, result.nodes.flat(),
                                                        result.edges.flat() if result.edges is not None else None), device)
    peak = memory.peak_rss_gb() if measured else None
    base = {"method": p.spec.method, "task": p.prompts.task, "model": p.spec.model, "weights": p.loaded.weights,
            "weights_sha256": p.loaded.weights_sha256[:16], "gt_version": gt.version if gt else "none",
            "gt_hash": gt.short_hash if gt else "", "prompt_set": f"{p.prompts.prompt_set}@{p.prompts.content_hash()}",
            "seed": p.spec.seed, "wall_s": round(wall, 4), "faith_s": round(faith_s, 4),
            "null_s": round(null_s, 4), "peak_rss_gb": None if peak is None else round(peak, 3),
            "n_prompts": len(p.prompts.clean), "config_hash": config_hash(p.config),
            "overrides": ";".join(f"{k}={v}" for k, v in p.spec.overrides),
            "setting": setting_text(p.method, p.config, p.task.family, p.spec.overrides),
            "ablation": result.ablation, "metric": result.metric or p.prompts.metric.name,
            "degenerate": result.degenerate, "device": device,
            "cdbench_commit": commit(), "method_code": method_code(p.method.run.__module__), "versions": versions(),
            "cache_key": p.key}
    rows = []
    for r in level_rows(graph, gt, result, null):
        faith_here = r["level"] == ("edge" if result.edges is not None else "node")
        rows.append({**base, **r, "cpr": faith.cpr if faith_here else math.nan,
                     "cmd": faith.cmd if faith_here else math.nan,
                     "faith_level": faith.level if faith_here else "", "faith_status": faith.status if faith_here else ""})
    diagnostics = {k: v for k, v in result.diagnostics.items() if isinstance(v, (int, float, str, bool))}
    sweep = None if result.sweep is None else {
        "parameter": result.sweep.parameter, "thresholds": result.sweep.thresholds,
        "kept": [k.nonzero().flatten().tolist() for k in result.sweep.kept]}
    return {"rows": rows, "scores": _scores(result), "null_scores": _scores(null), "sweep": sweep,
            "faithfulness": dataclasses.asdict(faith), "diagnostics": diagnostics}


def store_cached(cache_dir: Path, run: dict[str, Any]) -> None:
    """Keep a finished run in the run cache (the same file format as a results file's ``runs/``)."""
    store_run(run_file(cache_dir, run["rows"][0]["cache_key"]), run)


def run_one(spec: RunSpec, device: str = "cpu", cache_dir: Path | None = None, write_cache: bool = True) -> dict[str, Any]:
    """One run, from the cache when it has been done before; returns its run record (and caches it unless
    ``write_cache`` is off: a Ray worker leaves writing to the driver)."""
    p = prepare(spec, device)
    cached = load_cached(cache_dir, p.key) if cache_dir is not None and Path(cache_dir).is_dir() else None
    if cached is not None:
        return cached
    run = compute(p, device)
    if cache_dir is not None and write_cache:
        store_cached(cache_dir, run)
    return run
