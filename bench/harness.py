"""Run methods x tasks x seeds into tidy result rows, with an on-disk cache per run.

Order of work for one run: load model -> build prompts (seeded) -> method.run (timed; it gets model and
prompts only) -> validate scores -> the null control (contrast methods) -> load ground truth -> metrics
-> faithfulness (timed apart). A run is cached under a key made of everything its result depends on
(:func:`cache_key`); an interrupted sweep resumes from what finished."""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from bench.errors import CdbenchError, GroundTruthError, ScoreError
from bench.faithfulness import faithfulness_curve
from bench.graph import CircuitGraph
from bench.io import atomic_write_bytes
from bench.metrics import circuit_points, pareto_staircase_auc, precision_recall_at_k, roc_auc
from bench.models.registry import LoadedModel, load_model
from bench.provenance import commit, source_hash, versions
from bench.tasks import get_task
from bench.tasks.base import Task, TaskPrompts
from ground_truth import GroundTruth, header, load as load_gt
from ground_truth.loader import check_fits, path_for
from methods import MethodResult, MethodSpec, get_method

log = logging.getLogger(__name__)
CACHE_SCHEMA = 4
NULL_SEED_OFFSET = 1_000_003  # the null control's positives come from this seed offset (then made disjoint)


@dataclass(frozen=True)
class RunSpec:
    method: str
    task: str
    model: str
    seed: int
    n_prompts: int = 100
    gt_version: str | None = None  # asked for by name; None: the task's default where it fits the model
    overrides: tuple[tuple[str, str], ...] = ()


def _parse(value: str, default: Any, key: str) -> Any:
    """A ``--set`` string as the type of the setting's default."""
    try:
        if isinstance(default, str):
            return value  # a string setting takes the word as written ("none" is a value, e.g. hisp normalize=none)
        if value.lower() == "none":
            return None
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return value.lower() in ("true", "1")
        if isinstance(default, tuple):
            kind = type(default[0]) if default else str
            return tuple(kind(v) for v in value.split(",") if v)
        if isinstance(default, int):
            return int(value)
        return float(value)
    except ValueError:
        raise CdbenchError(f"setting {key}: cannot read {value!r} as {type(default).__name__}") from None


def make_config(method: MethodSpec, family: str, overrides: Iterable[tuple[str, Any]]) -> Any:
    """The method's settings: its defaults, then its paper's setting for the task family, then ``--set``."""
    cls = method.config
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = dict(method.family_settings.get(family, {}))
    for key, value in overrides:
        if key not in names:
            raise CdbenchError(f"method {method.key} has no setting {key!r}; settings: {', '.join(sorted(names)) or 'none'}")
        kwargs[key] = _parse(value, getattr(cls(), key), key) if isinstance(value, str) else value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CdbenchError(f"method {method.key}: {exc}") from None


def check_config_for(method: MethodSpec, config: Any, n_prompts: int, attn_only: bool) -> None:
    """Settings that depend on the prompt count or the model (``Config.check_prompts``, ``check_model``),
    checked before any work."""
    try:
        for check, arg in ((getattr(config, "check_prompts", None), n_prompts), (getattr(config, "check_model", None), attn_only)):
            if check is not None:
                check(arg)
    except ValueError as exc:
        raise CdbenchError(f"method {method.key}: {exc}") from None


def config_hash(config: Any) -> str:
    blob = json.dumps({"cls": f"{type(config).__module__}.{type(config).__qualname__}", **dataclasses.asdict(config)},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def setting_text(method: MethodSpec, family: str, overrides: Sequence[tuple[str, str]]) -> str:
    """The documented setting, the family setting applied (named) and any ``--set`` overrides (they win)."""
    parts = [method.setting] if method.setting else []
    fam = method.family_settings.get(family)
    if fam:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in fam.items())
        parts.append(f"{family} setting: {shown}")
    if overrides:
        parts.insert(0, "overrides " + ", ".join(f"{k}={v}" for k, v in overrides) + " on:")
    return " ".join(parts[:1]) + ("; " + "; ".join(parts[1:]) if len(parts) > 1 else "") if parts else ""


def _short(v: Any) -> str:
    if isinstance(v, tuple) and len(v) > 3:
        return f"{len(v)} values {v[0]:.3g}..{v[-1]:.3g}"
    return str(v)


def resolve_ground_truth(task: Task, stands_for: str, graph: CircuitGraph, version: str | None) -> GroundTruth | None:
    """The ground truth for this (task, model): the version asked for, which must fit the model, or the
    task's default where it is for this model; None when none applies."""
    if version is not None:
        data = header(task.name, version)
        if data["model"] != stands_for:
            raise GroundTruthError(f"ground truth {task.name}/{version} is for model {data['model']}, not "
                                   f"{stands_for}; run it on {data['model']} or drop --gt-version")
        check_fits(path_for(task.name, version), data, graph)
        return load_gt(task.name, version, graph)
    if task.default_gt is None or task.gt_model != stands_for:
        return None
    return load_gt(task.name, task.default_gt, graph)


def cache_key(spec: RunSpec, config: Any, loaded: LoadedModel, prompts: TaskPrompts, gt: GroundTruth | None,
              device: str) -> str:
    """Everything a result depends on: method and settings, cdbench's source, the prompts' content, the
    weights, library versions, the device type, seed, prompt count and the ground truth's hash."""
    blob = json.dumps([CACHE_SCHEMA, spec.method, config_hash(config), source_hash(), versions(), spec.task,
                       prompts.prompt_set, prompts.content_hash(), spec.model, loaded.weights_sha256,
                       device.split(":")[0], spec.seed, len(prompts.clean), gt.content_hash if gt else None])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def null_prompts(task: Task, loaded: LoadedModel, prompts: TaskPrompts, n: int, seed: int) -> TaskPrompts | None:
    """The null control's input: the same positives against a disjoint batch of other positives (None when
    the task cannot supply one, e.g. a fixed prompt file)."""
    other = task.build(loaded, n, seed + NULL_SEED_OFFSET).clean
    seen = {tuple(r[: int(n_)].tolist()) for r, n_ in zip(prompts.clean.tokens, prompts.clean.lengths)}
    keep = [i for i, (r, n_) in enumerate(zip(other.tokens, other.lengths)) if tuple(r[: int(n_)].tolist()) not in seen]
    if not keep:
        return None
    return prompts.with_negatives(other.take(torch.tensor(keep)))


def _validate(result: MethodResult, graph: CircuitGraph, method: str) -> None:
    nodes = result.nodes.flat()
    if nodes.numel() != len(graph.nodes):
        raise ScoreError(f"method {method} returned {nodes.numel()} node scores for {len(graph.nodes)} heads")
    if not torch.isfinite(nodes).all():
        raise ScoreError(f"method {method} returned NaN or infinite node scores")
    mlps = result.nodes.flat_mlps()
    if mlps is not None and (mlps.numel() != graph.n_layers or not torch.isfinite(mlps).all()):
        raise ScoreError(f"method {method} returned {mlps.numel()} MLP scores for {graph.n_layers} layers, or NaN")
    if result.edges is not None:
        edges = result.edges.flat()
        if edges.numel() != len(graph.edges):
            raise ScoreError(f"method {method} returned {edges.numel()} edge scores for {len(graph.edges)} edges")
        if not torch.isfinite(edges).all():
            raise ScoreError(f"method {method} returned NaN or infinite edge scores")


def _labels(graph: CircuitGraph, gt: GroundTruth, level: str) -> np.ndarray:
    if level == "node":
        return np.array([n in gt.heads for n in graph.nodes])
    if level == "edge":
        return np.array([e in gt.edges for e in graph.edges])
    return np.array([n in gt.heads for n in graph.nodes] + [m in gt.mlps for m in graph.mlps])


def _level_scores(result: MethodResult, level: str) -> np.ndarray | None:
    if level == "node":
        return result.nodes.flat().abs().numpy()
    if level == "edge":
        return None if result.edges is None else result.edges.flat().abs().numpy()
    mlps = result.nodes.flat_mlps()
    return None if mlps is None else np.concatenate([result.nodes.flat().abs().numpy(), mlps.abs().numpy()])


def _sweep_kept(result: MethodResult, graph: CircuitGraph, level: str) -> np.ndarray | None:
    """The sweep's circuits at ``level``: a head (or MLP) is in when any incident edge is (ACDC's rule)."""
    if result.sweep is None:
        return None
    kept = result.sweep.kept.bool()
    if level == "edge":
        return kept.numpy()
    groups = [(graph.endpoint_nodes, len(graph.nodes))]
    if level == "node_mlp":
        groups.append((graph.endpoint_mlps, len(graph.mlps)))
    cols = []
    for ends, size in groups:
        count = torch.zeros(kept.shape[0], size, dtype=torch.int64)
        for e in ends:
            ok = e >= 0
            count.index_add_(1, e[ok], kept[:, ok].long())
        cols.append(count > 0)
    return torch.cat(cols, 1).numpy()


def level_rows(graph: CircuitGraph, gt: GroundTruth | None, result: MethodResult, null: MethodResult | None) -> list[dict]:
    """One row per scored level: node (heads), edge (the edge graph), node_mlp (heads and MLPs, where
    ground truth names MLPs and the method scores them)."""
    levels = ["node"] + (["edge"] if result.edges is not None else [])
    if gt is not None and gt.mlps and result.nodes.flat_mlps() is not None:
        levels.append("node_mlp")
    rows = []
    for level in levels:
        scores = _level_scores(result, level)
        row: dict[str, Any] = {"level": level, "auc": math.nan, "null_auc": math.nan, "auc_acdc": math.nan,
                               "precision_at_k": math.nan, "recall_at_k": math.nan, "k": 0}
        if gt is not None:
            labels = _labels(graph, gt, level)
            at_k = precision_recall_at_k(scores, labels)
            row.update(auc=roc_auc(scores, labels), precision_at_k=at_k.precision, recall_at_k=at_k.recall, k=at_k.k)
            if null is not None and _level_scores(null, level) is not None:
                row["null_auc"] = roc_auc(_level_scores(null, level), labels)
            kept = _sweep_kept(result, graph, level)
            if kept is not None:
                row["auc_acdc"] = pareto_staircase_auc(circuit_points(kept, labels))
        rows.append(row)
    return rows


def _round(values: torch.Tensor | None) -> list[float] | None:
    """Scores as stored in run files: 6 significant digits (exact for the integer and threshold scores)."""
    return None if values is None else [float(f"{v:.6g}") for v in values.tolist()]


def _scores(result: MethodResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"node_scores": _round(result.nodes.flat()), "mlp_scores": _round(result.nodes.flat_mlps()),
            "edge_scores": _round(result.edges.flat() if result.edges is not None else None)}


def _cache_file(cache_dir: Path, key: str) -> Path:
    from bench.results import run_file

    return run_file(cache_dir, key)


def load_cached(cache_dir: Path | None, key: str) -> dict | None:
    """The stored run for ``key`` (rows, scores, curves, diagnostics), or None (an unreadable entry: a warning)."""
    from bench.results import load_cached_run

    return load_cached_run(cache_dir, key) if cache_dir is not None else None


@dataclass(frozen=True)
class Prepared:
    """A run resolved up to the point where work starts: the cache key is known."""

    spec: RunSpec
    method: MethodSpec
    config: Any
    task: Task
    loaded: LoadedModel
    prompts: TaskPrompts
    gt: GroundTruth | None
    key: str


def prepare(spec: RunSpec, device: str) -> Prepared:
    """Resolve settings, model, prompts and ground truth (cheap next to a method run) and the cache key."""
    method = get_method(spec.method)
    task = get_task(spec.task)
    config = make_config(method, task.family, spec.overrides)
    loaded = load_model(spec.model, device)
    gt = resolve_ground_truth(task, loaded.stands_for, loaded.graph, spec.gt_version)
    prompts = task.build(loaded, spec.n_prompts, spec.seed)
    check_config_for(method, config, len(prompts.clean), loaded.graph.attn_only)
    return Prepared(spec, method, config, task, loaded, prompts, gt,
                    cache_key(spec, config, loaded, prompts, gt, device))


def _timed(fn, device: str) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def compute(p: Prepared, device: str) -> dict[str, Any]:
    """Do the run: the method (timed), its null control, metrics and faithfulness (timed apart)."""
    model = p.loaded.model
    model.weights_sha256 = p.loaded.weights_sha256  # lets ACDC key its per-threshold cache on the weights
    torch.manual_seed(p.spec.seed)
    result, wall = _timed(lambda: p.method.run(model, p.prompts, p.config, p.spec.seed), device)  # no ground truth in reach
    # A method with its own resumable cache (ACDC's per-tau sweep) reports the compute its result took.
    wall = max(wall, float(result.diagnostics.get("work_s", 0.0)))
    graph = p.loaded.graph
    _validate(result, graph, p.spec.method)
    null, null_s = None, 0.0
    if p.method.contrast:
        null_in = null_prompts(p.task, p.loaded, p.prompts, len(p.prompts.clean), p.spec.seed)
        if null_in is not None:
            torch.manual_seed(p.spec.seed)
            null, null_s = _timed(lambda: p.method.run(model, null_in, p.config, p.spec.seed), device)
            _validate(null, graph, p.spec.method)
    faith, faith_s = _timed(lambda: faithfulness_curve(model, p.prompts, result.nodes.flat(),
                                                        result.edges.flat() if result.edges is not None else None), device)
    base = {"method": p.spec.method, "task": p.prompts.task, "model": p.spec.model, "weights": p.loaded.weights,
            "weights_sha256": p.loaded.weights_sha256[:16], "gt_version": p.gt.version if p.gt else "none",
            "gt_hash": p.gt.short_hash if p.gt else "", "prompt_set": f"{p.prompts.prompt_set}@{p.prompts.content_hash()}",
            "seed": p.spec.seed, "wall_s": round(wall, 4), "faith_s": round(faith_s, 4),
            "null_s": round(null_s, 4),
            "n_prompts": len(p.prompts.clean), "config_hash": config_hash(p.config),
            "overrides": ";".join(f"{k}={v}" for k, v in p.spec.overrides),
            "setting": setting_text(p.method, p.task.family, p.spec.overrides),
            "ablation": result.diagnostics.get("ablation", "none"),
            "metric": result.diagnostics.get("metric", p.prompts.metric.name),
            "degenerate": bool(result.diagnostics.get("degenerate", False)), "device": device,
            "cdbench_commit": commit(), "versions": versions(), "cache_key": p.key}
    rows = []
    for r in level_rows(graph, p.gt, result, null):
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
    atomic_write_bytes(_cache_file(cache_dir, run["rows"][0]["cache_key"]), gzip.compress(json.dumps(run).encode(), mtime=0))


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
