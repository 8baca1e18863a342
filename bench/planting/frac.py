"""The recipe of planted-frac: which component computes each variable of its high-level model, the
ground-truth groups, the schedule and the loss weights (``python -m bench.planting frac`` trains it).
The circuit: IS_X -> MLP m0, FRAC -> head 1.2: 1 of 8 heads and MLP m0 (m1 outside)."""
from __future__ import annotations

from bench.models.planted.frac import HighLevel, PLANTED, config, corrupt, fidelity, metric
from bench.planting.recipe import Recipe
from bench.planting.siit import Weights

GROUPS = {"is_x": ["m0"], "frac": ["1.2"]}
RECIPE = Recipe(
    planted=PLANTED, config=config, high_level=HighLevel, mapping={"IS_X": "is_x", "FRAC": "frac"},
    # tracr: numerical Aggregate(Select(indices, indices, LEQ), is_x): v reads IS_X; q and k read indices
    # alone, which is no edge (positions are the same in every prompt: no resampling moves them)
    causal_edges=(("INPUT", "IS_X", "in"), ("IS_X", "FRAC", "v"), ("FRAC", "OUTPUT", "out")),
    groups=GROUPS,
    metric=metric, corrupt=corrupt, task="planted_frac",
    source="cdbench: planted by SIIT (bench/models/planted/frac.py); high-level model tracr's make_frac_prevs "
           "(Lindner et al. 2023)",
    steps=3000, batch=128, lr=2e-3, weights=Weights(iit=2.0, strict=1.0, distract=0.2), fidelity=fidelity)
