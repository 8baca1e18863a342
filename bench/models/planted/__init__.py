"""Models whose circuits cdbench plants itself by Strict Interchange Intervention Training (SIIT, Gupta
et al. 2024): a high-level causal model's variables are mapped onto chosen heads and MLPs, and training
makes those components compute them while every other component must not matter. Each model is trained
by ``python -m bench.planting <name>``; its weights are committed under ``weights/`` and its ground truth
(with the training and intervention evidence) under ``ground_truth/<task>/siit.v1.json``. The modules here
hold each model's architecture and prompt distribution (its high-level model), never which components
compute what: that is the recipe's (:mod:`bench.planting`)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


@dataclass(frozen=True)
class Planted:
    """A planted-circuit model as the registry lists it."""

    name: str
    module: str  # bench.models.planted.<module>: its architecture (ARCH, config()) and prompt distribution
    description: str

    @property
    def world(self) -> ModuleType:
        return importlib.import_module(f"bench.models.planted.{self.module}")

    @property
    def shape(self) -> tuple[int, int, bool]:
        """(n_layers, n_heads, attn_only), read from the module's ARCH."""
        arch = self.world.ARCH
        return arch["n_layers"], arch["n_heads"], bool(arch.get("attn_only", False))

    @property
    def weights_path(self) -> Path:
        return WEIGHTS / f"{self.name}.safetensors"


MODELS: list[Planted] = [
    Planted("planted-ioi", "ioi", "IOI-like circuit (duplicate-token, S-inhibition, name mover) planted by SIIT; "
            "3 layers x 4 heads + MLPs"),
    Planted("planted-frac", "frac", "tracr's frac_prevs (running fraction of x) planted by SIIT; 2 layers x 4 heads + MLPs"),
    Planted("planted-reverse", "reverse", "tracr's reverse (length, opposite index, copy) planted by SIIT; 2 layers x "
            "4 heads + MLPs"),
    Planted("planted-ioi-32", "ioi32", "IOI-like circuit with several heads per role (2 duplicate-token, 2 "
            "S-inhibition, 3 name movers, one MLP) planted by SIIT among 32 heads; 4 layers x 8 heads + MLPs"),
    Planted("planted-greater-32", "greater32", "greater-than-like comparison (2 + 2 year-mover heads, two MLPs "
            "computing the answer) planted by SIIT among 32 heads; 4 layers x 8 heads + MLPs"),
    Planted("planted-docstring-32", "docstring32", "docstring-like argument copy (2 previous-argument, 2 "
            "param-mover and 3 argument-mover heads) planted by SIIT among 32 heads; 4 layers x 8 heads, attention only"),
    Planted("planted-reverse-32", "reverse32", "tracr's reverse (2 length heads, an MLP computing the opposite "
            "index, 3 copying heads) planted by SIIT among 32 heads; 4 layers x 8 heads + MLPs"),
    Planted("planted-induction", "induction", "induction (previous-token + induction head) planted by SIIT among "
            "16 heads; 2 layers x 8 heads, attention only"),
]
