"""A method's scores against ground truth: one row of metrics per level (heads, the edge graph, heads and
MLPs), computed only from the validated scores, the graph and the circuit."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from bench.errors import ScoreError
from bench.graph import CircuitGraph
from bench.metrics import circuit_points, pareto_staircase_auc, precision_recall_at_k, roc_auc
from ground_truth.loader import GroundTruth
from methods.base import MethodResult


def validate(result: MethodResult, graph: CircuitGraph, method: str) -> None:
    """Raise a one-line ScoreError unless every score is finite and there is one per head, MLP and edge."""
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


def labels_at(graph: CircuitGraph, gt: GroundTruth, level: str) -> np.ndarray:
    """1 for each candidate in the circuit: heads (node), edges (edge), heads then MLPs (node_mlp)."""
    if level == "node":
        return np.array([n in gt.heads for n in graph.nodes])
    if level == "edge":
        return np.array([e in gt.edges for e in graph.edges])
    return np.array([n in gt.heads for n in graph.nodes] + [m in gt.mlps for m in graph.mlps])


def scores_at(result: MethodResult, level: str) -> np.ndarray | None:
    """|score| per candidate at ``level`` (None when the method does not score it)."""
    if level == "node":
        return result.nodes.flat().abs().numpy()
    if level == "edge":
        return None if result.edges is None else result.edges.flat().abs().numpy()
    mlps = result.nodes.flat_mlps()
    return None if mlps is None else np.concatenate([result.nodes.flat().abs().numpy(), mlps.abs().numpy()])


def sweep_kept(kept: torch.Tensor, graph: CircuitGraph, level: str) -> np.ndarray:
    """A sweep's circuits (``kept``: bool [n_circuits, n_edges]) at ``level``: a head (or MLP) is in a
    circuit when any edge incident to it is (ACDC's rule)."""
    kept = kept.bool()
    if level == "edge":
        return kept.numpy()
    heads, mlps = graph.incident_max(kept.float())
    parts = [heads] + ([mlps] if level == "node_mlp" else [])
    return (torch.cat(parts, 1) > 0).numpy()


def levels_for(result: MethodResult, gt: GroundTruth | None) -> list[str]:
    """node always; edge when the method scores edges; node_mlp where ground truth names MLPs and the
    method scores them."""
    levels = ["node"] + (["edge"] if result.edges is not None else [])
    if gt is not None and gt.mlps and result.nodes.flat_mlps() is not None:
        levels.append("node_mlp")
    return levels


def level_rows(graph: CircuitGraph, gt: GroundTruth | None, result: MethodResult, null: MethodResult | None) -> list[dict]:
    """One row per scored level with ROC AUC, the null control's AUC, ACDC's own AUC for sweeps and
    precision/recall at k (NaN without ground truth)."""
    rows = []
    for level in levels_for(result, gt):
        scores = scores_at(result, level)
        row: dict[str, Any] = {"level": level, "auc": math.nan, "null_auc": math.nan, "auc_acdc": math.nan,
                               "precision_at_k": math.nan, "recall_at_k": math.nan, "k": 0}
        if gt is not None:
            labels = labels_at(graph, gt, level)
            at_k = precision_recall_at_k(scores, labels)
            row.update(auc=roc_auc(scores, labels), precision_at_k=at_k.precision, recall_at_k=at_k.recall, k=at_k.k)
            null_scores = scores_at(null, level) if null is not None else None
            if null_scores is not None:
                row["null_auc"] = roc_auc(null_scores, labels)
            if result.sweep is not None:
                row["auc_acdc"] = pareto_staircase_auc(circuit_points(sweep_kept(result.sweep.kept, graph, level), labels))
        rows.append(row)
    return rows
