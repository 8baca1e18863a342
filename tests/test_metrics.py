import itertools

import numpy as np
import pytest

from bench.metrics import precision_recall_at_k, roc_auc, roc_curve


def brute_auc(scores, labels):
    pairs = [(p, n) for p, n in itertools.product(scores[labels], scores[~labels])]
    return np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs])


def test_auc_extremes_and_ties():
    labels = np.array([1, 1, 0, 0, 0], bool)
    assert roc_auc(np.array([5, 4, 3, 2, 1.0]), labels) == 1.0
    assert roc_auc(np.array([1, 2, 3, 4, 5.0]), labels) == 0.0
    assert roc_auc(np.zeros(5), labels) == 0.5
    assert np.isnan(roc_auc(np.zeros(3), np.zeros(3, bool)))


def test_auc_matches_pair_counting_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.integers(0, 4, 30).astype(float)  # many ties, like SAE-code counts
        labels = rng.random(30) < 0.3
        if labels.any() and (~labels).any():
            assert roc_auc(scores, labels) == pytest.approx(brute_auc(scores, labels))


def test_roc_curve_ends():
    fpr, tpr = roc_curve(np.array([3, 2, 1.0]), np.array([1, 0, 1], bool))
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


def test_precision_at_k_breaks_ties_in_expectation():
    labels = np.array([1, 0, 1, 0], bool)
    r = precision_recall_at_k(np.array([2, 1, 1, 0.0]), labels)
    assert r.k == 2 and r.precision == pytest.approx(0.75) and r.recall == pytest.approx(0.75)
    assert precision_recall_at_k(np.array([9, 1, 8, 0.0]), labels).precision == 1.0


def test_acdc_staircase_auc_by_hand():
    """ACDC's pessimistic AUC: (0.2, 0.5) is dominated by (0.1, 0.6) and dropped; the staircase over
    (0, 0), (0.1, 0.6), (0.5, 0.9), (1, 1) has area 0.9 x 0.6 + 0.5 x 0.3 + 0 x 0.1 = 0.69."""
    from bench.metrics import pareto_staircase_auc

    assert pareto_staircase_auc([(0.2, 0.5), (0.1, 0.6), (0.5, 0.9)]) == pytest.approx(0.69)
    assert pareto_staircase_auc([(0.1, 0.6)]) == pytest.approx(0.54)
    assert pareto_staircase_auc([]) == pytest.approx(0.0)  # only (0, 0) and (1, 1): the pessimistic corner


def test_circuit_points_by_hand():
    from bench.metrics import circuit_points

    labels = np.array([1, 0, 0, 1], bool)
    kept = np.array([[1, 0, 1, 0], [1, 1, 1, 0]], bool)
    assert circuit_points(kept, labels) == [(0.5, 0.5), (1.0, 0.5)]


def test_sweep_circuits_at_node_level_follow_acdcs_rule():
    """A head is in a sweep's circuit when any edge into or out of it is kept; MLPs likewise at node_mlp."""
    import torch

    from bench.graph import CircuitGraph, Edge
    from bench.scoring import sweep_kept

    g = CircuitGraph(2, 2, attn_only=False)
    kept = torch.zeros(3, len(g.edges), dtype=torch.bool)
    kept[0, g.edge_index[Edge("0.1", "OUTPUT", "out")]] = True  # head 0.1 by its output
    kept[1, g.edge_index[Edge("INPUT", "1.0", "k")]] = True  # head 1.0 by an input
    kept[1, g.edge_index[Edge("m0", "1.1", "q")]] = True  # MLP 0 and head 1.1
    kept[2, g.edge_index[Edge("INPUT", "OUTPUT", "out")]] = True  # no component at all
    assert sweep_kept(kept, g, "node").tolist() == [[False, True, False, False], [False, False, True, True],
                                                    [False, False, False, False]]
    assert sweep_kept(kept, g, "node_mlp")[:, 4:].tolist() == [[False, False], [True, False], [False, False]]
    assert np.array_equal(sweep_kept(kept, g, "edge"), kept.numpy())


def test_null_verdict_by_hand():
    from bench.metrics import NULL_MARGIN, null_verdict

    assert null_verdict([0.90, 0.92], [0.50, 0.52]) == ""  # 0.40 above its null, far beyond 2 SE
    # differences 0.02 and 0.40: mean 0.21, sd 0.269, SE 0.19, 2 SE 0.38 > 0.21: not clearly above
    assert null_verdict([0.60, 0.90], [0.58, 0.50]).startswith("no signal")
    assert null_verdict([0.5 + NULL_MARGIN / 2], [0.5]).startswith("no signal")  # one seed, within the margin
    assert null_verdict([0.9], [0.5]) == ""  # one seed, well above
    assert null_verdict([0.9, float("nan")], [float("nan"), 0.4]) == ""  # no pair: nothing to judge


def test_mib_auroc_by_hand():
    """Ten candidates, positives at ranks 1, 3 and 6: MIB's sizes floor(pct x 10) are 0 (six times), 1, 2, 5
    and 10, giving (FPR, TPR) (0, 0) x6, (0, 1/3), (1/7, 1/3), (3/7, 2/3), (1, 1); the trapezoids between
    consecutive points sum to 1/21 + 3/21 + 10/21 = 2/3 (the rank AUC of the same ranking is 17/21)."""
    from bench.metrics import mib_auroc

    scores = np.arange(10, 0, -1, dtype=float)
    labels = np.zeros(10, bool)
    labels[[0, 2, 5]] = True
    assert mib_auroc(scores, labels) == pytest.approx(2 / 3)
    assert roc_auc(scores, labels) == pytest.approx(17 / 21)
    assert np.isnan(mib_auroc(scores, np.ones(10, bool)))
    # ties at a cutoff count in expectation: all scores equal -> every circuit is a random draw, TPR = FPR
    assert mib_auroc(np.ones(10), labels) == pytest.approx(0.5)


def test_edge_head_level_merges_qkv_by_hand():
    """On a 1-layer, 1-head attention-only graph: edges INPUT->0.0 on q, k, v, three internal ones, INPUT->OUTPUT
    and 0.0->OUTPUT; merged: (INPUT, 0.0), (INPUT, OUTPUT), (0.0, OUTPUT). A merged edge scores its largest
    port and is true when any port is."""
    import torch

    from bench.graph import CircuitGraph, Edge
    from bench.scoring import labels_at, level_scores
    from ground_truth.loader import GroundTruth

    g = CircuitGraph(1, 1, True)
    assert g.head_edges == [("INPUT", "0.0"), ("INPUT", "OUTPUT"), ("0.0", "OUTPUT")]
    order = [str(e) for e in g.edges]
    scores = np.zeros(len(g.edges))
    scores[order.index("INPUT->0.0[k]")] = -3.0
    scores[order.index("INPUT->0.0[q]")] = 1.0
    scores[order.index("0.0[q_input]->0.0[q]")] = 9.0  # internal: not a merged edge
    scores[order.index("0.0->OUTPUT[out]")] = 2.0
    assert level_scores(g, "edge_head", scores[:1], None, scores).tolist() == [3.0, 0.0, 2.0]
    gt = GroundTruth("t", "v", "m", "s", "h", frozenset({"0.0"}), frozenset(),
                     frozenset({Edge("INPUT", "0.0", "v"), Edge("0.0", "0.0", "v")}), "p")
    assert labels_at(g, gt, "edge_head").tolist() == [True, False, False]
    assert g.merge_ports(torch.tensor([[1.0 if "[v]" in e else 0.0 for e in order]])).tolist() == [[1.0, 0.0, 0.0]]
