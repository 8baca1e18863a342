"""The run-cache key: a hash of everything a run's result depends on, so a cached result is reused only
for the same method and settings, cdbench source, prompts, weights, library versions, device type, seed,
prompt count and ground-truth file."""
from __future__ import annotations

import hashlib
import json

from bench.provenance import source_hash, versions
from bench.tasks.base import TaskPrompts

CACHE_SCHEMA = 5


def cache_key(method: str, config_hash: str, task: str, model: str, weights_sha256: str, prompts: TaskPrompts,
              seed: int, gt_file_sha256: str | None, device: str) -> str:
    """16 hex digits over the run's inputs; the ground truth enters as its file's bytes' hash only."""
    blob = json.dumps([CACHE_SCHEMA, method, config_hash, source_hash(), versions(), task, prompts.prompt_set,
                       prompts.content_hash(), model, weights_sha256, device.split(":")[0], seed, len(prompts.clean),
                       gt_file_sha256])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
