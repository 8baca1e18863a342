"""Run methods x tasks x seeds into tidy result rows, with an on-disk cache per run.

Order of work for one run: load model -> build prompts (seeded) -> method.run (timed; it gets
model and prompts only) -> validate scores -> load ground truth -> metrics. A run's rows and
scores are cached under a hash of (method, settings, task, model, seed, prompts, ground-truth
hash); an interrupted sweep resumes from what finished."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from bench.errors import CdbenchError, ScoreError
from bench.faithfulness import faithfulness_curve
from bench.graph import HeadGraph
from bench.io import atomic_write_text
from bench.metrics import precision_recall_at_k, roc_auc
from bench.models.registry import load_model
from bench.tasks import get_task
from ground_truth import GroundTruth, available_versions, ground_truth_model, load as load_gt
from methods import MethodResult, get_method

log = logging.getLogger(__name__)
CACHE_SCHEMA = 2
DEFAULT_CACHE = Path(os.environ.get("CDBENCH_CACHE", Path.home() / ".cache" / "cdbench" / "runs"))
COLUMNS = ["method", "task", "model", "weights", "gt_version", "gt_hash", "seed", "level", "auc", "precision_at_k",
           "recall_at_k", "k", "cpr", "cmd", "wall_s", "config_hash", "overrides", "n_prompts", "ablation", "metric", "setting", "degenerate",
           "device", "cache_key"]


@dataclass(frozen=True)
class RunSpec:
    method: str
    task: str
    model: str
    seed: int
    n_prompts: int = 100
    gt_version: str | None = None
    overrides: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class RunResult:
    rows: list[dict]
    node_scores: list[float]
    edge_scores: list[float] | None
    diagnostics: dict
    faithfulness: dict | None = None
    mlp_scores: list[float] | None = None


def _parse(value: str, default: Any, key: str) -> Any:
    """A ``--set`` string as the type of the setting's default."""
    try:
        if value.lower() == "none":
            return None
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return value.lower() in ("true", "1")
        if isinstance(default, tuple):
            kind = type(default[0]) if default else str
            return tuple(kind(v) for v in value.split(",") if v)
        if isinstance(default, str):
            return value
        return type(default)(value) if default is not None else float(value)
    except ValueError:
        raise CdbenchError(f"setting {key}: cannot read {value!r} as {type(default).__name__}") from None


def make_config(method: str, overrides: Iterable[tuple[str, Any]]) -> Any:
    """The method's settings dataclass with ``overrides`` applied (strings parsed to the field's type)."""
    cls = get_method(method).config
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in overrides:
        if key not in names:
            raise CdbenchError(f"method {method} has no setting {key!r}; settings: {', '.join(sorted(names)) or 'none'}")
        kwargs[key] = _parse(value, getattr(cls(), key), key) if isinstance(value, str) else value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CdbenchError(f"method {method}: {exc}") from None


def config_hash(config: Any) -> str:
    blob = json.dumps({"cls": type(config).__module__, **dataclasses.asdict(config)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def ground_truth_for(task: str, model_stands_for: str, graph: HeadGraph, version: str | None) -> GroundTruth | None:
    """The ground truth that applies to this (task, model), or None when there is none."""
    if task not in available_versions():
        return None
    if ground_truth_model(task, version) != model_stands_for:
        return None  # e.g. IOI's GPT-2 circuit says nothing about SmolLM2's heads
    return load_gt(task, version, graph)


def _validate(result: MethodResult, graph: HeadGraph, method: str) -> None:
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


def _level_row(level: str, scores: np.ndarray, labels: np.ndarray | None) -> dict:
    if labels is None:
        return {"level": level, "auc": math.nan, "precision_at_k": math.nan, "recall_at_k": math.nan, "k": 0}
    at_k = precision_recall_at_k(scores, labels)
    return {"level": level, "auc": roc_auc(scores, labels), "precision_at_k": at_k.precision,
            "recall_at_k": at_k.recall, "k": at_k.k}


def node_mlp_row(heads: np.ndarray, mlps: np.ndarray, head_labels: np.ndarray, gt: GroundTruth,
                 graph: HeadGraph) -> dict:
    """Level ``node_mlp``: heads and MLPs ranked together against ground truth that names MLPs."""
    labels = np.concatenate([head_labels, [f"m{layer}" in gt.mlps for layer in range(graph.n_layers)]])
    return {**_level_row("node_mlp", np.concatenate([heads, mlps]), labels), "cpr": math.nan, "cmd": math.nan}


def setting_text(documented: str, overrides: Sequence[tuple[str, str]]) -> str:
    """The method's documented setting, with any ``--set`` overrides named (they win over it)."""
    if not overrides:
        return documented
    named = ", ".join(f"{k}={v}" for k, v in overrides)
    return f"overrides {named} on: {documented}" if documented else f"overrides {named}"


def _methods_source_hash() -> str:
    """Hash of every module in methods/: editing a method or a helper it uses invalidates cached runs."""
    import methods

    h = hashlib.sha256()
    for path in sorted(Path(methods.__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def cache_key(spec: RunSpec, config: Any, gt: GroundTruth | None) -> str:
    blob = json.dumps([CACHE_SCHEMA, spec.method, _methods_source_hash(), config_hash(config), spec.task,
                       spec.model, spec.seed, spec.n_prompts, gt.content_hash if gt else None], default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def check(spec: RunSpec) -> None:
    """Fail fast, before any work or progress bar, on what can be known up front."""
    from bench.models.registry import present_spec

    make_config(spec.method, spec.overrides)
    get_task(spec.task)
    present_spec(spec.model)
    if spec.gt_version is not None:
        ground_truth_model(spec.task, spec.gt_version)  # raises for a version the task does not ship


def cache_file(cache_dir: Path, key: str) -> Path:
    """Where the run with cache key ``key`` is stored (read back by the report for scores and curves)."""
    return cache_dir / f"{key}.json"


def load_cached(cache_dir: Path, key: str) -> dict | None:
    """The stored run (rows, scores, faithfulness) for ``key``, or None where it is not on this machine."""
    path = cache_file(cache_dir, key)
    return json.loads(path.read_text()) if path.is_file() else None


def run_one(spec: RunSpec, device: str = "cpu", cache_dir: Path | None = DEFAULT_CACHE) -> RunResult:
    """One (method, task, model, seed) run, from the cache when it has been done before."""
    method = get_method(spec.method)
    config = make_config(spec.method, spec.overrides)
    task = get_task(spec.task)
    loaded = load_model(spec.model, device)
    graph = loaded.graph
    gt = ground_truth_for(spec.task, loaded.stands_for, graph, spec.gt_version)
    key = cache_key(spec, config, gt)
    cached = load_cached(cache_dir, key) if cache_dir else None
    if cached is not None:
        return RunResult(**cached)

    prompts = task.build(loaded, spec.n_prompts, spec.seed)
    torch.manual_seed(spec.seed)
    t0 = time.perf_counter()
    result = method.run(loaded.model, prompts, config, spec.seed)  # no ground truth in reach
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    # A method with its own resumable cache (ACDC's per-tau sweep) reports the compute its result took.
    wall = max(wall, float(result.diagnostics.get("work_s", 0.0)))
    _validate(result, graph, spec.method)

    nodes = result.nodes.flat().numpy()
    edges = result.edges.flat().numpy() if result.edges is not None else None
    base = {"method": spec.method, "task": prompts.task, "model": spec.model, "weights": loaded.weights,
            "gt_version": gt.version if gt else "none", "gt_hash": gt.short_hash if gt else "", "seed": spec.seed,
            "wall_s": round(wall, 4), "config_hash": config_hash(config),
            "overrides": ";".join(f"{k}={v}" for k, v in spec.overrides), "n_prompts": len(prompts.clean),
            "ablation": result.diagnostics.get("ablation", "none"), "metric": result.diagnostics.get("metric", prompts.metric.name),
            "setting": setting_text(method.setting, spec.overrides), "degenerate": bool(result.diagnostics.get("degenerate", False)),
            "device": device, "cache_key": key}
    faith = faithfulness_curve(loaded.model, prompts, result.nodes.scores)  # after the timed run: not in wall_s
    node_labels = np.array([n in gt.heads for n in graph.nodes]) if gt else None
    rows = [{**base, **_level_row("node", nodes, node_labels), "cpr": faith.cpr, "cmd": faith.cmd}]
    mlps = result.nodes.flat_mlps()
    if mlps is not None and gt is not None and gt.mlps:
        rows.append({**base, **node_mlp_row(nodes, mlps.numpy(), node_labels, gt, graph)})
    if edges is not None:
        edge_labels = np.array([e in gt.edges for e in graph.edges]) if gt else None
        rows.append({**base, **_level_row("edge", edges, edge_labels), "cpr": math.nan, "cmd": math.nan})
    diagnostics = {k: v for k, v in result.diagnostics.items() if isinstance(v, (int, float, str, bool))}
    out = RunResult(rows, nodes.tolist(), edges.tolist() if edges is not None else None, diagnostics,
                    dataclasses.asdict(faith), mlps.tolist() if mlps is not None else None)
    if cache_dir is not None:
        atomic_write_text(cache_file(cache_dir, key), json.dumps(dataclasses.asdict(out)))
    return out


def run_many(specs: list[RunSpec], device: str = "cpu", cache_dir: Path | None = DEFAULT_CACHE) -> pd.DataFrame:
    """Every spec in turn (tqdm progress); rows as one tidy DataFrame with :data:`COLUMNS`."""
    for spec in specs:
        check(spec)
    rows: list[dict] = []
    for spec in tqdm(specs, desc="cdbench run", unit="run", disable=len(specs) < 2):
        rows.extend(run_one(spec, device, cache_dir).rows)
    return pd.DataFrame(rows, columns=COLUMNS)


def append_results(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Add rows to the results CSV (a rerun of the same run and level replaces its old rows); atomic."""
    if path.is_file():
        old = pd.read_csv(path)
        old = old[~old.set_index(["cache_key", "level"]).index.isin(df.set_index(["cache_key", "level"]).index)]
        df = pd.concat([old, df], ignore_index=True)
    atomic_write_text(path, df.to_csv(index=False))
    return df
