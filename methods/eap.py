"""EAP, edge attribution patching (Syed et al. 2023): one clean/corrupted forward pair and one
backward pass give every edge's first-order effect of patching it from the corrupted run."""
from __future__ import annotations

from dataclasses import dataclass

from transformer_lens import HookedTransformer

from bench.tasks.base import TaskPrompts
from methods.base import EdgeScores, HeadScores, MethodResult
from methods.edge_attribution import edge_attribution, node_scores_from_edges


@dataclass(frozen=True)
class Config:
    batch_size: int = 32


def run(model: HookedTransformer, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    signed = edge_attribution(model, prompts, ig_steps=0, batch_size=config.batch_size)
    edges = signed.abs()  # rank by magnitude: an edge that hurts the metric is in the circuit too
    return MethodResult(HeadScores(node_scores_from_edges(model, signed)), EdgeScores(edges),
                        {"ablation": "corrupted-patching", "metric": prompts.metric.name})
