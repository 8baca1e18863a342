"""Method registry: one :class:`MethodSpec` line per method (key, description, settings, function)."""
from __future__ import annotations

from bench.errors import UnknownNameError
from methods import (acdc, activation_patching, eap, eap_ig, hisp, random_scores, sae_codes, sae_codes_selected,
                     sp)
from methods import eap_ig_activations, ifr, ugs
from methods.base import EdgeScores, HeadScores, MethodResult, MethodSpec, Sweep

METHODS: dict[str, MethodSpec] = {m.key: m for m in [
    MethodSpec("random", "uniform random scores (the floor)", random_scores.Config, random_scores.run, edges=True),
    MethodSpec("sae_codes", "O'Neill & Bui 2024 discrete SAE codes, the released recipe", sae_codes.Config,
               sae_codes.run, edges=True, contrast=True, family_settings=sae_codes.FAMILY_SETTINGS,
               setting="released SAE and recipe: 200 units, lambda 0.02 (docstring 0.05), Adam 1e-3, 500 epochs, "
                       "10 SAE prompts, mean over positions with BOS"),
    MethodSpec("sae_codes_fast", "SAE codes with a fast label-free schedule", sae_codes.FastConfig, sae_codes.run,
               edges=True, contrast=True, family_settings=sae_codes.FAMILY_SETTINGS,
               setting="released SAE, Adam 1e-2 for 100 epochs (reaches the 500-epoch loss, no labels used)"),
    MethodSpec("sae_codes_selected", "SAE codes, L1 and positions chosen by seed stability (no labels)",
               sae_codes_selected.Config, sae_codes_selected.run, edges=True, contrast=True,
               setting="released SAE on unit-MSN inputs, row-sum MSE, L1 x {mean,last} by 2-seed Spearman, early stop"),
    MethodSpec("eap", "edge attribution patching (Syed et al. 2023)", eap.Config, eap.run, edges=True,
               setting="corrupted-patching, task metric, signed scores (ROC and CMD rank |score|)"),
    MethodSpec("eap_ig", "EAP with integrated gradients on the inputs (Hanna et al. 2024)", eap_ig.Config, eap_ig.run,
               edges=True, setting="5 steps at alpha = k/5, k = 0..4 (MIB's pinned EAP-IG)"),
    MethodSpec("eap_ig_activations", "EAP-IG on each sublayer's activations (MIB's EAP-IG-activations)",
               eap_ig_activations.Config, eap_ig_activations.run, edges=True,
               setting="corrupted-patching, one sublayer interpolated at a time, 5 steps at alpha = k/5, k = 1..5 (MIB)"),
    MethodSpec("ifr", "information flow routes (Ferrando and Voita 2024), as MIB implements them", ifr.Config, ifr.run,
               edges=True, setting="clean prompts only, L1 proximity normalised over each receiver's senders, mean over positions"),
    MethodSpec("ugs", "uniform gradient sampling of edge masks (Li and Janson 2024), as MIB ran it", ugs.Config, ugs.run,
               edges=True, setting="counterfactual patching, KL (MSE for real values), lambda 1e-3, init 1, AdamW 1e-2, "
                                   "12 samples x 5 prompts, 1900 steps; no dangling-edge pruning or node regulariser"),
    MethodSpec("acdc", "ACDC via auto-circuit (Conmy et al. 2023)", acdc.Config, acdc.run, edges=True,
               family_settings=acdc.FAMILY_SETTINGS,
               setting="KL (MSE for real-valued outputs), corrupted-patching, the ACDC paper's per-task tau sweep, all prompts"),
    MethodSpec("sp", "subnetwork probing via auto-circuit (Cao et al. 2021; ACDC's baseline)", sp.Config, sp.run,
               edges=True, family_settings=sp.FAMILY_SETTINGS,
               setting="hard-concrete edge masks, KL (MSE for real values), ACDC's lambda grid, 100 epochs at lr 0.1"),
    MethodSpec("hisp", "head importance via |d metric / d head mask| (Michel et al. 2019)", hisp.Config, hisp.run,
               edges=False, setting="task metric gradient, mean |grad| over prompts, L2-normalised per layer"),
    MethodSpec("activation_patching", "patch each head from the corrupted run, |change in metric|",
               activation_patching.Config, activation_patching.run, edges=False, setting="corrupted-patching, task metric"),
]}


def get_method(key: str) -> MethodSpec:
    if key not in METHODS:
        raise UnknownNameError(f"unknown method {key!r}; known: {', '.join(METHODS)}")
    return METHODS[key]


__all__ = ["METHODS", "EdgeScores", "HeadScores", "MethodResult", "MethodSpec", "Sweep", "get_method"]
