"""pytest-benchmark timings: each method end to end on the default task, and the SAE-code stages
against the physical floor (one forward pass over the same prompts up to the last attention layer).
Save with `pytest --benchmark-only --benchmark-json reports/benchmark.json`."""
import pytest
import torch

from bench.tasks import get_task
from methods import METHODS
from methods.activations import head_outputs
from methods.sae_codes import Config, fit_sae, node_scores, pair_scores

N_PROMPTS = 100


@pytest.fixture(scope="module")
def prompts(induction_model):
    return get_task("induction").build(induction_model, N_PROMPTS, seed=0)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_method_end_to_end(benchmark, induction_model, prompts, method):
    spec = METHODS[method]
    benchmark.group = "methods: induction on induction-2l"
    result = benchmark(spec.run, induction_model.model, prompts, spec.config(), 0)
    assert torch.isfinite(result.nodes.scores).all()


def test_floor_forward_pass(benchmark, induction_model, prompts):
    benchmark.group = "sae_codes stages"
    both = torch.cat([prompts.clean.tokens, prompts.corrupted.tokens])
    benchmark(lambda: induction_model.model(both, return_type=None))


def test_stage_gather(benchmark, induction_model, prompts):
    benchmark.group = "sae_codes stages"
    out = benchmark(lambda: (head_outputs(induction_model.model, prompts.positives),
                             head_outputs(induction_model.model, prompts.negatives)))
    assert out[0].shape == (N_PROMPTS, 8, 64)


def test_stage_fit_and_score(benchmark, induction_model, prompts):
    benchmark.group = "sae_codes stages"
    pos = head_outputs(induction_model.model, prompts.positives)
    neg = head_outputs(induction_model.model, prompts.negatives)
    rows = torch.cat([pos[:5], neg[:5]]).reshape(-1, 64)
    cfg = Config()

    def fit_code_score():
        sae, _ = fit_sae(rows, cfg, 0.02, 0)
        with torch.no_grad():
            pc, nc = sae.encode(pos).argmax(-1), sae.encode(neg).argmax(-1)
        return node_scores(pc, nc, cfg.n_hidden), pair_scores(pc, nc, cfg.n_hidden)

    benchmark(fit_code_score)
