"""The computational graph that edge scores and edge ground truth are indexed by: ACDC's graph.

Senders write into the residual stream: ``INPUT`` (token + position embeddings, ACDC's
``blocks.0.hook_resid_pre``), every head ``"L.H"`` (``attn.hook_result``) and every MLP ``"mL"``
(``hook_mlp_out``). Receivers read it: each head's q, k and v inputs (``hook_q_input`` ...), each MLP's
input (``hook_mlp_in``, port ``in``) and the final residual stream ``OUTPUT`` (``hook_resid_post``, port
``out``). A sender feeds every receiver after it: a head of layer L reads INPUT, heads of layers < L and
MLPs of layers < L; MLP L also reads the heads of layer L. On top of these additive edges ACDC counts one
*internal* edge per head and port, from the port's input to the head's q/k/v (``hook_q_input -> hook_q``);
cdbench writes it ``Edge("L.H", "L.H", "q")``. This is exactly ACDC's candidate set without its
placeholder edges: 32,923 edges on GPT-2 small, 1,377 on attn-only-4l. The additive edges alone are
auto-circuit's and MIB's graph (32,491 on GPT-2 small).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

INPUT = "INPUT"
OUTPUT = "OUTPUT"
HEAD_PORTS = ("q", "k", "v")
MLP_PORT = "in"
OUTPUT_PORT = "out"


@dataclass(frozen=True)
class Edge:
    """``sender``'s output into ``receiver``'s ``port``; ``sender == receiver`` is the head's internal
    q/k/v-input -> q/k/v edge."""

    sender: str
    receiver: str
    port: str

    @property
    def internal(self) -> bool:
        return self.sender == self.receiver

    def __str__(self) -> str:
        if self.internal:
            return f"{self.receiver}[{self.port}_input]->{self.receiver}[{self.port}]"
        return f"{self.sender}->{self.receiver}[{self.port}]"


def head_name(layer: int, head: int) -> str:
    return f"{layer}.{head}"


def mlp_name(layer: int) -> str:
    return f"m{layer}"


def is_mlp(name: str) -> bool:
    return name.startswith("m") and name[1:].isdigit()


def parse_head(name: str) -> tuple[int, int]:
    """``"L.H"`` -> ``(L, H)``; raises ValueError for anything else."""
    parts = name.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a head name of the form L.H: {name!r}")
    return int(parts[0]), int(parts[1])


def layer_of(name: str) -> int:
    """The block a head or MLP sits in (INPUT -1; OUTPUT is not a component)."""
    if name == INPUT:
        return -1
    return int(name[1:]) if is_mlp(name) else parse_head(name)[0]


@dataclass(frozen=True)
class CircuitGraph:
    """Every candidate node and edge of a model with ``n_layers`` x ``n_heads`` heads (and an MLP per
    layer unless ``attn_only``). Nodes for the node level are the heads; MLPs are listed separately."""

    n_layers: int
    n_heads: int
    attn_only: bool = True

    @cached_property
    def nodes(self) -> list[str]:
        return [head_name(layer, h) for layer in range(self.n_layers) for h in range(self.n_heads)]

    @cached_property
    def node_index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.nodes)}

    @cached_property
    def mlps(self) -> list[str]:
        return [] if self.attn_only else [mlp_name(layer) for layer in range(self.n_layers)]

    @cached_property
    def senders(self) -> list[str]:
        """INPUT, then per layer its heads and its MLP (the order senders are stacked in by methods)."""
        out = [INPUT]
        for layer in range(self.n_layers):
            out += [head_name(layer, h) for h in range(self.n_heads)]
            out += [] if self.attn_only else [mlp_name(layer)]
        return out

    def senders_into(self, receiver: str) -> list[str]:
        """The senders that can write into ``receiver`` (a head, an MLP or OUTPUT)."""
        if receiver == OUTPUT:
            return self.senders
        layer = layer_of(receiver)
        mlp_receiver = is_mlp(receiver)
        return [s for s in self.senders if s == INPUT
                or (is_mlp(s) and layer_of(s) < layer)
                or (not is_mlp(s) and (layer_of(s) < layer or (mlp_receiver and layer_of(s) == layer)))]

    @cached_property
    def edges(self) -> list[Edge]:
        out: list[Edge] = []
        for layer in range(self.n_layers):
            for h in range(self.n_heads):
                recv = head_name(layer, h)
                senders = self.senders_into(recv)
                for port in HEAD_PORTS:
                    out.extend(Edge(s, recv, port) for s in senders)
                out.extend(Edge(recv, recv, port) for port in HEAD_PORTS)
            if not self.attn_only:
                m = mlp_name(layer)
                out.extend(Edge(s, m, MLP_PORT) for s in self.senders_into(m))
        out.extend(Edge(s, OUTPUT, OUTPUT_PORT) for s in self.senders)
        return out

    @cached_property
    def edge_index(self) -> dict[Edge, int]:
        return {e: i for i, e in enumerate(self.edges)}

    @cached_property
    def additive(self) -> list[int]:
        """Indices of the non-internal edges: auto-circuit's and MIB's graph."""
        return [i for i, e in enumerate(self.edges) if not e.internal]

    @cached_property
    def blocks(self) -> list["Block"]:
        """The additive edges grouped by receiver port, in edge order. Each block's senders are a prefix
        of :attr:`senders` (everything written before the receiver reads), which lets a method score a
        whole port with one matrix product."""
        out, i = [], 0
        edges = self.edges
        while i < len(edges):
            e = edges[i]
            if e.internal:
                i += 1
                continue
            n = len(self.senders_into(e.receiver))
            out.append(Block(e.receiver, e.port, i, n))
            i += n
        return out

    @cached_property
    def internal_edges(self) -> list[tuple[int, "Block"]]:
        """(index of each internal edge, the block of additive edges into the same head port)."""
        by_port = {(b.receiver, b.port): b for b in self.blocks}
        return [(i, by_port[(e.receiver, e.port)]) for i, e in enumerate(self.edges) if e.internal]

    def fold_internal(self, values, reduce: str = "max"):
        """``values`` over :attr:`edges` with each head port's internal edge set from the additive edges into
        that port: ``max`` is ACDC's reading (kept while any incoming edge is kept; for a mask, any), ``sum``
        the attribution of patching the port's whole input (EAP)."""
        out = values.clone()
        for i, block in self.internal_edges:
            part = values[..., block.start: block.start + block.count]
            out[..., i] = part.sum(-1) if reduce == "sum" else part.amax(-1)
        return out

    @cached_property
    def head_edges(self) -> list[tuple[str, str]]:
        """The ``edge_head`` level's candidates: each (sender, receiver) pair of the additive edges once, a
        head's q, k and v inputs merged into one edge (as InterpBench compares circuits); internal edges
        are dropped (they belong to the head itself)."""
        return list(dict.fromkeys((e.sender, e.receiver) for e in self.edges if not e.internal))

    @cached_property
    def head_edge_of(self):
        """Per edge of :attr:`edges`, the index of its :attr:`head_edges` pair (-1 for internal edges)."""
        import torch

        index = {pair: i for i, pair in enumerate(self.head_edges)}
        return torch.tensor([-1 if e.internal else index[(e.sender, e.receiver)] for e in self.edges])

    def merge_ports(self, values):
        """``values`` (``[..., n_edges]``, non-negative: magnitudes or 0/1 masks) at the ``edge_head`` level:
        per (sender, receiver) pair the largest over its ports (a merged edge is in a circuit when any of
        its ports is; it scores as its strongest port)."""
        import torch

        flat = values.reshape(-1, values.shape[-1]).float()
        ok = self.head_edge_of >= 0
        out = torch.zeros(flat.shape[0], len(self.head_edges))
        out.scatter_reduce_(1, self.head_edge_of[ok].expand(flat.shape[0], -1), flat[:, ok], reduce="amax")
        return out.reshape(*values.shape[:-1], len(self.head_edges))

    def incident_max(self, values):
        """ACDC's node rule: per head ``[..., n_heads_total]`` and per MLP ``[..., n_layers]`` (None when
        attention-only), the largest of ``values`` (``[..., n_edges]``, non-negative: magnitudes or 0/1 masks)
        over the edges into or out of it, internal ones included."""
        import torch

        flat = values.reshape(-1, values.shape[-1]).float()

        def over(ends_pair, size):
            out = torch.zeros(flat.shape[0], size)
            for ends in ends_pair:
                ok = ends >= 0
                out.scatter_reduce_(1, ends[ok].expand(flat.shape[0], -1), flat[:, ok], reduce="amax")
            return out.reshape(*values.shape[:-1], size)

        return over(self.endpoint_nodes, len(self.nodes)), (None if self.attn_only else over(self.endpoint_mlps, len(self.mlps)))

    def _endpoints(self, index: dict[str, int]):
        import torch

        send = torch.tensor([index.get(e.sender, -1) if not e.internal else -1 for e in self.edges])
        recv = torch.tensor([index.get(e.receiver, -1) for e in self.edges])
        return send, recv

    @cached_property
    def endpoint_nodes(self):
        """(sender head index, receiver head index) per edge as LongTensors, -1 where the end is no head."""
        return self._endpoints(self.node_index)

    @cached_property
    def endpoint_mlps(self):
        """(sender MLP layer, receiver MLP layer) per edge, -1 where the end is no MLP."""
        return self._endpoints({m: i for i, m in enumerate(self.mlps)})


def edge_hooks(cfg) -> dict[str, bool]:
    """The TransformerLens flags that expose every sender and receiver of the edge graph (MIB sets the same)."""
    flags = {"use_attn_result": True, "use_split_qkv_input": True, "ungroup_grouped_query_attention": True}
    if not cfg.attn_only:
        flags["use_hook_mlp_in"] = True
    return flags


@dataclass(frozen=True)
class Block:
    """The ``count`` additive edges into ``receiver``'s ``port``, starting at edge index ``start``."""

    receiver: str
    port: str
    start: int
    count: int
