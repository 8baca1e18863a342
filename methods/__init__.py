"""Method registry: one :class:`MethodSpec` line per method (key, description, settings, function), then the
methods that installed packages contribute through the ``cdbench.methods`` entry-point group."""
from __future__ import annotations

from bench.errors import UnknownNameError
from methods import (acdc, activation_patching, eap, eap_ig, hisp, random_scores, sae_codes, sae_codes_selected,
                     sp)
from methods import cdt, eap_ig_activations, ifr, ugs
from methods.base import EdgeScores, HeadScores, MethodResult, MethodSpec, Sweep
from methods.plugins import plugin_methods

METHODS: dict[str, MethodSpec] = {m.key: m for m in [
    MethodSpec("random", "uniform random scores (the floor)", random_scores.Config, random_scores.run, edges=True),
    MethodSpec("sae_codes", "O'Neill & Bui 2024 discrete SAE codes, the released recipe", sae_codes.Config,
               sae_codes.run, edges=True, contrast=True, family_settings=sae_codes.FAMILY_SETTINGS,
               setting="the released SAE and recipe"),
    MethodSpec("sae_codes_fast", "SAE codes with a fast label-free schedule", sae_codes.FastConfig, sae_codes.run,
               edges=True, contrast=True, family_settings=sae_codes.FAMILY_SETTINGS,
               setting="the released SAE on a faster schedule (reaches the 500-epoch loss, no labels used)"),
    MethodSpec("sae_codes_selected", "SAE codes, L1 and positions chosen by seed stability (no labels)",
               sae_codes_selected.Config, sae_codes_selected.run, edges=True, contrast=True,
               setting="the released SAE, L1 and positions chosen by 2-seed Spearman stability", cost="costly"),
    MethodSpec("eap", "edge attribution patching (Syed et al. 2023)", eap.Config, eap.run, edges=True,
               setting="signed scores (ROC and CMD rank |score|)"),
    MethodSpec("eap_ig", "EAP with integrated gradients on the inputs (Hanna et al. 2024)", eap_ig.Config, eap_ig.run,
               edges=True, setting="MIB's pinned EAP-IG grid (alpha = k/steps, k = 0..steps-1)"),
    MethodSpec("eap_ig_activations", "EAP-IG on each sublayer's activations (MIB's EAP-IG-activations)",
               eap_ig_activations.Config, eap_ig_activations.run, edges=True,
               setting="one sublayer interpolated at a time, alpha = k/steps for k = 1..steps (MIB)"),
    MethodSpec("ifr", "information flow routes (Ferrando and Voita 2024), as MIB implements them", ifr.Config, ifr.run,
               edges=True, setting="clean prompts only, L1 proximity normalised over each receiver's senders, mean over positions"),
    MethodSpec("ugs", "uniform gradient sampling of edge masks (Li and Janson 2024), as MIB ran it", ugs.Config, ugs.run,
               edges=True, setting="counterfactual patching, modified-uniform mask samples, dangling edges of each sample "
                                   "pruned, MIB's node regulariser", cost="slow"),
    MethodSpec("acdc", "ACDC via auto-circuit (Conmy et al. 2023)", acdc.Config, acdc.run, edges=True,
               family_settings=acdc.FAMILY_SETTINGS,
               setting="the ACDC paper's per-task tau sweep, all prompts", cost="slow"),
    MethodSpec("sp", "subnetwork probing via auto-circuit (Cao et al. 2021; ACDC's baseline)", sp.Config, sp.run,
               edges=True, family_settings=sp.FAMILY_SETTINGS,
               setting="hard-concrete edge masks, ACDC's lambda grid, a CPU-sized schedule", cost="slow"),
    MethodSpec("hisp", "head importance via |d metric / d head mask| (Michel et al. 2019)", hisp.Config, hisp.run,
               edges=False, setting="task metric gradient, mean |grad| over prompts"),
    MethodSpec("cdt", "contextual decomposition for transformers (Hsu et al. 2025), heads against the logits",
               cdt.Config, cdt.run, edges=False,
               setting="iteration 0 of Algorithm 1: each head a source, mean of the corrupted z, per-layer |.| normalised"),
    MethodSpec("activation_patching", "patch each head from the corrupted run, |change in metric|",
               activation_patching.Config, activation_patching.run, edges=False, setting="one head at a time"),
]}
METHODS.update(plugin_methods(METHODS))


def get_method(key: str) -> MethodSpec:
    if key not in METHODS:
        raise UnknownNameError(f"unknown method {key!r}; known: {', '.join(METHODS)}")
    return METHODS[key]


__all__ = ["METHODS", "EdgeScores", "HeadScores", "MethodResult", "MethodSpec", "Sweep", "get_method"]
