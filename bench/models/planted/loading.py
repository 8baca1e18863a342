"""Load a planted model from its committed weights and its world's architecture (no training code, no
mapping)."""
from __future__ import annotations

from bench.models.planted import Planted


def load(p: Planted, device: str = "cpu"):
    """The model, in eval mode on ``device``."""
    from safetensors.torch import load_file
    from transformer_lens import HookedTransformer

    from bench.errors import ModelMissingError

    if not p.weights_path.is_file():
        raise ModelMissingError(f"{p.name} weights missing at {p.weights_path}; run `python -m bench.planting {p.module}`")
    model = HookedTransformer(p.world.config())
    model.load_state_dict(load_file(str(p.weights_path)), strict=False)
    return model.to(device).eval()
