"""Task ``planted_greater_32`` on planted-greater-32: BOS f A f f B f f END -> YES if year B is later than year
A, else NO; negatives swap A and B (every answer flips). Metric: logit(right answer) - logit(other answer)
at END. The prompt distribution is the model's own (bench/models/planted/greater32.py)."""
from __future__ import annotations

from bench.models.planted import greater32
from bench.tasks.base import LogitDiff, Task, TaskPrompts, planted_world_prompts

PROMPT_VERSION = "planted_greater_32.v1"


def build(loaded, n: int, seed: int) -> TaskPrompts:
    return planted_world_prompts("planted_greater_32", greater32, n, seed,
                                 lambda clean: LogitDiff(*greater32.correct_and_wrong(clean)), PROMPT_VERSION)


TASK = Task("planted_greater_32", "greater-than-like: is year B later than year A; negatives swap the years; metric "
            "logit(right) - logit(other)", build, family="greater_than", gt_model="planted-greater-32",
            default_gt="siit.v1", suite="planted")
