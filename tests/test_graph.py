"""The edge graph is ACDC's: the candidate counts ACDC's code gives, and auto-circuit's (MIB's) additive part."""
from bench.graph import OUTPUT, CircuitGraph, Edge


def test_candidate_edges_equal_acdc_counts():
    gpt2 = CircuitGraph(12, 12, attn_only=False)
    attn4l = CircuitGraph(4, 8, attn_only=True)
    assert len(gpt2.edges) == 32_923 and len(attn4l.edges) == 1_377  # ACDC's graphs, placeholders excluded
    assert len(gpt2.additive) == 32_491  # auto-circuit's factorized graph and MIB's GPT-2 edge count
    assert sum(e.internal for e in gpt2.edges) == 432  # q/k/v input -> q/k/v, 3 per head


def test_edges_run_forward_and_blocks_cover_the_graph():
    g = CircuitGraph(3, 2, attn_only=False)
    assert Edge("INPUT", OUTPUT, "out") in g.edge_index and Edge("1.0", "m1", "in") in g.edge_index
    assert Edge("m1", "1.0", "q") not in g.edge_index and Edge("1.0", "1.1", "q") not in g.edge_index
    assert sum(b.count for b in g.blocks) + len(g.internal_edges) == len(g.edges)
    for b in g.blocks:  # every block's senders are a prefix of the sender order
        assert [g.edges[i].sender for i in range(b.start, b.start + b.count)] == g.senders[: b.count]
