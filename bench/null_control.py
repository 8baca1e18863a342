"""The null control of a method that compares positive with negative prompts as sets: the same positives
against a disjoint batch of other positives. A method whose AUC its null matches finds nothing that
separates positives from negatives (:func:`bench.metrics.null_verdict`)."""
from __future__ import annotations

import torch

from bench.models.registry import LoadedModel
from bench.tasks.base import Task, TaskPrompts

NULL_SEED_OFFSET = 1_000_003  # the null control's positives come from this seed offset (then made disjoint)


def null_prompts(task: Task, loaded: LoadedModel, prompts: TaskPrompts, seed: int) -> TaskPrompts | None:
    """The same positives against other positives, none of which is token for token one of them (None
    when the task cannot supply any, e.g. a fixed prompt file)."""
    other = task.build(loaded, len(prompts.clean), seed + NULL_SEED_OFFSET).clean
    seen = {tuple(r[: int(n)].tolist()) for r, n in zip(prompts.clean.tokens, prompts.clean.lengths)}
    keep = [i for i, (r, n) in enumerate(zip(other.tokens, other.lengths)) if tuple(r[: int(n)].tolist()) not in seen]
    if not keep:
        return None
    return prompts.with_negatives(other.take(torch.tensor(keep)))
