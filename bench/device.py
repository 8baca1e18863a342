"""One place that picks the torch device: the user's ``--device``, else CUDA when present, else CPU."""
from __future__ import annotations

import torch

from bench.errors import CdbenchError


def pick_device(requested: str | None = None) -> str:
    if requested:
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise CdbenchError(f"--device {requested} asked for, but torch sees no CUDA device; use --device cpu")
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"
