"""Which ground truth a run is scored on, resolved before any work without handing it to anything: a
reference (task, version, file path, the file's sha256) is all a run carries until its method has
returned; the circuit itself is parsed from the file only then (:func:`load`)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bench.errors import GroundTruthError
from bench.graph import CircuitGraph
from bench.tasks.base import Task
from ground_truth.loader import GroundTruth, check_fits, header, load_file, path_for


@dataclass(frozen=True)
class GroundTruthRef:
    """A ground-truth file a run will be scored on: its name and its bytes' sha256 (part of the cache key)."""

    task: str
    version: str
    path: Path
    file_sha256: str


def resolve(task: Task, stands_for: str, graph: CircuitGraph, version: str | None,
            root: Path | None = None) -> GroundTruthRef | None:
    """The ground truth for this (task, model): the version asked for, which must be for this model and
    fit its graph, or the task's default where the task's circuit is this model's; None when none applies.
    ``root``: where the model's files live (a retrained copy's own; default the shipped ones). The file is
    checked (form, hash, path, shape) here, before any work."""
    if version is None:
        if task.default_gt is None or task.gt_model != stands_for:
            return None
        version = task.default_gt
    data = header(task.name, version, root)
    if data["model"] != stands_for:
        raise GroundTruthError(f"ground truth {task.name}/{version} is for model {data['model']}, not "
                               f"{stands_for}; run it on {data['model']} or drop --gt-version")
    path = path_for(task.name, version, root)
    check_fits(path, data, graph)
    return GroundTruthRef(task.name, version, path, hashlib.sha256(path.read_bytes()).hexdigest())


def load(ref: GroundTruthRef, graph: CircuitGraph) -> GroundTruth:
    """Parse the referenced file into the circuit (after the method has returned); refuses a file that
    changed since it was resolved."""
    data = ref.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != ref.file_sha256:
        raise GroundTruthError(f"ground-truth file {ref.path} changed during the run; run again")
    return load_file(ref.path, graph)
