"""Task ``planted_ioi_32`` on planted-ioi-32: planted_ioi's prompts, negatives and metric (bench/tasks/planted_ioi.py)
on the 32-head model, scored against its own ground truth."""
from __future__ import annotations

from bench.tasks.base import Task
from bench.tasks.planted_ioi import build_for

TASK = Task("planted_ioi_32", "IOI-like, several heads per role among 32: the name S2 does not repeat; negatives name "
            "a third C; metric logit(IO) - logit(S)", build_for("planted_ioi_32"), family="ioi",
            gt_model="planted-ioi-32", default_gt="siit.v1", suite="planted")
