"""The recipe of planted-docstring-32 (``python -m bench.planting docstring32`` trains it). The circuit, with
previous-argument heads 0.2, 0.5 (PREV); param-mover heads 0.1, 0.6 (LAST: they bring the last ``:param``
name to the end); argument-mover heads 3.0, 3.3, 3.6 (ARG: they copy the signature argument after it, as
3.0 and 3.6 do in attn-only-4l's docstring circuit): 7 of 32 heads (22 %), attention only.

Schedule: the first half of the steps trains the circuit alone (every other head zero-ablated, each mapped
head zeroed outside its variable's positions) on the behaviour loss plus a readout loss (PREV's and LAST's
values read from their heads' summed output through the unembedding); the second half is SIIT with the
readout loss kept, strictness resampling from the task's negatives on half the rows. The readout loss and
the warm phase are cdbench's additions to InterpBench's SIIT, named in ``Weights``.

Why (one seed each, 4,000-6,000 steps): trained as the other 32-head models are, the task was learnt by
other heads, or by a positional shortcut (layer-0 mapped heads at x's position gathered the answer from
fixed signature positions), with interchange accuracy on PREV and LAST at chance (0.22-0.30) in every
variant (param movers in layer 1; argument movers in layers 1, 2 or 3; interchanges at a variable's
positions only; a circuit-alone warm phase). Confining each mapped head to its variable's positions removes
the shortcut, but then the circuit alone learnt nothing in 3,000-6,000 steps, with the signature shifted by
0-3 fillers or not (the induction-like match has no gradient until PREV and LAST exist). The readout loss
forms PREV and LAST within 200 steps and the match follows by step 2,600 (accuracy 1.0, interchange
accuracy 0.97 / 1.0 / 1.0 with strict weight 1, which kept only 0.78 of the metric ablating the rest; strict
weight 5 kept 0.93 but PREV's interchange accuracy fell to 0.79). Strict weight 3 passes every node-level
bound. Its siit.v2 edges do not suffice: the argument movers attend mostly to the slot after the answer and
read the answer from PREV's output there (PREV -> ARG on v), not from the embeddings (INPUT -> ARG [v] moves
nothing), so its default ground truth is siit.v1."""
from __future__ import annotations

from bench.models.planted.docstring32 import HighLevel, PLANTED, config, corrupt, metric
from bench.planting.recipe import Recipe
from bench.planting.siit import Weights

GROUPS = {"previous_argument": ["0.2", "0.5"], "param_mover": ["0.1", "0.6"], "argument_mover": ["3.0", "3.3", "3.6"]}
RECIPE = Recipe(
    planted=PLANTED, config=config, high_level=HighLevel,
    mapping={"PREV": "previous_argument", "LAST": "param_mover", "ARG": "argument_mover"},
    # PREV and LAST attend by position (one back; from the end to x's position), the same in every prompt, and
    # copy the token (v); ARG matches LAST (q) against PREV (k) and copies the matched argument (v)
    causal_edges=(("INPUT", "PREV", "v"), ("INPUT", "LAST", "v"), ("PREV", "ARG", "k"), ("LAST", "ARG", "q"),
                  ("INPUT", "ARG", "v"), ("ARG", "OUTPUT", "out")),
    groups=GROUPS, metric=metric, corrupt=corrupt, task="planted_docstring_32",
    source="cdbench: planted by SIIT (bench/models/planted/docstring32.py); high-level model after Heimersheim and "
           "Janiak 2023's docstring circuit (argument movers copy the signature's next argument)",
    steps=6000, batch=128, lr=3e-3,
    weights=Weights(iit=2.0, strict=3.0, distract=0.2, negatives=0.5, circuit_first=0.5, iit_first=False,
                    readout=1.0))
