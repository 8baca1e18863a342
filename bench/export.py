"""Write a found circuit as graph JSON in the shape of EAP-IG's ``Graph.to_json`` (MIB's interchange
format).

Node names follow EAP-IG: ``input``, ``a{layer}.h{head}``, ``m{layer}``, ``logits``; edges
``sender->receiver<q|k|v>`` into a head, ``sender->receiver`` otherwise. Only the additive edges are
written (EAP-IG's graph has no internal q/k/v edges). Each node and edge carries its score and an
``in_graph`` flag: the top-k edges by |score| and the nodes they touch."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench.errors import CdbenchError
from bench.graph import INPUT, OUTPUT, CircuitGraph, Edge, is_mlp
from bench.io import atomic_write_text

FORMAT = "cdbench.circuit/2 (EAP-IG Graph.to_json-like)"


def _name(node: str) -> str:
    if node == INPUT:
        return "input"
    if node == OUTPUT:
        return "logits"
    if is_mlp(node):
        return node
    layer, head = node.split(".")
    return f"a{layer}.h{head}"


def edge_name(e: Edge) -> str:
    port = f"<{e.port}>" if e.port in "qkv" else ""
    return f"{_name(e.sender)}->{_name(e.receiver)}{port}"


@dataclass(frozen=True)
class Circuit:
    graph: CircuitGraph
    node_scores: dict[str, float]
    edge_scores: dict[Edge, float]
    edges_in: frozenset[Edge]
    meta: dict

    @property
    def nodes_in(self) -> frozenset[str]:
        """Components touched by an in-graph edge."""
        return frozenset(n for e in self.edges_in for n in (e.sender, e.receiver) if n not in (INPUT, OUTPUT))


def make_circuit(graph: CircuitGraph, node_scores: list[float], edge_scores: list[float], top_k: int, meta: dict) -> Circuit:
    additive = [i for i in graph.additive]
    order = sorted(additive, key=lambda i: -abs(edge_scores[i]))[:top_k]
    return Circuit(graph, dict(zip(graph.nodes, node_scores)), {graph.edges[i]: edge_scores[i] for i in additive},
                   frozenset(graph.edges[i] for i in order), meta)


def to_json(circuit: Circuit, path: Path) -> None:
    nodes_in = circuit.nodes_in
    g = circuit.graph
    data = {
        "format": FORMAT,
        "cfg": {"n_layers": g.n_layers, "n_heads": g.n_heads, "attn_only": g.attn_only, "parallel_attn": False},
        "meta": circuit.meta,
        "nodes": {"input": {"score": None, "in_graph": True}, "logits": {"score": None, "in_graph": True},
                  **{_name(n): {"score": circuit.node_scores.get(n), "in_graph": n in nodes_in} for n in g.nodes + g.mlps}},
        "edges": {edge_name(e): {"score": s, "in_graph": e in circuit.edges_in} for e, s in circuit.edge_scores.items()},
    }
    atomic_write_text(Path(path), json.dumps(data, indent=1) + "\n")


def export_run(results: Path, key: str, top_k: int, out: Path) -> int:
    """Write the circuit of the recorded run ``key`` (its run file beside ``results``); returns the number of
    candidate edges."""
    from bench.models.registry import get_spec
    from bench.results import read_rows, read_run, run_file, runs_dir_for

    if Path(results).exists():
        read_rows(results)  # a malformed results file is refused with its line number, as the report does
    run = read_run(run_file(runs_dir_for(results), key))
    if run is None:
        raise CdbenchError(f"no recorded run {key} in {runs_dir_for(results)}; take a cache_key from {results}")
    row = run["rows"][0]
    scores = run["scores"]
    if scores["edge_scores"] is None:
        raise CdbenchError(f"method {row['method']} gives node scores only; a circuit export needs edge scores")
    graph = get_spec(row["model"]).graph
    meta = {k: row[k] for k in ("method", "task", "model", "seed", "config_hash", "gt_version", "cache_key")}
    to_json(make_circuit(graph, scores["node_scores"], scores["edge_scores"], top_k, meta), out)
    return len(graph.additive)
