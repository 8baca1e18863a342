"""planted-ioi-32: planted-ioi's IOI-like prompt distribution and high-level model (bench/models/planted/ioi.py,
the one place they are defined) in a model of 4 layers x 8 heads with an MLP per layer, so that each role has
several heads and most heads and MLPs lie outside the circuit; the other heads and MLPs do the distractor
task (the token two places back) on the other positions.
``python -m bench.planting ioi32`` trains it; its recipe says which components compute what."""
from __future__ import annotations

from bench.models.planted import MODELS
from bench.models.planted.ioi import LENGTH, VOCAB, HighLevel, corrupt, metric  # noqa: F401  the same world

PLANTED = next(p for p in MODELS if p.module == "ioi32")

# The architecture (the registry reads its shape without importing TransformerLens).
ARCH = dict(n_layers=4, n_heads=8, d_model=64, d_head=16, d_mlp=128, n_ctx=LENGTH,
            d_vocab=VOCAB, d_vocab_out=VOCAB, act_fn="gelu", normalization_type="LN", seed=0, default_prepend_bos=False)


def config():
    """The model's TransformerLens config."""
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(**ARCH, model_name=PLANTED.name)
