"""CD-T, contextual decomposition for transformers (Hsu et al. 2025, arXiv 2407.00886), node level, as its
released code (adelaidehsu/CD_Circuit, re-uploaded as ehdwo98/cd-t; no licence, so written from its rules)
decomposes a forward pass: every activation is a pair (relevant, irrelevant) summing to the true value.

A source is one head at every position ("coarse" nodes, as the paper's docstring and greater-than runs use).
Above the source's layer nothing is relevant; at the source, after attention mixing and before W_O, its
``z`` becomes relevant = z - mean and irrelevant = mean, the mean of ``hook_z`` at each position over the
task's corrupted prompts (the code's ``set_irrel_to_mean``). From there, layer by layer:

- affine maps (W_V, W_O, W_in, W_out, W_U and q/k): each part multiplied by W; the bias split between the
  parts elementwise in proportion to |part @ W| (``prop_linear_core``);
- LayerNorm: variance from the full sum, held fixed; each part centred and scaled separately; the LN bias
  split in proportion to the parts' |input| (``prop_layer_norm``; here with the model's own eps, the code
  hard-codes 1e-8);
- attention: the true pattern P from the full q and k; a relevant pattern P_rel = softmax(q_rel . k_rel);
  relevant z = P_rel @ v_rel, irrelevant z = P @ v - relevant z (``prop_attention_probs``);
- the MLP nonlinearity: irrelevant' = f(irrelevant), relevant' = f(sum) - f(irrelevant) (``prop_act``), and
  after W_in, the activation, W_out and the residual add, elementwise, where the parts have opposite signs
  the larger takes the whole sum (``normalize_rel_irrel``).

The score is the task's metric applied to the relevant logits at each prompt's last position, averaged over
prompts, then divided by the sum of |score| over the heads of its layer (Appendix B's per-layer
normalisation, the docstring notebook's form); a head ranks by |normalised score|. This is iteration 0 of
the paper's Algorithm 1 (every head scored against the logits). The recursion is not run: in the released
code it keeps the top 2 heads a step (``NUM_OUTLIERS_TO_KEEP_PER_ITER``) as the next targets until the
targets reach layer 0, and its greedy pruning exists for IOI only (hard-coded name movers and start score);
both build one circuit, not a ranking, and no code in the release computes the ROC AUCs the paper reports
(which per-node score was thresholded cannot be read from it), so the per-head score of iteration 0 is
the ranking scored here. Needs LayerNorm (or none), learned absolute
positions and a plain MLP: TransformerLens weights, read directly (hooks give the clean cache only)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.errors import MethodInputError
from bench.tasks.base import TaskPrompts
from methods.base import HeadScores, MethodResult, batches

EPS_SPLIT = 1e-8  # the released code's guard in every magnitude split


@dataclass(frozen=True)
class Config:
    batch_size: int = 32  # prompts a pass; each pass carries every head of one layer as a source

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


Pair = tuple[torch.Tensor, torch.Tensor]


def linear(pair: Pair, w: torch.Tensor, b: torch.Tensor | None, eq: str) -> Pair:
    """An affine map applied to both parts, its bias split by |part @ W| (``prop_linear_core``)."""
    rel, irrel = (torch.einsum(eq, p, w) for p in pair)
    if b is None:
        return rel, irrel
    denom = rel.abs() + irrel.abs() + EPS_SPLIT
    return rel + b * rel.abs() / denom, irrel + b * irrel.abs() / denom


def layer_norm(pair: Pair, ln, eps: float) -> Pair:
    """LayerNorm with the full sum's variance held fixed; each part centred on its own; bias split by |input|."""
    rel, irrel = pair
    name = type(ln).__name__
    if ln is None or name == "Identity":
        return pair
    tot = rel + irrel
    scale = (tot - tot.mean(-1, keepdim=True)).pow(2).mean(-1, keepdim=True).add(eps).sqrt()
    out = [(p - p.mean(-1, keepdim=True)) / scale for p in pair]
    if name == "LayerNorm":
        out = [p * ln.w for p in out]
        denom = rel.abs() + irrel.abs() + EPS_SPLIT
        out = [out[0] + ln.b * rel.abs() / denom, out[1] + ln.b * irrel.abs() / denom]
    return out[0], out[1]


def settle(pair: Pair) -> Pair:
    """``normalize_rel_irrel``: where the parts have opposite signs, the larger |part| takes the whole sum
    (ties to the relevant part)."""
    rel, irrel = pair
    opposite = rel * irrel < 0
    rel_wins = rel.abs() >= irrel.abs()
    tot = rel + irrel
    new_rel = torch.where(opposite, torch.where(rel_wins, tot, torch.zeros_like(tot)), rel)
    new_irrel = torch.where(opposite, torch.where(rel_wins, torch.zeros_like(tot), tot), irrel)
    return new_rel, new_irrel


def attention_z(pair: Pair, attn, mask: torch.Tensor) -> Pair:
    """Decomposed z ``[b, T, H, d_head]`` of one attention layer (``prop_attention_probs``)."""
    q = linear(pair, attn.W_Q, attn.b_Q, "btd,hde->bthe")
    k = linear(pair, attn.W_K, attn.b_K, "btd,hde->bthe")
    v = linear(pair, attn.W_V, attn.b_V, "btd,hde->bthe")
    scores = lambda a, c: torch.einsum("bqhe,bkhe->bhqk", a, c) / attn.attn_scale + mask  # noqa: E731
    full = torch.softmax(scores(q[0] + q[1], k[0] + k[1]), -1)
    rel_p = torch.softmax(scores(q[0], k[0]), -1)  # zero q_rel: uniform over the earlier positions
    rel_z = torch.einsum("bhqk,bkhe->bqhe", rel_p, v[0])
    return rel_z, torch.einsum("bhqk,bkhe->bqhe", full, v[0] + v[1]) - rel_z


def mlp(pair: Pair, block) -> Pair:
    m = block.mlp
    pre = settle(linear(pair, m.W_in, m.b_in, "btd,dm->btm"))
    act = (m.act_fn(pre[0] + pre[1]) - m.act_fn(pre[1]), m.act_fn(pre[1]))
    return settle(linear(settle(act), m.W_out, m.b_out, "btm,md->btd"))


def check_model(model) -> None:
    cfg = model.cfg
    if cfg.positional_embedding_type != "standard" or cfg.normalization_type not in ("LN", "LNPre", None) \
            or getattr(cfg, "gated_mlp", False) or (cfg.n_key_value_heads or cfg.n_heads) != cfg.n_heads:
        raise MethodInputError(f"cdt: model {cfg.model_name} is not one CD-T's rules cover (they need LayerNorm or "
                               "none, learned absolute positions, full multi-head attention and a plain MLP)")


@torch.no_grad()
def decomposed_logits(model, tokens: torch.Tensor, layer: int, mean_z: torch.Tensor) -> Pair:
    """(relevant, irrelevant) logits ``[H, b, T, vocab]`` with each head of ``layer`` as the source in turn;
    they sum to the model's logits."""
    cfg = model.cfg
    names = (f"blocks.{layer}.hook_resid_pre", f"blocks.{layer}.attn.hook_z")
    _, cache = model.run_with_cache(tokens, names_filter=lambda n: n in names)
    b, t = tokens.shape
    H = cfg.n_heads
    resid = cache[names[0]].repeat(H, 1, 1)  # [H * b, T, d]: one copy of the prompts per source head
    z = cache[names[1]].repeat(H, 1, 1, 1)
    mu = mean_z[:t].expand_as(z)
    source = torch.zeros(H, 1, 1, H, 1, dtype=torch.bool, device=tokens.device)
    source[torch.arange(H), 0, 0, torch.arange(H)] = True
    source = source.expand(H, b, t, H, cfg.d_head).reshape(z.shape)
    mask = torch.full((t, t), float("-inf"), device=tokens.device).triu(1)
    eps = cfg.eps
    zero = torch.zeros_like(resid)
    pair: Pair = (zero, resid)
    for l in range(layer, cfg.n_layers):
        block = model.blocks[l]
        if l == layer:
            z_pair = (torch.where(source, z - mu, torch.zeros_like(z)), torch.where(source, mu, z))
        else:
            z_pair = attention_z(layer_norm(pair, block.ln1, eps), block.attn, mask)
        out = linear(z_pair, block.attn.W_O, block.attn.b_O, "bthe,hed->btd")
        pair = (pair[0] + out[0], pair[1] + out[1])
        if not cfg.attn_only:
            m = mlp(layer_norm(pair, block.ln2, eps), block)
            pair = settle((pair[0] + m[0], pair[1] + m[1]))
    rel, irrel = linear(layer_norm(pair, getattr(model, "ln_final", None), eps), model.W_U, model.b_U, "btd,dv->btv")
    return rel.view(H, b, t, -1), irrel.view(H, b, t, -1)


def head_means(model, tokens: torch.Tensor, lengths: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """Per layer ``[T, H, d_head]``: the mean of ``hook_z`` at each position over the prompts that reach it."""
    cfg = model.cfg
    t = tokens.shape[1]
    sums = [torch.zeros(t, cfg.n_heads, cfg.d_head, device=cfg.device) for _ in range(cfg.n_layers)]
    counts = torch.zeros(t, 1, 1, device=cfg.device)
    for sl in batches(len(tokens), batch_size):
        tok = tokens[sl].to(cfg.device)
        real = (torch.arange(t, device=cfg.device)[None] < lengths[sl].to(cfg.device)[:, None]).float()
        _, cache = model.run_with_cache(tok, names_filter=lambda n: n.endswith("attn.hook_z"))
        for l in range(cfg.n_layers):
            sums[l] += (cache[f"blocks.{l}.attn.hook_z"] * real[:, :, None, None]).sum(0)
        counts += real.sum(0)[:, None, None]
    return [s / counts.clamp_min(1) for s in sums]


@torch.no_grad()
def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    check_model(model)
    cfg = model.cfg
    width = max(prompts.clean.tokens.shape[1], prompts.corrupted.tokens.shape[1])
    pad = lambda x: torch.nn.functional.pad(x, (0, width - x.shape[1]))  # noqa: E731
    means = head_means(model, pad(prompts.corrupted.tokens), prompts.corrupted.lengths, config.batch_size)
    raw = torch.zeros(cfg.n_layers, cfg.n_heads)
    for sl in batches(len(prompts.clean), config.batch_size):
        clean = prompts.clean.take(sl).to(cfg.device)
        metric = prompts.metric.take(sl)
        last = clean.lengths - 1
        for layer in range(cfg.n_layers):
            rel, _ = decomposed_logits(model, clean.tokens, layer, means[layer])
            at_last = rel[:, torch.arange(len(last)), last]  # [H, b, vocab]
            raw[layer] += torch.stack([metric(x).float() for x in at_last]).sum(1).cpu()
    raw /= len(prompts.clean)
    normalised = raw / raw.abs().sum(1, keepdim=True).clamp_min(1e-12)
    return MethodResult(HeadScores(normalised.abs()), ablation="mean-of-corrupted decomposition",
                        diagnostics={"raw_scores": raw.flatten().tolist()})
