"""pytest-benchmark timings for issue 23's settings that the registry loop in test_bench_methods.py does
not time by itself: EAP with mean ablation beside EAP (same group, same prompts), and UGS, whose 1,900
training steps run once (``-m "slow or not slow"``). EAP-IG-activations and IFR are timed there, being
registered."""
import pytest
import torch

from bench.tasks import get_task
from methods import METHODS, eap

N_PROMPTS = 100
GROUP = "methods: planted_ioi on planted-ioi, 100 pairs"


@pytest.fixture(scope="module")
def planted():
    from bench.models.registry import load_model

    lm = load_model("planted-ioi", "cpu")
    return lm, get_task("planted_ioi").build(lm, N_PROMPTS, seed=0)


def test_eap_mean_ablation_end_to_end(benchmark, planted):
    lm, prompts = planted
    benchmark.group = GROUP
    result = benchmark(METHODS["eap"].run, lm.model, prompts, eap.Config(ablation="mean"), 0)
    assert torch.isfinite(result.edges.scores).all()


@pytest.mark.slow
def test_ugs_end_to_end(benchmark, planted):
    lm, prompts = planted
    spec = METHODS["ugs"]
    benchmark.group = GROUP
    result = benchmark.pedantic(spec.run, args=(lm.model, prompts, spec.config(), 0), rounds=1, iterations=1)
    assert torch.isfinite(result.edges.scores).all()
