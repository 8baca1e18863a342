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
    mapping: dict[str, str]  # high-level variable -> component
    groups: dict[str, list[str]]  # ground-truth groups (one per variable, named for readers)
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

    @property
    def class_edges(self) -> list[list[str]]:
        """The ground truth's class-level edges: the induced subgraph of the groups (:func:`induced`)."""
        return induced(self.groups)
