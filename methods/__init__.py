"""Method registry: one :class:`MethodSpec` line per method (key, description, settings, function)."""
from __future__ import annotations

from bench.errors import UnknownNameError
from methods import acdc, activation_patching, eap, eap_ig, hisp, random_scores, sae_codes, sae_codes_selected
from methods.base import EdgeScores, HeadScores, MethodResult, MethodSpec

METHODS: dict[str, MethodSpec] = {m.key: m for m in [
    MethodSpec("random", "uniform random scores (the floor)", random_scores.Config, random_scores.run, edges=True),
    MethodSpec("sae_codes", "O'Neill & Bui 2024 discrete SAE codes, paper settings", sae_codes.Config,
               sae_codes.run, edges=True, setting="200 units, lambda 0.02 (docstring 0.05), 500 epochs, 10 SAE prompts"),
    MethodSpec("sae_codes_selected", "SAE codes, L1 and positions chosen by seed stability (no labels)",
               sae_codes_selected.Config, sae_codes_selected.run, edges=True,
               setting="unit-MSN inputs, row-sum MSE, 200 units, L1 x {mean,last} by 2-seed Spearman, early stop"),
    MethodSpec("eap", "edge attribution patching (Syed et al. 2023)", eap.Config, eap.run, edges=True,
               setting="corrupted-patching, task metric, |score|; node = sum |incident edges|"),
    MethodSpec("eap_ig", "EAP with integrated gradients (Hanna et al. 2024)", eap_ig.Config, eap_ig.run, edges=True,
               setting="5 steps corrupted->clean embeddings; node = sum |incident edges|"),
    MethodSpec("acdc", "ACDC via auto-circuit (Conmy et al. 2023)", acdc.Config, acdc.run, edges=True,
               setting="KL (MSE where the output is a real value), corrupted-patching, tau in {1,3,5,7,9}e-5..e-2; node = sum |incident edges|"),
    MethodSpec("hisp", "head importance via |d metric / d head mask| (Michel et al. 2019)", hisp.Config, hisp.run,
               edges=False, setting="task metric gradient, mean |grad| over prompts"),
    MethodSpec("activation_patching", "patch each head from the corrupted run, |change in metric|",
               activation_patching.Config, activation_patching.run, edges=False, setting="corrupted-patching, task metric"),
]}


def get_method(key: str) -> MethodSpec:
    if key not in METHODS:
        raise UnknownNameError(f"unknown method {key!r}; known: {', '.join(METHODS)}")
    return METHODS[key]


__all__ = ["METHODS", "EdgeScores", "HeadScores", "MethodResult", "MethodSpec", "get_method"]
