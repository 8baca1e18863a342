"""HISP, head importance score for pruning (Michel et al. 2019): each head's output is scaled by
a mask xi_h = 1; importance = mean over prompts of |d metric / d xi_h|. Node level only."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from transformer_lens import HookedTransformer

from bench.tasks.base import TaskPrompts, last_logits
from methods.base import HeadScores, MethodResult, batches


@dataclass(frozen=True)
class Config:
    batch_size: int = 32


def run(model: HookedTransformer, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    cfg = model.cfg
    total = torch.zeros(cfg.n_layers, cfg.n_heads)
    for sl in batches(len(prompts.clean), config.batch_size):
        clean = prompts.clean.take(sl).to(cfg.device)
        metric = prompts.metric.take(sl)
        n = len(clean)
        masks = torch.ones(cfg.n_layers, n, cfg.n_heads, device=cfg.device, requires_grad=True)

        def scale(z: torch.Tensor, hook) -> torch.Tensor:
            return z * masks[int(hook.name.split(".")[1])][:, None, :, None]

        with torch.enable_grad():
            logits = model.run_with_hooks(clean.tokens, fwd_hooks=[(lambda name: name.endswith("attn.hook_z"), scale)])
            metric(last_logits(logits, clean)).sum().backward()
        total += masks.grad.abs().sum(1).cpu()  # per-prompt |gradient|, summed over the batch
    return MethodResult(HeadScores(total / len(prompts.clean)), None, {"ablation": "none", "metric": prompts.metric.name})
