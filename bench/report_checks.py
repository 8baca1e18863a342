"""What the report checks in what it reads, before it writes anything: each row's ground-truth hash
against the file it names (rows of another hash are stale: reported, never averaged in), each row's
run file present and readable, and each row's AUCs recomputed from its run file's scores. A row that a later
run of the same method, options, prompts and seed measured under another configuration (a default changed)
is superseded: listed, never averaged in beside its replacement."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import CdbenchError
from bench.graph import CircuitGraph
from bench.metrics import roc_auc
from bench.models.registry import get_spec
from bench.results import RUN_IDENTITY, RunFileError, read_run, run_file
from bench.scoring import labels_at, level_scores
from ground_truth import GroundTruth, load as load_gt

# Run files written before 9-digit storage kept 6 significant digits, which can tie scores that differed by
# less: the AUC of those stored scores differs from the row's by a few 1e-4 (where scores are not near-equal
# by construction); a row edited by hand differs more.
AUC_TOLERANCE = 2e-3
SCORE_KEYS = {"node": ("node_scores",), "edge": ("edge_scores",), "edge_head": ("edge_scores",),
              "node_mlp": ("node_scores", "mlp_scores")}


@dataclass
class Checked:
    """The rows that passed, the runs they came from (by cache key), and the stale and superseded rows left out."""

    rows: pd.DataFrame
    runs: dict[str, dict]
    stale: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)


# A row's identity but for its configuration hash: rows equal here carry one label in the report (method and
# --set options), so only the last one written may stand for it.
SAME_SETTINGS = [c for c in RUN_IDENTITY if c != "config_hash"]


def superseded_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Leave out rows a later row of the same settings replaced under another configuration hash (the file's
    order is the order written), with one line per replaced configuration of a method on a task."""
    keyed = df.fillna({c: "" for c in SAME_SETTINGS if df[c].dtype == object})
    old = keyed.duplicated(SAME_SETTINGS, keep="last").to_numpy()
    if not old.any():
        return df, []
    newest = keyed.groupby(SAME_SETTINGS, dropna=False).config_hash.transform("last")  # each row's replacement
    lines = []
    for (method, task, model, cfg), g in df[old].groupby(["method", "task", "model", "config_hash"], sort=True):
        by = sorted(set(newest[g.index]))
        lines.append(f"{len(g)} row(s) of {method} on {task}/{model} (configuration {cfg}) were measured again "
                     f"with the same options, prompts and seeds under configuration {', '.join(by)}: left out")
    return df[~old].reset_index(drop=True), lines


def _row_name(r) -> str:
    return f"{r.method} on {r.task}/{r.model} seed {r.seed} level {r.level} (cache key {r.cache_key})"


def _truths(df: pd.DataFrame) -> dict[tuple[str, str, str], tuple[GroundTruth, CircuitGraph]]:
    out = {}
    for task, model, version in df[["task", "model", "gt_version"]].drop_duplicates().itertuples(index=False):
        if version == "none":
            continue
        spec = get_spec(model)
        out[(task, model, version)] = (load_gt(task, version, spec.graph, spec.ground_truth), spec.graph)
    return out


def check(df: pd.DataFrame, runs_dir: Path) -> Checked:
    """Refuse (a CdbenchError with one line per bad run) rows whose run file is missing or unreadable or
    whose AUC its scores contradict; leave out, and list, rows scored on another version of a file and rows
    a later run of the same settings superseded."""
    truths = _truths(df)
    current = {k: gt.short_hash for k, (gt, _) in truths.items()}
    key = list(zip(df.task, df.model, df.gt_version))
    is_stale = np.array([k in current and str(h) != current[k] for k, h in zip(key, df.gt_hash)], dtype=bool)
    stale = []
    for (task, model, version, h), g in df[is_stale].groupby(["task", "model", "gt_version", "gt_hash"]):
        stale.append(f"{len(g)} row(s) of {task} on {model} were scored on ground truth {version} with hash {h}; "
                     f"the file now has {current[(task, model, version)]}: left out (rerun them)")
    df, superseded = superseded_rows(df[~is_stale].reset_index(drop=True))
    runs: dict[str, dict] = {}
    problems: list[str] = []
    for r in df.itertuples(index=False):
        if r.cache_key not in runs:
            path = run_file(runs_dir, r.cache_key)
            try:
                run = read_run(path)
            except RunFileError as exc:
                run, why = None, str(exc)
            else:
                why = f"run file {path} is missing"
            if run is None:
                problems.append(f"{why} ({_row_name(r)})")
                runs[r.cache_key] = {}
                continue
            runs[r.cache_key] = run
        run = runs[r.cache_key]
        if not run or r.gt_version == "none" or math.isnan(r.auc):
            continue
        gt, graph = truths[(r.task, r.model, r.gt_version)]
        parts = [run["scores"].get(k) for k in SCORE_KEYS.get(r.level, ())]
        if not parts or any(p is None for p in parts):
            problems.append(f"run file of {_row_name(r)} has no {r.level} scores")
            continue
        sc = run["scores"]
        scores = level_scores(graph, r.level, np.asarray(sc["node_scores"], float),
                              None if sc.get("mlp_scores") is None else np.asarray(sc["mlp_scores"], float),
                              None if sc.get("edge_scores") is None else np.asarray(sc["edge_scores"], float))
        labels = labels_at(graph, gt, r.level)
        if len(scores) != len(labels):
            problems.append(f"run file of {_row_name(r)} has {len(scores)} {r.level} scores for {len(labels)} candidates")
            continue
        auc = roc_auc(scores, labels)
        if abs(auc - r.auc) > AUC_TOLERANCE:
            problems.append(f"results row {_row_name(r)} says AUC {r.auc:.6g}, its run file's scores give {auc:.6g}")
    if problems:  # one line per bad run; nothing is written
        raise CdbenchError(f"{len(problems)} row(s) cannot be reported, nothing written:\n  " + "\n  ".join(problems))
    return Checked(df, {k: v for k, v in runs.items() if v}, stale, superseded)
