"""cdbench's own import graph, read from the source text (nothing is imported): which cdbench modules a
module reaches. The ground-truth isolation test walks it, and a row's ``method_code`` hashes what it reaches."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bench", "methods", "ground_truth")

SourceOf = Callable[[str], "str | None"]  # module name -> its source text, or None when it is no module


def module_relpath(name: str, exists: Callable[[str], bool]) -> str | None:
    """The file (relative to the checkout) that holds module ``name``, or None; ``exists`` tells files apart."""
    base = "/".join(name.split("."))
    for cand in (f"{base}.py", f"{base}/__init__.py"):
        if exists(cand):
            return cand
    return None


def _checkout_exists(rel: str) -> bool:
    return (ROOT / rel).is_file()


def module_file(name: str) -> Path | None:
    """The checkout's file for cdbench module ``name``, or None."""
    rel = module_relpath(name, _checkout_exists)
    return None if rel is None else ROOT / rel


def imports_in(text: str, exists: Callable[[str], bool] = _checkout_exists, on_the_way: bool = True) -> set[str]:
    """Every cdbench module a source text imports, anywhere in it (a function-level import runs when the
    function does; TYPE_CHECKING blocks too). ``on_the_way`` adds each package whose ``__init__`` runs on
    the way to a module (what Python executes); without it, only the modules whose names the code uses
    (``from methods import eap`` names ``methods.eap``, not the registry in ``methods/__init__``)."""
    is_module = lambda name: module_relpath(name, exists) is not None  # noqa: E731
    out: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
            used_package = on_the_way or not all(is_module(n) for n in names)
            targets = ([node.module] if used_package else []) + names
        for t in targets:
            parts = t.split(".")
            if parts[0] not in PACKAGES:
                continue
            if on_the_way:
                out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1) if is_module(".".join(parts[:i])))
            elif is_module(t):
                out.add(t)
    return out


def imports(name: str) -> set[str]:
    """The cdbench modules that cdbench module ``name`` imports directly."""
    path = module_file(name)
    return set() if path is None else imports_in(path.read_text())


def reachable(start: str, deps: Callable[[str], set[str]] = imports) -> dict[str, str]:
    """Every module reachable from ``start`` through ``deps``, each with the module that imported it."""
    seen, todo = {start: ""}, [start]
    while todo:
        mod = todo.pop()
        for dep in deps(mod):
            if dep not in seen:
                seen[dep] = mod
                todo.append(dep)
    return seen
