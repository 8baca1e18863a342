"""planted-ioi: an IOI-like circuit (Wang et al. 2022's algorithm) planted by SIIT in a 3-layer model with
4 heads and an MLP per layer, over a synthetic vocabulary of 20 names and 20 filler tokens.

Prompt (fixed positions): BOS A f B f f S2 f END -> the model predicts, at END, the name of A and B that
S2 does not repeat (the indirect object). Clean prompts repeat a name (S2 = B: ABBA; S2 = A: BABA);
negatives name a third C at S2, so nothing is duplicated and the IO cannot be inferred. High-level model:
- DUP (at S2): the position of S2's earlier occurrence, d in {1, 3};
- SINH (at END): d, read from DUP;
- TARGET (at END): the position to copy from, 4 - d;
- NM (at END): the token at TARGET, the output.
Distractor positions (every other position) predict the token two places back, work the other heads do.
``python -m bench.planting ioi`` trains it; its recipe says which components compute what."""
from __future__ import annotations

import torch

from bench.models.planted import MODELS
from bench.models.planted.highlevel import IGNORE, Batch, IndependentSources, two_back_targets

N_NAMES, N_FILL = 20, 20
BOS, END = 0, 1 + N_NAMES + N_FILL
NAMES = torch.arange(1, 1 + N_NAMES)
FILL = torch.arange(1 + N_NAMES, 1 + N_NAMES + N_FILL)
VOCAB = END + 1
LENGTH = 9  # BOS A f B f f S2 f END
POS_A, POS_B, POS_S2, POS_END = 1, 3, 6, 8
PLANTED = next(p for p in MODELS if p.module == "ioi")


# The architecture (the registry reads its shape without importing TransformerLens).
ARCH = dict(n_layers=3, n_heads=4, d_model=64, d_head=16, d_mlp=128, n_ctx=LENGTH,
            d_vocab=VOCAB, d_vocab_out=VOCAB, act_fn="gelu", normalization_type="LN", seed=0, default_prepend_bos=False)


def config():
    """The model's TransformerLens config."""
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(**ARCH, model_name=PLANTED.name)


def _fill(gen: torch.Generator, n: int) -> torch.Tensor:
    return FILL[torch.randint(0, N_FILL, (n, LENGTH), generator=gen)]


class HighLevel(IndependentSources):
    numeric = False
    variables = ("DUP", "SINH", "TARGET", "NM")

    def sample(self, gen: torch.Generator, n: int) -> Batch:
        toks = _fill(gen, n)
        perm = torch.argsort(torch.rand(n, N_NAMES, generator=gen), dim=1)[:, :2]
        a, b = NAMES[perm[:, 0]], NAMES[perm[:, 1]]
        abba = torch.rand(n, generator=gen) < 0.5
        toks[:, 0], toks[:, POS_A], toks[:, POS_B], toks[:, POS_END] = BOS, a, b, END
        toks[:, POS_S2] = torch.where(abba, b, a)
        d = torch.where(abba, POS_B, POS_A)  # where the repeated name first stood
        return Batch(toks, self._labels(toks, d), two_back_targets(toks, POS_END),
                     {"d": d, "io": torch.where(abba, a, b)})

    @staticmethod
    def _labels(toks: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        labels = torch.full_like(toks, IGNORE)
        labels[:, POS_END] = toks[torch.arange(len(toks)), POS_A + POS_B - d]
        return labels

    def intervene(self, base: Batch, source: Batch, variable: str) -> torch.Tensor:
        if variable == "NM":
            labels = torch.full_like(base.tokens, IGNORE)
            labels[:, POS_END] = source.state["io"]
            return labels
        return self._labels(base.tokens, source.state["d"])  # DUP, SINH and TARGET all carry d


def metric(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """logit(IO) - logit(S) at END."""
    last = logits[:, POS_END]
    rows = torch.arange(len(last))
    s = batch.tokens[:, POS_S2]
    return last[rows, batch.state["io"]] - last[rows, s]


def corrupt(batch: Batch, gen: torch.Generator) -> torch.Tensor:
    """The negative: S2 becomes a third name C (no duplicate, the IO cannot be inferred)."""
    toks = batch.tokens.clone()
    n = len(toks)
    c = NAMES[torch.randint(0, N_NAMES, (n,), generator=gen)]
    clash = (c == toks[:, POS_A]) | (c == toks[:, POS_B])
    while clash.any():
        c[clash] = NAMES[torch.randint(0, N_NAMES, (int(clash.sum()),), generator=gen)]
        clash = (c == toks[:, POS_A]) | (c == toks[:, POS_B])
    toks[:, POS_S2] = c
    return toks
