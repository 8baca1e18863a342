"""planted-greater-32: a greater-than-like comparison (after Hanna et al. 2023's circuit in GPT-2 small, where
attention heads bring the start year to the end and MLPs compute which years are later) planted by SIIT in a
model of 4 layers x 8 heads with an MLP per layer, over 30 year tokens and 20 filler tokens.

Prompt (fixed positions): BOS f A f f B f f END -> at END the model answers YES if the second year B is
later than the first A, NO otherwise (A != B). Negatives swap A and B, so every answer flips. High-level
model:
- FIRST (at END): the year A, moved from its position;
- SECOND (at END): the year B, moved from its position;
- DIFF (at END): B - A, from FIRST and SECOND;
- LATER (at END): whether DIFF > 0, the output.
Distractor positions (every other position but END and the one before it) predict the token two places
back, work the other heads and MLPs do. ``python -m bench.planting greater32`` trains it; its recipe says
which components compute what."""
from __future__ import annotations

import torch

from bench.models.planted import MODELS
from bench.models.planted.highlevel import IGNORE, Batch, IndependentSources, two_back_targets

N_YEARS, N_FILL = 30, 20
BOS = 0
YEARS = torch.arange(1, 1 + N_YEARS)  # year token t has value t - 1
FILL = torch.arange(1 + N_YEARS, 1 + N_YEARS + N_FILL)
END = 1 + N_YEARS + N_FILL
NO, YES = END + 1, END + 2
VOCAB = YES + 1
LENGTH = 9  # BOS f A f f B f f END
POS_A, POS_B, POS_END = 2, 5, 8
PLANTED = next(p for p in MODELS if p.module == "greater32")

# The architecture (the registry reads its shape without importing TransformerLens).
ARCH = dict(n_layers=4, n_heads=8, d_model=64, d_head=16, d_mlp=128, n_ctx=LENGTH,
            d_vocab=VOCAB, d_vocab_out=VOCAB, act_fn="gelu", normalization_type="LN", seed=0, default_prepend_bos=False)


def config():
    """The model's TransformerLens config."""
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(**ARCH, model_name=PLANTED.name)


def answer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The answer token for years ``a`` then ``b``: YES if b is later, NO if earlier, IGNORE if the same."""
    return torch.where(b > a, YES, torch.where(b < a, NO, IGNORE))


class HighLevel(IndependentSources):
    numeric = False
    variables = ("FIRST", "SECOND", "DIFF", "LATER")

    def sample(self, gen: torch.Generator, n: int) -> Batch:
        toks = FILL[torch.randint(0, N_FILL, (n, LENGTH), generator=gen)]
        pick = torch.argsort(torch.rand(n, N_YEARS, generator=gen), dim=1)[:, :2]  # two different years
        a, b = YEARS[pick[:, 0]], YEARS[pick[:, 1]]
        toks[:, 0], toks[:, POS_A], toks[:, POS_B], toks[:, POS_END] = BOS, a, b, END
        return Batch(toks, self._labels(toks, a, b), two_back_targets(toks, POS_END), {"a": a, "b": b})

    @staticmethod
    def _labels(toks: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        labels = torch.full_like(toks, IGNORE)
        labels[:, POS_END] = answer(a, b)
        return labels

    def intervene(self, base: Batch, source: Batch, variable: str) -> torch.Tensor:
        a, b = base.state["a"], base.state["b"]
        if variable == "FIRST":
            a = source.state["a"]
        elif variable == "SECOND":
            b = source.state["b"]
        else:  # DIFF and LATER: the source's comparison
            a, b = source.state["a"], source.state["b"]
        return self._labels(base.tokens, a, b)


def correct_and_wrong(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Per prompt: the right answer token and the other one."""
    later = batch.state["b"] > batch.state["a"]
    return torch.where(later, YES, NO), torch.where(later, NO, YES)


def metric(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """logit(right answer) - logit(other answer) at END."""
    last = logits[:, POS_END]
    rows = torch.arange(len(last))
    right, wrong = correct_and_wrong(batch)
    return last[rows, right] - last[rows, wrong]


def corrupt(batch: Batch, gen: torch.Generator) -> torch.Tensor:
    """The negative: A and B swapped (the answer flips)."""
    toks = batch.tokens.clone()
    toks[:, POS_A], toks[:, POS_B] = batch.tokens[:, POS_B], batch.tokens[:, POS_A]
    return toks
