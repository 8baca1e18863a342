"""Task ``planted_reverse_32`` on planted-reverse-32: planted-reverse's prompts (BOS v1..vK SEP Q..Q cut after a
random query, whose output is the value K - j + 1, tracr's reverse read after the input; negatives replace that
value by another) on the 32-head model. Metric: logit(the value) - logit(its replacement)."""
from __future__ import annotations

from bench.tasks.base import Task, TaskPrompts
from bench.tasks.planted_reverse import reverse_prompts


def build(loaded, n: int, seed: int) -> TaskPrompts:
    return reverse_prompts("planted_reverse_32", n, seed)  # the generator is planted_reverse.v1 (one world)


TASK = Task("planted_reverse_32", "reverse K values (tracr's reverse) among 32 heads, read one query's output; "
            "negatives replace the value it copies; metric logit difference", build, family="tracr",
            gt_model="planted-reverse-32", default_gt="siit.v1", suite="planted")
