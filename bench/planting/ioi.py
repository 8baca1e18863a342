"""The recipe of planted-ioi: which component computes each variable of its high-level model, the
ground-truth groups, the schedule and the loss weights (``python -m bench.planting ioi`` trains it).
The circuit: DUP -> duplicate-token head 0.1, SINH -> S-inhibition head 1.2, TARGET -> MLP m1, NM -> name-mover head 2.3:
3 of 12 heads and MLP m1 (m0 and m2 outside)."""
from __future__ import annotations

from bench.models.planted.ioi import HighLevel, PLANTED, config, corrupt, metric
from bench.planting.recipe import Recipe
from bench.planting.siit import Weights

GROUPS = {"duplicate_token": ["0.1"], "s_inhibition": ["1.2"], "target": ["m1"], "name_mover": ["2.3"]}
RECIPE = Recipe(
    planted=PLANTED, config=config, high_level=HighLevel,
    mapping={"DUP": "duplicate_token", "SINH": "s_inhibition", "TARGET": "target", "NM": "name_mover"},
    # DUP reads the names (all ports); SINH attends from END to S2 by position and moves DUP (v); TARGET
    # reads SINH; NM attends where TARGET points (q) among positions and copies the name (v). Attention
    # decided by position alone is no edge: positions are the same in every prompt, so no resampling can
    # move it (SINH's q/k and NM's k read nothing that varies)
    causal_edges=(("INPUT", "DUP", "qkv"), ("DUP", "SINH", "v"), ("SINH", "TARGET", "in"),
                  ("TARGET", "NM", "q"), ("INPUT", "NM", "v"), ("NM", "OUTPUT", "out")),
    groups=GROUPS,
    metric=metric, corrupt=corrupt, task="planted_ioi",
    source="cdbench: planted by SIIT (bench/models/planted/ioi.py); high-level model after Wang et al. 2022's IOI circuit",
    steps=4000, batch=128, lr=2e-3, weights=Weights(iit=3.0, strict=1.0, distract=0.2))
