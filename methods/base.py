"""The method protocol and its result types.

A method is a function ``run(model, prompts, config, seed) -> MethodResult``. It receives the
model and a :class:`bench.tasks.base.TaskPrompts` (prompts, answers, metric) and nothing else:
ground truth is loaded by the harness only after the method has returned, so no method can see it.
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
    nodes: HeadScores
    edges: EdgeScores | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    sweep: Sweep | None = None


MethodFn = Callable[["HookedTransformer", TaskPrompts, Any, int], MethodResult]


@dataclass(frozen=True)
class MethodSpec:
    """A registry entry: key, one-line description, settings dataclass, and the function.

    ``contrast``: the method compares positive with negative prompts as sets (so a null control, with
    other positives as negatives, is meaningful). ``family_settings``: the settings its paper used per
    task family (``Task.family``), applied before any ``--set`` and named in each row's setting."""

    key: str
    description: str
    config: type
    run: MethodFn
    edges: bool  # whether the method produces its own edge scores
    setting: str = ""  # the documented setting it runs at, printed beside its numbers
    contrast: bool = False
    family_settings: dict[str, dict[str, Any]] = field(default_factory=dict)


def graph_of(model: "HookedTransformer") -> CircuitGraph:
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


def edge_hooks(model: "HookedTransformer") -> dict[str, bool]:
    """The flags that expose every sender and receiver of the edge graph (MIB sets the same)."""
    flags = {"use_attn_result": True, "use_split_qkv_input": True, "ungroup_grouped_query_attention": True}
    if not model.cfg.attn_only:
        flags["use_hook_mlp_in"] = True
    return flags


def batches(n: int, size: int) -> Iterator[slice]:
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


def node_scores_from_edges(graph: CircuitGraph, edge_scores: torch.Tensor) -> torch.Tensor:
    """ACDC's node rule for every edge method: a head is in the circuit when any edge into or out of it
    is, so its score is the largest |score| among its incident edges (internal ones included)."""
    mag = edge_scores.detach().abs().float().cpu()
    nodes = torch.zeros(len(graph.nodes))
    send, recv = graph.endpoint_nodes
    for ends in (send, recv):
        ok = ends >= 0
        nodes.scatter_reduce_(0, ends[ok], mag[ok], reduce="amax")
    return nodes.view(graph.n_layers, graph.n_heads)


def mlp_scores_from_edges(graph: CircuitGraph, edge_scores: torch.Tensor) -> torch.Tensor | None:
    """The same rule for MLP nodes (``None`` on attention-only models)."""
    if graph.attn_only:
        return None
    mag = edge_scores.detach().abs().float().cpu()
    out = torch.zeros(graph.n_layers)
    send, recv = graph.endpoint_mlps
    for ends in (send, recv):
        ok = ends >= 0
        out.scatter_reduce_(0, ends[ok], mag[ok], reduce="amax")
    return out
