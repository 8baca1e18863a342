"""Load, validate and expand ground-truth circuit files.

A file names nodes and edges compactly, by groups (``"name_mover": ["9.9", ...]``) and
class-level edges (``["s_inhibition", "name_mover", "q"]``); the loader expands them onto the
head-level graph of :mod:`bench.graph`, checks every head against the model's shape and
checks the file's content hash, so an edited file cannot pass silently.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import GroundTruthError, UnknownNameError
from bench.graph import INPUT, OUTPUT, RECEIVER_INPUTS, Edge, HeadGraph, parse_head

ROOT = Path(__file__).resolve().parent
SCHEMA = "cdbench.ground_truth/1"
REQUIRED = {"schema": str, "task": str, "version": str, "model": str, "source": str,
            "nodes": list, "edges": list, "content_hash": str}
# Which version a task uses unless the user names one (GROUND_TRUTH.md: default to the primary source).
DEFAULTS = {"ioi": "wang2022.v1", "greater_than": "hanna2023.v1", "docstring": "heimersheim2023.v1"}


@dataclass(frozen=True)
class GroundTruth:
    """A ground-truth circuit expanded onto a model's head graph."""

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


def stamp(path: Path) -> str:
    """(Re)write ``path``'s content hash after a deliberate edit; returns the hash."""
    data = json.loads(Path(path).read_text())
    data["content_hash"] = content_hash(data)
    Path(path).write_text(json.dumps(data, indent=2) + "\n")
    return data["content_hash"]


def available_versions(task: str | None = None) -> dict[str, list[str]]:
    """Task -> sorted version names of the files shipped under ``ground_truth/<task>/``."""
    out: dict[str, list[str]] = {}
    for d in sorted(p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith("_")):
        versions = sorted(f.name[: -len(".json")] for f in d.glob("*.json"))
        if versions and (task is None or d.name == task):
            out[d.name] = versions
    return out


def default_version(task: str) -> str:
    versions = available_versions(task).get(task, [])
    if not versions:
        raise UnknownNameError(f"no ground truth for task {task!r}; shipped: {sorted(available_versions())}")
    return DEFAULTS.get(task, versions[0])


def ground_truth_model(task: str, version: str | None) -> str:
    """The model a shipped ground truth is for, read without validating against any model."""
    version = version or default_version(task)
    path = ROOT / task / f"{version}.json"
    if not path.is_file():
        raise UnknownNameError(f"no ground-truth version {version!r} for task {task!r}; "
                               f"available: {available_versions(task).get(task, [])}")
    return str(_read(path)["model"])


def load(task: str, version: str | None, graph: HeadGraph) -> GroundTruth:
    """Load ``ground_truth/<task>/<version>.json`` (default version if None) for ``graph``."""
    version = version or default_version(task)
    path = ROOT / task / f"{version}.json"
    if not path.is_file():
        have = available_versions(task).get(task, [])
        raise UnknownNameError(f"no ground-truth version {version!r} for task {task!r}; available: {have}")
    return load_file(path, graph)


def _fail(path: Path, msg: str) -> GroundTruthError:
    return GroundTruthError(f"ground-truth file {path}: {msg}")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
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
    if data["content_hash"] != content_hash(data):
        raise _fail(path, "content hash does not match the file; if the edit is deliberate, "
                          f"bump the version and run `python -m ground_truth stamp {path}`")
    return data


def _check_node(path: Path, node: str, graph: HeadGraph, model: str) -> None:
    if node.startswith("m") and node[1:].isdigit():
        if int(node[1:]) >= graph.n_layers:
            raise _fail(path, f"MLP {node} out of range for {model} ({graph.n_layers} layers)")
        return
    try:
        layer, head = parse_head(node)
    except ValueError as exc:
        raise _fail(path, str(exc)) from None
    if layer >= graph.n_layers or head >= graph.n_heads:
        raise _fail(path, f"head {node} out of range for {model} ({graph.n_layers} layers x {graph.n_heads} heads)")


def _layer(node: str) -> int:
    return int(node[1:]) if node.startswith("m") else parse_head(node)[0]


def _project(sender: str, receiver: str, ports: str) -> list[Edge]:
    """Map one node-level edge onto the head graph (MLPs fold into INPUT / OUTPUT)."""
    s_mlp, r_mlp = sender.startswith("m"), receiver.startswith("m")
    if sender not in (INPUT,) and receiver not in (OUTPUT,):
        # MLP L sits after attention L in block L: it feeds heads of later layers only.
        s_layer, r_layer = _layer(sender), _layer(receiver)
        if (not s_mlp and not r_mlp and s_layer >= r_layer) or (s_mlp and not r_mlp and s_layer >= r_layer) \
                or (not s_mlp and r_mlp and s_layer > r_layer):
            return []
    src = INPUT if s_mlp else sender
    if r_mlp or receiver == OUTPUT:
        return [] if src == INPUT else [Edge(src, OUTPUT, "out")]
    return [Edge(src, receiver, p) for p in RECEIVER_INPUTS if p in ports]


def load_file(path: Path, graph: HeadGraph) -> GroundTruth:
    """Validate one file against ``graph`` and expand it; raises GroundTruthError with the reason."""
    path = Path(path)
    data = _read(path)
    groups = data.get("groups", {})
    if not isinstance(groups, dict) or not all(isinstance(v, list) for v in groups.values()):
        raise _fail(path, "field 'groups' must map names to lists of nodes")

    def resolve(name: Any) -> list[str]:
        if not isinstance(name, str):
            raise _fail(path, f"node {name!r} is not a string")
        if name in (INPUT, OUTPUT):
            return [name]
        members = groups.get(name, [name])
        for m in members:
            _check_node(path, m, graph, data["model"])
        return members

    nodes = [n for g in data["nodes"] for n in resolve(g)]
    if not nodes:
        raise _fail(path, "no nodes")
    edges: set[Edge] = set()
    for item in data["edges"]:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[2], str)):
            raise _fail(path, f"edge {item!r} is not [sender, receiver, ports]")
        sender, receiver, ports = item
        if receiver == INPUT or sender == OUTPUT:
            raise _fail(path, f"edge {item!r} runs backwards")
        if not set(ports) <= set("qkv") and ports != "out":
            raise _fail(path, f"edge {item!r}: ports must be letters of 'qkv' or 'out'")
        for s in resolve(sender):
            for r in resolve(receiver):
                edges.update(_project(s, r, ports))
    unknown = [e for e in edges if e not in graph.edge_index]
    if unknown:
        raise _fail(path, f"edge {unknown[0]} is not in the model's graph")
    return GroundTruth(
        task=data["task"], version=data["version"], model=data["model"], source=data["source"],
        content_hash=data["content_hash"],
        heads=frozenset(n for n in nodes if not n.startswith("m")),
        mlps=frozenset(n for n in nodes if n.startswith("m")),
        edges=frozenset(edges), path=str(path),
    )
