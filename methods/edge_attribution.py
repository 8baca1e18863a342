"""Edge attribution on the head-level graph with TransformerLens hooks: the shared core of EAP
(Syed et al. 2023) and EAP-IG (Hanna et al. 2024).

score(s -> r[port]) = sum over prompts and positions of (a_s(corrupted) - a_s(clean)) . dm/dx_r[port],
where a_s is what sender s writes into the residual stream (INPUT: embeddings, plus every MLP output
for models with MLPs; a head: its output z @ W_O) and x_r[port] the receiver's q/k/v input (for
OUTPUT: the final residual stream plus every later MLP input). MLPs fold into INPUT/OUTPUT exactly as
in ACDC's IOI encoding, so the edge set is :class:`bench.graph.HeadGraph`'s. The gradient is taken at
the clean input (EAP) or averaged over inputs interpolated from corrupted to clean embeddings (EAP-IG).
"""
from __future__ import annotations

import torch
from transformer_lens import HookedTransformer

from bench.graph import INPUT, OUTPUT
from bench.tasks.base import PromptBatch, TaskPrompts, last_logits
from methods.base import batches, graph_of, hook_flags

PORTS = ("q", "k", "v")


def _sender_acts(model: HookedTransformer, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs [b, T, L+1, d], heads [b, T, L*H, d])``. ``inputs[:, :, l]`` is what INPUT means for a
    receiver in layer l: the embeddings plus the outputs of MLPs 0..l-1 (index L: every MLP, for OUTPUT)."""
    cfg = model.cfg
    names = {"blocks.0.hook_resid_pre"} | {f"blocks.{i}.attn.hook_result" for i in range(cfg.n_layers)}
    if not cfg.attn_only:
        names |= {f"blocks.{i}.hook_mlp_out" for i in range(cfg.n_layers)}
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=lambda n: n in names)
    embed = cache["blocks.0.hook_resid_pre"]
    if cfg.attn_only:
        inputs = embed[:, :, None].expand(-1, -1, cfg.n_layers + 1, -1)
    else:
        mlps = torch.stack([torch.zeros_like(embed)] + [cache[f"blocks.{i}.hook_mlp_out"] for i in range(cfg.n_layers)], 2)
        inputs = embed[:, :, None] + mlps.cumsum(2)
    heads = torch.cat([cache[f"blocks.{i}.attn.hook_result"] for i in range(cfg.n_layers)], 2)
    return inputs, heads


def _receiver_grads(model: HookedTransformer, batch: PromptBatch, metric, alpha: float,
                    clean_embed: torch.Tensor | None, corrupt_embed: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Gradients of the summed metric w.r.t. every receiver input, keyed by hook name."""
    cfg = model.cfg
    grads: dict[str, torch.Tensor] = {}
    names = [f"blocks.{i}.hook_{p}_input" for i in range(cfg.n_layers) for p in PORTS]
    names.append(f"blocks.{cfg.n_layers - 1}.hook_resid_post")
    if not cfg.attn_only:
        names += [f"blocks.{i}.hook_mlp_in" for i in range(cfg.n_layers)]

    def save(t: torch.Tensor, hook) -> None:
        t.register_hook(lambda g, name=hook.name: grads.__setitem__(name, g.detach()))

    def start(t: torch.Tensor, hook) -> torch.Tensor:
        # The weights are frozen, so the graph starts here; EAP-IG also swaps in the interpolated embeddings.
        x = t if clean_embed is None else corrupt_embed + alpha * (clean_embed - corrupt_embed)
        return x.detach().requires_grad_(True)

    fwd = [("blocks.0.hook_resid_pre", start)] + [(n, save) for n in names]
    with torch.enable_grad():
        logits = model.run_with_hooks(batch.tokens, fwd_hooks=fwd)
        metric(last_logits(logits, batch)).sum().backward()
    return grads


def edge_attribution(model: HookedTransformer, prompts: TaskPrompts, ig_steps: int = 0,
                     batch_size: int = 32) -> torch.Tensor:
    """Signed scores aligned with ``graph.edges`` (summed over prompts). ``ig_steps`` = 0: EAP;
    k > 0: EAP-IG with gradients averaged at alpha = 1/k, ..., k/k along corrupted -> clean embeddings."""
    cfg = model.cfg
    g = graph_of(model)
    n_send, n_heads = 1 + cfg.n_layers * cfg.n_heads, cfg.n_heads
    # Receivers: per layer, q/k/v of each head; then OUTPUT.
    totals = torch.zeros(n_send, cfg.n_layers, len(PORTS), n_heads, device=cfg.device)
    out_total = torch.zeros(n_send, device=cfg.device)
    alphas = [1.0] if ig_steps == 0 else [(i + 1) / ig_steps for i in range(ig_steps)]
    with hook_flags(model, use_attn_result=True, use_split_qkv_input=True, **({} if cfg.attn_only else {"use_hook_mlp_in": True})):
        for sl in batches(len(prompts.clean), batch_size):
            clean, corrupt = prompts.clean.take(sl).to(cfg.device), prompts.corrupted.take(sl).to(cfg.device)
            metric = prompts.metric.take(sl)
            mask = clean.position_mask().to(cfg.device)[:, :, None, None].float()
            (in_c, hd_c), (in_x, hd_x) = _sender_acts(model, clean.tokens), _sender_acts(model, corrupt.tokens)
            d_in, d_heads = (in_x - in_c) * mask, (hd_x - hd_c) * mask  # [b,T,L+1,d], [b,T,LH,d]
            embeds = None
            if ig_steps:
                embeds = (in_c[:, :, 0], in_x[:, :, 0])
            grads: dict[str, torch.Tensor] = {}
            for a in alphas:
                gr = _receiver_grads(model, clean, metric, a, *(embeds or (None, None)))
                for k, v in gr.items():
                    grads[k] = grads.get(k, 0) + v / len(alphas)
            # one [senders, b*T*d] matrix per batch, so each receiver input is a single matrix product
            d_heads_flat = d_heads.permute(2, 0, 1, 3).reshape(d_heads.shape[2], -1)
            for layer in range(cfg.n_layers):
                for pi, port in enumerate(PORTS):
                    gq = grads[f"blocks.{layer}.hook_{port}_input"]  # [b,T,H,d]; k, v: [b,T,H_kv,d] under GQA
                    if gq.shape[2] != n_heads:  # a shared k/v input: each query head of the group gets its score
                        gq = gq.repeat_interleave(n_heads // gq.shape[2], dim=2)
                    g_flat = gq.permute(0, 1, 3, 2).reshape(-1, n_heads)  # [b*T*d, H]
                    totals[0, layer, pi] += (d_in[:, :, layer].reshape(1, -1) @ g_flat)[0]
                    totals[1:, layer, pi] += d_heads_flat @ g_flat
            # OUTPUT: direct path plus every MLP input at or after the sender's layer (folded, as in ACDC).
            out_grad = grads[f"blocks.{cfg.n_layers - 1}.hook_resid_post"]
            out_total[1:] += torch.einsum("btsd,btd->s", d_heads, out_grad)
            if not cfg.attn_only:
                for layer in range(cfg.n_layers):
                    upto = (layer + 1) * n_heads  # heads of layers 0..layer feed MLP `layer`
                    gm = grads[f"blocks.{layer}.hook_mlp_in"]
                    out_total[1:1 + upto] += torch.einsum("btsd,btd->s", d_heads[:, :, :upto], gm)
    scores = torch.empty(len(g.edges))
    for i, e in enumerate(g.edges):
        s = 0 if e.sender == INPUT else 1 + g.node_index[e.sender]
        if e.receiver == OUTPUT:
            scores[i] = out_total[s]
        else:
            layer, head = map(int, e.receiver.split("."))
            scores[i] = totals[s, layer, PORTS.index(e.port), head]
    return scores


def node_scores_from_edges(model: HookedTransformer, edge_scores: torch.Tensor) -> torch.Tensor:
    """A head's node score = sum of |score| over every edge into or out of it (documented aggregation)."""
    g = graph_of(model)
    nodes = torch.zeros(len(g.nodes))
    mag = edge_scores.abs()
    for i, e in enumerate(g.edges):
        for end in (e.sender, e.receiver):
            if end in g.node_index:
                nodes[g.node_index[end]] += mag[i]
    return nodes.view(g.n_layers, g.n_heads)
