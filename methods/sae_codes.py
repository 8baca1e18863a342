"""SAE codes (O'Neill and Bui 2024, arXiv 2405.12522), by default exactly as the authors' released code
(GitHub charlieoneill11/sae-circuits) runs it.

Every head's output, averaged over a prompt's positions (BOS included), is one row; one sparse
autoencoder is trained on the rows of 10 prompts drawn from the pooled positives and negatives, and each
(prompt, head) becomes the integer code argmax(SAE hidden units). A head scores the number of its codes
seen on positive prompts and never on negative ones; a head pair (earlier, later) scores the same for code
pairs. The released SAE (``arch="released"``): a tied bias (zeros) subtracted before the encoder and added
after the decoder; encoder weight ``[h, d]`` with unit-norm rows kept so throughout training (the gradient's
component along each row removed, rows renormalised before every forward), encoder bias uniform in
+-1/sqrt(d); ReLU; decoder weight ``[d, h]``, no bias, each of its d rows unit norm in the same way; encoder
and decoder initialised independently; loss ``mse_loss`` (element mean) + lambda x mean row L1; Adam 1e-3,
500 full-batch epochs. ``arch="cdbench_v1"`` is cdbench's earlier SAE (decoder dictionary vectors unit
norm, encoder unconstrained and initialised as the decoder's transpose). Every other deviation is an
option, off by default; degenerate fits (collapsed SAE, all heads tied at 0) are flagged, not hidden.

How it is computed (not what): the released SAE's gradients are written out by hand so that epochs
multiply only the hidden units a row has active (a few of 200 once the L1 penalty bites), Adam is torch's
fused kernel, codes are encoded in chunks and code pairs are counted in cache-sized tables. The
gradients equal autograd's to float rounding (test). The recipe's codes are themselves that sensitive
to rounding: one ulp on every input changes 1.5 % of codes after 500 epochs (measured on four models,
16 fits), and the hand-written step changes 1.3 % against autograd, so scores agree in distribution,
not bit for bit.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

from bench.errors import MethodInputError
from bench.tasks.base import TaskPrompts
from methods.activations import head_outputs
from bench.graph import CircuitGraph
from methods.base import EdgeScores, HeadScores, MethodResult, graph_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    arch: str = "released"  # "released" (the authors' src/sae.py) or "cdbench_v1"
    n_hidden: int = 200
    l1: float = 0.02  # the released value for IOI and greater-than; docstring's 0.05 is a family setting
    lr: float = 1e-3
    epochs: int = 500
    n_train_prompts: int = 10  # drawn from the pooled positives + negatives; labels unused
    positions: str = "mean"  # "mean" over real positions, BOS included (released) or "last" token only
    mse: str = "mean"  # "mean": torch mse_loss over all elements (released); "sum": summed per row, mean over rows
    input_scale: str = "none"  # "none" (released) or "unit_msn": scale rows to unit mean squared norm
    tol: float | None = None  # stop when the loss improves by < tol (relative) over 25 epochs; None = fixed epochs
    ensemble: int = 1  # mean scores over this many SAEs with different seeds
    top_k: int = 1  # codes per (prompt, head): the top-k hidden units instead of the argmax
    mlp_nodes: bool = False  # MLP outputs become extra rows (nodes) of the same SAE; needs a model with MLPs

    def __post_init__(self) -> None:
        choices = {"arch": ("released", "cdbench_v1"), "positions": ("mean", "last"), "mse": ("mean", "sum"),
                   "input_scale": ("none", "unit_msn")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        if min(self.n_hidden, self.epochs, self.n_train_prompts, self.ensemble, self.top_k) < 1:
            raise ValueError("n_hidden, epochs, n_train_prompts, ensemble and top_k must be at least 1")
        if self.top_k > self.n_hidden:
            raise ValueError(f"top_k ({self.top_k}) cannot exceed n_hidden ({self.n_hidden})")
        if not (math.isfinite(self.l1) and self.l1 >= 0):
            raise ValueError(f"l1 must be a finite number >= 0, not {self.l1}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, not {self.lr}")
        if self.tol is not None and not (math.isfinite(self.tol) and self.tol > 0):
            raise ValueError(f"tol must be a finite number > 0 or none, not {self.tol}")

    def check_model(self, attn_only: bool) -> None:
        if self.mlp_nodes and attn_only:
            raise ValueError("mlp_nodes needs MLP outputs, and this model is attention-only")

    def check_prompts(self, n_pairs: int) -> None:
        """The SAE trains on prompts drawn from the 2 x ``n_pairs`` positives and negatives."""
        if self.n_train_prompts > 2 * n_pairs:
            raise ValueError(f"n_train_prompts ({self.n_train_prompts}) exceeds the {2 * n_pairs} prompts "
                             f"({n_pairs} positives + {n_pairs} negatives)")


@dataclass(frozen=True)
class FastConfig(Config):
    """A label-free fast setting: lr 1e-2 for 100 epochs reaches the released recipe's 500-epoch loss
    (measured on induction-2l: loss 0.17 at epoch 100 vs 0.18-0.26 after 500 epochs at lr 1e-3)."""

    lr: float = 1e-2
    epochs: int = 100


# The released code's lambda per task (experiments/main_results.py): 0.05 for docstring, 0.02 otherwise.
FAMILY_SETTINGS = {"docstring": {"l1": 0.05}}


class ReleasedSAE(nn.Module):
    """The authors' SAE (src/sae.py there): tied bias, unit-norm encoder rows ``[h, d]`` and decoder rows
    ``[d, h]``, each kept on the sphere by gradient projection and renormalisation before every forward."""

    def __init__(self, d_in: int, n_hidden: int, gen: torch.Generator) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(d_in))
        self.W_enc = nn.Parameter(_unit_rows(torch.randn(n_hidden, d_in, generator=gen)))
        bound = 1 / math.sqrt(d_in)
        self.b_enc = nn.Parameter(torch.rand(n_hidden, generator=gen) * 2 * bound - bound)
        self.W_dec = nn.Parameter(_unit_rows(torch.randn(d_in, n_hidden, generator=gen)))
        for w in (self.W_enc, self.W_dec):
            w.register_hook(lambda g, w=w: _off_rows(g, w))

    @torch.no_grad()
    def renormalise(self) -> None:
        for w in (self.W_enc, self.W_dec):
            w.copy_(_unit_rows(w))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self.renormalise()
        return torch.relu((x - self.bias) @ self.W_enc.t() + self.b_enc)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return z @ self.W_dec.t() + self.bias, z

    def after_step(self) -> None:
        """Nothing: the released SAE renormalises at the start of each forward."""


class CdbenchV1SAE(nn.Module):
    """cdbench's earlier SAE: tied pre-bias, ReLU encoder initialised as the decoder's transpose and left
    unconstrained, unit-norm decoder dictionary vectors (rows of ``W_dec [h, d]``)."""

    def __init__(self, d_in: int, n_hidden: int, gen: torch.Generator) -> None:
        super().__init__()
        w = _unit_rows(torch.randn(n_hidden, d_in, generator=gen))
        self.W_dec = nn.Parameter(w)
        self.W_enc = nn.Parameter(w.t().clone())
        self.b_enc = nn.Parameter(torch.zeros(n_hidden))
        self.b_dec = nn.Parameter(torch.zeros(d_in))
        self.W_dec.register_hook(lambda g: g - (g * self.W_dec).sum(-1, keepdim=True) * self.W_dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu((x - self.b_dec) @ self.W_enc + self.b_enc)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return z @ self.W_dec + self.b_dec, z

    @torch.no_grad()
    def after_step(self) -> None:
        self.W_dec.copy_(_unit_rows(self.W_dec))


ARCHS = {"released": ReleasedSAE, "cdbench_v1": CdbenchV1SAE}


def _unit_rows(w: torch.Tensor) -> torch.Tensor:
    return w / w.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def fit_sae(x: torch.Tensor, cfg: Config, seed: int) -> tuple[nn.Module, dict]:
    """Full-batch Adam on rows ``x [n, d]``; returns the SAE and fit diagnostics. The released SAE's
    gradients are written out by hand (``released_step``), which skips the hidden units a row leaves at
    zero; the other architecture goes through autograd."""
    gen = torch.Generator().manual_seed(seed)
    sae = ARCHS[cfg.arch](x.shape[1], cfg.n_hidden, gen).to(x.device)
    opt = torch.optim.Adam(sae.parameters(), lr=cfg.lr, fused=True)  # one kernel for the four parameters
    stats = RowStats.of(x)
    history: list[float] = []
    epoch = 0
    for epoch in range(1, cfg.epochs + 1):
        loss = released_step(sae, x, cfg, stats) if cfg.arch == "released" else autograd_step(sae, x, cfg)
        opt.step()
        sae.after_step()
        history.append(loss)
        if cfg.tol is not None and epoch > 50 and history[-26] - history[-1] < cfg.tol * abs(history[-26]):
            break
    with torch.no_grad():
        xhat, z = sae(x)
        fvu = ((xhat - x).pow(2).sum() / (x - x.mean(0)).pow(2).sum().clamp_min(1e-12)).item()
        diag = {"epochs_run": epoch, "final_loss": history[-1], "l0": (z > 0).float().sum(-1).mean().item(),
                "dead_frac": ((z > 0).sum(0) == 0).float().mean().item(),
                "zero_rows_frac": ((z > 0).sum(-1) == 0).float().mean().item(), "fvu": fvu}
    return sae, diag


def autograd_step(sae: nn.Module, x: torch.Tensor, cfg: Config) -> float:
    """One epoch's loss and gradients (left in ``.grad``) by autograd: the reference for ``released_step``."""
    xhat, z = sae(x)
    mse = (xhat - x).pow(2).sum(-1).mean() if cfg.mse == "sum" else nn.functional.mse_loss(xhat, x)
    loss = mse + cfg.l1 * z.abs().sum(-1).mean()
    for p in sae.parameters():
        p.grad = None
    loss.backward()
    return loss.item()


# Below this fraction of non-zero hidden units the hand-written step multiplies only the non-zero entries.
SPARSE_BELOW = 0.02


@dataclass(frozen=True)
class RowStats:
    """What the hand-written step needs of the training rows besides the rows: their sum and squared norm."""

    total: torch.Tensor  # [d]
    sq_norm: torch.Tensor  # scalar

    @classmethod
    def of(cls, x: torch.Tensor) -> "RowStats":
        return cls(x.sum(0), x.pow(2).sum())


@torch.no_grad()
def released_step(sae: "ReleasedSAE", x: torch.Tensor, cfg: Config, stats: RowStats | None = None) -> float:
    """The released SAE's loss and its exact gradients (left in ``.grad``, projected off each unit-norm row
    as the SAE's hooks do), written out so that only the non-zero hidden units are multiplied: after a few
    epochs of the L1 penalty a row has a handful of the 200 units active, so the decoder, both weight
    gradients and the gradient into the units cost that fraction of the dense products, and rows with no
    active unit enter only through ``stats``. The encoder product is the one dense pass. Same SAE, loss
    and Adam; gradients equal autograd's to float rounding (test)."""
    stats = stats or RowStats.of(x)
    sae.renormalise()
    n, d = x.shape
    bias, w_enc, w_dec_t = sae.bias, sae.W_enc, sae.W_dec.t()  # w_dec_t [h, d]: unit h's decoder direction
    pre = torch.addmm(sae.b_enc - bias @ w_enc.t(), x, w_enc.t())  # (x - bias) W_enc^T + b_enc, [n, h]
    active = pre > 0
    mse_denom = n if cfg.mse == "sum" else n * d  # what the squared residuals are divided by
    scale = 2 / mse_denom  # d loss / d xhat = scale x (xhat - x)
    if active.sum().item() < SPARSE_BELOW * active.numel():
        rows, units = active.nonzero(as_tuple=True)  # row-major: rows ascending
        z = pre[rows, units]
        live, at = torch.unique_consecutive(rows, return_inverse=True)  # rows with an active unit
        centred = x[live] - bias
        decoded = torch.zeros(len(live), d, dtype=x.dtype, device=x.device).index_add_(0, at, z[:, None] * w_dec_t[units])
        resid = decoded - centred  # xhat - x on the live rows; on the others it is bias - x
        resid_sum = n * bias - stats.total + decoded.sum(0)
        sq = (n * bias.dot(bias) - 2 * bias.dot(stats.total) + stats.sq_norm
              + resid.pow(2).sum() - centred.pow(2).sum())
        g_live = resid[at] * scale
        g_w_dec_t = torch.zeros_like(w_dec_t).index_add_(0, units, z[:, None] * g_live)
        g_pre = (g_live * w_dec_t[units]).sum(-1) + cfg.l1 / n  # at the active units only
        g_w_enc = torch.zeros_like(w_enc).index_add_(0, units, g_pre[:, None] * centred[at])
        g_b_enc = torch.zeros_like(sae.b_enc).index_add_(0, units, g_pre)
    else:
        z = pre.clamp_min(0)
        resid = torch.addmm(bias - x, z, w_dec_t)
        resid_sum = resid.sum(0)
        sq = resid.view(-1).dot(resid.view(-1))
        g = resid * scale
        g_w_dec_t = z.t() @ g
        g_pre = (g @ sae.W_dec + cfg.l1 / n) * active
        g_b_enc = g_pre.sum(0)
        g_w_enc = g_pre.t() @ x - g_b_enc[:, None] * bias
    # the tied bias enters twice: added after the decoder, subtracted before the encoder
    sae.bias.grad = resid_sum * scale - g_b_enc @ w_enc
    sae.b_enc.grad = g_b_enc
    sae.W_enc.grad = _off_rows(g_w_enc, w_enc)
    # contiguous like the parameter: the fused Adam kernel walks a gradient's memory in the parameter's order
    sae.W_dec.grad = _off_rows(g_w_dec_t.t().contiguous(), sae.W_dec).contiguous()
    return (sq / mse_denom + cfg.l1 * z.sum() / n).item()


def _off_rows(g: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The released SAE's gradient hook: remove each row's component along that row of ``w``."""
    return g - (g * w).sum(-1, keepdim=True) * w / w.norm(dim=-1, keepdim=True)


def _present(codes: torch.Tensor, n_codes: int) -> torch.Tensor:
    """codes ``[n_prompts, K]`` -> bool ``[K, n_codes]``: which codes occur for each column."""
    pres = torch.zeros(codes.shape[1], n_codes, dtype=torch.bool, device=codes.device)
    pres.scatter_(1, codes.t(), True)
    return pres


def node_scores(pos: torch.Tensor, neg: torch.Tensor, n_codes: int) -> torch.Tensor:
    """Per head: number of distinct codes seen on positives and never on negatives."""
    return (_present(pos, n_codes) & ~_present(neg, n_codes)).sum(-1)


def pair_scores(pos: torch.Tensor, neg: torch.Tensor, n_codes: int, block_cells: int = 1 << 20) -> torch.Tensor:
    """``[H, H]``: for heads (i, j), distinct code pairs seen on positives and never on negatives. Each head's
    codes are renumbered 0..C_h - 1 among those it uses, so head i's code pairs with every head fit a table
    of C_i x sum(C) cells; heads are taken a block at a time (at most ``block_cells`` cells, or one head),
    each block's table marked once by the positives and once by the negatives (no sort, cache-sized)."""
    n_pos, n_heads = pos.shape
    both = torch.cat([pos, neg])
    used = _present(both, n_codes)  # [H, n_codes]
    n_used = used.sum(1)  # C_h
    rank = (used.cumsum(1) - 1).gather(1, both.t()).t().int()  # [P + N, H]: each code's number within its head
    width = n_used.int()[None, None, :]
    row_cells = (n_used * n_used.sum()).tolist()  # cells of head i with every head
    out = torch.zeros(n_heads, n_heads, dtype=torch.long, device=pos.device)
    first = 0
    while first < n_heads:
        last, total = first + 1, row_cells[first]
        while last < n_heads and total + row_cells[last] <= block_cells:
            total, last = total + row_cells[last], last + 1
        cells = (n_used[first:last, None] * n_used[None, :]).flatten()  # [b * H]
        start = cells.cumsum(0) - cells
        keys = (start.int().view(last - first, n_heads) + rank[:, first:last, None] * width
                + rank[:, None, :]).reshape(len(both), -1)  # [P + N, b * H], int32 (a table is < 2^31 cells)
        table = torch.zeros(2, total, dtype=torch.bool, device=pos.device)
        table[0, keys[:n_pos].flatten()] = True
        table[1, keys[n_pos:].flatten()] = True
        only = (table[0] & ~table[1]).nonzero().squeeze(1)
        pair = torch.searchsorted(start, only, right=True) - 1
        out[first:last] = torch.bincount(pair, minlength=len(cells)).view(last - first, n_heads)
        first = last
    return out


@lru_cache(maxsize=8)
def _edge_rule(graph: CircuitGraph, mlp_rows: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per edge (kind, a, b): kind 2 takes pairs[a, b], kind 1 takes nodes[a], kind 0 is 0."""
    n_heads = len(graph.nodes)
    rows = dict(graph.node_index)
    if mlp_rows:
        rows.update({m: n_heads + i for i, m in enumerate(graph.mlps)})
    kind, a, b = [], [], []
    for e in graph.edges:
        s, r = rows.get(e.sender), rows.get(e.receiver)
        if e.internal or (s is None) != (r is None):
            # one end informative: the internal edge's head, or the component end beside embed / output,
            # or the head end of a head <-> MLP edge when MLPs have no rows
            one = r if e.internal else (s if s is not None else r)
            kind.append(1), a.append(one), b.append(0)
        elif s is not None:
            kind.append(2), a.append(s), b.append(r)
        else:
            kind.append(0), a.append(0), b.append(0)
    return torch.tensor(kind), torch.tensor(a), torch.tensor(b)


def edge_scores_from_pairs(model, pairs: torch.Tensor, nodes: torch.Tensor, mlp_rows: bool) -> torch.Tensor:
    """Map row-pair scores onto the edge graph. Rows are the heads, then (with ``mlp_rows``) each layer's
    MLP. A component -> component edge takes its pair's score on every port (codes say nothing about q, k or
    v); an edge from the embeddings, into the output or internal to a head takes its component end's node
    score; without MLP rows a head <-> MLP edge takes the head's node score, and edges with no head end
    (embed -> MLP, MLP -> MLP, MLP -> output, embed -> output) score 0."""
    kind, a, b = _edge_rule(graph_of(model), mlp_rows)
    pair_vals = pairs.float()[a, b]
    node_vals = nodes.float()[a]
    return torch.where(kind == 2, pair_vals, torch.where(kind == 1, node_vals, torch.zeros(())))


@dataclass(frozen=True)
class Fit:
    """One SAE's scores on one set of head outputs."""

    nodes: torch.Tensor  # [rows]
    pairs: torch.Tensor  # [rows, rows]
    diagnostics: dict


def codes(sae: nn.Module, x: torch.Tensor, top_k: int, chunk: int = 4096) -> torch.Tensor:
    """``[P, H, top_k]`` integer codes: the indices of the top-k hidden units (argmax when k = 1), encoded
    ``chunk`` rows at a time (the whole set at once would allocate its centred copy and hidden units)."""
    flat = x.reshape(-1, x.shape[-1])
    with torch.no_grad():
        out = torch.cat([sae.encode(flat[i:i + chunk]).topk(top_k, dim=-1).indices
                         for i in range(0, flat.shape[0], chunk)])
    return out.view(*x.shape[:-1], top_k)


def fit_and_score(pos: torch.Tensor, neg: torch.Tensor, cfg: Config, seed: int) -> Fit:
    """Train one SAE on ``cfg.n_train_prompts`` prompts drawn from the pooled (already scaled) head
    outputs, then count codes unique to positives per head and per head pair."""
    pooled = torch.cat([pos, neg])
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randperm(pooled.shape[0], generator=gen)[: cfg.n_train_prompts]
    t0 = _clock(pos)
    sae, diag = fit_sae(pooled[pick].reshape(-1, pooled.shape[-1]), cfg, seed)
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


def scaled_head_outputs(model, prompts: TaskPrompts, cfg: Config) -> tuple[torch.Tensor, torch.Tensor]:
    pos = head_outputs(model, prompts.positives, cfg.positions, mlps=cfg.mlp_nodes)  # [P, H (+L), d]
    neg = head_outputs(model, prompts.negatives, cfg.positions, mlps=cfg.mlp_nodes)
    if cfg.input_scale == "unit_msn":  # one scale for all rows: unit mean squared norm
        scale = torch.cat([pos, neg]).pow(2).sum(-1).mean().sqrt().clamp_min(1e-12)
        pos, neg = pos / scale, neg / scale
    return pos, neg


def flag_degenerate(diagnostics: dict, nodes: torch.Tensor, task: str) -> bool:
    """Degenerate: almost every head scores 0, fewer than one active unit per row, or (on models with
    eight or more heads, where a real ranking has more) at most two distinct node scores."""
    diagnostics["distinct_node_scores"] = int(nodes.unique().numel())
    degenerate = bool(diagnostics["heads_zero_frac"] > 0.9 or diagnostics["l0"] < 1.0
                      or (nodes.numel() >= 8 and diagnostics["distinct_node_scores"] <= 2))
    if degenerate:
        log.warning("sae_codes: degenerate fit on %s (L0 %.2f, %.0f%% heads score 0, %d distinct scores); "
                    "its ranking is close to meaningless", task, diagnostics["l0"],
                    100 * diagnostics["heads_zero_frac"], diagnostics["distinct_node_scores"])
    return degenerate


def result(model, fits: list[Fit], extra: dict, task: str, mlp_rows: bool) -> MethodResult:
    """Mean scores over ``fits`` (an ensemble of one or more SAEs), with averaged diagnostics. With MLP
    rows, the rows after the heads are MLPs: they get node scores and their pairs score MLP edges."""
    cfg_m = model.cfg
    n_heads = cfg_m.n_layers * cfg_m.n_heads
    nodes = torch.stack([f.nodes for f in fits]).mean(0)
    pairs = torch.stack([f.pairs for f in fits]).mean(0)
    mlps = nodes[n_heads:].clone() if mlp_rows else None
    diagnostics = {k: sum(f.diagnostics[k] for f in fits) / len(fits) for k in fits[0].diagnostics}
    diagnostics.update(extra)
    degenerate = flag_degenerate(diagnostics, nodes[:n_heads], task)
    edges = edge_scores_from_pairs(model, pairs, nodes, mlp_rows)
    return MethodResult(HeadScores(nodes[:n_heads].view(cfg_m.n_layers, cfg_m.n_heads), mlps), EdgeScores(edges),
                        diagnostics, degenerate=degenerate)


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    """Gather head outputs, then fit, code and score ``config.ensemble`` SAEs; diagnostics carry the SAE's
    fit statistics and each stage's wall time (gather_s; fit_s, code_s, score_s per SAE)."""
    if config.n_train_prompts > len(prompts.positives) + len(prompts.negatives):
        raise MethodInputError(f"n_train_prompts ({config.n_train_prompts}) exceeds the "
                               f"{len(prompts.positives) + len(prompts.negatives)} prompts")
    t0 = time.perf_counter()
    pos, neg = scaled_head_outputs(model, prompts, config)
    gather_s = _clock(pos) - t0
    fits = [fit_and_score(pos, neg, config, seed * 1000 + member) for member in range(config.ensemble)]
    return result(model, fits, {"l1": config.l1, "gather_s": gather_s}, prompts.task, config.mlp_nodes)
