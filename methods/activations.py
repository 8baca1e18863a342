"""Head outputs written into the residual stream, gathered with TransformerLens hooks.

Only ``hook_z`` is hooked and the forward pass stops right after the last layer's attention,
so the last MLP and the unembedding never run. Head h's output is ``z_h @ W_O[h]``; averaging
over positions commutes with that product, so the mean is taken on ``z`` first (cheap)."""
from __future__ import annotations

import torch
from transformer_lens import HookedTransformer

from bench.tasks.base import PromptBatch
from methods.base import batches


class _StopForward(Exception):
    pass


@torch.no_grad()
def head_outputs(model: HookedTransformer, prompts: PromptBatch, positions: str = "mean",
                 batch_size: int = 64) -> torch.Tensor:
    """``[n_prompts, n_layers * n_heads, d_model]``: each head's output, mean over real positions
    (``positions="mean"``) or at the final position (``"last"``)."""
    cfg = model.cfg
    device = cfg.device
    out = torch.empty(len(prompts), cfg.n_layers * cfg.n_heads, cfg.d_model, device=device)
    last_hook = f"blocks.{cfg.n_layers - 1}.attn.hook_z"
    for sl in batches(len(prompts), batch_size):
        b = prompts.take(sl).to(device)
        mask = b.position_mask().to(device).float()  # [b, T]
        zs: list[torch.Tensor] = []

        def grab(z: torch.Tensor, hook) -> None:  # z: [b, T, H, d_head]
            if positions == "last":
                zs.append(z[torch.arange(z.shape[0], device=device), b.lengths - 1])
            else:
                zs.append((z * mask[:, :, None, None]).sum(1) / mask.sum(1)[:, None, None])
            if hook.name == last_hook:
                raise _StopForward

        try:
            model.run_with_hooks(b.tokens, fwd_hooks=[(lambda n: n.endswith("attn.hook_z"), grab)])
        except _StopForward:
            pass
        z = torch.stack(zs, 1)  # [b, L, H, d_head]
        out[sl] = torch.einsum("blhd,lhdm->blhm", z, model.W_O).reshape(z.shape[0], -1, cfg.d_model)
    return out
