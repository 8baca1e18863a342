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
