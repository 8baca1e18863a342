"""How a ground-truth file's class-level description expands onto the edge graph (:mod:`bench.graph`).

Each file names its rule in ``construction.rule``; the rules restate, as facts, how ACDC's code builds
its true-edge sets (ArthurConmy/Automatic-Circuit-Discovery, ``acdc/*/utils.py``), so that cdbench scores
the same edges ACDC does:

- ``class_edges``: exactly the listed connections (``INPUT`` = embeddings only, ``OUTPUT`` = the final
  residual stream), plus the internal q/k/v-input -> q/k/v edge of every head port that receives one of them.
  ACDC's docstring circuit (37 edges) is this rule; so are the tracr and planted circuits.
- ``acdc_ioi``: ACDC's ``get_ioi_true_edges``. Start from the full graph, drop every edge of a head outside
  the circuit, drop each circuit head's embedding -> head, head -> head and head -> final-residual edges,
  then add the class connections, where INPUT means the embeddings and every MLP output and OUTPUT the
  final residual stream and every later MLP input. What survives keeps the circuit heads' MLP edges
  (MLP -> head inputs, head -> MLP inputs), the MLP-only edges and embed -> output: 1,041 edges on GPT-2.
- ``acdc_greater_than``: ACDC's ``get_greaterthan_true_edges``: embeddings into the early groups, the late
  groups into the output, MLPs of one group feeding the group's later MLPs, the class pairs (a head may
  feed an MLP of its own layer), every MLP before the last mid-layer head feeding every later such MLP and
  the mid-layer heads' queries, and the internal edges of every circuit head: 262 edges on GPT-2.
"""
from __future__ import annotations

from typing import Callable, Iterable

from bench.graph import HEAD_PORTS, INPUT, MLP_PORT, OUTPUT, OUTPUT_PORT, CircuitGraph, Edge, is_mlp, layer_of

ClassEdge = tuple[str, str, str]  # (sender group or node, receiver group or node, ports "qkv" / "in" / "out")


def _members(name: str, groups: dict[str, list[str]]) -> list[str]:
    return [name] if name in (INPUT, OUTPUT) else list(groups.get(name, [name]))


def _ports(receiver: str, ports: str) -> list[str]:
    if receiver == OUTPUT:
        return [OUTPUT_PORT]
    if is_mlp(receiver):
        return [MLP_PORT]
    return [p for p in HEAD_PORTS if p in ports]


def _feeds(sender: str, receiver: str) -> bool:
    """Whether ``sender`` writes before ``receiver`` reads (a head may feed its own layer's MLP)."""
    if sender == INPUT or receiver == OUTPUT:
        return True
    s, r = layer_of(sender), layer_of(receiver)
    return s < r or (s == r and not is_mlp(sender) and is_mlp(receiver))


def _with_internal(edges: Iterable[Edge]) -> set[Edge]:
    """Add the internal input -> q/k/v edge of every head port that receives an additive edge."""
    out = set(edges)
    out |= {Edge(e.receiver, e.receiver, e.port) for e in list(out)
            if e.receiver != OUTPUT and not is_mlp(e.receiver) and not e.internal}
    return out


def class_edges(graph: CircuitGraph, groups: dict[str, list[str]], spec: list[ClassEdge], **_: object) -> set[Edge]:
    out = set()
    for sender, receiver, ports in spec:
        for s in _members(sender, groups):
            for r in _members(receiver, groups):
                if _feeds(s, r):
                    out |= {Edge(s, r, p) for p in _ports(r, ports)}
    return _with_internal(out)


def acdc_ioi(graph: CircuitGraph, groups: dict[str, list[str]], spec: list[ClassEdge], **_: object) -> set[Edge]:
    circuit = {h for g in groups.values() for h in g}
    out = set()
    for e in graph.edges:
        s_head = e.sender != INPUT and not is_mlp(e.sender)
        r_head = e.receiver != OUTPUT and not is_mlp(e.receiver)
        if (s_head and e.sender not in circuit) or (r_head and e.receiver not in circuit):
            continue  # a masked head loses every edge
        if r_head and not e.internal and (e.sender == INPUT or s_head):
            continue  # circuit heads: embeddings and other heads come back only through the class edges
        if s_head and e.receiver == OUTPUT:
            continue
        out.add(e)
    mlps = graph.mlps
    for sender, receiver, ports in spec:
        senders = [INPUT, *mlps] if sender == INPUT else _members(sender, groups)
        receivers = [OUTPUT, *mlps] if receiver == OUTPUT else _members(receiver, groups)
        for s in senders:
            for r in receivers:
                # ACDC's order: the embeddings are layer -1, the final residual stream after every layer,
                # and a receiver must sit in a strictly later layer than its sender.
                if r == OUTPUT or s == INPUT or layer_of(r) > layer_of(s):
                    out |= {Edge(s, r, p) for p in _ports(r, ports)}
    return out


def acdc_greater_than(graph: CircuitGraph, groups: dict[str, list[str]], spec: list[ClassEdge],
                      inputs: list[str], outputs: list[str], mid: str, **_: object) -> set[Edge]:
    out = set()
    for g in inputs:
        for r in groups[g]:
            out |= {Edge(INPUT, r, p) for p in _ports(r, "qkv")}
    for g in outputs:
        out |= {Edge(s, OUTPUT, OUTPUT_PORT) for s in groups[g]}
    for members in groups.values():  # MLPs of a group feed the group's later MLPs
        mlps = [m for m in members if is_mlp(m)]
        out |= {Edge(a, b, MLP_PORT) for a in mlps for b in mlps if layer_of(a) < layer_of(b)}
    for sender, receiver, _ports_unused in spec:
        for s in groups[sender]:
            for r in groups[receiver]:
                if _feeds(s, r):
                    out |= {Edge(s, r, p) for p in _ports(r, "qkv")}
    last_mid = max(layer_of(h) for h in groups[mid])
    early = [m for m in graph.mlps if layer_of(m) < last_mid]
    out |= {Edge(a, b, MLP_PORT) for a in early for b in early if layer_of(a) < layer_of(b)}
    out |= {Edge(m, h, "q") for h in groups[mid] for m in graph.mlps if layer_of(m) < layer_of(h)}
    heads = [h for g in groups.values() for h in g if not is_mlp(h)]
    out |= {Edge(h, h, p) for h in heads for p in HEAD_PORTS}
    return out


RULES: dict[str, Callable[..., set[Edge]]] = {
    "class_edges": class_edges, "acdc_ioi": acdc_ioi, "acdc_greater_than": acdc_greater_than}
