"""EAP, edge attribution patching (Syed et al. 2023): one clean/corrupted forward pair and one
backward pass give every edge's first-order effect of patching it from the corrupted run.

``ablation="mean"`` (off by default) attributes mean ablation instead, as MIB's ``--ablation mean``: the
sender's clean output is replaced by its mean over the task's corrupted prompts and positions
(:mod:`methods.mean_ablation`), so the corrupted run of the same prompt is never used."""
from __future__ import annotations

from dataclasses import dataclass

from bench.tasks.base import TaskPrompts
from methods.base import MethodResult, graph_of
from methods.edge_attribution import edge_attribution
from methods.mean_ablation import sender_means


ABLATIONS = {"patching": "corrupted-patching", "mean": "mean-ablation (corrupted prompts)"}


@dataclass(frozen=True)
class Config:
    batch_size: int = 32
    ablation: str = "patching"  # "patching" (corrupted run of the same prompt) or "mean" (over corrupted prompts)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.ablation not in ABLATIONS:
            raise ValueError(f"ablation must be one of {', '.join(ABLATIONS)}, not {self.ablation!r}")


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    reference = None if config.ablation == "patching" else sender_means(model, prompts.corrupted, config.batch_size)
    signed = edge_attribution(model, prompts, None, batch_size=config.batch_size, reference=reference)
    return MethodResult.from_edges(graph_of(model), signed, ablation=ABLATIONS[config.ablation])
