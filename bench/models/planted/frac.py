"""planted-frac: tracr's ``frac_prevs`` (the running fraction of tokens equal to "x"; Lindner et al. 2023's
lib.make_frac_prevs, a counting program) planted by SIIT in a 2-layer model with 4 heads and an MLP per
layer, larger than the 2-layer, 1-head model tracr compiles for it.

Input: BOS then 8 tokens from an alphabet of 8 ("x" is token 1). Output, a real value read off logit 0 at
every position p: the fraction of x among tokens 1..p. High-level model, as tracr's program: IS_X (whether
each token is x) -> FRAC (the mean of IS_X over positions up to p). Distractor targets
(logits 1..) ask every position for the previous token, work for the other heads. ``python -m bench.planting
frac`` trains it; its recipe says which components compute what."""
from __future__ import annotations

import torch

from bench.models.planted import MODELS
from bench.models.planted.highlevel import IGNORE, Batch, IndependentSources

BOS, X, ALPHABET = 0, 1, 8
LENGTH = 9  # BOS + 8 tokens
PLANTED = next(p for p in MODELS if p.module == "frac")


# The architecture (the registry reads its shape without importing TransformerLens).
ARCH = dict(n_layers=2, n_heads=4, d_model=48, d_head=12, d_mlp=96, n_ctx=LENGTH,
            d_vocab=ALPHABET + 1, d_vocab_out=ALPHABET + 2, act_fn="gelu",
            normalization_type="LN", seed=0, default_prepend_bos=False)


def config():
    """The model's TransformerLens config."""
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(**ARCH, model_name=PLANTED.name)


def fractions(is_x: torch.Tensor) -> torch.Tensor:
    """[n, T] running mean of ``is_x`` over positions 1..p (NaN at BOS)."""
    counts = is_x[:, 1:].float().cumsum(1)
    out = torch.full(is_x.shape, float("nan"))
    out[:, 1:] = counts / torch.arange(1, is_x.shape[1])
    return out


class HighLevel(IndependentSources):
    numeric = True
    variables = ("IS_X", "FRAC")

    def sample(self, gen: torch.Generator, n: int) -> Batch:
        toks = torch.randint(1, ALPHABET + 1, (n, LENGTH), generator=gen)
        toks[:, 0] = BOS
        # more x than uniform (a quarter of tokens), so fractions spread over [0, 1]
        toks[:, 1:] = torch.where(torch.rand(n, LENGTH - 1, generator=gen) < 0.25, X, toks[:, 1:])
        is_x = toks == X
        distract = torch.full_like(toks, IGNORE)
        distract[:, 1:] = toks[:, :-1] + 1  # logit 0 is the numeric output: token t is class t + 1
        return Batch(toks, fractions(is_x), distract, {"is_x": is_x})

    def intervene(self, base: Batch, source: Batch, variable: str) -> torch.Tensor:
        return fractions(source.state["is_x"])  # IS_X or FRAC from the source: the source's fractions


def metric(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """The output value at the last position."""
    return logits[:, -1, 0]


def fidelity(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """R^2 of the last output against its own input's fraction (1 - squared error / the fractions' variance)."""
    y = batch.labels[:, -1]
    return 1 - (logits[:, -1, 0] - y) ** 2 / y.var()


def corrupt(batch: Batch, gen: torch.Generator) -> torch.Tensor:
    """The negative: every x replaced by another token (the fraction is 0)."""
    toks = batch.tokens.clone()
    other = torch.randint(2, ALPHABET + 1, toks.shape, generator=gen)
    return torch.where(toks == X, other, toks)


def task_batch(gen: torch.Generator, n: int) -> Batch:
    """Clean task prompts: sequences with at least one x."""
    hl = HighLevel()
    b = hl.sample(gen, n)
    none = ~(b.tokens[:, 1:] == X).any(1)
    b.tokens[none, 1] = X
    b.state["is_x"] = b.tokens == X
    b.labels = fractions(b.state["is_x"])
    return b
