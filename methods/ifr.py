"""Information flow routes (Ferrando and Voita 2024) as MIB implements them (hannamw/EAP-IG
``get_scores_information_flow_routes``): no gradients and no corrupted prompts. At every real position
of every clean prompt, each receiver's input x (a head's q/k/v input, an MLP's input, the final residual
stream) is compared with what each of its senders s wrote there: proximity(s) = max(0, ||x||_1 -
||x - a_s||_1), importance(s -> x) = proximity(s) / sum of proximities over the receiver's senders (0
where every proximity is 0). An edge's score is its importance averaged over the prompt's real positions,
then over prompts; scores lie in [0, 1] and are never negative.

A head port's internal edge (ACDC's graph; MIB has none) would score 1 at every position by this rule (the
importances into a port sum to 1), so it takes the head's largest outgoing edge score instead: the head's
route importance."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from bench.graph import OUTPUT, is_mlp, layer_of
from bench.tasks.base import TaskPrompts
from bench.graph import edge_hooks
from methods.base import MethodResult, batches, graph_of, hook_flags
from methods.edge_attribution import _sender_acts, port_groups

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer


@dataclass(frozen=True)
class Config:
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


def _receiver_hook(receiver: str, port: str, n_layers: int) -> str:
    if receiver == OUTPUT:
        return f"blocks.{n_layers - 1}.hook_resid_post"
    if is_mlp(receiver):
        return f"blocks.{layer_of(receiver)}.hook_mlp_in"
    return f"blocks.{layer_of(receiver)}.hook_{port}_input"


def importance(x: torch.Tensor, senders: torch.Tensor) -> torch.Tensor:
    """``x`` ``[b, T, d]`` a receiver's input, ``senders`` ``[b, T, n, d]`` what each sender wrote:
    ``[b, T, n]`` L1 proximities normalised over the senders (Ferrando and Voita's Eq. 4, MIB's code)."""
    prox = (x.abs().sum(-1, keepdim=True) - (x[:, :, None] - senders).abs().sum(-1)).clamp_min(0)
    total = prox.sum(-1, keepdim=True)
    return torch.where(total > 0, prox / total.clamp_min(1e-30), torch.zeros_like(prox))


def ifr_scores(model: "HookedTransformer", prompts: TaskPrompts, batch_size: int = 32) -> torch.Tensor:
    """Edge scores aligned with ``graph.edges`` (see the module docstring)."""
    cfg = model.cfg
    graph = graph_of(model)
    scores = torch.zeros(len(graph.edges))
    groups = port_groups(graph)
    names = {_receiver_hook(g[0].receiver, g[0].port, cfg.n_layers) for g in groups}
    with hook_flags(model, **edge_hooks(model.cfg)), torch.no_grad():
        for sl in batches(len(prompts.clean), batch_size):
            clean = prompts.clean.take(sl).to(cfg.device)
            acts = _sender_acts(model, clean.tokens)  # [b, T, S, d]
            _, cache = model.run_with_cache(clean.tokens, names_filter=lambda n: n in names)
            weight = (clean.position_mask().to(acts.dtype) / clean.lengths[:, None].to(acts.dtype))  # mean over positions
            for group in groups:
                first = group[0]
                x = cache[_receiver_hook(first.receiver, first.port, cfg.n_layers)]
                x = x if x.ndim == 4 else x[:, :, None]  # [b, T, H or 1, d]
                for col, b in enumerate(group):
                    imp = importance(x[:, :, col if x.shape[2] > 1 else 0], acts[:, :, : b.count])
                    scores[b.start: b.start + b.count] += (imp * weight[:, :, None]).sum((0, 1)).cpu()
    scores /= len(prompts.clean)
    send, _ = graph.endpoint_nodes
    for i, block in graph.internal_edges:
        head = graph.node_index[block.receiver]
        scores[i] = scores[send == head].max()
    return scores


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    scores = ifr_scores(model, prompts, config.batch_size)
    return MethodResult.from_edges(graph_of(model), scores, ablation="none",
                                   metric="none (clean prompts' residual routes)")
