"""EAP-IG (Hanna et al. 2024): EAP with gradients averaged over inputs whose embeddings are interpolated
from the corrupted to the clean prompt (integrated gradients, "EAP-IG-inputs"). MIB's pinned EAP-IG
takes 5 steps at alpha = k/5 for k = 0..4 (``grid="mib"``, the default); ``grid="endpoint"`` takes
k = 1..5 instead, which includes the clean input and omits the corrupted one."""
from __future__ import annotations

from dataclasses import dataclass

from bench.tasks.base import TaskPrompts
from methods.base import MethodResult, graph_of
from methods.edge_attribution import edge_attribution


@dataclass(frozen=True)
class Config:
    steps: int = 5
    grid: str = "mib"  # "mib": k/steps, k = 0..steps-1; "endpoint": k = 1..steps
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.grid not in ("mib", "endpoint"):
            raise ValueError(f"grid must be 'mib' or 'endpoint', not {self.grid!r}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be at least 1")

    @property
    def alphas(self) -> list[float]:
        ks = range(self.steps) if self.grid == "mib" else range(1, self.steps + 1)
        return [k / self.steps for k in ks]


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    signed = edge_attribution(model, prompts, config.alphas, batch_size=config.batch_size)
    return MethodResult.from_edges(graph_of(model), signed, ablation="corrupted-patching")
