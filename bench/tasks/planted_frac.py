"""Task ``planted_frac`` on planted-frac: the running fraction of x (tracr's frac_prevs), read at the last
position as a real value; negatives replace every x by another token. Metric: the output value."""
from __future__ import annotations

import torch

from bench.models.planted import frac
from bench.tasks.base import OutputValue, PromptBatch, Task, TaskPrompts

PROMPT_VERSION = "planted_frac.v1"


def build(loaded, n: int, seed: int) -> TaskPrompts:
    gen = torch.Generator().manual_seed(seed)
    clean = frac.task_batch(gen, n)
    corrupted = frac.corrupt(clean, gen)
    lengths = torch.full((n,), frac.LENGTH)
    return TaskPrompts("planted_frac", PromptBatch(clean.tokens, lengths), PromptBatch(corrupted, lengths.clone()),
                       OutputValue(0), PROMPT_VERSION)


TASK = Task("planted_frac", "running fraction of x (tracr's frac_prevs); negatives hold no x; metric the output value",
            build, family="tracr", gt_model="planted-frac", default_gt="siit.v1",
            suite="planted")
