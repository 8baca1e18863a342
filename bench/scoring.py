"""A method's scores against ground truth: one row of metrics per level (heads, the edge graph, the edge
graph with q/k/v merged, heads and MLPs), computed only from the validated scores, the graph and the circuit."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from bench.errors import ScoreError
from bench.graph import CircuitGraph
from bench.metrics import circuit_points, mib_auroc, pareto_staircase_auc, precision_recall_at_k, roc_auc
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
    """1 for each candidate in the circuit: heads (node), edges (edge), (sender, receiver) pairs with q/k/v
    merged (edge_head: true when any of its ports is), heads then MLPs (node_mlp)."""
    if level == "node":
        return np.array([n in gt.heads for n in graph.nodes])
    if level == "edge":
        return np.array([e in gt.edges for e in graph.edges])
    if level == "edge_head":
        pairs = {(e.sender, e.receiver) for e in gt.edges if not e.internal}
        return np.array([p in pairs for p in graph.head_edges])
    return np.array([n in gt.heads for n in graph.nodes] + [m in gt.mlps for m in graph.mlps])


def level_scores(graph: CircuitGraph, level: str, nodes: np.ndarray, mlps: np.ndarray | None,
                 edges: np.ndarray | None) -> np.ndarray | None:
    """|score| per candidate at ``level`` from a run's node, MLP and edge scores (None when not scored);
    ``edge_head`` takes each merged edge's largest |port score|."""
    if level == "node":
        return np.abs(np.asarray(nodes, float))
    if level in ("edge", "edge_head"):
        if edges is None:
            return None
        e = np.abs(np.asarray(edges, float))
        return e if level == "edge" else graph.merge_ports(torch.from_numpy(e)).double().numpy()
    return None if mlps is None else np.abs(np.concatenate([np.asarray(nodes, float), np.asarray(mlps, float)]))


def scores_at(result: MethodResult, level: str, graph: CircuitGraph) -> np.ndarray | None:
    """|score| per candidate at ``level`` (None when the method does not score it)."""
    mlps = result.nodes.flat_mlps()
    return level_scores(graph, level, result.nodes.flat().double().numpy(),
                        None if mlps is None else mlps.double().numpy(),
                        None if result.edges is None else result.edges.flat().double().numpy())


def mib_candidates(graph: CircuitGraph, level: str) -> np.ndarray | None:
    """The candidates MIB's InterpBench AUROC ranks at ``level`` (a boolean mask), None where MIB has no such
    measure: at ``edge``, MIB's graph (the additive edges, no internal ones); at ``edge_head``, every pair."""
    if level == "edge":
        mask = np.zeros(len(graph.edges), bool)
        mask[graph.additive] = True
        return mask
    if level == "edge_head":
        return np.ones(len(graph.head_edges), bool)
    return None


def sweep_kept(kept: torch.Tensor, graph: CircuitGraph, level: str) -> np.ndarray:
    """A sweep's circuits (``kept``: bool [n_circuits, n_edges]) at ``level``: a head (or MLP) is in a
    circuit when any edge incident to it is (ACDC's rule)."""
    kept = kept.bool()
    if level == "edge":
        return kept.numpy()
    if level == "edge_head":
        return (graph.merge_ports(kept.float()) > 0).numpy()
    heads, mlps = graph.incident_max(kept.float())
    parts = [heads] + ([mlps] if level == "node_mlp" else [])
    return (torch.cat(parts, 1) > 0).numpy()


def levels_for(result: MethodResult, gt: GroundTruth | None) -> list[str]:
    """node always; edge and edge_head when the method scores edges; node_mlp where ground truth names MLPs
    and the method scores them."""
    levels = ["node"] + (["edge", "edge_head"] if result.edges is not None else [])
    if gt is not None and gt.mlps and result.nodes.flat_mlps() is not None:
        levels.append("node_mlp")
    return levels


def level_rows(graph: CircuitGraph, gt: GroundTruth | None, result: MethodResult, null: MethodResult | None) -> list[dict]:
    """One row per scored level with ROC AUC, MIB's InterpBench AUROC (edge levels), the null control's AUC,
    ACDC's own AUC for sweeps and precision/recall at k (NaN without ground truth)."""
    rows = []
    for level in levels_for(result, gt):
        scores = scores_at(result, level, graph)
        row: dict[str, Any] = {"level": level, "auc": math.nan, "auc_mib": math.nan, "null_auc": math.nan,
                               "auc_acdc": math.nan, "precision_at_k": math.nan, "recall_at_k": math.nan, "k": 0}
        if gt is not None:
            labels = labels_at(graph, gt, level)
            at_k = precision_recall_at_k(scores, labels)
            row.update(auc=roc_auc(scores, labels), precision_at_k=at_k.precision, recall_at_k=at_k.recall, k=at_k.k)
            mib = mib_candidates(graph, level)
            if mib is not None:
                row["auc_mib"] = mib_auroc(scores[mib], labels[mib])
            null_scores = scores_at(null, level, graph) if null is not None else None
            if null_scores is not None:
                row["null_auc"] = roc_auc(null_scores, labels)
            if result.sweep is not None:
                row["auc_acdc"] = pareto_staircase_auc(circuit_points(sweep_kept(result.sweep.kept, graph, level), labels))
        rows.append(row)
    return rows
