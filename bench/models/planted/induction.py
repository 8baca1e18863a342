"""planted-induction: an induction circuit (a previous-token head feeding an induction head) planted by
SIIT among 16 heads (2 layers x 8 heads, attention only), so that most heads lie outside the circuit.

Input: BOS, a prefix, a span of 5-8 distinct tokens, a gap, then the span again; tokens are drawn so that
every span token occurs once before its repeat. High-level model: PREV: at each position, the previous
token; IND: at position q, the token at the position whose PREV equals q's token, the
prediction of the next token. Interchanges use, as source, the same sequence with the first copy of the
span permuted, so every intervention has a defined answer. Distractor targets (the token three places
back, outside the repeat) give the other heads work.
``python -m bench.planting induction`` trains it; its recipe says which components compute what."""
from __future__ import annotations

import torch

from bench.models.planted import MODELS
from bench.models.planted.highlevel import IGNORE, Batch

BOS, VOCAB, LENGTH = 0, 40, 24
PLANTED = next(p for p in MODELS if p.module == "induction")


# The architecture (the registry reads its shape without importing TransformerLens).
ARCH = dict(n_layers=2, n_heads=8, d_model=64, d_head=16, n_ctx=LENGTH, d_vocab=VOCAB,
            d_vocab_out=VOCAB, attn_only=True, act_fn=None, normalization_type="LN", seed=0, default_prepend_bos=False)


def config():
    """The model's TransformerLens config."""
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(**ARCH, model_name=PLANTED.name)


def induction_labels(toks: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
    """At each position q: the token at the position k <= q whose ``prev`` (the token before k in the
    high-level model) equals q's token, when there is exactly one such k; IGNORE otherwise."""
    n, t = toks.shape
    match = (prev[:, None, :] == toks[:, :, None])  # [n, q, k]
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    match &= causal
    match[:, :, 0] = False
    count = match.sum(-1)
    k = match.float().argmax(-1)
    labels = torch.gather(toks, 1, k)
    return torch.where(count == 1, labels, torch.full_like(labels, IGNORE))


def prev_tokens(toks: torch.Tensor) -> torch.Tensor:
    prev = torch.full_like(toks, -1)
    prev[:, 1:] = toks[:, :-1]
    return prev


class HighLevel:
    numeric = False
    variables = ("PREV", "IND")

    def sample(self, gen: torch.Generator, n: int) -> Batch:
        """Vectorised over the batch: per row a span length, a gap, distinct span tokens and a fill drawn
        (with replacement) from the tokens not in the span."""
        span = 5 + torch.randint(0, 4, (n,), generator=gen)
        gap = torch.randint(0, 4, (n,), generator=gen)
        start1 = LENGTH - 2 * span - gap  # 1 + prefix
        start2 = start1 + span + gap  # the repeat runs to the end
        perm = torch.rand(n, VOCAB - 1, generator=gen).argsort(1) + 1  # distinct tokens; the span is the first `span`
        pool_idx = span[:, None] + (torch.rand(n, LENGTH, generator=gen) * (VOCAB - 1 - span)[:, None]).long()
        fill = perm.gather(1, pool_idx)
        pos = torch.arange(LENGTH)[None]
        in1 = (pos >= start1[:, None]) & (pos < (start1 + span)[:, None])
        in2 = pos >= start2[:, None]
        s1 = perm.gather(1, (pos - start1[:, None]).clamp(0, 8 - 1))
        s2 = perm.gather(1, (pos - start2[:, None]).clamp(0, 8 - 1))
        toks = torch.where(in1, s1, torch.where(in2, s2, fill))
        toks[:, 0] = BOS
        first = torch.stack([start1, span], 1)  # (start, length) of the first copy
        labels = induction_labels(toks, prev_tokens(toks))
        repeat = labels != IGNORE
        distract = torch.full_like(toks, IGNORE)
        distract[:, 3:] = toks[:, :-3]
        distract[repeat] = IGNORE
        distract[:, LENGTH - 8:] = IGNORE  # never on the second copy, whatever its length
        return Batch(toks, labels, distract, {"first": first})

    def source(self, base: Batch, gen: torch.Generator) -> Batch:
        """The base with its first copy of the span permuted (never left as it was)."""
        toks = base.tokens.clone()
        start, span = base.state["first"].unbind(1)
        n, idx = len(toks), torch.arange(8)[None]
        order = torch.empty(n, 8, dtype=torch.long)
        redo = torch.ones(n, dtype=torch.bool)
        while redo.any():  # a random permutation of each row's span, never the identity
            keys = torch.rand(int(redo.sum()), 8, generator=gen).masked_fill(idx >= span[redo, None], 2.0)
            order[redo] = keys.argsort(1)
            redo = ((order == idx) | (idx >= span[:, None])).all(1)
        rows = torch.arange(n)[:, None]
        cols = start[:, None] + idx
        valid = idx < span[:, None]
        src_cols = start[:, None] + order
        toks[rows.expand_as(cols)[valid], cols[valid]] = base.tokens[rows.expand_as(cols)[valid], src_cols[valid]]
        return Batch(toks, induction_labels(toks, prev_tokens(toks)), base.distract, base.state)

    def intervene(self, base: Batch, source: Batch, variable: str) -> torch.Tensor:
        labels = (induction_labels(base.tokens, prev_tokens(source.tokens)) if variable == "PREV"
                  else induction_labels(source.tokens, prev_tokens(source.tokens)))
        return torch.where(base.labels != IGNORE, labels, torch.full_like(labels, IGNORE))


def metric(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Mean logit margin of the induction answer over the best other token, on the repeat's positions."""
    mask = batch.labels != IGNORE
    right = torch.gather(logits, 2, batch.labels.clamp(min=0)[..., None])[..., 0]
    other = logits.scatter(2, batch.labels.clamp(min=0)[..., None], float("-inf")).max(-1).values
    margin = (right - other) * mask
    return margin.sum(1) / mask.sum(1).clamp(min=1)


def corrupt(batch: Batch, gen: torch.Generator) -> torch.Tensor:
    """The negative: the first copy of the span replaced by fresh tokens."""
    toks = batch.tokens.clone()
    for i, (start, span) in enumerate(batch.state["first"].tolist()):
        present = set(toks[i].tolist())
        fresh = [t for t in torch.randperm(VOCAB - 1, generator=gen).add(1).tolist() if t not in present][:span]
        toks[i, start:start + span] = torch.tensor(fresh)
    return toks
