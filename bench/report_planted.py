"""The report's planted-circuit section: every method on every planted model, at every level and under
every ground-truth version it was scored on, with whether the methods separate and how much of each model
the circuit is."""
from __future__ import annotations

import pandas as pd

from bench.metrics import null_verdict
from bench.models.registry import get_spec
from bench.report_format import fmt, fmt_series
from ground_truth import load as load_gt

LEVELS = ("node", "edge", "edge_head")
TIE = 5e-4  # two mean AUCs closer than this are a tie


def _cell(g: pd.DataFrame, level: str, col: str) -> str:
    lv = g[g.level == level]
    return fmt_series(lv[col]) if len(lv) else "n/a"


def separation_line(sub: pd.DataFrame, level: str) -> str | None:
    """Whether the best method at ``level`` is ahead of the runner-up by more than both seed spreads
    together (the sum of their standard deviations over seeds); None with fewer than two methods."""
    lv = sub[sub.level == level]
    g = lv.groupby("method").agg(mean=("auc", "mean"), std=("auc", "std"), n=("seed", "nunique"))
    g = g.dropna(subset=["mean"]).sort_values("mean", ascending=False)
    if len(g) < 2:
        return None
    a, b = g.iloc[0], g.iloc[1]
    gap = float(a["mean"] - b["mean"])
    spread = float(a["std"] if a["n"] > 1 else 0.0) + float(b["std"] if b["n"] > 1 else 0.0)
    if abs(gap) < TIE:
        verdict = "do not separate (a tie)"
    elif a["n"] < 2 or b["n"] < 2:
        verdict = "cannot be told apart from one seed"
    else:
        verdict = "separate" if gap > spread else "do not separate"
    best = lv[lv.method == g.index[0]]
    null = null_verdict(best.auc.to_numpy(), best.null_auc.to_numpy())
    at_one = int((g["mean"] >= 1 - TIE).sum())
    return (f"{level}: the methods {verdict}: {g.index[0]} {fmt(a['mean'], a['std'], int(a['n']))} vs {g.index[1]} "
            f"{fmt(b['mean'], b['std'], int(b['n']))}, margin {gap:.3f} against spreads {spread:.3f}; "
            f"{at_one} method(s) at 1.000" + (f"; the best {null}" if null else ""))


def circuit_line(task: str, model: str, version: str) -> str:
    """How much of the model the circuit is: heads, MLPs and edges in the ground truth."""
    spec = get_spec(model)
    graph = spec.graph
    gt = load_gt(task, version, graph, spec.ground_truth)
    share = len(gt.heads) / len(graph.nodes)
    mlps = f", {len(gt.mlps)} of {len(graph.mlps)} MLPs" if graph.mlps else " (attention only)"
    pairs = {(e.sender, e.receiver) for e in gt.edges if not e.internal}
    return (f"circuit: {len(gt.heads)} of {len(graph.nodes)} heads ({share:.0%}){mlps}; {len(gt.edges)} of "
            f"{len(graph.edges)} edges, {len(pairs)} of {len(graph.head_edges)} q/k/v-merged edges")


def planted_section(df: pd.DataFrame) -> list[str]:
    """Every method on every planted-circuit model and ground-truth version: rank AUC per level, MIB's
    AUROC, ACDC's AUC, null AUCs and seed spread; then per model the separation and circuit lines."""
    from bench.tasks import TASKS

    planted = [t for t, task in TASKS.items() if task.suite == "planted"]
    sub = df[df.task.isin(planted) & (df.label == df.method) & (df.gt_version != "none")]
    if sub.empty:
        return []
    lines = ["## The planted-circuit suite: every method on every planted model", "",
             "Mean ± sd over seeds. ROC AUC is the rank AUC at each level (node: heads; edge: ACDC's graph; "
             "edge_head: q/k/v merged, InterpBench's comparison); AUC (MIB) is MIB's InterpBench AUROC; AUC (ACDC) "
             "ACDC's staircase area for sweep methods; null AUC the method's own null control. Ground truth by "
             "construction (SIIT): `siit.v2` counts the edges that realise the high-level model's edges "
             "(InterpBench's rule), `siit.v1` every edge among the circuit's components (the induced subgraph).", ""]
    for (task, model, version), g in sub.groupby(["task", "model", "gt_version"], sort=True):
        lines += [f"### {model} ({task}, ground truth {version})", "", "- " + circuit_line(task, model, version)]
        for level in LEVELS:
            line = separation_line(g, level)
            if line:
                lines.append("- " + line)
        lines += ["", "| method | seeds | node | edge | edge_head | AUC (MIB) edge | AUC (MIB) edge_head | AUC (ACDC) edge | "
                  "null node | null edge | median wall s |", "|---" * 11 + "|"]
        for method, m in g.groupby("method", sort=True):
            wall = m[m.level == "node"].wall_s.median()
            lines.append(f"| {method} | {m.seed.nunique()} | {_cell(m, 'node', 'auc')} | {_cell(m, 'edge', 'auc')} | "
                         f"{_cell(m, 'edge_head', 'auc')} | {_cell(m, 'edge', 'auc_mib')} | "
                         f"{_cell(m, 'edge_head', 'auc_mib')} | {_cell(m, 'edge', 'auc_acdc')} | "
                         f"{_cell(m, 'node', 'null_auc')} | {_cell(m, 'edge', 'null_auc')} | {wall:.2f} |")
        lines.append("")
    return lines
