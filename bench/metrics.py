"""Scoring a ranking against ground-truth labels: ROC AUC, ROC curve, precision/recall at k, MIB's
InterpBench AUROC and ACDC's staircase area.

Ties are common (SAE-code scores are small integers), so every metric treats tied scores
as an unordered group: AUC counts a tied positive/negative pair as 1/2 (Mann-Whitney), and
precision at k takes the expectation over random orderings of the tie group at the cutoff."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must be equal 1-d shapes")
    return scores, labels


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve; NaN when labels are all one class."""
    scores, labels = _check(scores, labels)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_s = scores[order]
    # average ranks over ties (1-based)
    _, start, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = start + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) at every distinct threshold, from (0, 0) to (1, 1)."""
    scores, labels = _check(scores, labels)
    thresholds = np.unique(scores)[::-1]
    pos, neg = max(labels.sum(), 1), max((~labels).sum(), 1)
    tpr = [0.0] + [float((labels & (scores >= t)).sum() / pos) for t in thresholds]
    fpr = [0.0] + [float((~labels & (scores >= t)).sum() / neg) for t in thresholds]
    return np.array(fpr), np.array(tpr)


@dataclass(frozen=True)
class AtK:
    k: int
    precision: float
    recall: float


def precision_recall_at_k(scores: np.ndarray, labels: np.ndarray, k: int | None = None) -> AtK:
    """Expected precision and recall of the top ``k`` (default: number of positives)."""
    scores, labels = _check(scores, labels)
    k = int(labels.sum()) if k is None else k
    if k <= 0:
        return AtK(0, float("nan"), float("nan"))
    cut = np.sort(scores)[::-1][k - 1]
    above = scores > cut
    tied = scores == cut
    take = k - above.sum()  # how many of the tied group make the top k
    hits = labels[above].sum() + take * labels[tied].sum() / tied.sum()
    return AtK(k, float(hits / k), float(hits / max(labels.sum(), 1)))


# MIB's circuit sizes for its InterpBench AUROC (MIB circuit track, evaluate_area_under_roc): shares of the
# candidate edges, 0.1 % .. 100 %
MIB_PERCENTAGES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def top_k_rates(scores: np.ndarray, labels: np.ndarray, k: int) -> tuple[float, float]:
    """(TPR, FPR) of the circuit of the top ``k`` by score, ties at the cutoff in expectation."""
    scores, labels = _check(scores, labels)
    pos, neg = max(labels.sum(), 1), max((~labels).sum(), 1)
    if k <= 0:
        return 0.0, 0.0
    cut = np.sort(scores)[::-1][min(k, len(scores)) - 1]
    above, tied = scores > cut, scores == cut
    share = (min(k, len(scores)) - above.sum()) / tied.sum()  # of the tie group, the share that makes the cut
    tp = labels[above].sum() + share * labels[tied].sum()
    fp = (~labels)[above].sum() + share * (~labels)[tied].sum()
    return float(tp / pos), float(fp / neg)


def mib_auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """MIB's InterpBench AUROC: circuits of the top floor(pct x N) candidates by score at each of
    :data:`MIB_PERCENTAGES`, their (FPR, TPR), and the trapezoid area between consecutive points in that
    order with FPR divided by the last point's (MIB's ``area_under_curve(FPR, TPR)``, no (0, 0) anchor: the
    curve starts at the 0.1 % circuit). NaN when labels are all one class."""
    scores, labels = _check(scores, labels)
    if labels.all() or not labels.any():
        return float("nan")
    pts = [top_k_rates(scores, labels, int(p * len(scores))) for p in MIB_PERCENTAGES]
    tpr = np.array([t for t, _ in pts])
    fpr = np.array([f for _, f in pts]) / pts[-1][1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def pareto_staircase_auc(points: list[tuple[float, float]]) -> float:
    """ACDC's ROC area (``pessimistic_auc`` over Pareto-optimal points, acdc/acdc_graphics.py): the points
    are the circuits a sweep found plus (0, 0) and (1, 1); a point is dropped when another has a strictly
    lower false positive rate and a strictly higher true positive rate; the area under the staircase that
    rises at each point's FPR is sum_i (1 - fpr_i) (tpr_i - tpr_{i-1})."""
    pts = list(points) + [(0.0, 0.0), (1.0, 1.0)]
    pareto = sorted({(x, y) for x, y in pts if not any(x1 < x and y1 > y for x1, y1 in pts)})
    xs = np.array([p[0] for p in pareto])
    ys = np.array([p[1] for p in pareto])
    return float(np.sum((1 - xs)[1:] * np.diff(ys)))


def circuit_points(kept: np.ndarray, labels: np.ndarray) -> list[tuple[float, float]]:
    """(FPR, TPR) of each circuit: ``kept`` is bool ``[n_circuits, n_items]``."""
    labels = np.asarray(labels, dtype=bool)
    pos, neg = max(labels.sum(), 1), max((~labels).sum(), 1)
    return [(float((k & ~labels).sum() / neg), float((k & labels).sum() / pos)) for k in np.asarray(kept, dtype=bool)]


NULL_MARGIN = 0.05  # an AUC that does not beat its null control by this much carries no signal


def null_verdict(auc: np.ndarray, null_auc: np.ndarray) -> str:
    """'' when AUCs beat their null controls (paired per seed, NaN pairs dropped): the mean difference is
    above NULL_MARGIN and, with two or more seeds, above two standard errors; otherwise the flag."""
    a, b = np.asarray(auc, float), np.asarray(null_auc, float)
    ok = ~(np.isnan(a) | np.isnan(b))
    diff = a[ok] - b[ok]
    if diff.size == 0:
        return ""
    mean = float(diff.mean())
    se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else 0.0
    if mean > NULL_MARGIN and mean > 2 * se:
        return ""
    return f"no signal beyond its null (Δ {mean:+.3f})"
