"""The recipe of planted-greater-32 (``python -m bench.planting greater32`` trains it). The circuit:
FIRST -> year-mover heads 0.3, 0.6; SECOND -> year-mover heads 0.1, 0.4 (all in layer 0, so each reads
the years from the embeddings alone); DIFF -> MLP m1; LATER -> MLP m2:
4 of 32 heads (12.5 %), the answer carried by two MLPs in series (m0 and m3 outside). Strictness resamples
from the task's negatives on half the rows, as planted-ioi-32's. A first try with the second movers in layer 1
(1.1, 1.4; 1,500 steps) passed every node-level check but not InterpBench's edge rule: the second movers did not read year B
from the embeddings (INPUT -> second movers [v] moved the metric by 0.000; siit.v2's edges alone kept -0.99
from the negatives), so the layer-1 heads took it from earlier components at B's position. This model
passes every node-level check and siit.v1's edges, not siit.v2's (0.45 kept from the negatives, 0.70 from
other inputs): restoring INPUT -> movers [k] and movers -> m2 as well brings it to 0.79 / 0.89, so the
comparison MLP also reads the movers directly. A retry with the edge-level strict loss (edge_strict=0.3 on
siit.v2's edges) stayed at chance (every loss 0.71 after 1,400 steps) and was stopped, as on planted-ioi-32."""
from __future__ import annotations

from bench.models.planted.greater32 import HighLevel, PLANTED, config, corrupt, metric
from bench.planting.recipe import Recipe
from bench.planting.siit import Weights

GROUPS = {"first_year_mover": ["0.3", "0.6"], "second_year_mover": ["0.1", "0.4"], "difference": ["m1"],
          "comparison": ["m2"]}
RECIPE = Recipe(
    planted=PLANTED, config=config, high_level=HighLevel,
    mapping={"FIRST": "first_year_mover", "SECOND": "second_year_mover", "DIFF": "difference", "LATER": "comparison"},
    # the movers copy a year from the embeddings; the high-level model does not say through which port, and
    # the trained movers' attention depends on the year tokens at the keys (restoring INPUT -> movers [k] moves
    # siit.v2's edges from -0.45 to 0.46 of the metric), so all three (the issue's rule where the model is
    # silent); the MLPs read their inputs, the comparison writes the answer
    causal_edges=(("INPUT", "FIRST", "qkv"), ("INPUT", "SECOND", "qkv"), ("FIRST", "DIFF", "in"), ("SECOND", "DIFF", "in"),
                  ("DIFF", "LATER", "in"), ("LATER", "OUTPUT", "out")),
    groups=GROUPS, metric=metric, corrupt=corrupt, task="planted_greater_32",
    source="cdbench: planted by SIIT (bench/models/planted/greater32.py); high-level model after Hanna et al. 2023's "
           "greater-than circuit (heads move the year, MLPs compare)",
    steps=3000, batch=128, lr=2e-3, weights=Weights(iit=3.0, strict=1.0, distract=0.2, negatives=0.5))
