"""The head-level computational graph that node and edge scores are indexed by.

Nodes are attention heads ``"L.H"``; edges run from ``INPUT`` (embeddings, and MLP outputs
folded in) or an earlier-layer head to a later head's q, k or v input, or from a head to
``OUTPUT`` (final residual stream, and downstream MLP inputs folded in). This is the
ACDC/EAP head-level graph with MLPs absorbed into INPUT/OUTPUT.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

INPUT = "INPUT"
OUTPUT = "OUTPUT"
RECEIVER_INPUTS = ("q", "k", "v")


@dataclass(frozen=True)
class Edge:
    """One edge: ``sender`` output into ``receiver``'s ``port`` (q, k, v, or ``out`` for OUTPUT)."""

    sender: str
    receiver: str
    port: str

    def __str__(self) -> str:
        return f"{self.sender}->{self.receiver}[{self.port}]"


def head_name(layer: int, head: int) -> str:
    return f"{layer}.{head}"


def parse_head(name: str) -> tuple[int, int]:
    """``"L.H"`` -> ``(L, H)``; raises ValueError for anything else."""
    parts = name.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a head name of the form L.H: {name!r}")
    return int(parts[0]), int(parts[1])


@dataclass(frozen=True)
class HeadGraph:
    """All candidate nodes and edges of a model with ``n_layers`` x ``n_heads`` attention heads."""

    n_layers: int
    n_heads: int

    @cached_property
    def nodes(self) -> list[str]:
        return [head_name(layer, h) for layer in range(self.n_layers) for h in range(self.n_heads)]

    @cached_property
    def node_index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.nodes)}

    @cached_property
    def edges(self) -> list[Edge]:
        out: list[Edge] = []
        for layer in range(self.n_layers):
            senders = [INPUT] + [head_name(s, h) for s in range(layer) for h in range(self.n_heads)]
            for h in range(self.n_heads):
                recv = head_name(layer, h)
                out.extend(Edge(s, recv, p) for s in senders for p in RECEIVER_INPUTS)
        out.extend(Edge(n, OUTPUT, "out") for n in self.nodes)
        return out

    @cached_property
    def edge_index(self) -> dict[Edge, int]:
        return {e: i for i, e in enumerate(self.edges)}

    def has_head(self, name: str) -> bool:
        return name in self.node_index
