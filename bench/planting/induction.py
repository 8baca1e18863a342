"""The recipe of planted-induction: which component computes each variable of its high-level model, the
ground-truth groups, the schedule and the loss weights (``python -m bench.planting induction`` trains it).
The circuit: PREV -> previous-token head 0.3, IND -> induction head 1.5: 2 of 16 heads."""
from __future__ import annotations

from bench.models.planted.induction import HighLevel, PLANTED, config, corrupt, metric
from bench.planting.recipe import Recipe
from bench.planting.siit import Weights

GROUPS = {"previous_token": ["0.3"], "induction": ["1.5"]}
RECIPE = Recipe(
    planted=PLANTED, config=config, high_level=HighLevel, mapping={"PREV": "previous_token", "IND": "induction"},
    # PREV attends one back by position (no edge: positions are the same in every prompt) and copies the
    # token (v); IND matches its token (q) against PREV (k) and copies the token after the match (v)
    causal_edges=(("INPUT", "PREV", "v"), ("INPUT", "IND", "qv"), ("PREV", "IND", "k"), ("IND", "OUTPUT", "out")),
    groups=GROUPS,
    metric=metric, corrupt=corrupt, task="planted_induction",
    source="cdbench: planted by SIIT (bench/models/planted/induction.py); the standard previous-token + induction "
           "circuit (Olsson et al. 2022)",
    steps=8000, batch=64, lr=1e-3, weights=Weights(iit=2.0, strict=1.0, distract=0.1, strict_warmup=0.4))
