"""What a result row names about the code that produced it: the cdbench commit (with a dirty flag),
library versions, and a hash of cdbench's own source (the part of the run-cache key that changes
whenever any module or ground-truth file changes)."""
from __future__ import annotations

import hashlib
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bench", "methods", "ground_truth")
VERSIONED = ("torch", "transformer-lens", "auto-circuit")


@lru_cache(maxsize=1)
def source_hash() -> str:
    """sha256 over every .py and .json file of bench/, methods/ and ground_truth/ (path and bytes)."""
    h = hashlib.sha256()
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*")):
            if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(ROOT)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


@lru_cache(maxsize=1)
def versions() -> str:
    """``torch=...;transformer-lens=...;auto-circuit=...;python=...`` (part of every row and cache key)."""
    parts = [f"{d}={_version(d)}" for d in VERSIONED] + [f"python={platform.python_version()}"]
    return ";".join(parts)


@lru_cache(maxsize=1)
def commit() -> str:
    """The checkout's commit, ``+dirty`` when tracked files differ from it; ``unknown`` outside git."""
    try:
        sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--",
                                *PACKAGES], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def state_sha256(model) -> str:
    """sha256 over a model's state dict (names, shapes, bytes): the identity of weights built in memory
    (compiled, random) or of any model a method is handed."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(tensor.shape)).encode())
        h.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
