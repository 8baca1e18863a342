"""Load a planted model from its committed weights and its world's architecture (no training code, no
mapping)."""
from __future__ import annotations

from pathlib import Path

from bench.models.planted import Planted


def load(p: Planted, device: str = "cpu", path: Path | None = None):
    """The model, in eval mode on ``device``, from its committed weights or from ``path`` (a retrained copy;
    every parameter must be there with the architecture's shape)."""
    from safetensors.torch import load_file
    from transformer_lens import HookedTransformer

    from bench.errors import ModelMissingError

    from bench.errors import CdbenchError

    path = p.weights_path if path is None else path
    if not path.is_file():
        raise ModelMissingError(f"{p.name} weights missing at {path}; run `python -m bench.planting {p.module} --ship`")
    model = HookedTransformer(p.world.config())
    try:
        state = load_file(str(path))
        missing, _ = model.load_state_dict(state, strict=False)
    except Exception as exc:  # a truncated or foreign file: safetensors / torch errors of several kinds
        raise CdbenchError(f"weights file {path} is not {p.name}'s ({type(exc).__name__}: {str(exc).splitlines()[0][:100]})") from None
    missing = [k for k in missing if not k.endswith(("IGNORE", ".mask"))]
    if missing:
        raise CdbenchError(f"weights file {path} lacks {len(missing)} of {p.name}'s parameters (first: {missing[0]})")
    return model.to(device).eval()
