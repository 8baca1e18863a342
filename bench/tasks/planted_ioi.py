"""Task ``planted_ioi`` on planted-ioi: BOS A f B f f S2 f END -> the indirect object, the name S2 does not
repeat; negatives put a third name at S2. Metric: logit(IO) - logit(S) at END. The prompt distribution is
the model's own (bench/models/planted/ioi.py), which also says how it was trained."""
from __future__ import annotations

from typing import Callable

from bench.models.planted import ioi
from bench.tasks.base import LogitDiff, Task, TaskPrompts, planted_world_prompts

PROMPT_VERSION = "planted_ioi.v1"


def build_for(task: str) -> Callable[[object, int, int], TaskPrompts]:
    """The prompt builder of an IOI-like planted task named ``task`` (planted-ioi's prompt distribution)."""
    def build(loaded, n: int, seed: int) -> TaskPrompts:
        return planted_world_prompts(task, ioi, n, seed,
                                     lambda clean: LogitDiff(clean.state["io"], clean.tokens[:, ioi.POS_S2]),
                                     PROMPT_VERSION)
    return build


build = build_for("planted_ioi")


TASK = Task("planted_ioi", "IOI-like: the name S2 does not repeat; negatives name a third C; metric logit(IO) - logit(S)",
            build, family="ioi", gt_model="planted-ioi", default_gt="siit.v1", suite="planted")
