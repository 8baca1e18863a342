"""Tasks for the tracr-compiled models, read at the last position of 5-symbol inputs (after BOS).

``tracr_reverse``: the model outputs the input reversed, so the last position outputs the first
symbol; corrupted prompts change that symbol. Metric: logit(first symbol) - logit(the corrupted one).
``tracr_xproportion``: the model outputs the running fraction of "x"; corrupted prompts replace every
"x" with another symbol. Metric: the output value (the fraction)."""
from __future__ import annotations

import random

import torch

from bench.errors import CdbenchError
from bench.tasks.base import LogitDiff, OutputValue, PromptBatch, Task, TaskPrompts

LENGTH = 5


def _codec(loaded, key: str):
    codec = loaded.tokenizer
    if getattr(codec, "key", None) != key:
        raise CdbenchError(f"task tracr_{key} runs on model tracr-{key}, not {loaded.name}")
    return codec


def build_reverse(loaded, n: int, seed: int) -> TaskPrompts:
    codec = _codec(loaded, "reverse")
    rng = random.Random(seed)
    clean, corrupt, answer, wrong = [], [], [], []
    for _ in range(n):
        seq = [rng.choice((1, 2, 3)) for _ in range(LENGTH)]
        other = rng.choice([s for s in (1, 2, 3) if s != seq[0]])
        clean.append(codec.encode(seq))
        corrupt.append(codec.encode([other, *seq[1:]]))
        answer.append(codec.output_index(seq[0]))
        wrong.append(codec.output_index(other))
    return TaskPrompts("tracr_reverse", PromptBatch.from_lists(clean), PromptBatch.from_lists(corrupt),
                       LogitDiff(torch.tensor(answer), torch.tensor(wrong)), "tracr_reverse.cdbench.v1")


def build_xproportion(loaded, n: int, seed: int) -> TaskPrompts:
    codec = _codec(loaded, "xproportion")
    rng = random.Random(seed)
    clean, corrupt = [], []
    while len(clean) < n:
        seq = [rng.choice("wxyz") for _ in range(LENGTH)]
        if "x" not in seq:
            continue
        clean.append(codec.encode(seq))
        corrupt.append(codec.encode([rng.choice("wyz") if s == "x" else s for s in seq]))
    return TaskPrompts("tracr_xproportion", PromptBatch.from_lists(clean), PromptBatch.from_lists(corrupt),
                       OutputValue(0), "tracr_xproportion.cdbench.v1")


REVERSE = Task("tracr_reverse", "tracr-compiled reverse; last position outputs the first symbol", build_reverse,
               family="tracr", gt_model="tracr-reverse",
               default_gt="miller2024.v2")
XPROPORTION = Task("tracr_xproportion", "tracr-compiled fraction of 'x' so far; metric the output value",
                   build_xproportion, family="tracr",
                   gt_model="tracr-xproportion", default_gt="miller2024.v2")
