"""HISP, head importance score for pruning (Michel et al. 2019): each head's output is scaled by a mask
xi_h = 1; importance = mean over prompts of |d metric / d xi_h|, then, as Michel et al. and ACDC's HISP
baseline do, divided by the L2 norm of its layer's importances (``normalize="layer_l2"``; ``"none"``
keeps the raw means). Node level only."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.tasks.base import TaskPrompts, last_logits
from methods.base import HeadScores, MethodResult, batches


@dataclass(frozen=True)
class Config:
    batch_size: int = 32
    normalize: str = "layer_l2"  # "layer_l2" (Michel et al.; ACDC's baseline) or "none"

    def __post_init__(self) -> None:
        if self.normalize not in ("layer_l2", "none"):
            raise ValueError(f"normalize must be 'layer_l2' or 'none', not {self.normalize!r}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    cfg = model.cfg
    total = torch.zeros(cfg.n_layers, cfg.n_heads)
    for sl in batches(len(prompts.clean), config.batch_size):
        clean = prompts.clean.take(sl).to(cfg.device)
        metric = prompts.metric.take(sl)
        masks = torch.ones(cfg.n_layers, len(clean), cfg.n_heads, device=cfg.device, requires_grad=True)

        def scale(z: torch.Tensor, hook) -> torch.Tensor:
            return z * masks[int(hook.name.split(".")[1])][:, None, :, None]

        with torch.enable_grad():
            logits = model.run_with_hooks(clean.tokens, fwd_hooks=[(lambda name: name.endswith("attn.hook_z"), scale)])
            metric(last_logits(logits, clean)).sum().backward()
        total += masks.grad.abs().sum(1).cpu()  # per-prompt |gradient|, summed over the batch
    importance = total / len(prompts.clean)
    if config.normalize == "layer_l2":
        importance = importance / importance.norm(dim=1, keepdim=True).clamp_min(1e-6)
    return MethodResult(HeadScores(importance), ablation="none")
