"""SAE codes (O'Neill and Bui 2024, arXiv 2405.12522), faithful by default.

One sparse autoencoder is trained on every head's output (mean over positions) from a few
prompts; each (prompt, head) becomes the integer code argmax(SAE hidden units). A head scores the
number of its codes seen on positive prompts and never on negative ones; a head pair (earlier,
later) scores the same for code pairs. Defaults are the paper's; every deviation is an option that
is off by default. Degenerate fits (collapsed SAE, all heads tied at 0) are flagged, not hidden.
"""
from __future__ import annotations

import logging
import time
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
    top_k: int = 1  # codes per (prompt, head): the top-k hidden units instead of the argmax
    mlp_nodes: bool = False  # MLP outputs become extra rows (nodes) of the same SAE; needs a model with MLPs

    def __post_init__(self) -> None:
        choices = {"positions": ("mean", "last"), "mse": ("mean", "sum"), "input_scale": ("none", "unit_msn")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        if min(self.n_hidden, self.epochs, self.n_train_prompts, self.ensemble, self.top_k) < 1:
            raise ValueError("n_hidden, epochs, n_train_prompts, ensemble and top_k must be at least 1")


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


@dataclass(frozen=True)
class Fit:
    """One SAE's scores on one set of head outputs."""

    nodes: torch.Tensor  # [H]
    pairs: torch.Tensor  # [H, H]
    diagnostics: dict


def codes(sae: SparseAutoencoder, x: torch.Tensor, top_k: int) -> torch.Tensor:
    """``[P, H, top_k]`` integer codes: the indices of the top-k hidden units (argmax when k = 1)."""
    with torch.no_grad():
        return sae.encode(x).topk(top_k, dim=-1).indices


def fit_and_score(pos: torch.Tensor, neg: torch.Tensor, cfg: Config, l1: float, seed: int) -> Fit:
    """Train one SAE on ``cfg.n_train_prompts`` prompts drawn from the pooled (already scaled) head
    outputs, then count codes unique to positives per head and per head pair."""
    pooled = torch.cat([pos, neg])
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randperm(pooled.shape[0], generator=gen)[: cfg.n_train_prompts]
    t0 = _clock(pos)
    sae, diag = fit_sae(pooled[pick].reshape(-1, pooled.shape[-1]), cfg, l1, seed)
    t1 = _clock(pos)
    pc, nc = codes(sae, pos, cfg.top_k), codes(sae, neg, cfg.top_k)
    t2 = _clock(pos)
    # top-k codes: each of a head's k codes counts as one observation of that head
    nodes = node_scores(pc.transpose(1, 2).reshape(-1, pc.shape[1]), nc.transpose(1, 2).reshape(-1, nc.shape[1]),
                        cfg.n_hidden).float().cpu()
    pairs = pair_scores(pc[..., 0], nc[..., 0], cfg.n_hidden).float().cpu()  # pairs use the argmax code
    diag.update(fit_s=t1 - t0, code_s=t2 - t1, score_s=_clock(pos) - t2, heads_zero_frac=(nodes == 0).float().mean().item())
    return Fit(nodes, pairs, diag)


def _clock(x: torch.Tensor) -> float:
    """Wall time for stage timings, after the device's queued work is done."""
    if x.is_cuda:
        torch.cuda.synchronize(x.device)
    return time.perf_counter()


def scaled_head_outputs(model: HookedTransformer, prompts: TaskPrompts, cfg: Config) -> tuple[torch.Tensor, torch.Tensor]:
    pos = head_outputs(model, prompts.positives, cfg.positions, mlps=cfg.mlp_nodes)  # [P, H (+L), d]
    neg = head_outputs(model, prompts.negatives, cfg.positions, mlps=cfg.mlp_nodes)
    if cfg.input_scale == "unit_msn":  # one scale for all rows: unit mean squared norm
        scale = torch.cat([pos, neg]).pow(2).sum(-1).mean().sqrt().clamp_min(1e-12)
        pos, neg = pos / scale, neg / scale
    return pos, neg


def flag_degenerate(diagnostics: dict, nodes: torch.Tensor, task: str) -> dict:
    diagnostics["distinct_node_scores"] = int(nodes.unique().numel())
    diagnostics["degenerate"] = bool(diagnostics["heads_zero_frac"] > 0.9 or diagnostics["l0"] < 1.0
                                     or diagnostics["distinct_node_scores"] <= 2)
    if diagnostics["degenerate"]:
        log.warning("sae_codes: degenerate fit on %s (L0 %.2f, %.0f%% heads score 0, %d distinct scores); "
                    "its ranking is close to meaningless", task, diagnostics["l0"],
                    100 * diagnostics["heads_zero_frac"], diagnostics["distinct_node_scores"])
    return diagnostics


def result(model: HookedTransformer, fits: list[Fit], extra: dict, task: str) -> MethodResult:
    """Mean scores over ``fits`` (an ensemble of one or more SAEs), with averaged diagnostics. With MLP
    nodes the rows after the heads are MLPs: they get node scores; edges stay on the head graph."""
    cfg_m = model.cfg
    n_heads = cfg_m.n_layers * cfg_m.n_heads
    nodes = torch.stack([f.nodes for f in fits]).mean(0)
    pairs = torch.stack([f.pairs for f in fits]).mean(0)[:n_heads, :n_heads]
    mlps = nodes[n_heads:].clone() if nodes.numel() > n_heads else None
    nodes = nodes[:n_heads]
    diagnostics = {k: sum(f.diagnostics[k] for f in fits) / len(fits) for k in fits[0].diagnostics}
    diagnostics.update(extra)
    flag_degenerate(diagnostics, nodes, task)
    edges = edge_scores_from_pairs(pairs, nodes, model)
    return MethodResult(HeadScores(nodes.view(cfg_m.n_layers, cfg_m.n_heads), mlps), EdgeScores(edges), diagnostics)


def run(model: HookedTransformer, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    """Gather head outputs, then fit, code and score ``config.ensemble`` SAEs; diagnostics carry the SAE's
    fit statistics and each stage's wall time (gather_s; fit_s, code_s, score_s per SAE)."""
    l1 = config.l1 if config.l1 is not None else PAPER_L1.get(prompts.task, 0.02)
    t0 = time.perf_counter()
    pos, neg = scaled_head_outputs(model, prompts, config)
    gather_s = _clock(pos) - t0
    fits = [fit_and_score(pos, neg, config, l1, seed * 1000 + member) for member in range(config.ensemble)]
    return result(model, fits, {"l1": l1, "gather_s": gather_s}, prompts.task)
