"""Task registry: a new task is one module with a ``TASK`` and one line here."""
from __future__ import annotations

from bench.errors import UnknownNameError
from bench.tasks import (docstring, greater_than, induction, ioi, planted_docstring_32, planted_frac, planted_greater_32,
                         planted_induction, planted_ioi, planted_ioi_32, planted_reverse, planted_reverse_32,
                         tracr_tasks)
from bench.tasks.base import Task, TaskPrompts
from bench.tasks.jsonl import make_task

TASKS: dict[str, Task] = {t.name: t for t in [
    planted_ioi.TASK, planted_frac.TASK, planted_reverse.TASK, planted_induction.TASK, planted_ioi_32.TASK,
    planted_greater_32.TASK, planted_docstring_32.TASK, planted_reverse_32.TASK,
    induction.TASK, ioi.TASK, greater_than.TASK, docstring.TASK, tracr_tasks.REVERSE, tracr_tasks.XPROPORTION]}


def get_task(name: str) -> Task:
    """A registered task, or ``jsonl:PATH`` for a user's prompt file."""
    if name.startswith("jsonl:"):
        return make_task(name[len("jsonl:"):])
    if name not in TASKS:
        raise UnknownNameError(f"unknown task {name!r}; known: {', '.join(TASKS)} or jsonl:PATH")
    return TASKS[name]


__all__ = ["TASKS", "Task", "TaskPrompts", "get_task"]
