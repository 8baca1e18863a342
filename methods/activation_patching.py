"""Per-head activation patching: replace one head's output (``hook_z``) in the clean run with its
value from the corrupted run; the head's score is |change in the task metric|. Node level only;
one forward pass per head, so slow on big models but the most direct causal reference."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm import tqdm

from bench.tasks.base import TaskPrompts, last_logits
from methods.base import HeadScores, MethodResult, batches


@dataclass(frozen=True)
class Config:
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


@torch.no_grad()
def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    cfg = model.cfg
    effect = torch.zeros(cfg.n_layers, cfg.n_heads)
    dev = cfg.device
    for sl in batches(len(prompts.clean), config.batch_size):
        clean, corrupt = prompts.clean.take(sl).to(dev), prompts.corrupted.take(sl).to(dev)
        metric = prompts.metric.take(sl)
        _, cache = model.run_with_cache(corrupt.tokens, names_filter=lambda n: n.endswith("attn.hook_z"))
        base = metric(last_logits(model(clean.tokens), clean))
        for layer in tqdm(range(cfg.n_layers), desc="activation patching", leave=False, disable=cfg.n_layers < 6):
            src = cache[f"blocks.{layer}.attn.hook_z"]
            for h in range(cfg.n_heads):
                def patch(z: torch.Tensor, hook, h: int = h) -> torch.Tensor:
                    z[:, :, h] = src[:, :, h]
                    return z

                logits = model.run_with_hooks(clean.tokens, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", patch)])
                effect[layer, h] += (base - metric(last_logits(logits, clean))).sum().cpu()
    return MethodResult(HeadScores((effect / len(prompts.clean)).abs()), ablation="corrupted-patching")
