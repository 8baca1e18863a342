"""The floor: uniform random node and edge scores (ROC AUC about 0.5)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.tasks.base import TaskPrompts
from methods.base import EdgeScores, HeadScores, MethodResult, graph_of


@dataclass(frozen=True)
class Config:
    pass


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    gen = torch.Generator().manual_seed(seed)
    g = graph_of(model)
    mlps = None if g.attn_only else torch.rand(g.n_layers, generator=gen)
    return MethodResult(HeadScores(torch.rand(g.n_layers, g.n_heads, generator=gen), mlps),
                        EdgeScores(torch.rand(len(g.edges), generator=gen)))
