"""Task ``planted_greater_32`` on planted-greater-32: BOS f A f f B f f END -> YES if year B is later than year
A, else NO; negatives swap A and B (every answer flips). Metric: logit(right answer) - logit(other answer)
at END. The prompt distribution is the model's own (bench/models/planted/greater32.py)."""
from __future__ import annotations

import torch

from bench.models.planted import greater32
from bench.tasks.base import LogitDiff, PromptBatch, Task, TaskPrompts

PROMPT_VERSION = "planted_greater_32.v1"


def build(loaded, n: int, seed: int) -> TaskPrompts:
    gen = torch.Generator().manual_seed(seed)
    clean = greater32.HighLevel().sample(gen, n)
    corrupted = greater32.corrupt(clean, gen)
    lengths = torch.full((n,), greater32.LENGTH)
    right, wrong = greater32.correct_and_wrong(clean)
    return TaskPrompts("planted_greater_32", PromptBatch(clean.tokens, lengths), PromptBatch(corrupted, lengths.clone()),
                       LogitDiff(right, wrong), PROMPT_VERSION)


TASK = Task("planted_greater_32", "greater-than-like: is year B later than year A; negatives swap the years; metric "
            "logit(right) - logit(other)", build, family="greater_than", gt_model="planted-greater-32",
            default_gt="siit.v1", suite="planted")
