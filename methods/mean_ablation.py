"""Mean ablation's reference values: each sender's activation averaged over the task's corrupted
prompts, over every real (unpadded) position, one ``[d_model]`` vector per sender (MIB's ``mean``
ablation, not its ``mean-positional``). EAP then attributes replacing a sender's clean output by this
mean instead of by the same prompt's corrupted run."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from bench.tasks.base import PromptBatch
from bench.graph import edge_hooks
from methods.base import batches, hook_flags
from methods.edge_attribution import _sender_acts

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer


def sender_means(model: "HookedTransformer", batch: PromptBatch, batch_size: int = 32) -> torch.Tensor:
    """``[n_senders, d]`` in :attr:`bench.graph.CircuitGraph.senders` order: the mean of each sender's
    output over all real positions of ``batch``."""
    total, count = None, 0
    with hook_flags(model, **edge_hooks(model.cfg)):
        for sl in batches(len(batch), batch_size):
            part = batch.take(sl).to(model.cfg.device)
            acts = _sender_acts(model, part.tokens)  # [b, T, S, d]
            mask = part.position_mask()[:, :, None, None].to(acts.dtype)
            s = (acts * mask).sum((0, 1))
            total = s if total is None else total + s
            count += int(part.lengths.sum())
    return total / count
