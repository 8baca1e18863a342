"""UGS, uniform gradient sampling (Li and Janson 2024), as MIB ran it (alestolfo/optimalablation
``edge_pruning_unif_mib.py``: ``EdgeMaskUnifSampler``, ``EdgePruner`` in counterfactual mode; MIB's
``convert_mask_to_graph.py`` reads the scores). Every edge has a logit theta (initialised to 1) and a
keep probability p = sigmoid(theta). Each training step draws, per prompt and per sample, a mask value
m = 1 - clamp((u - p) / w + 1/2, 0, 1) with u ~ U(0, 1) and window w = p(1 - p) (held constant, and the
path through p scaled by w, so dm/dp = 1 inside the window whatever its width), and the receiver reads m * (the sender's output) + (1 - m) * (its output on the corrupted
prompt). The loss is the KL divergence of the masked model's next-token distribution at the last position
from the clean model's, plus lambda * sum of p (lambda = 1e-3, MIB's setting); AdamW, lr 1e-2 (5e-2 / 5 for
counterfactual ablation), betas (0.9, 0.995), gradient norm clipped at 5, 12 mask samples per prompt,
batches of 5, each edge's gradient reweighted by batch / (samples inside its window) as the sampler's
``normalize_empirical_mask``. An edge's score is its final p.

Each sampled mask is filtered as the sampler's ``forward`` does (``prune_dangling_edges`` on the mask
discretised at m > 0): an edge is zeroed, without gradient, unless its receiver still reaches the output
and its sender is still reached from the embeddings through present edges of the same sample (the peer
counts an MLP as reached when any row of the batch reaches it; here per row, as it does for heads). The
loss adds MIB's node regulariser, node_reg * sum over heads of tanh(2 s / (L H)) * L H / 2, s the head's
summed p over its incoming (every port) and outgoing edges, node_reg = min(lambda / 2, 2e-4)
(``edge_pruning_unif_mib.py``; ``EdgeMaskJointSampler.node_reg_loss``). Not reproduced: the BOS position
is patched like every other (cdbench's prompts need not start with BOS). MIB trains for one pass over
9,500 IOI prompts (1,900 steps); cdbench cycles through the task's prompts for ``steps`` steps.
Real-valued outputs use the squared error of the output logits instead of KL, as cdbench's ACDC and SP
do. A head port's internal edge takes the largest p among the port's incoming edges."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from bench.tasks.base import TaskPrompts, last_logits
from bench.graph import OUTPUT, edge_hooks
from bench.progress import track
from methods.base import MethodResult, graph_of, hook_flags
from methods.edge_attribution import _sender_acts, port_groups
from methods.ifr import _receiver_hook

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer


@dataclass(frozen=True)
class Config:
    lamb: float = 1e-3  # MIB: reg_lamb 0.001
    lr: float = 1e-2  # 5e-2 for lambda > 5e-4, divided by 5 in counterfactual mode
    init: float = 1.0  # EdgeInferenceConfig(init_param=1)
    n_samples: int = 12
    batch_size: int = 5
    steps: int = 1900  # MIB: 9,500 IOI prompts / 5 per batch, one pass
    clip: float = 5.0
    prune_dangling: bool = True  # the sampler's forward: dangling edges of each sampled mask zeroed
    node_reg: float | None = None  # None: MIB's min(lamb / 2, 2e-4)

    def __post_init__(self) -> None:
        if not (self.lamb >= 0 and self.lr > 0):
            raise ValueError("lamb must be >= 0 and lr > 0")
        if self.node_reg is not None and not self.node_reg >= 0:
            raise ValueError("node_reg must be >= 0 (or none: MIB's min(lamb / 2, 2e-4))")
        if min(self.n_samples, self.batch_size, self.steps) < 1 or not self.clip > 0:
            raise ValueError("n_samples, batch_size and steps must be at least 1, clip positive")

    @property
    def node_weight(self) -> float:
        """The node regulariser's weight as used: ``node_reg``, or MIB's min(lamb / 2, 2e-4)."""
        return min(0.5 * self.lamb, 2e-4) if self.node_reg is None else self.node_reg


def sample_mask(theta: torch.Tensor, unif: torch.Tensor, reweight: bool = True) -> torch.Tensor:
    """The sampler's modified-uniform draw: ``theta`` ``[E]`` logits, ``unif`` ``[B, E]`` -> masks ``[B, E]``
    in [0, 1] whose value is 1 - clamp((u - p)/w + 1/2, 0, 1), w = p(1 - p) held fixed, and whose gradient
    in p is scaled by w (``reweight``: then by B / the number of rows inside the window, per edge)."""
    p = theta.sigmoid()
    w = (p * (1 - p)).detach()
    p_scaled = w * p - (w - 1) * p.detach()  # the value of p, the gradient of w * p
    m = 1 - ((unif - p_scaled) / w + 0.5).clamp(0, 1)
    if reweight:
        inside = ((m > 1e-3) & (m < 1 - 1e-3)).sum(0)
        wt = torch.where(inside < 1, torch.zeros_like(p), unif.shape[0] / inside.clamp_min(1))
        m = wt * m + (1 - wt) * m.detach()
    return m


class DanglingFilter:
    """``prune_dangling_edges`` on the graph's additive edges, per mask row: present edges (m > 0) are kept
    where the receiver reaches OUTPUT (a backward sweep) and then the sender is reached from INPUT (a
    forward sweep over the edges the first sweep kept)."""

    def __init__(self, graph):
        nodes = graph.senders + [OUTPUT]  # topological: every edge runs from an earlier node to a later one
        index = {n: i for i, n in enumerate(nodes)}
        edges = [graph.edges[i] for i in graph.additive]
        self.src = torch.tensor([index[e.sender] for e in edges])
        self.dst = torch.tensor([index[e.receiver] for e in edges])
        self.n_nodes = len(nodes)
        self.out_of = [torch.nonzero(self.src == i).flatten() for i in range(self.n_nodes)]
        self.into = [torch.nonzero(self.dst == i).flatten() for i in range(self.n_nodes)]

    def keep(self, present: torch.Tensor) -> torch.Tensor:
        """``present`` ``[B, E]`` bool (additive-edge order) -> the edges that are neither dangling nor cut off."""
        rows = present.shape[0]
        live_out = torch.zeros(rows, self.n_nodes, dtype=torch.bool, device=present.device)
        live_out[:, -1] = True
        for node in range(self.n_nodes - 2, -1, -1):
            out = self.out_of[node]
            live_out[:, node] = (present[:, out] & live_out[:, self.dst[out]]).any(1)
        kept = present & live_out[:, self.dst]
        live_in = torch.zeros_like(live_out)
        live_in[:, 0] = True
        for node in range(1, self.n_nodes):
            inc = self.into[node]
            live_in[:, node] = (kept[:, inc] & live_in[:, self.src[inc]]).any(1)
        return kept & live_in[:, self.src]


class NodeTerm:
    """MIB's node term: sum over heads of tanh(2 s / (L H)) * L H / 2, s a head's summed keep probability
    over its incoming edges on every port and its outgoing edges (which edges touch which head: once)."""

    def __init__(self, graph):
        heads = graph.node_index
        edges = [graph.edges[i] for i in graph.additive]
        pairs = [(k, heads[end]) for k, e in enumerate(edges) for end in (e.sender, e.receiver) if end in heads]
        self.edge, self.head = (torch.tensor(v) for v in zip(*pairs))
        self.n_heads = len(heads)
        self.size = graph.n_layers * graph.n_heads

    def __call__(self, p: torch.Tensor) -> torch.Tensor:
        """``p`` in additive-edge order -> the term (differentiable in ``p``)."""
        s = torch.zeros(self.n_heads, dtype=p.dtype, device=p.device)
        s = s.index_add(0, self.head.to(p.device), p[self.edge.to(p.device)])
        return (torch.tanh(2 * s / self.size) * self.size / 2).sum()


class MaskedForward:
    """Runs the model with every additive edge mixed: receiver input = its input - sum over senders of
    (1 - m) * (sender output - sender output on the corrupted prompt), per prompt row."""

    def __init__(self, model: "HookedTransformer"):
        self.model = model
        self.graph = graph_of(model)
        self.groups = port_groups(self.graph)
        cfg = model.cfg
        self.sender_hooks = ["blocks.0.hook_resid_pre"]
        for layer in range(cfg.n_layers):
            self.sender_hooks.append(f"blocks.{layer}.attn.hook_result")
            if not cfg.attn_only:
                self.sender_hooks.append(f"blocks.{layer}.hook_mlp_out")

    def logits(self, tokens: torch.Tensor, corrupt_acts: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``tokens`` ``[B, T]``, ``corrupt_acts`` ``[B, T, S, d]``, ``mask`` ``[B, E]`` (edge order)."""
        cfg = self.model.cfg
        cache: list[torch.Tensor] = []

        def keep(t: torch.Tensor, hook) -> None:
            cache.append(t if t.ndim == 4 else t[:, :, None])

        def mix(group, t: torch.Tensor, hook) -> torch.Tensor:
            acts = torch.cat(cache, 2)  # [B, T, S_so_far, d]
            x = t if t.ndim == 4 else t[:, :, None]
            cols = []
            for col, b in enumerate(group):
                diff = acts[:, :, : b.count] - corrupt_acts[:, :, : b.count]
                off = 1 - mask[:, b.start: b.start + b.count]  # [B, n]
                cols.append(x[:, :, col if x.shape[2] > 1 else 0] - torch.einsum("bn,btnd->btd", off, diff))
            out = torch.stack(cols, 2)
            return out if t.ndim == 4 else out[:, :, 0]

        fwd = []
        for name in self.sender_hooks:
            fwd.append((name, keep))
        for group in self.groups:
            fwd.append((_receiver_hook(group[0].receiver, group[0].port, cfg.n_layers),
                        lambda t, hook, group=group: mix(group, t, hook)))
        # receivers read before senders write in the same block (q/k/v inputs before hook_result): order by name
        return self.model.run_with_hooks(tokens, fwd_hooks=fwd)


def _loss(masked: torch.Tensor, clean: torch.Tensor, numeric: bool) -> torch.Tensor:
    if numeric:
        return ((masked - clean) ** 2).sum(-1).mean()
    logp, logq = masked.log_softmax(-1), clean.log_softmax(-1)
    return (logq.exp() * (logq - logp)).sum(-1).mean()


def ugs_scores(model: "HookedTransformer", prompts: TaskPrompts, config: Config, seed: int) -> torch.Tensor:
    """Final keep probabilities aligned with ``graph.edges`` (internal edges: the port's largest)."""
    cfg = model.cfg
    fwd = MaskedForward(model)
    graph = fwd.graph
    additive = torch.tensor(graph.additive)
    dangling = DanglingFilter(graph) if config.prune_dangling else None
    node_term = NodeTerm(graph) if config.node_weight else None
    theta = torch.full((len(additive),), config.init, device=cfg.device, requires_grad=True)
    opt = torch.optim.AdamW([theta], lr=config.lr, betas=(0.9, 0.995), weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    n = len(prompts.clean)
    numeric = prompts.metric.numeric_output
    order = torch.randperm(n, generator=gen)
    with hook_flags(model, **edge_hooks(model.cfg)):
        for step in track(range(config.steps), "UGS mask steps", "step"):
            start = (step * config.batch_size) % n
            idx = order[torch.arange(start, start + config.batch_size) % n]
            clean, corrupt = prompts.clean.take(idx).to(cfg.device), prompts.corrupted.take(idx).to(cfg.device)
            with torch.no_grad():
                target = last_logits(model(clean.tokens), clean)
                corrupt_acts = _sender_acts(model, corrupt.tokens)
            reps = config.n_samples
            unif = torch.rand((reps * len(idx), len(additive)), generator=gen).to(cfg.device)
            full = torch.ones((reps * len(idx), len(graph.edges)), device=cfg.device)
            m = sample_mask(theta, unif)
            if dangling is not None:  # the filter is a 0/1 factor without gradient, as the sampler's
                m = m * dangling.keep(m.detach() > 0).to(m.dtype)
            full[:, additive] = m
            tokens = clean.tokens.repeat(reps, 1)
            batch = type(clean)(tokens, clean.lengths.repeat(reps))
            logits = fwd.logits(tokens, corrupt_acts.repeat(reps, 1, 1, 1), full)
            loss = _loss(last_logits(logits, batch), target.repeat(reps, 1), numeric) + config.lamb * theta.sigmoid().sum()
            if node_term is not None:
                loss = loss + config.node_weight * node_term(theta.sigmoid())
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_([theta], config.clip)
            opt.step()
    scores = torch.zeros(len(graph.edges))
    scores[additive] = theta.detach().sigmoid().cpu()
    return graph.fold_internal(scores)


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    scores = ugs_scores(model, prompts, config, seed)
    return MethodResult.from_edges(graph_of(model), scores, ablation="corrupted-patching",
                                   metric="mse" if prompts.metric.numeric_output else "kl_div",
                                   diagnostics={"steps": config.steps})
