"""Write a found circuit as graph JSON close to the EAP-IG / MIB format, and read it back.

Node names follow EAP-IG: ``input``, ``a{layer}.h{head}``, ``logits``; edges ``sender->receiver<port>``
with port q/k/v for heads (no port for ``logits``). Each node and edge carries its score and an
``in_graph`` flag (top-k edges by score, or score >= a threshold)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench.graph import INPUT, OUTPUT, Edge, HeadGraph
from bench.io import atomic_write_text

FORMAT = "cdbench.circuit/1 (EAP-IG Graph.to_json-like)"


def _name(node: str) -> str:
    if node == INPUT:
        return "input"
    if node == OUTPUT:
        return "logits"
    layer, head = node.split(".")
    return f"a{layer}.h{head}"


def _unname(name: str) -> str:
    if name == "input":
        return INPUT
    if name == "logits":
        return OUTPUT
    layer, head = name[1:].split(".h")
    return f"{layer}.{head}"


def edge_name(e: Edge) -> str:
    port = "" if e.receiver == OUTPUT else f"<{e.port}>"
    return f"{_name(e.sender)}->{_name(e.receiver)}{port}"


def parse_edge_name(name: str) -> Edge:
    sender, rest = name.split("->")
    if rest.endswith(">"):
        receiver, port = rest[:-1].split("<")
        return Edge(_unname(sender), _unname(receiver), port)
    return Edge(_unname(sender), _unname(rest), "out")


@dataclass(frozen=True)
class Circuit:
    graph: HeadGraph
    node_scores: dict[str, float]
    edge_scores: dict[Edge, float]
    edges_in: frozenset[Edge]
    meta: dict

    @property
    def nodes_in(self) -> frozenset[str]:
        """Heads touched by an in-graph edge."""
        return frozenset(n for e in self.edges_in for n in (e.sender, e.receiver) if n in self.graph.node_index)


def make_circuit(graph: HeadGraph, node_scores: list[float], edge_scores: list[float], top_k: int, meta: dict) -> Circuit:
    order = sorted(range(len(edge_scores)), key=lambda i: -edge_scores[i])[:top_k]
    return Circuit(graph, dict(zip(graph.nodes, node_scores)), dict(zip(graph.edges, edge_scores)),
                   frozenset(graph.edges[i] for i in order), meta)


def to_json(circuit: Circuit, path: Path) -> None:
    nodes_in = circuit.nodes_in
    data = {
        "format": FORMAT,
        "cfg": {"n_layers": circuit.graph.n_layers, "n_heads": circuit.graph.n_heads, "parallel_attn": False},
        "meta": circuit.meta,
        "nodes": {"input": {"score": None, "in_graph": True}, "logits": {"score": None, "in_graph": True},
                  **{_name(n): {"score": s, "in_graph": n in nodes_in} for n, s in circuit.node_scores.items()}},
        "edges": {edge_name(e): {"score": s, "in_graph": e in circuit.edges_in} for e, s in circuit.edge_scores.items()},
    }
    atomic_write_text(Path(path), json.dumps(data, indent=1) + "\n")


def from_json(path: Path) -> Circuit:
    data = json.loads(Path(path).read_text())
    graph = HeadGraph(data["cfg"]["n_layers"], data["cfg"]["n_heads"])
    nodes = {_unname(k): v["score"] for k, v in data["nodes"].items() if k not in ("input", "logits")}
    edges = {parse_edge_name(k): v for k, v in data["edges"].items()}
    return Circuit(graph, nodes, {e: v["score"] for e, v in edges.items()},
                   frozenset(e for e, v in edges.items() if v["in_graph"]), data.get("meta", {}))
