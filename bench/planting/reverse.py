"""The recipe of planted-reverse: which component computes each variable of its high-level model, the
ground-truth groups, the schedule and the loss weights (``python -m bench.planting reverse`` trains it).
The circuit: LEN -> head 0.2, TARGET -> MLP m0, REV -> head 1.1: 2 of 8 heads and MLP m0 (m1 outside)."""
from __future__ import annotations

from bench.models.planted.reverse import HighLevel, PLANTED, config, corrupt, metric
from bench.planting.recipe import Recipe
from bench.planting.siit import Weights

GROUPS = {"length": ["0.2"], "target": ["m0"], "reverse": ["1.1"]}
RECIPE = Recipe(
    planted=PLANTED, config=config, high_level=HighLevel, mapping={"LEN": "length", "TARGET": "target", "REV": "reverse"},
    # tracr: LEN = SelectorWidth(Select(tokens, tokens, TRUE)); TARGET = length - indices - 1;
    # REV = Aggregate(Select(indices, opp_idx, EQ), tokens): q TARGET, v the tokens. What reads indices alone
    # (TARGET's indices, REV's k) is no edge: positions are the same in every prompt, so no resampling moves it
    causal_edges=(("INPUT", "LEN", "qkv"), ("LEN", "TARGET", "in"), ("TARGET", "REV", "q"),
                  ("INPUT", "REV", "v"), ("REV", "OUTPUT", "out")),
    groups=GROUPS,
    metric=metric, corrupt=corrupt, task="planted_reverse",
    source="cdbench: planted by SIIT (bench/models/planted/reverse.py); high-level model tracr's make_reverse "
           "(Lindner et al. 2023), with the output after the input so a causal model can produce it",
    steps=6000, batch=128, lr=2e-3, weights=Weights(iit=2.0, strict=3.0, distract=0.2, strict_warmup=0.3,
                                                        circuit_swap=0.25))
