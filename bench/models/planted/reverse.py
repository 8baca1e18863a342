"""planted-reverse: tracr's ``reverse`` (Lindner et al. 2023's lib.make_reverse: a length computation, the
opposite index length - i - 1, and an aggregate that copies the token there) planted by SIIT in a 2-layer
model with 4 heads and an MLP per layer, larger than the 4-layer, 1-head model tracr compiles for it.

A causal model cannot output a reversal in place (position 1 would need the last token), so the output
comes after the input, at fixed positions: BOS, K values (K in 3..6) padded to 6 slots, SEP, six queries,
then filler. The j-th query outputs v_{K-j+1} (for j <= K). High-level model: LEN (K, the number of slots
that are not padding), TARGET (the slot to copy, K - j + 1), REV (the token in that slot). The filler at the end carries distractor targets (the token two places back), work for the other
heads. The task reads one query's output.
``python -m bench.planting reverse`` trains it; its recipe says which components compute what."""
from __future__ import annotations

import torch

from bench.models.planted import MODELS
from bench.models.planted.highlevel import IGNORE, Batch, IndependentSources

BOS, N_VALUES, N_FILL = 0, 12, 6
PAD, SEP, QUERY = N_VALUES + 1, N_VALUES + 2, N_VALUES + 3
FILL = torch.arange(N_VALUES + 4, N_VALUES + 4 + N_FILL)
VOCAB = N_VALUES + 4 + N_FILL
K_MIN, K_MAX = 3, 6
POS_SEP = K_MAX + 1
FIRST_QUERY = POS_SEP + 1
LENGTH = FIRST_QUERY + K_MAX + 4  # BOS, 6 slots, SEP, 6 queries, 4 filler
PLANTED = next(p for p in MODELS if p.module == "reverse")


# The architecture (the registry reads its shape without importing TransformerLens).
ARCH = dict(n_layers=2, n_heads=4, d_model=64, d_head=16, d_mlp=128, n_ctx=LENGTH,
            d_vocab=VOCAB, d_vocab_out=VOCAB, act_fn="gelu", normalization_type="LN", seed=0, default_prepend_bos=False)


def config():
    """The model's TransformerLens config."""
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(**ARCH, model_name=PLANTED.name)


def reversal_labels(toks: torch.Tensor, k: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """At query position p (the j-th query, j = p - SEP, for j <= ``queries``): the token of ``toks`` in slot
    K - j + 1 (K from ``k``), where that slot exists; IGNORE elsewhere."""
    n, t = toks.shape
    pos = torch.arange(t)[None, :]
    j = pos - POS_SEP
    slot = k[:, None] - j + 1
    ok = (j >= 1) & (j <= queries[:, None]) & (slot >= 1) & (slot <= K_MAX)
    labels = torch.gather(toks, 1, slot.clamp(0, t - 1))
    return torch.where(ok, labels, torch.full_like(labels, IGNORE))


class HighLevel(IndependentSources):
    numeric = False
    variables = ("LEN", "TARGET", "REV")

    def sample(self, gen: torch.Generator, n: int) -> Batch:
        k = torch.randint(K_MIN, K_MAX + 1, (n,), generator=gen)
        toks = torch.full((n, LENGTH), PAD, dtype=torch.long)
        toks[:, 0] = BOS
        values = torch.randint(1, N_VALUES + 1, (n, K_MAX), generator=gen)
        slots = torch.arange(1, K_MAX + 1)[None, :] <= k[:, None]
        toks[:, 1:POS_SEP] = torch.where(slots, values, torch.full_like(values, PAD))
        toks[:, POS_SEP] = SEP
        toks[:, FIRST_QUERY:FIRST_QUERY + K_MAX] = QUERY
        toks[:, FIRST_QUERY + K_MAX:] = FILL[torch.randint(0, N_FILL, (n, LENGTH - FIRST_QUERY - K_MAX), generator=gen)]
        distract = torch.full_like(toks, IGNORE)
        distract[:, -2:] = toks[:, -4:-2]
        return Batch(toks, reversal_labels(toks, k, k), distract, {"k": k})

    def intervene(self, base: Batch, source: Batch, variable: str) -> torch.Tensor:
        kb, ks = base.state["k"], source.state["k"]
        if variable == "REV":
            return reversal_labels(source.tokens, ks, ks)
        # LEN or TARGET from the source: the source's length decides which of the base's slots is copied
        return reversal_labels(base.tokens, ks, torch.minimum(kb, ks))


def cut(gen: torch.Generator, batch: Batch) -> torch.Tensor:
    """For each prompt, the position of a random answered query, where the task prompt ends."""
    k = batch.state["k"]
    return POS_SEP + 1 + (torch.rand(len(k), generator=gen) * k).long()


def metric(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """logit(the reversed token) - logit(the negative's) at the query where the prompt ends."""
    rows = torch.arange(len(logits))
    last = logits[rows, batch.state["end"]]
    return last[rows, batch.state["answer"]] - last[rows, batch.state["wrong"]]


def corrupt(batch: Batch, gen: torch.Generator) -> torch.Tensor:
    """Choose where each task prompt ends (a query) and make the negative: the value that query copies is
    replaced by another, so the answer changes."""
    toks = batch.tokens.clone()
    rows = torch.arange(len(toks))
    end = cut(gen, batch)
    target = batch.state["k"] - (end - POS_SEP) + 1
    answer = batch.tokens[rows, target]
    wrong = (answer - 1 + torch.randint(1, N_VALUES, (len(toks),), generator=gen)) % N_VALUES + 1
    toks[rows, target] = wrong
    batch.state.update(end=end, answer=answer, wrong=wrong)
    return toks
