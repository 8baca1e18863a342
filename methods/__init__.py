"""Method registry: one :class:`MethodSpec` line per method (key, description, settings, function)."""
from __future__ import annotations

from bench.errors import UnknownNameError
from methods import random_scores, sae_codes
from methods.base import EdgeScores, HeadScores, MethodResult, MethodSpec

METHODS: dict[str, MethodSpec] = {m.key: m for m in [
    MethodSpec("random", "uniform random scores (the floor)", random_scores.Config, random_scores.run, edges=True),
    MethodSpec("sae_codes", "O'Neill & Bui 2024 discrete SAE codes, paper settings", sae_codes.Config,
               sae_codes.run, edges=True, setting="200 units, lambda 0.02 (docstring 0.05), 500 epochs, 10 SAE prompts"),
]}


def get_method(key: str) -> MethodSpec:
    if key not in METHODS:
        raise UnknownNameError(f"unknown method {key!r}; known: {', '.join(METHODS)}")
    return METHODS[key]


__all__ = ["METHODS", "EdgeScores", "HeadScores", "MethodResult", "MethodSpec", "get_method"]
