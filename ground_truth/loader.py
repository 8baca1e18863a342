"""Load and validate ground-truth circuit files (``ground_truth/<task>/<version>.json``).

A file holds the circuit's nodes (by group) and its explicit edge list on the edge graph of
:mod:`bench.graph`, how that list was built (``construction``, see :mod:`ground_truth.rules`) and a
content hash. Loading checks the hash, the file's ``task``/``version`` against its path, the graph shape
it was built for against the model's, and every node and edge against the model's graph, so an edited
or misplaced file cannot pass silently.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import GroundTruthError, UnknownNameError
from bench.graph import INPUT, OUTPUT, CircuitGraph, Edge, is_mlp, parse_head

ROOT = Path(__file__).resolve().parent
SCHEMA = "cdbench.ground_truth/2"
REQUIRED = {"schema": str, "task": str, "version": str, "model": str, "source": str, "graph": dict,
            "groups": dict, "nodes": list, "edges": list, "content_hash": str}


@dataclass(frozen=True)
class GroundTruth:
    """A ground-truth circuit checked against a model's graph."""

    task: str
    version: str
    model: str
    source: str
    content_hash: str
    heads: frozenset[str]
    mlps: frozenset[str]
    edges: frozenset[Edge]
    path: str

    @property
    def short_hash(self) -> str:
        return self.content_hash.split(":")[-1][:12]


def content_hash(data: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of every field but ``content_hash`` itself."""
    body = {k: v for k, v in data.items() if k != "content_hash"}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canon.encode()).hexdigest()


def write(path: Path, data: dict[str, Any]) -> str:
    """Stamp ``data``'s content hash and write it; returns the hash."""
    data = {k: v for k, v in data.items() if k != "content_hash"}
    data["content_hash"] = content_hash(data)
    Path(path).write_text(json.dumps(data, indent=1) + "\n")
    return data["content_hash"]


def _fail(path: Path, msg: str) -> GroundTruthError:
    return GroundTruthError(f"ground-truth file {path}: {msg}")


def read(path: Path, check_hash: bool = True) -> dict[str, Any]:
    """The file's fields, checked for form (not yet against a model)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot read ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise _fail(path, f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise _fail(path, "top level must be a JSON object")
    for key, typ in REQUIRED.items():
        if not isinstance(data.get(key), typ):
            raise _fail(path, f"field {key!r} missing or not a {typ.__name__}")
    if data["schema"] != SCHEMA:
        raise _fail(path, f"schema {data['schema']!r} is not {SCHEMA!r}")
    if check_hash and data["content_hash"] != content_hash(data):
        raise _fail(path, "content hash does not match the file; if the edit is deliberate, "
                          f"bump the version and run `python -m ground_truth stamp {path}`")
    return data


def stamp(path: Path) -> str:
    """(Re)write ``path``'s content hash after a deliberate edit; returns the hash."""
    return write(path, read(path, check_hash=False))


def path_for(task: str, version: str, root: Path | None = None) -> Path:
    """``<root>/<task>/<version>.json``; ``root`` defaults to the shipped ``ground_truth/`` (a retrained
    planted model's files live under its training command's ``--out-dir``)."""
    return (ROOT if root is None else Path(root)) / task / f"{version}.json"


def available_versions(task: str | None = None, root: Path | None = None) -> dict[str, list[str]]:
    """Task -> sorted version names of the files under ``<root>/<task>/`` (default: the shipped ones)."""
    out: dict[str, list[str]] = {}
    base = ROOT if root is None else Path(root)
    if not base.is_dir():
        return out
    for d in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("_")):
        versions = sorted(f.name[: -len(".json")] for f in d.glob("*.json"))
        if versions and (task is None or d.name == task):
            out[d.name] = versions
    return out


def header(task: str, version: str, root: Path | None = None) -> dict[str, Any]:
    """The file's fields (form-checked, and its task/version checked against its path)."""
    path = path_for(task, version, root)
    if not path.is_file():
        where = "" if root is None else f" under {root}"
        raise UnknownNameError(f"no ground-truth version {version!r} for task {task!r}{where}; "
                               f"available: {available_versions(task, root).get(task, [])}")
    data = read(path)
    if (data["task"], data["version"]) != (task, version):
        raise _fail(path, f"says task {data['task']!r} version {data['version']!r}, but its path says "
                          f"task {task!r} version {version!r}")
    return data


def _check_node(path: Path, node: str, graph: CircuitGraph) -> None:
    if is_mlp(node):
        if node not in graph.mlps:
            raise _fail(path, f"MLP {node} is not in the model (attention-only, or {graph.n_layers} layers)")
        return
    try:
        layer, head = parse_head(node)
    except ValueError as exc:
        raise _fail(path, str(exc)) from None
    if layer >= graph.n_layers or head >= graph.n_heads:
        raise _fail(path, f"head {node} out of range ({graph.n_layers} layers x {graph.n_heads} heads)")


def check_fits(path: Path, data: dict[str, Any], graph: CircuitGraph) -> None:
    """Raise unless the file was built for a graph of this shape."""
    want = data["graph"]
    have = {"n_layers": graph.n_layers, "n_heads": graph.n_heads, "attn_only": graph.attn_only}
    if want != have:
        raise _fail(path, f"built for a model of shape {want}, not {have}")


def from_data(path: Path, data: dict[str, Any], graph: CircuitGraph) -> GroundTruth:
    """Validate parsed file fields against ``graph`` and return the circuit."""
    check_fits(path, data, graph)
    groups = data["groups"]
    if not all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in groups.values()):
        raise _fail(path, "field 'groups' must map names to lists of node names")
    nodes: list[str] = []
    for name in data["nodes"]:
        if not isinstance(name, str):
            raise _fail(path, f"node {name!r} is not a string")
        nodes.extend(groups.get(name, [name]))
    if not nodes:
        raise _fail(path, "no nodes")
    for n in nodes:
        _check_node(path, n, graph)
    edges: set[Edge] = set()
    for item in data["edges"]:
        if not (isinstance(item, list) and len(item) == 3 and all(isinstance(x, str) for x in item)):
            raise _fail(path, f"edge {item!r} is not [sender, receiver, port]")
        if item[1] == INPUT or item[0] == OUTPUT:
            raise _fail(path, f"edge {item!r} runs backwards")
        edge = Edge(*item)
        if edge not in graph.edge_index:
            raise _fail(path, f"edge {edge} is not in the model's graph")
        edges.add(edge)
    if not edges:
        raise _fail(path, "no edges")
    return GroundTruth(task=data["task"], version=data["version"], model=data["model"], source=data["source"],
                       content_hash=data["content_hash"], heads=frozenset(n for n in nodes if not is_mlp(n)),
                       mlps=frozenset(n for n in nodes if is_mlp(n)), edges=frozenset(edges), path=str(path))


def load(task: str, version: str, graph: CircuitGraph, root: Path | None = None) -> GroundTruth:
    """Load ``<root>/<task>/<version>.json`` (default: the shipped ``ground_truth/``) for ``graph``."""
    return from_data(path_for(task, version, root), header(task, version, root), graph)


def load_file(path: Path, graph: CircuitGraph) -> GroundTruth:
    """Validate one file (anywhere) against ``graph``; raises GroundTruthError with the reason."""
    return from_data(Path(path), read(Path(path)), graph)
