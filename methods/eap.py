"""EAP, edge attribution patching (Syed et al. 2023): one clean/corrupted forward pair and one
backward pass give every edge's first-order effect of patching it from the corrupted run."""
from __future__ import annotations

from dataclasses import dataclass

from bench.tasks.base import TaskPrompts
from methods.base import MethodResult, graph_of
from methods.edge_attribution import edge_attribution


@dataclass(frozen=True)
class Config:
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    signed = edge_attribution(model, prompts, None, batch_size=config.batch_size)
    return MethodResult.from_edges(graph_of(model), signed, ablation="corrupted-patching")
