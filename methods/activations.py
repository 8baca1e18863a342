"""Head outputs written into the residual stream, gathered with TransformerLens hooks.

Only ``hook_z`` (and ``hook_mlp_out`` when MLP nodes are asked for) is hooked, and the forward pass
stops right after the last hook needed, so with heads only the last MLP and the unembedding never
run. Head h's output is ``z_h @ W_O[h]``; averaging over positions commutes with that product, so
the mean is taken on ``z`` first (cheap)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from bench.errors import MethodInputError
from bench.tasks.base import PromptBatch
from methods.base import batches

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer


class _StopForward(Exception):
    pass


@torch.no_grad()
def head_outputs(model: "HookedTransformer", prompts: PromptBatch, positions: str = "mean",
                 batch_size: int = 64, mlps: bool = False) -> torch.Tensor:
    """``[n_prompts, n_layers * n_heads (+ n_layers), d_model]``: each head's output, mean over real
    positions (``positions="mean"``) or at the final position (``"last"``); with ``mlps`` each layer's
    MLP output follows the heads (rows ``n_layers * n_heads + L``)."""
    cfg = model.cfg
    if mlps and cfg.attn_only:
        raise MethodInputError(f"mlp_nodes: model {cfg.model_name} is attention-only; it has no MLP outputs")
    device = cfg.device
    n_rows = cfg.n_layers * cfg.n_heads + (cfg.n_layers if mlps else 0)
    out = torch.empty(len(prompts), n_rows, cfg.d_model, device=device)
    last_hook = f"blocks.{cfg.n_layers - 1}.{'hook_mlp_out' if mlps else 'attn.hook_z'}"
    wanted = ("attn.hook_z", "hook_mlp_out") if mlps else ("attn.hook_z",)
    for sl in batches(len(prompts), batch_size):
        b = prompts.take(sl).to(device)
        mask = b.position_mask().to(device).float()  # [b, T]
        zs: list[torch.Tensor] = []
        mlp_outs: list[torch.Tensor] = []

        def reduce(act: torch.Tensor) -> torch.Tensor:  # [b, T, ...] -> [b, ...]
            if positions == "last":
                return act[torch.arange(act.shape[0], device=device), b.lengths - 1]
            m = mask.view(*mask.shape, *([1] * (act.dim() - 2)))
            return (act * m).sum(1) / m.sum(1)

        def grab(act: torch.Tensor, hook) -> None:
            (zs if hook.name.endswith("hook_z") else mlp_outs).append(reduce(act))
            if hook.name == last_hook:
                raise _StopForward

        try:
            model.run_with_hooks(b.tokens, fwd_hooks=[(lambda n: n.endswith(wanted), grab)])
        except _StopForward:
            pass
        z = torch.stack(zs, 1)  # [b, L, H, d_head]
        heads = torch.einsum("blhd,lhdm->blhm", z, model.W_O).reshape(z.shape[0], -1, cfg.d_model)
        out[sl] = torch.cat([heads, torch.stack(mlp_outs, 1)], 1) if mlps else heads
    return out


@torch.no_grad()
def forward_floor(model: "HookedTransformer", prompts: PromptBatch, batch_size: int = 64) -> None:
    """The physical floor of any head-output method: one batched forward pass over ``prompts`` that
    stops after the last layer's attention, with no activation kept (timing reference only)."""
    last_hook = f"blocks.{model.cfg.n_layers - 1}.attn.hook_z"

    def stop(act: torch.Tensor, hook) -> None:
        raise _StopForward

    for sl in batches(len(prompts), batch_size):
        b = prompts.take(sl).to(model.cfg.device)
        try:
            model.run_with_hooks(b.tokens, fwd_hooks=[(last_hook, stop)])
        except _StopForward:
            pass
