"""Expand a ground-truth file's ``construction`` (its rule and class-level edges) into its explicit edge
list, so the shipped edges can be rebuilt from the facts the file itself states."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.graph import CircuitGraph, Edge
from ground_truth.loader import read, write
from ground_truth.rules import RULES


def expand(data: dict[str, Any]) -> list[list[str]]:
    """The sorted edge list that ``data['construction']`` describes on the file's graph."""
    graph = CircuitGraph(**data["graph"])
    con = dict(data["construction"])
    rule = RULES[con.pop("rule")]
    spec = [tuple(e) for e in con.pop("class_edges")]
    edges: set[Edge] = rule(graph, data["groups"], spec, **con)
    order = graph.edge_index
    return [[e.sender, e.receiver, e.port] for e in sorted(edges, key=order.__getitem__)]


def rebuild(path: Path) -> str:
    """Rewrite ``path``'s edges from its construction and re-stamp it; returns the new hash."""
    data = read(path, check_hash=False)
    data["edges"] = expand(data)
    return write(path, data)
