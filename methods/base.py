"""The method protocol and its result types.

A method is a function ``run(model, prompts, config, seed) -> MethodResult``. It receives the
model, a :class:`bench.tasks.base.TaskPrompts` (prompts, answers, metric), its settings and a seed, and
nothing else: the harness parses ground truth only after the method has returned, and no module a method
imports can reach ground truth (tests/test_methods.py follows the imports).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import torch

from bench.graph import CircuitGraph
from bench.tasks.base import TaskPrompts

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer


@dataclass(frozen=True)
class HeadScores:
    """Per-head scores ``[n_layers, n_heads]``; a larger magnitude means more likely in the circuit. A
    method that also scores MLPs as nodes puts them in ``mlps`` ``[n_layers]``."""

    scores: torch.Tensor
    mlps: torch.Tensor | None = None

    @staticmethod
    def from_edges(graph: CircuitGraph, edge_scores: torch.Tensor) -> "HeadScores":
        """ACDC's node rule for every edge method: a head (or MLP) is in the circuit when any edge into or out
        of it is, so its score is the largest |score| among its incident edges (internal ones included)."""
        heads, mlps = graph.incident_max(edge_scores.detach().abs().float().cpu())
        return HeadScores(heads.view(graph.n_layers, graph.n_heads), mlps)

    def flat(self) -> torch.Tensor:
        return self.scores.detach().float().cpu().reshape(-1)

    def flat_mlps(self) -> torch.Tensor | None:
        return None if self.mlps is None else self.mlps.detach().float().cpu().reshape(-1)


@dataclass(frozen=True)
class EdgeScores:
    """Per-edge scores aligned with :attr:`bench.graph.CircuitGraph.edges`. The sign is the method's own
    (EAP's attribution may be negative); rankings for ROC and CMD use the magnitude, MIB's CPR the sign."""

    scores: torch.Tensor

    def flat(self) -> torch.Tensor:
        return self.scores.detach().float().cpu().reshape(-1)


@dataclass(frozen=True)
class Sweep:
    """The circuits a threshold-sweep method found: ``kept[i]`` is the edge mask at ``thresholds[i]``
    (ACDC's tau, SP's lambda). Scored as ACDC scores its own ROC (Pareto points, staircase area)."""

    parameter: str
    thresholds: list[float]
    kept: torch.Tensor  # bool [n_thresholds, n_edges]


@dataclass(frozen=True)
class MethodResult:
    """What a method found, and the facts about how, each in a row's column: ``ablation`` (how it removes a
    component), ``metric`` (what it measures; empty: the task's metric), ``degenerate`` (the method's own
    verdict that its fit collapsed), ``compute_s`` (the compute its result took when part of it came from the
    method's own resumable cache; None: the wall time of the call). ``diagnostics``: anything else, stored in
    the run file."""

    nodes: HeadScores
    edges: EdgeScores | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    sweep: Sweep | None = None
    ablation: str = "none"
    metric: str = ""
    degenerate: bool = False
    compute_s: float | None = None

    @staticmethod
    def from_edges(graph: CircuitGraph, edge_scores: torch.Tensor, **facts: Any) -> "MethodResult":
        """An edge method's result: its edge scores and the node scores ACDC's node rule gives them."""
        return MethodResult(HeadScores.from_edges(graph, edge_scores), EdgeScores(edge_scores), **facts)


MethodFn = Callable[["HookedTransformer", TaskPrompts, Any, int], MethodResult]


@dataclass(frozen=True)
class MethodSpec:
    """A registry entry: key, one-line description, settings dataclass, and the function.

    ``contrast``: the method compares positive with negative prompts as sets (so a null control, with
    other positives as negatives, is meaningful). ``cost``: how long a run takes, which profiles read. ``family_settings``: the settings its paper used per
    task family (``Task.family``), applied before any ``--set`` and named in each row's setting."""

    key: str
    description: str
    config: type
    run: MethodFn
    edges: bool  # whether the method produces its own edge scores
    setting: str = ""  # the documented setting it runs at, printed beside its numbers
    contrast: bool = False
    family_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # what one run costs on 2 CPU cores: "fast" (seconds), "costly" (tens of seconds: one seed in the ci
    # benchmark profile) or "slow" (a sweep or a training run, minutes: left out of the ci profile)
    cost: str = "fast"

    def __post_init__(self) -> None:
        if self.cost not in ("fast", "costly", "slow"):
            raise ValueError(f"method {self.key}: cost must be fast, costly or slow, not {self.cost!r}")


def graph_of(model: "HookedTransformer") -> CircuitGraph:
    """The edge graph of ``model``'s shape."""
    cfg = model.cfg
    return CircuitGraph(cfg.n_layers, cfg.n_heads, bool(cfg.attn_only))


@contextmanager
def hook_flags(model: "HookedTransformer", **flags: bool) -> Iterator[None]:
    """Switch TransformerLens config flags (``use_split_qkv_input`` ...) on for one method run."""
    setters = {"use_attn_result": model.set_use_attn_result, "use_split_qkv_input": model.set_use_split_qkv_input,
               "use_hook_mlp_in": model.set_use_hook_mlp_in,
               "ungroup_grouped_query_attention": model.set_ungroup_grouped_query_attention}
    old = {k: getattr(model.cfg, k) for k in flags}
    try:
        for k, v in flags.items():
            setters[k](v)
        yield
    finally:
        for k, v in old.items():
            setters[k](v)


def batches(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` over ``n`` prompts."""
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


def resolve_target(target: str, prompts: TaskPrompts) -> str:
    """An auto-circuit faithfulness target: ``auto`` is KL divergence, squared error where the task's output
    is a real value (as the ACDC paper's tracr runs); ``kl_div`` / ``mse`` as given."""
    return target if target != "auto" else ("mse" if prompts.metric.numeric_output else "kl_div")


def check_target(target: str) -> None:
    if target not in ("auto", "kl_div", "mse"):
        raise ValueError(f"target must be auto, kl_div or mse, not {target!r}")


@contextmanager
def quiet_progress(*modules: Any) -> Iterator[None]:
    """Silence the per-step progress bars of library modules (auto-circuit draws one per edge or epoch);
    cdbench shows one bar over its own sweep instead."""
    from functools import partial

    from tqdm import tqdm

    old = [m.tqdm for m in modules]
    for m in modules:
        m.tqdm = partial(tqdm, disable=True)
    try:
        yield
    finally:
        for m, t in zip(modules, old):
            m.tqdm = t
