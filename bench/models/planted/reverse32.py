"""planted-reverse-32: tracr's ``reverse`` (a length computation, the opposite index length - i - 1, and an
aggregate that copies the token there; Lindner et al. 2023's lib.make_reverse), the multi-step algorithmic
kind, planted by SIIT in a model of 4 layers x 8 heads with an MLP per layer. The prompts, labels, high-level
model, negatives and metric are planted-reverse's (:mod:`bench.models.planted.reverse`): the same task among
four times the heads, so the two models differ only in size. ``python -m bench.planting reverse32`` trains it;
its recipe says which components compute what."""
from __future__ import annotations

from bench.models.planted import MODELS
from bench.models.planted.reverse import LENGTH, VOCAB, HighLevel, corrupt, metric  # noqa: F401  the shared world

PLANTED = next(p for p in MODELS if p.module == "reverse32")

# The architecture (the registry reads its shape without importing TransformerLens).
ARCH = dict(n_layers=4, n_heads=8, d_model=64, d_head=16, d_mlp=128, n_ctx=LENGTH,
            d_vocab=VOCAB, d_vocab_out=VOCAB, act_fn="gelu", normalization_type="LN", seed=0, default_prepend_bos=False)


def config():
    """The model's TransformerLens config."""
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(**ARCH, model_name=PLANTED.name)
