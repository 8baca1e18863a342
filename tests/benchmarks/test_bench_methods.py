"""pytest-benchmark timings: each method end to end on a planted-circuit model, and the SAE-code stages
against the physical floor (one forward pass over the same prompts, stopped after the last attention
layer). Save with `pytest --benchmark-only --benchmark-json reports/benchmark.json`; the slow set (ACDC, SP)
with `-m "slow or not slow"`. The GPT-2-shaped paper-sized run is test_bench_paper_scale.py."""
import pytest
import torch

from bench.tasks import get_task
from bench.tasks.base import PromptBatch
from methods import METHODS
from methods.activations import forward_floor, head_outputs
from methods.sae_codes import Config, FastConfig

N_PROMPTS = 100
QUICK = sorted(m for m, spec in METHODS.items() if spec.cost != "slow")  # slow ones: timed once, apart


@pytest.fixture(scope="module")
def planted():
    from bench.models.registry import load_model

    lm = load_model("planted-ioi", "cpu")
    return lm, get_task("planted_ioi").build(lm, N_PROMPTS, seed=0)


@pytest.mark.parametrize("method", QUICK)
def test_method_end_to_end(benchmark, planted, method):
    lm, prompts = planted
    spec = METHODS[method]
    benchmark.group = "methods: planted_ioi on planted-ioi, 100 pairs"
    result = benchmark(spec.run, lm.model, prompts, spec.config(), 0)
    assert torch.isfinite(result.nodes.scores).all()


@pytest.fixture(scope="module")
def planted_frac():
    from bench.models.registry import load_model

    lm = load_model("planted-frac", "cpu")
    return lm, get_task("planted_frac").build(lm, N_PROMPTS, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["acdc", "sp", "eap"])
def test_sweep_method_end_to_end(benchmark, planted_frac, method, tmp_path, monkeypatch):
    """ACDC's and SP's full sweeps, once each, with an empty per-threshold cache, beside EAP on the same
    prompts (the smallest planted model: a sweep's cost there bounds it from below)."""
    monkeypatch.setenv("CDBENCH_HOME", str(tmp_path))
    lm, prompts = planted_frac
    spec = METHODS[method]
    from bench.settings import make_config

    cfg = make_config(spec, get_task("planted_frac").family, ())
    benchmark.group = "sweep methods: planted_frac on planted-frac, 100 pairs"
    result = benchmark.pedantic(spec.run, args=(lm.model, prompts, cfg, 0), rounds=1, iterations=1)
    assert torch.isfinite(result.edges.scores).all()


def _all_prompts(p) -> PromptBatch:
    """Positives and negatives in one batch: what the SAE-code gather pushes through the model."""
    n = max(p.clean.tokens.shape[1], p.corrupted.tokens.shape[1])
    pad = lambda t: torch.nn.functional.pad(t, (0, n - t.shape[1]))  # noqa: E731
    return PromptBatch(torch.cat([pad(p.clean.tokens), pad(p.corrupted.tokens)]), torch.cat([p.clean.lengths, p.corrupted.lengths]))


SAE_SETTINGS = {"sae_codes": Config(), "sae_codes_fast": FastConfig()}
STAGE_DIAGNOSTICS = ("epochs_run", "l0", "gather_s", "fit_s", "code_s", "score_s")


def _stages(result) -> dict:
    return {**{k: result.diagnostics[k] for k in STAGE_DIAGNOSTICS}, "degenerate": result.degenerate}


def test_floor_forward_pass(benchmark, induction_model):
    """The physical floor on the embedded model: one forward pass over all positive and negative prompts,
    stopping after the last attention layer (methods.activations.forward_floor)."""
    prompts = get_task("induction").build(induction_model, N_PROMPTS, seed=0)
    benchmark.group = "sae_codes stages: induction-2l, 100 + 100 prompts"
    benchmark(forward_floor, induction_model.model, _all_prompts(prompts))


@pytest.mark.parametrize("setting", sorted(SAE_SETTINGS))
def test_sae_codes_settings_end_to_end(benchmark, induction_model, setting):
    prompts = get_task("induction").build(induction_model, N_PROMPTS, seed=0)
    benchmark.group = "sae_codes stages: induction-2l, 100 + 100 prompts"
    result = benchmark(METHODS["sae_codes"].run, induction_model.model, prompts, SAE_SETTINGS[setting], 0)
    benchmark.extra_info.update(_stages(result))


def test_stage_gather(benchmark, induction_model):
    prompts = get_task("induction").build(induction_model, N_PROMPTS, seed=0)
    benchmark.group = "sae_codes stages: induction-2l, 100 + 100 prompts"
    out = benchmark(head_outputs, induction_model.model, _all_prompts(prompts))
    assert out.shape == (2 * N_PROMPTS, 8, 64)
