"""The grid on a real local Ray (2 CPUs) gives the same rows as the same grid run locally, and a failing run
among good ones is reported without stopping them."""
import dataclasses
import json

import pandas as pd
import pytest
import torch

from bench import memory
from bench.plan import plan_run
from bench.runner import run_plan

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")
# the only columns allowed to differ between two computations of a run: its timings and peak memory
TIMINGS = ["wall_s", "faith_s", "null_s", "peak_rss_gb"]


def _plan(results, tasks="induction", methods="random,sae_codes", model=None):
    return plan_run(method=methods, task=tasks, model=model, seeds=2, seed_start=0, n_prompts=24, gt_version=None,
                    sets=["epochs=80"] if methods == "sae_codes" else [], device="cpu", results=results)


def test_ray_rows_equal_local_rows(tmp_path):
    from bench.ray_executor import run_plan_on_ray

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each one-CPU Ray task runs, so the floating point is the same
    try:
        local = run_plan(_plan(tmp_path / "local" / "results.csv", methods="random,eap"), cache_dir=None)
    finally:
        torch.set_num_threads(threads)
    remote = run_plan_on_ray(_plan(tmp_path / "ray" / "results.csv", methods="random,eap"), cache_dir=tmp_path / "cache",
                             num_cpus=2)
    assert not local.failures and not remote.failures
    a = pd.read_csv(tmp_path / "local" / "results.csv").drop(columns=TIMINGS).sort_values(["cache_key", "level"]).reset_index(drop=True)
    b = pd.read_csv(tmp_path / "ray" / "results.csv").drop(columns=TIMINGS).sort_values(["cache_key", "level"]).reset_index(drop=True)
    assert len(a) == 2 * 2 * 3  # 2 methods x 2 seeds x (node, edge, edge_head)
    if memory.reset_peak():  # each worker measures its own run's memory, as a local run does
        for where in ("local", "ray"):
            assert pd.read_csv(tmp_path / where / "results.csv").peak_rss_gb.between(0.1, 24).all()
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert len(list((tmp_path / "cache").glob("*.json.gz"))) == 4  # the driver wrote every run's cache entry
    assert len(list((tmp_path / "ray" / "runs").glob("*.json.gz"))) == 4


def test_a_failing_ray_run_is_reported_and_the_others_finish(tmp_path, capsys):
    from bench.ray_executor import run_plan_on_ray

    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    rec = {"clean": "When Mary and John went out, John gave a drink to", "corrupted": "When Mary and John went out, Tom gave a drink to",
           "answer": " Mary", "wrong": " John"}
    good.write_text(json.dumps(rec) + "\n")
    bad.write_text(json.dumps({**rec, "corrupted": "When Mary and John went out together, Tom gave a drink to"}) + "\n")
    plan = _plan(tmp_path / "results.csv", tasks=f"jsonl:{good}", methods="random", model="attn-only-4l-random")
    # planning refuses the bad file; changed after planning, it fails in the workers: a late failure
    plan = dataclasses.replace(plan, specs=plan.specs + [dataclasses.replace(s, task=f"jsonl:{bad}") for s in plan.specs])
    out = run_plan_on_ray(plan, cache_dir=None, num_cpus=2)
    assert len(out.failures) == 2 and all("they must match" in msg for _, msg in out.failures)
    assert "run failed" in capsys.readouterr().err
    assert set(pd.read_csv(tmp_path / "results.csv").task) == {"jsonl:good.jsonl"}


def test_without_an_address_a_fresh_local_cluster_is_started(tmp_path, monkeypatch):
    """``--ray-address`` unset starts a new local cluster (``address="local"``), never one found on the machine."""
    from bench.ray_executor import run_plan_on_ray

    seen = {}

    def fake_init(**kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", fake_init)
    with pytest.raises(RuntimeError, match="stop here"):
        run_plan_on_ray(_plan(tmp_path / "r.csv", methods="random"), cache_dir=None)
    assert seen["address"] == "local"
    with pytest.raises(RuntimeError, match="stop here"):
        run_plan_on_ray(_plan(tmp_path / "r.csv", methods="random"), cache_dir=None, address="auto")
    assert seen["address"] == "auto" and seen["num_cpus"] is None
