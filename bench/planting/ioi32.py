"""The recipe of planted-ioi-32: planted-ioi's high-level model (DUP, SINH, TARGET, NM and its causal edges,
bench/planting/ioi.py) with several components per variable (``python -m bench.planting ioi32`` trains it).
The circuit: DUP -> duplicate-token heads 0.1, 0.5; SINH -> S-inhibition heads 1.2, 1.6; TARGET -> MLP m2;
NM -> name-mover heads 3.0, 3.3, 3.6: 7 of 32 heads (22 %) and one of 4 MLPs. Strictness resamples from
the task's negatives on half the rows (planted-ioi, without it, keeps 1.18 of the metric from them). An
edge-level strict loss (edge_strict=1 on siit.v2's edges) was tried and trained nothing (its loss stayed at
2.6, node strictness fell to 0.53 kept), so this recipe is node-level strict only."""
from __future__ import annotations

import dataclasses

from bench.models.planted.ioi32 import HighLevel, PLANTED, config
from bench.planting.ioi import RECIPE as IOI
from bench.planting.siit import Weights

GROUPS = {"duplicate_token": ["0.1", "0.5"], "s_inhibition": ["1.2", "1.6"], "target": ["m2"],
          "name_mover": ["3.0", "3.3", "3.6"]}
RECIPE = dataclasses.replace(
    IOI, planted=PLANTED, config=config, high_level=HighLevel, groups=GROUPS, task="planted_ioi_32",
    source="cdbench: planted by SIIT (bench/models/planted/ioi32.py); high-level model after Wang et al. 2022's IOI "
           "circuit, several heads per role as in GPT-2 small's",
    steps=4000, batch=128, lr=2e-3,
    weights=Weights(iit=3.0, strict=1.0, distract=0.2, negatives=0.5))
