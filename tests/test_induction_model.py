"""The embedded default model really does induction, and its ground truth is what the detectors say."""
import json

from bench.graph import parse_head
from bench.models.induction import in_context_loss
from ground_truth.induction_detect import build

GT_FILE = "ground_truth/induction/induction-2l.v2.json"


def test_model_predicts_repeats_in_context(induction_model):
    loss = in_context_loss(induction_model.model, seed=7)
    assert loss["loss_repeated"] < 1.0 < 4.0 < loss["loss_unrepeated"]


def test_ground_truth_file_matches_detectors_and_ablation(induction_model):
    shipped = json.load(open(GT_FILE))
    rebuilt = build(induction_model.model, "induction-2l")
    assert rebuilt["groups"] == shipped["groups"]
    assert rebuilt["causal_check"] == shipped["causal_check"]
    prev, ind = shipped["groups"]["previous_token"], shipped["groups"]["induction"]
    assert prev and ind
    assert all(parse_head(h)[0] == 0 for h in prev) and all(parse_head(h)[0] == 1 for h in ind)
    check = shipped["causal_check"]
    assert check["fraction_kept_ablating_ground_truth"] < 0.3  # the circuit carries the behaviour ...
    assert check["fraction_kept_ablating_all_other_heads"] > 0.6  # ... and suffices for most of it
