"""Task ``induction`` on the embedded token-id model: continue a repeated random span (see induction_data)."""
from __future__ import annotations

import torch

from bench.tasks.base import LogitDiff, PromptBatch, Task, TaskPrompts
from bench.tasks.induction_data import task_prompts

PROMPT_LEN = 24
PROMPT_VERSION = "induction.cdbench.v1"


def build(loaded, n: int, seed: int) -> TaskPrompts:
    vocab = loaded.model.cfg.d_vocab
    d = task_prompts(torch.Generator().manual_seed(seed), n, PROMPT_LEN, vocab)
    lengths = torch.full((n,), PROMPT_LEN, dtype=torch.long)
    return TaskPrompts("induction", PromptBatch(d["clean"], lengths), PromptBatch(d["corrupted"], lengths.clone()),
                       LogitDiff(d["answer"], d["wrong"]), PROMPT_VERSION)


TASK = Task("induction", "continue a repeated random-token span (positives) vs the same prompt with the first copy "
            "replaced (negatives); metric logit(answer) - logit(corrupted-copy token)", build, family="induction", gt_model="induction-2l", default_gt="induction-2l.v2")
