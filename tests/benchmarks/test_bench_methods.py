"""pytest-benchmark timings: each method end to end on the default task, and the SAE-code stages
against the physical floor (one forward pass over the same prompts up to the last attention layer).
Save with `pytest --benchmark-only --benchmark-json reports/benchmark.json`."""
import pytest
import torch

from bench.tasks import get_task
from bench.tasks.base import PromptBatch
from methods import METHODS
from methods.activations import forward_floor, head_outputs
from methods.sae_codes import Config, fit_sae, node_scores, pair_scores

N_PROMPTS = 100


@pytest.fixture(scope="module")
def prompts(induction_model):
    return get_task("induction").build(induction_model, N_PROMPTS, seed=0)


@pytest.mark.parametrize("method", sorted(m for m in METHODS if m != "acdc"))
def test_method_end_to_end(benchmark, induction_model, prompts, method):
    spec = METHODS[method]
    benchmark.group = "methods: induction on induction-2l"
    result = benchmark(spec.run, induction_model.model, prompts, spec.config(), 0)
    assert torch.isfinite(result.nodes.scores).all()


@pytest.mark.slow
def test_acdc_end_to_end(benchmark, induction_model, prompts, tmp_path, monkeypatch):
    """ACDC's full tau sweep, once, with an empty per-tau cache (about a minute on 2 cores)."""
    from methods import acdc

    monkeypatch.setattr(acdc, "CACHE", tmp_path)
    benchmark.group = "methods: induction on induction-2l"
    result = benchmark.pedantic(acdc.run, args=(induction_model.model, prompts, acdc.Config(), 0), rounds=1, iterations=1)
    assert torch.isfinite(result.edges.scores).all()


@pytest.fixture(scope="module")
def gpt2_shaped():
    from bench.models.registry import load_model

    lm = load_model("gpt2-random", "cpu")
    return lm, get_task("ioi").build(lm, 200, seed=0)


# SAE-code settings timed against the floor: the paper's (500 epochs at lr 1e-3); a loss-plateau stop; and
# lr 1e-2 for 100 epochs, which reaches the paper recipe's final loss in a fifth of the epochs (measured on
# induction-2l: loss 0.17 at epoch 100 vs 0.18-0.26 after the paper's 500), alone and on scaled inputs.
SAE_SETTINGS = {"sae_codes": Config(), "sae_codes_tol": Config(tol=1e-4),
                "sae_codes_fast": Config(lr=1e-2, epochs=100),
                "sae_codes_fast_scaled": Config(lr=1e-2, epochs=100, mse="sum", input_scale="unit_msn")}


STAGE_DIAGNOSTICS = ("epochs_run", "l0", "degenerate", "gather_s", "fit_s", "code_s", "score_s")


def _all_prompts(p) -> PromptBatch:
    """Positives and negatives in one batch: what the SAE-code gather pushes through the model."""
    return PromptBatch(torch.cat([p.clean.tokens, p.corrupted.tokens]), torch.cat([p.clean.lengths, p.corrupted.lengths]))


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["floor_forward", "gather", *SAE_SETTINGS])
def test_gpt2_shaped(benchmark, gpt2_shaped, stage):
    """GPT-2-small-shaped random weights, 200 prompt pairs: SAE codes end to end vs the bare forward pass
    over the same 400 prompts up to the last attention layer. Timing only: on random weights the
    paper-scale SAE collapses (flagged degenerate); the scaled setting fits for real at the same cost."""
    lm, p = gpt2_shaped
    both = _all_prompts(p)
    benchmark.group = "gpt2-random: sae_codes vs forward floor"
    if stage == "floor_forward":
        benchmark.pedantic(forward_floor, args=(lm.model, both), rounds=5, iterations=1, warmup_rounds=1)
    elif stage == "gather":
        benchmark.pedantic(head_outputs, args=(lm.model, both), rounds=5, iterations=1)
    else:
        result = benchmark.pedantic(METHODS["sae_codes"].run, args=(lm.model, p, SAE_SETTINGS[stage], 0),
                                    rounds=3, iterations=1)
        benchmark.extra_info.update({k: result.diagnostics[k] for k in STAGE_DIAGNOSTICS})


def test_floor_forward_pass(benchmark, induction_model, prompts):
    """The physical floor: one forward pass over all positive and negative prompts, stopping after the
    last attention layer (methods.activations.forward_floor)."""
    benchmark.group = "sae_codes stages"
    benchmark(forward_floor, induction_model.model, _all_prompts(prompts))


@pytest.mark.parametrize("setting", sorted(SAE_SETTINGS))
def test_sae_codes_settings_end_to_end(benchmark, induction_model, prompts, setting):
    benchmark.group = "sae_codes stages"
    result = benchmark(METHODS["sae_codes"].run, induction_model.model, prompts, SAE_SETTINGS[setting], 0)
    benchmark.extra_info.update({k: result.diagnostics[k] for k in STAGE_DIAGNOSTICS})


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
