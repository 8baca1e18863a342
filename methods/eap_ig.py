"""EAP-IG (Hanna et al. 2024): EAP with gradients averaged over inputs interpolated from the
corrupted to the clean embeddings (integrated gradients; 5 steps, as its authors use)."""
from __future__ import annotations

from dataclasses import dataclass

from transformer_lens import HookedTransformer

from bench.tasks.base import TaskPrompts
from methods.base import EdgeScores, HeadScores, MethodResult
from methods.edge_attribution import edge_attribution, node_scores_from_edges


@dataclass(frozen=True)
class Config:
    steps: int = 5
    batch_size: int = 32


def run(model: HookedTransformer, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    signed = edge_attribution(model, prompts, ig_steps=config.steps, batch_size=config.batch_size)
    return MethodResult(HeadScores(node_scores_from_edges(model, signed)), EdgeScores(signed.abs()),
                        {"ablation": "corrupted-patching", "metric": prompts.metric.name})
