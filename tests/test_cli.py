"""The CLI end to end on the embedded model, and every bad input: one line, exit code 2, nothing written."""
import dataclasses

import pandas as pd
import pytest
import torch

from bench import harness
from bench.cli import main
from bench.graph import HeadGraph
from bench.harness import COLUMNS, RunSpec, run_one
from methods import METHODS, MethodResult
from methods.base import EdgeScores, HeadScores, MethodSpec

FAST = ",".join(m for m in METHODS if m != "acdc")  # ACDC has its own test; it takes a minute
REQUIRED = ["method", "task", "model", "gt_version", "gt_hash", "seed", "level", "auc", "precision_at_k",
            "recall_at_k", "wall_s", "config_hash"]


def test_run_and_report_write_rows_and_figures(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(harness, "DEFAULT_CACHE", tmp_path / "cache")
    import bench.report as report
    monkeypatch.setattr(report, "DEFAULT_CACHE", tmp_path / "cache")
    results = tmp_path / "results.csv"
    assert main(["run", "--task", "induction", "--method", "random,sae_codes", "--seeds", "2", "--n-prompts", "40",
                 "--set", "epochs=50", "--results", str(results)]) == 2  # --set with two methods is refused
    assert not results.exists()
    assert main(["run", "--task", "induction", "--method", FAST, "--seeds", "2", "--n-prompts", "40",
                 "--results", str(results)]) == 0
    df = pd.read_csv(results)
    assert set(REQUIRED) <= set(df.columns) and list(df.columns) == COLUMNS
    assert len(df) == sum(1 + METHODS[m].edges for m in FAST.split(",")) * 2  # (node [+ edge]) x seeds
    assert df.gt_version.eq("induction-2l.v1").all() and df.auc.between(0, 1).all()
    # a rerun hits the cache and replaces, not duplicates, its rows
    assert main(["run", "--task", "induction", "--method", FAST, "--seeds", "2", "--n-prompts", "40",
                 "--results", str(results)]) == 0
    assert len(pd.read_csv(results)) == len(df)
    out = tmp_path / "rep"
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    text = (out / "README.md").read_text()
    assert "induction-2l.v1" in text and "git commit" in text and "Published numbers" in text and (out / "roc_induction_induction-2l_induction-2l.v1.png").stat().st_size > 10_000


def test_cache_returns_the_same_run(tmp_path, induction_model):
    spec = RunSpec("sae_codes", "induction", "induction-2l", seed=1, n_prompts=30, overrides=(("epochs", "60"),))
    a = run_one(spec, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    b = run_one(spec, cache_dir=tmp_path)
    assert pd.DataFrame(a.rows).equals(pd.DataFrame(b.rows)) and a.node_scores == b.node_scores  # NaN-aware
    # the row's setting names the override that beats the documented "500 epochs"
    assert all(r["setting"].startswith("overrides epochs=60 on: ") for r in a.rows)


@pytest.mark.parametrize("argv, needle", [
    (["run", "--task", "nosuch"], "unknown task"),
    (["run", "--method", "nosuch"], "unknown method"),
    (["run", "--model", "nosuch"], "unknown model"),
    (["run", "--model", "gpt2", "--task", "ioi"], "cdbench fetch-models"),
    (["run", "--gt-version", "nope.v1", "--method", "random"], "no ground-truth version"),
    (["run", "--method", "sae_codes", "--set", "nosuch=1"], "no setting"),
    (["run", "--seeds", "0"], "at least 1"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, needle):
    results = tmp_path / "r.csv"
    assert main(argv + ["--results", str(results), "--n-prompts", "8"]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and err.startswith("cdbench: error:")
    assert not results.exists()


def test_empty_prompt_file_and_nan_scores(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    results = tmp_path / "r.csv"
    assert main(["run", "--task", f"jsonl:{empty}", "--model", "attn-only-4l-random", "--method", "random",
                 "--results", str(results)]) == 2
    assert "empty prompt set" in capsys.readouterr().err

    def nan_method(model, prompts, config, seed):
        return MethodResult(HeadScores(torch.full((2, 4), float("nan"))), EdgeScores(torch.zeros(len(HeadGraph(2, 4).edges))))

    spec = MethodSpec("nan", "returns NaN", dataclasses.make_dataclass("C", []), nan_method, edges=True)
    monkeypatch.setitem(METHODS, "nan", spec)
    assert main(["run", "--method", "nan", "--n-prompts", "8", "--no-cache", "--results", str(results)]) == 2
    assert "NaN" in capsys.readouterr().err and not results.exists()


def test_list_shows_presence(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "induction-2l" in out and "present" in out and "gpt2" in out and "ABSENT" in out


def test_jsonl_task_on_a_stand_in_model(tmp_path):
    f = tmp_path / "ioi.jsonl"
    f.write_text('{"clean": "When Mary and John went out, John gave a drink to", '
                 '"corrupted": "When Mary and John went out, Tom gave a drink to", "answer": " Mary", "wrong": " John"}\n')
    res = run_one(RunSpec("random", f"jsonl:{f}", "attn-only-4l-random", 0, 10), cache_dir=None)
    assert res.rows[0]["gt_version"] == "none" and res.rows[0]["n_prompts"] == 1


def test_task_on_a_model_without_its_ground_truth_gets_no_auc():
    """IOI's circuit is GPT-2's: on another model the run is scored for faithfulness only, not refused."""
    res = run_one(RunSpec("random", "ioi", "attn-only-4l-random", 0, 8), cache_dir=None)
    assert res.rows[0]["gt_version"] == "none" and res.rows[0]["auc"] != res.rows[0]["auc"]  # NaN
    assert res.faithfulness["fractions"][-1] == 1.0
