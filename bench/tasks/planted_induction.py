"""Task ``planted_induction`` on planted-induction: continue a repeated span (positives) vs the same prompt
with the first copy replaced by fresh tokens (negatives). Metric: logit(answer) - logit(the token induction
would predict from the negative's first copy)."""
from __future__ import annotations

import torch

from bench.models.planted import induction
from bench.tasks.base import LogitDiff, PromptBatch, Task, TaskPrompts
from bench.tasks.induction_data import task_prompts

PROMPT_VERSION = "planted_induction.v1"
PROMPT_LEN = 20  # prompts end inside the repeat, like the embedded model's induction task


def build(loaded, n: int, seed: int) -> TaskPrompts:
    d = task_prompts(torch.Generator().manual_seed(seed), n, PROMPT_LEN, induction.VOCAB)
    lengths = torch.full((n,), d["clean"].shape[1])
    return TaskPrompts("planted_induction", PromptBatch(d["clean"], lengths), PromptBatch(d["corrupted"], lengths.clone()),
                       LogitDiff(d["answer"], d["wrong"]), PROMPT_VERSION)


TASK = Task("planted_induction", "continue a repeated span; negatives replace the first copy; metric logit(answer) - "
            "logit(corrupted-copy token)", build, family="induction",
            gt_model="planted-induction", default_gt="siit.v2", suite="planted")
