"""Edge attribution on the edge graph (:mod:`bench.graph`, ACDC's graph) with TransformerLens hooks: the
shared core of EAP (Syed et al. 2023) and EAP-IG (Hanna et al. 2024).

score(s -> r[port]) = mean over prompts of sum over positions of (a_s(corrupted) - a_s(clean)) . d(-m)/dx_r:
the first-order estimate of how much patching the edge from the corrupted run lowers the task metric m
(MIB attributes the loss -m, so a positive score is an edge the behaviour needs; its CPR ranks by it).
Here a_s is what sender s writes into the residual stream (INPUT: embeddings; a head: ``hook_result``;
an MLP: ``hook_mlp_out``) and x_r the receiver's input (a head's ``hook_q_input`` ..., an MLP's
``hook_mlp_in``, the final ``hook_resid_post``): MIB's and EAP-IG's definition, edge for edge. A head
port's internal edge (its input -> its q/k/v) gets the attribution of patching the whole input, which
is the sum over the port's incoming edges. Gradients are taken at the clean input (EAP) or averaged over
inputs whose embeddings are interpolated from corrupted to clean (EAP-IG, ``alphas``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch

from bench.graph import OUTPUT, is_mlp, layer_of
from bench.tasks.base import PromptBatch, TaskMetric, TaskPrompts, last_logits
from bench.graph import edge_hooks
from methods.base import batches, graph_of, hook_flags

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer


def _sender_acts(model: "HookedTransformer", tokens: torch.Tensor) -> torch.Tensor:
    """``[b, T, n_senders, d]`` in :attr:`CircuitGraph.senders` order (INPUT, then per layer heads, MLP)."""
    cfg = model.cfg
    names = {"blocks.0.hook_resid_pre"} | {f"blocks.{i}.attn.hook_result" for i in range(cfg.n_layers)}
    if not cfg.attn_only:
        names |= {f"blocks.{i}.hook_mlp_out" for i in range(cfg.n_layers)}
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=lambda n: n in names)
    parts = [cache["blocks.0.hook_resid_pre"][:, :, None]]
    for i in range(cfg.n_layers):
        parts.append(cache[f"blocks.{i}.attn.hook_result"])
        if not cfg.attn_only:
            parts.append(cache[f"blocks.{i}.hook_mlp_out"][:, :, None])
    return torch.cat(parts, 2)


def _receiver_grads(model: "HookedTransformer", batch: PromptBatch, metric: TaskMetric,
                    inputs: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Gradients of the summed metric w.r.t. every receiver input, keyed by hook name; ``inputs``
    replaces the embeddings (``hook_resid_pre`` of block 0) when given (EAP-IG)."""
    cfg = model.cfg
    grads: dict[str, torch.Tensor] = {}
    names = [f"blocks.{i}.hook_{p}_input" for i in range(cfg.n_layers) for p in "qkv"]
    names.append(f"blocks.{cfg.n_layers - 1}.hook_resid_post")
    if not cfg.attn_only:
        names += [f"blocks.{i}.hook_mlp_in" for i in range(cfg.n_layers)]

    def save(t: torch.Tensor, hook) -> None:
        t.register_hook(lambda g, name=hook.name: grads.__setitem__(name, g.detach()))

    def start(t: torch.Tensor, hook) -> torch.Tensor:
        # The weights are frozen, so the graph starts here.
        return (t if inputs is None else inputs).detach().requires_grad_(True)

    fwd = [("blocks.0.hook_resid_pre", start)] + [(n, save) for n in names]
    with torch.enable_grad():
        logits = model.run_with_hooks(batch.tokens, fwd_hooks=fwd)
        metric(last_logits(logits, batch)).sum().backward()
    return grads


def _receiver_grad(grads: dict[str, torch.Tensor], receiver: str, port: str, n_layers: int) -> torch.Tensor:
    """``[b*T*d, H]`` for a layer's head ports, ``[b*T*d, 1]`` for an MLP input or the output."""
    if receiver == OUTPUT:
        g = grads[f"blocks.{n_layers - 1}.hook_resid_post"][:, :, None]
    elif is_mlp(receiver):
        g = grads[f"blocks.{layer_of(receiver)}.hook_mlp_in"][:, :, None]
    else:
        g = grads[f"blocks.{layer_of(receiver)}.hook_{port}_input"]
    return g.permute(0, 1, 3, 2).reshape(-1, g.shape[2])


def port_groups(graph) -> list[list]:
    """The additive edge blocks grouped so that a layer's head ports, which share one gradient tensor,
    are scored together (one matrix product per layer and port)."""
    groups: dict[tuple[str, str], list] = {}
    for b in graph.blocks:
        key = (str(layer_of(b.receiver)), b.port) if b.receiver != OUTPUT and not is_mlp(b.receiver) else (b.receiver, b.port)
        groups.setdefault(key, []).append(b)
    return list(groups.values())


def add_port_scores(scores: torch.Tensor, groups: list[list], delta: torch.Tensor,
                    grads: dict[str, torch.Tensor], n_layers: int) -> None:
    """``scores[e] += sum over prompts, positions and d of delta[sender(e)] * grad[receiver(e)]`` for every
    additive edge e; ``delta`` is ``[b, T, n_senders, d]``, ``grads`` keyed by receiver hook name."""
    delta_flat = delta.permute(2, 0, 1, 3).reshape(delta.shape[2], -1)  # [S, b*T*d]
    for group in groups:
        first = group[0]
        g = _receiver_grad(grads, first.receiver, first.port, n_layers)
        prod = delta_flat[: first.count] @ g  # [count, H or 1]: one product per layer port
        for col, b in enumerate(group):
            scores[b.start: b.start + b.count] += prod[:, col if prod.shape[1] > 1 else 0]


def edge_attribution(model: "HookedTransformer", prompts: TaskPrompts, alphas: Sequence[float] | None = None,
                     batch_size: int = 32, reference: torch.Tensor | None = None) -> torch.Tensor:
    """Signed scores aligned with ``graph.edges`` (mean over prompts). ``alphas`` None: EAP, gradients at
    the clean input; otherwise EAP-IG with gradients averaged at each alpha along corrupted -> clean.
    ``reference`` ``[n_senders, d]`` (EAP only): each sender's ablated value, used in place of its
    corrupted-run activation (mean ablation: :func:`methods.mean_ablation.sender_means`)."""
    if reference is not None and alphas is not None:
        raise ValueError("a fixed reference (mean ablation) applies to EAP, not EAP-IG-inputs")
    cfg = model.cfg
    graph = graph_of(model)
    scores = torch.zeros(len(graph.edges), device=cfg.device)
    groups = port_groups(graph)
    with hook_flags(model, **edge_hooks(model.cfg)):
        for sl in batches(len(prompts.clean), batch_size):
            clean, corrupt = prompts.clean.take(sl).to(cfg.device), prompts.corrupted.take(sl).to(cfg.device)
            metric = prompts.metric.take(sl)
            mask = clean.position_mask()[:, :, None, None].to(scores.dtype)
            acts_clean = _sender_acts(model, clean.tokens)
            acts_corrupt = (_sender_acts(model, corrupt.tokens) if reference is None
                            else reference.to(acts_clean)[None, None].expand_as(acts_clean))
            delta = (acts_corrupt - acts_clean) * mask  # [b, T, S, d]
            grads: dict[str, torch.Tensor] = {}
            steps = [None] if alphas is None else [acts_corrupt[:, :, 0] + a * (acts_clean[:, :, 0] - acts_corrupt[:, :, 0])
                                                   for a in alphas]
            for inputs in steps:
                for k, v in _receiver_grads(model, clean, metric, inputs).items():
                    grads[k] = grads.get(k, 0) + v / len(steps)
            add_port_scores(scores, groups, delta, grads, cfg.n_layers)
    scores /= -len(prompts.clean)  # mean over prompts, of the loss -m
    return graph.fold_internal(scores.cpu(), reduce="sum")
