"""SAE codes (O'Neill and Bui 2024, arXiv 2405.12522), faithful by default.

One sparse autoencoder is trained on every head's output (mean over positions) from a few
prompts; each (prompt, head) becomes the integer code argmax(SAE hidden units). A head scores the
number of its codes seen on positive prompts and never on negative ones; a head pair (earlier,
later) scores the same for code pairs. Defaults are the paper's; every deviation is an option that
is off by default. Degenerate fits (collapsed SAE, all heads tied at 0) are flagged, not hidden.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn
from transformer_lens import HookedTransformer

from bench.graph import INPUT, OUTPUT
from bench.tasks.base import TaskPrompts
from methods.activations import head_outputs
from methods.base import EdgeScores, HeadScores, MethodResult, graph_of

log = logging.getLogger(__name__)
PAPER_L1 = {"docstring": 0.05}  # the paper's per-task lambda; 0.02 elsewhere


@dataclass(frozen=True)
class Config:
    n_hidden: int = 200
    l1: float | None = None  # None: the paper's value for the task (0.05 docstring, else 0.02)
    lr: float = 1e-3
    epochs: int = 500
    n_train_prompts: int = 10  # drawn from the pooled positives + negatives; labels unused
    positions: str = "mean"  # "mean" over real positions (paper) or "last" token only
    mse: str = "mean"  # "mean": torch mse_loss over all elements (paper); "sum": summed per row, mean over rows
    input_scale: str = "none"  # "none" (paper) or "unit_msn": scale rows to unit mean squared norm
    tol: float | None = None  # stop when the loss improves by < tol (relative) over 25 epochs; None = fixed epochs
    ensemble: int = 1  # mean scores over this many SAEs with different seeds


class SparseAutoencoder(nn.Module):
    """Tied pre-bias, ReLU encoder, unit-norm decoder dictionary (the reference architecture)."""

    def __init__(self, d_in: int, n_hidden: int, gen: torch.Generator) -> None:
        super().__init__()
        w = torch.randn(n_hidden, d_in, generator=gen)
        w = w / w.norm(dim=-1, keepdim=True)
        self.W_dec = nn.Parameter(w)  # [h, d] rows are dictionary vectors
        self.W_enc = nn.Parameter(w.t().clone())  # [d, h]
        self.b_enc = nn.Parameter(torch.zeros(n_hidden))
        self.b_dec = nn.Parameter(torch.zeros(d_in))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu((x - self.b_dec) @ self.W_enc + self.b_enc)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return z @ self.W_dec + self.b_dec, z

    @torch.no_grad()
    def constrain_decoder_grad(self) -> None:
        """Remove the gradient component parallel to each dictionary vector."""
        if self.W_dec.grad is not None:
            g = self.W_dec.grad
            g -= (g * self.W_dec).sum(-1, keepdim=True) * self.W_dec

    @torch.no_grad()
    def normalise_decoder(self) -> None:
        self.W_dec /= self.W_dec.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def fit_sae(x: torch.Tensor, cfg: Config, l1: float, seed: int) -> tuple[SparseAutoencoder, dict]:
    """Full-batch Adam on rows ``x [n, d]``; returns the SAE and fit diagnostics."""
    gen = torch.Generator().manual_seed(seed)
    sae = SparseAutoencoder(x.shape[1], cfg.n_hidden, gen).to(x.device)
    opt = torch.optim.Adam(sae.parameters(), lr=cfg.lr)
    history: list[float] = []
    epoch = 0
    for epoch in range(1, cfg.epochs + 1):
        xhat, z = sae(x)
        if cfg.mse == "sum":
            mse = (xhat - x).pow(2).sum(-1).mean()
        else:
            mse = nn.functional.mse_loss(xhat, x)
        loss = mse + l1 * z.abs().sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        sae.constrain_decoder_grad()
        opt.step()
        sae.normalise_decoder()
        history.append(loss.item())
        if cfg.tol is not None and epoch > 50 and history[-26] - history[-1] < cfg.tol * abs(history[-26]):
            break
    with torch.no_grad():
        xhat, z = sae(x)
        fvu = ((xhat - x).pow(2).sum() / (x - x.mean(0)).pow(2).sum()).item()
        diag = {"epochs_run": epoch, "final_loss": history[-1], "l0": (z > 0).float().sum(-1).mean().item(),
                "dead_frac": ((z > 0).sum(0) == 0).float().mean().item(),
                "zero_rows_frac": ((z > 0).sum(-1) == 0).float().mean().item(), "fvu": fvu}
    return sae, diag


def _present(codes: torch.Tensor, n_codes: int) -> torch.Tensor:
    """codes ``[n_prompts, K]`` -> bool ``[K, n_codes]``: which codes occur for each column."""
    pres = torch.zeros(codes.shape[1], n_codes, dtype=torch.bool, device=codes.device)
    pres.scatter_(1, codes.t(), True)
    return pres


def node_scores(pos: torch.Tensor, neg: torch.Tensor, n_codes: int) -> torch.Tensor:
    """Per head: number of distinct codes seen on positives and never on negatives."""
    return (_present(pos, n_codes) & ~_present(neg, n_codes)).sum(-1)


def pair_scores(pos: torch.Tensor, neg: torch.Tensor, n_codes: int) -> torch.Tensor:
    """``[H, H]``: for heads (i, j), distinct code pairs seen on positives and never on negatives."""
    n_heads = pos.shape[1]

    def keys(codes: torch.Tensor) -> torch.Tensor:
        pair = codes[:, :, None] * n_codes + codes[:, None, :]  # [P, H, H]
        base = torch.arange(n_heads * n_heads, device=codes.device).view(n_heads, n_heads) * n_codes * n_codes
        return torch.unique(pair + base)

    pk, nk = keys(pos), keys(neg)
    only = pk[~torch.isin(pk, nk)]
    return torch.bincount(only // (n_codes * n_codes), minlength=n_heads * n_heads).view(n_heads, n_heads)


def edge_scores_from_pairs(pairs: torch.Tensor, nodes: torch.Tensor, model: HookedTransformer) -> torch.Tensor:
    """Map head-pair scores onto the graph's edges. A head -> head edge takes its pair score on each of q, k
    and v (codes say nothing about which input); INPUT -> head and head -> OUTPUT edges take the head's node
    score (codes give no pair for them)."""
    g = graph_of(model)
    idx = g.node_index
    out = torch.empty(len(g.edges))
    for i, e in enumerate(g.edges):
        if e.sender == INPUT:
            out[i] = nodes[idx[e.receiver]]
        elif e.receiver == OUTPUT:
            out[i] = nodes[idx[e.sender]]
        else:
            out[i] = pairs[idx[e.sender], idx[e.receiver]]
    return out


def run(model: HookedTransformer, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    l1 = config.l1 if config.l1 is not None else PAPER_L1.get(prompts.task, 0.02)
    cfg_m = model.cfg
    pos = head_outputs(model, prompts.positives, config.positions)  # [P, H, d]
    neg = head_outputs(model, prompts.negatives, config.positions)
    n_heads = pos.shape[1]
    scale = 1.0
    if config.input_scale == "unit_msn":
        scale = torch.cat([pos, neg]).pow(2).sum(-1).mean().sqrt().item()
    pooled = torch.cat([pos, neg]) / scale
    node_total = torch.zeros(n_heads)
    pair_total = torch.zeros(n_heads, n_heads)
    diags = []
    for member in range(config.ensemble):
        s = seed * 1000 + member
        gen = torch.Generator().manual_seed(s)
        pick = torch.randperm(pooled.shape[0], generator=gen)[: config.n_train_prompts]
        sae, diag = fit_sae(pooled[pick].reshape(-1, cfg_m.d_model), config, l1, s)
        with torch.no_grad():
            pc = sae.encode(pos / scale).argmax(-1)  # [P, H]
            nc = sae.encode(neg / scale).argmax(-1)
        nodes = node_scores(pc, nc, config.n_hidden).float().cpu()
        node_total += nodes
        pair_total += pair_scores(pc, nc, config.n_hidden).float().cpu()
        diag["heads_zero_frac"] = (nodes == 0).float().mean().item()
        diags.append(diag)
    nodes = node_total / config.ensemble
    pairs = pair_total / config.ensemble
    diagnostics = {k: sum(d[k] for d in diags) / len(diags) for k in diags[0]}
    diagnostics.update(l1=l1, distinct_node_scores=int(nodes.unique().numel()))
    diagnostics["degenerate"] = bool(diagnostics["heads_zero_frac"] > 0.9 or diagnostics["l0"] < 1.0
                                     or diagnostics["distinct_node_scores"] <= 2)
    if diagnostics["degenerate"]:
        log.warning("sae_codes: degenerate fit on %s (L0 %.2f, %.0f%% heads score 0, %d distinct scores); "
                    "its ranking is close to meaningless", prompts.task, diagnostics["l0"],
                    100 * diagnostics["heads_zero_frac"], diagnostics["distinct_node_scores"])
    edges = edge_scores_from_pairs(pairs, nodes, model)
    return MethodResult(HeadScores(nodes.view(cfg_m.n_layers, cfg_m.n_heads)), EdgeScores(edges), diagnostics)
