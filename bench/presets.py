"""Named run presets: a whole reproduction in one flag (``cdbench run --preset NAME``)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    n_prompts: int
    methods: tuple[str, ...]
    gt_versions: dict[str, str] = field(default_factory=dict)  # task -> ground-truth version


PRESETS = {p.name: p for p in [
    Preset("paper", "the SAE-code paper as its authors ran it: 250 positive + 250 negative prompts, 10 SAE "
           "prompts, the released lambda per task (0.05 docstring, 0.02 otherwise) and the released head lists",
           250, ("sae_codes",), {"ioi": "oneill2024.v2", "docstring": "oneill2024.v2", "greater_than": "hanna2023.v2"}),
]}
