"""What a result row names about the code that produced it: the cdbench commit (with a dirty flag),
library versions, a hash of cdbench's own source (the part of the run-cache key that changes
whenever any module or ground-truth file changes), and a hash of one method's code (``method_code``: its
module and every cdbench module it imports), so a report can tell rows of two implementations apart."""
from __future__ import annotations

import hashlib
import importlib.util
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Callable

from bench.import_graph import imports_in, module_relpath, reachable

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


def code_hash_with(start: str, read: Callable[[str], bytes | None]) -> str:
    """16 hex digits of sha256 over module ``start``'s file and every module under ``methods/`` it reaches
    through the modules its code names (registries that merely run on the way are left out: a new method
    elsewhere does not change this one's code), by relative path and bytes in path order. Shared code under
    ``bench/`` (graph, hooks, hashing) is not part of it: that is the run-cache key's source hash, and
    hashing it here would make every method's rows look like two implementations after any edit to it.
    ``read`` gives a checkout-relative file's bytes or None, so the
    same hash can be taken of a checkout or of a commit."""
    files: dict[str, bytes | None] = {}

    def get(rel: str) -> bytes | None:
        if rel not in files:
            files[rel] = read(rel)
        return files[rel]

    exists = lambda rel: get(rel) is not None  # noqa: E731
    external = None
    if module_relpath(start, exists) is None:  # a method from another package (an entry point)
        spec = importlib.util.find_spec(start)
        external = Path(spec.origin).read_bytes() if spec is not None and spec.origin else b""

    def deps(name: str) -> set[str]:
        if name == start and external is not None:
            return imports_in(external.decode(), exists, on_the_way=False)
        rel = module_relpath(name, exists)
        return set() if rel is None else imports_in(get(rel).decode(), exists, on_the_way=False)

    h = hashlib.sha256()
    if external is not None:
        h.update(f"external:{start}".encode())
        h.update(external)
    reached = (module_relpath(m, exists) for m in reachable(start, deps) if m.split(".")[0] == "methods")
    for rel in sorted(r for r in reached if r is not None):
        h.update(rel.encode())
        h.update(get(rel))
    return h.hexdigest()[:16]


def _checkout_bytes(rel: str) -> bytes | None:
    path = ROOT / rel
    return path.read_bytes() if path.is_file() else None


@lru_cache(maxsize=None)
def method_code(module: str) -> str:
    """The ``method_code`` of a row: :func:`code_hash_with` over this checkout for the method's module."""
    return code_hash_with(module, _checkout_bytes)


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
