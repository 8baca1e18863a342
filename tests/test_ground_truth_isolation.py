"""A method's scores cannot depend on the ground truth: every registered method, run on one task under
two different ground-truth versions, returns identical scores (the rows differ only in what they are
scored against)."""
import json

import pytest
import torch

import ground_truth.loader as gt_loader
from bench.harness import RunSpec, compute, prepare
from methods import METHODS

# Cheap settings for the sweeps and SAE fits (independence does not need the full schedule); the others as registered.
CHEAP = {"acdc": (("thresholds", "0.01,0.1"),), "sp": (("lambdas", "1.0"), ("epochs", "3")),
         "sae_codes": (("epochs", "50"),), "sae_codes_fast": (("epochs", "20"),), "ugs": (("steps", "20"),),
         "sae_codes_selected": (("l1_grid", "0.02"), ("positions_grid", "mean"), ("epochs", "50"))}


@pytest.fixture()
def two_versions(tmp_path, monkeypatch):
    """A ground-truth tree with planted_frac's shipped siit.v1 and a second version naming another circuit."""
    src = gt_loader.path_for("planted_frac", "siit.v1")
    data = json.loads(src.read_text())
    (tmp_path / "planted_frac").mkdir()
    gt_loader.write(tmp_path / "planted_frac" / "siit.v1.json", data)
    other = {**data, "version": "siit.vother", "nodes": ["0.0", "m1"], "groups": {},
             "edges": [["INPUT", "0.0", "q"], ["0.0", "m1", "in"], ["m1", "OUTPUT", "out"]]}
    gt_loader.write(tmp_path / "planted_frac" / "siit.vother.json", other)
    monkeypatch.setattr(gt_loader, "ROOT", tmp_path)
    return ("siit.v1", "siit.vother")


@pytest.mark.parametrize("method", list(METHODS))
def test_scores_do_not_depend_on_the_ground_truth(method, two_versions):
    runs = []
    for version in two_versions:
        spec = RunSpec(method, "planted_frac", "planted-frac", seed=0, n_prompts=24, gt_version=version,
                       overrides=CHEAP.get(method, ()))
        runs.append(compute(prepare(spec, "cpu"), "cpu"))
    a, b = runs
    assert {r["gt_version"] for r in a["rows"]} == {"siit.v1"} and {r["gt_version"] for r in b["rows"]} == {"siit.vother"}
    assert a["rows"][0]["gt_hash"] != b["rows"][0]["gt_hash"]
    assert a["scores"] == b["scores"] and a["null_scores"] == b["null_scores"] and a["sweep"] == b["sweep"]
    assert torch.isfinite(torch.tensor(a["scores"]["node_scores"])).all()
