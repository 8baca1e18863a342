"""Task ``planted_docstring_32`` on planted-docstring-32: BOS DEF a1..a5 f f f COLON f PARAM x f f PARAM -> the
signature argument after x; negatives draw fresh names for the signature and x (the docstring task's
``random_random``). Metric: logit(answer) - the largest logit of the other four signature arguments (ACDC's
docstring metric). The prompt distribution is the model's own (bench/models/planted/docstring32.py)."""
from __future__ import annotations

from bench.models.planted import docstring32
from bench.tasks.base import LogitDiff, Task, TaskPrompts, planted_world_prompts

PROMPT_VERSION = "planted_docstring_32.v1"


def build(loaded, n: int, seed: int) -> TaskPrompts:
    return planted_world_prompts(
        "planted_docstring_32", docstring32, n, seed,
        lambda clean: LogitDiff(*docstring32.correct_and_wrong(clean), name="logit_diff_max_wrong"), PROMPT_VERSION)


TASK = Task("planted_docstring_32", "docstring-like: the signature argument after the last :param name; random_random "
            "negatives; metric logit(answer) - max logit of the other arguments", build, family="docstring",
            gt_model="planted-docstring-32", default_gt="siit.v1", suite="planted")
