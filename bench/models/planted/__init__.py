"""Models whose circuits cdbench plants itself by Strict Interchange Intervention Training (SIIT, Gupta
et al. 2024): a high-level causal model's variables are mapped onto chosen heads and MLPs, and training
makes those components compute them while every other component must not matter. Each model is trained
by ``python -m bench.models.planted.<name>``; its weights are committed under ``weights/`` and its
ground truth (with the training and intervention evidence) under ``ground_truth/<task>/siit.v1.json``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


@dataclass(frozen=True)
class Planted:
    """A planted-circuit model as the registry lists it."""

    name: str
    module: str  # bench.models.planted.<module>: config(), the task, and the training command
    description: str
    shape: tuple[int, int, bool]  # (n_layers, n_heads, attn_only)

    @property
    def weights_path(self) -> Path:
        return WEIGHTS / f"{self.name}.safetensors"


MODELS: list[Planted] = [
    Planted("planted-ioi", "ioi", "IOI-like circuit (duplicate-token, S-inhibition, name mover) planted by SIIT; "
            "3 layers x 4 heads + MLPs", (3, 4, False)),
    Planted("planted-frac", "frac", "tracr's frac_prevs (running fraction of x) planted by SIIT; 2 layers x 4 heads + MLPs",
            (2, 4, False)),
    Planted("planted-reverse", "reverse", "tracr's reverse (length, opposite index, copy) planted by SIIT; 2 layers x "
            "4 heads + MLPs", (2, 4, False)),
    Planted("planted-induction", "induction", "induction (previous-token + induction head) planted by SIIT among "
            "16 heads; 2 layers x 8 heads, attention only", (2, 8, True)),
]
