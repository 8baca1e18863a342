"""Task ``planted_reverse`` on planted-reverse: BOS v1..vK SEP Q..Q cut after a random query, whose output
is the value K - j + 1 (tracr's reverse, read after the input); negatives replace that value by another.
Metric: logit(the value) - logit(its replacement)."""
from __future__ import annotations

import torch

from bench.models.planted import reverse
from bench.tasks.base import LogitDiff, PromptBatch, Task, TaskPrompts

PROMPT_VERSION = "planted_reverse.v1"


def reverse_prompts(task: str, n: int, seed: int) -> TaskPrompts:
    """``n`` prompts of the reverse world (seeded), each cut after its query, and their negatives, for ``task``
    (planted-reverse's or planted-reverse-32's: the two models share the world)."""
    gen = torch.Generator().manual_seed(seed)
    clean = reverse.HighLevel().sample(gen, n)
    corrupted = reverse.corrupt(clean, gen)
    ends = clean.state["end"].tolist()
    return TaskPrompts(task, PromptBatch.from_lists([r[: e + 1] for r, e in zip(clean.tokens.tolist(), ends)]),
                       PromptBatch.from_lists([r[: e + 1] for r, e in zip(corrupted.tolist(), ends)]),
                       LogitDiff(clean.state["answer"], clean.state["wrong"]), PROMPT_VERSION)


def build(loaded, n: int, seed: int) -> TaskPrompts:
    return reverse_prompts("planted_reverse", n, seed)


TASK = Task("planted_reverse", "reverse K values (tracr's reverse), read one query's output; negatives replace the "
            "value it copies; metric logit difference", build, family="tracr",
            gt_model="planted-reverse", default_gt="siit.v1", suite="planted")
