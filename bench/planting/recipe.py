"""A planted model's training recipe: which component computes each high-level variable (the mapping,
the circuit by construction), the ground-truth groups, the schedule and the loss weights. Only training,
certification and ground-truth building read it; no task, model loader or method imports this package."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from bench.models.planted import Planted
from bench.models.planted.highlevel import Batch, HighLevel
from bench.planting.siit import Weights


def induced(groups: dict[str, list[str]]) -> list[list[str]]:
    """The circuit's edges by construction: every edge among the mapped components, from the embeddings
    into each of them and from each of them to the output, on every port (SIIT maps components, not ports;
    the rule keeps only edges that run forward)."""
    names = list(groups)
    return ([["INPUT", g, "qkv"] for g in names] + [[a, b, "qkv"] for a in names for b in names if a != b]
            + [[g, "OUTPUT", "out"] for g in names])


@dataclass(frozen=True)
class Recipe:
    """One planted model: its architecture, high-level model, mapping, schedule and ground-truth facts."""

    planted: Planted
    config: Callable[[], Any]  # -> HookedTransformerConfig
    high_level: Callable[[], HighLevel]
    mapping: dict[str, str]  # high-level variable -> the ground-truth group that computes it
    groups: dict[str, list[str]]  # ground-truth groups (one per variable, named for readers) -> components
    metric: Callable[[torch.Tensor, Batch], torch.Tensor]  # per-prompt task metric on clean inputs
    corrupt: Callable[[Batch, torch.Generator], torch.Tensor]  # the task's negatives for a clean batch
    task: str
    source: str
    steps: int = 4000
    batch: int = 128
    lr: float = 1e-3
    weights: Weights = field(default_factory=Weights)
    # a per-prompt score of the output against its own input's answer, for ablations from other inputs where
    # the task metric is not specific to the input (a real-valued output): default, the task metric itself
    fidelity: Callable[[torch.Tensor, Batch], torch.Tensor] | None = None

    # the high-level causal graph's edges (sender variable or INPUT, receiver variable or OUTPUT, the ports
    # of a receiving head that read the sender: any of "q", "k", "v"); :attr:`realised_edges` expands them
    causal_edges: tuple[tuple[str, str, str], ...] = ()

    def components(self, variable: str) -> list[str]:
        """The heads and MLPs that compute ``variable`` (its group's members)."""
        return list(self.groups[self.mapping[variable]])

    @property
    def component_mapping(self) -> dict[str, list[str]]:
        """High-level variable -> the components SIIT intervenes on together for it."""
        return {v: self.components(v) for v in self.mapping}

    @property
    def circuit(self) -> list[str]:
        """Every mapped component, in the groups' order."""
        return [c for g in self.groups.values() for c in g]

    @property
    def class_edges(self) -> list[list[str]]:
        """``siit.v1``'s class-level edges: the induced subgraph of the groups (:func:`induced`)."""
        return induced(self.groups)

    @property
    def realised_edges(self) -> list[list[str]]:
        """``siit.v2``'s class-level edges, InterpBench's rule: each high-level edge, as the cross product of
        the groups its ends map to (the rule ``class_edges`` expands groups into members), on the ports the
        edge names."""
        def end(name: str) -> str:
            return name if name in ("INPUT", "OUTPUT") else self.mapping[name]
        return [[end(s), end(r), ports] for s, r, ports in self.causal_edges]
