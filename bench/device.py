"""One place that picks the torch device: the user's ``--device``, else CUDA when present, else CPU."""
from __future__ import annotations

import re

from bench.errors import CdbenchError

KNOWN = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")


def pick_device(requested: str | None = None) -> str:
    import torch

    if requested:
        if not KNOWN.match(requested):
            raise CdbenchError(f"unknown device {requested!r}; use cpu, cuda, cuda:N or mps")
        if requested.startswith("cuda"):
            if not torch.cuda.is_available():
                raise CdbenchError(f"--device {requested} asked for, but torch sees no CUDA device; use --device cpu")
            index = int(requested.split(":")[1]) if ":" in requested else 0
            if index >= torch.cuda.device_count():
                raise CdbenchError(f"--device {requested}: torch sees {torch.cuda.device_count()} CUDA device(s)")
        if requested == "mps" and not torch.backends.mps.is_available():
            raise CdbenchError("--device mps asked for, but torch sees no MPS device; use --device cpu")
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"
