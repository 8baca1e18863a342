"""The CLI end to end on the embedded model, and every bad input: one line, exit code 2, nothing written."""
import dataclasses
import json

import pandas as pd
import pytest
import torch

from bench.cli import main
from bench.graph import CircuitGraph
from bench import memory
from bench.results import COLUMNS, read_results
from methods import METHODS, MethodResult
from methods.base import EdgeScores, HeadScores, MethodSpec

FAST = "random,eap,hisp,sae_codes"


def test_run_report_and_export(tmp_path, capsys):
    results = tmp_path / "reports" / "results.csv"
    argv = ["run", "--task", "induction", "--method", FAST, "--seeds", "2", "--n-prompts", "30", "--results", str(results)]
    assert main(argv) == 0
    df = pd.read_csv(results)
    assert list(df.columns) == COLUMNS and len(df) == (3 + 3 + 1 + 3) * 2  # (node [+ edge + edge_head]) x seeds
    assert df.gt_version.eq("induction-2l.v2").all() and df.auc.between(0, 1).all()
    assert df.prompt_set.str.startswith("induction.cdbench.v1@").all() and df.weights_sha256.str.len().eq(16).all()
    assert df.cdbench_commit.notna().all() and df.versions.str.contains("torch=").all()
    sae = df[df.method == "sae_codes"]
    assert sae.null_auc.notna().all() and df[df.method == "eap"].null_auc.isna().all()  # null only for contrast methods
    if memory.reset_peak():  # a process with torch and a model loaded holds over 100 MiB resident
        assert df.peak_rss_gb.between(0.1, 24).all()
    assert main(argv) == 0  # a rerun is served from the cache and appends nothing new
    assert len(pd.read_csv(results)) == len(df) and len(read_results(results)) == len(df)
    out = tmp_path / "reports"
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    text = (out / "README.md").read_text()
    assert "induction-2l.v2" in text and "Conventions" in text and (out / "roc_induction_induction-2l_induction-2l.v2.png").stat().st_size > 10_000
    key = df[df.method == "eap"].cache_key.iloc[0]
    assert main(["export", "--cache-key", key, "--top-k", "5", "--results", str(results), "--out", str(tmp_path / "c.json")]) == 0
    circuit = json.loads((tmp_path / "c.json").read_text())
    assert sum(e["in_graph"] for e in circuit["edges"].values()) == 5


def _one_line_exit_2(capsys, argv, needle, results):
    before = results.read_bytes() if results.is_file() else None
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and err.startswith("cdbench: error:"), err
    assert (results.read_bytes() if results.is_file() else None) == before  # nothing written, nothing half-written
    assert not (results.parent / "runs").exists()


@pytest.mark.parametrize("argv, needle", [
    (["--task", "nosuch"], "unknown task"),
    (["--method", "nosuch"], "unknown method"),
    (["--model", "nosuch"], "unknown model"),
    (["--model", "gpt2", "--task", "ioi"], "cdbench fetch-models"),
    (["--gt-version", "nope.v1", "--task", "induction"], "no ground-truth version"),
    (["--task", "ioi", "--model", "attn-only-4l-random", "--gt-version", "wang2022.v2", "--method", "random"], "is for model gpt2"),
    (["--method", "sae_codes", "--set", "nosuch=1"], "no setting"),
    (["--method", "sae_codes", "--set", "lr=-5"], "lr must be"),
    (["--method", "sae_codes", "--set", "top_k=100000"], "top_k"),
    (["--method", "sae_codes", "--set", "l1=nan"], "l1 must be"),
    (["--method", "sae_codes", "--set", "l1=-0.5"], "l1 must be"),
    (["--method", "sae_codes", "--set", "n_train_prompts=300", "--n-prompts", "100"], "exceeds"),
    (["--method", "acdc", "--set", "thresholds=0"], "thresholds"),
    (["--seeds", "0"], "at least 1"),
    (["--seed-start", "-5"], "--seed-start"),
    (["--device", "tpu"], "unknown device"),
    (["--preset", "nosuch"], "unknown preset"),
])
def test_bad_run_input_is_one_line_and_exit_2(tmp_path, capsys, argv, needle):
    results = tmp_path / "r.csv"
    base = ["run", "--task", "induction", "--results", str(results)]
    full = ["run"] + argv + ["--results", str(results)] if "--task" in argv else base + argv
    _one_line_exit_2(capsys, full, needle, results)


@pytest.mark.parametrize("content, needle", [
    (b"junk,columns\n1,2\n", "not a cdbench results file"),
    (b"\x00\xff\xfe binary", "not UTF-8"),
])
def test_bad_results_file_is_refused_before_any_run(tmp_path, capsys, content, needle):
    results = tmp_path / "r.csv"
    results.write_bytes(content)
    _one_line_exit_2(capsys, ["run", "--task", "induction", "--method", "random", "--results", str(results)], needle, results)
    assert results.read_bytes() == content  # untouched
    assert main(["report", "--results", str(results), "--out", str(tmp_path)]) == 2


def test_results_path_that_is_a_directory_or_under_a_file(tmp_path, capsys):
    _one_line_exit_2(capsys, ["run", "--method", "random", "--task", "induction", "--results", str(tmp_path)], "is a directory", tmp_path / "x")
    afile = tmp_path / "afile"
    afile.write_text("x")
    _one_line_exit_2(capsys, ["run", "--method", "random", "--task", "induction", "--results", str(afile / "r.csv")],
                     "which is a file", afile / "r.csv")


def test_jsonl_bad_files(tmp_path, capsys):
    results = tmp_path / "r.csv"
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00bad")
    _one_line_exit_2(capsys, ["run", "--task", f"jsonl:{binary}", "--model", "attn-only-4l-random", "--method", "random",
                              "--results", str(results)], "not UTF-8", results)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"clean": "a", "corrupted": "b", "answer": " c", "wrong": " d"}\n{not json\n')
    _one_line_exit_2(capsys, ["run", "--task", f"jsonl:{broken}", "--model", "attn-only-4l-random", "--method", "random",
                              "--results", str(results)], "broken.jsonl:2: not JSON", results)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    _one_line_exit_2(capsys, ["run", "--task", f"jsonl:{empty}", "--model", "attn-only-4l-random", "--method", "random",
                              "--results", str(results)], "empty prompt set", results)


def test_jsonl_content_is_part_of_the_run(tmp_path):
    """An edited prompt file is another prompt set: its rows get another cache key, not the old numbers."""
    f = tmp_path / "ioi.jsonl"
    rec = {"clean": "When Mary and John went out, John gave a drink to", "corrupted": "When Mary and John went out, Tom gave a drink to",
           "answer": " Mary", "wrong": " John"}
    f.write_text(json.dumps(rec) + "\n")
    results = tmp_path / "r.csv"
    argv = ["run", "--task", f"jsonl:{f}", "--model", "attn-only-4l-random", "--method", "random", "--seeds", "1",
            "--results", str(results)]
    assert main(argv) == 0
    rec["answer"], rec["wrong"] = rec["wrong"], rec["answer"]
    f.write_text(json.dumps(rec) + "\n")
    assert main(argv) == 0
    df = pd.read_csv(results)
    assert df.cache_key.nunique() == 2 and df.prompt_set.nunique() == 2 and df.gt_version.eq("none").all()


def test_ground_truth_for_another_model_is_a_warning_by_default(tmp_path, capsys):
    results = tmp_path / "r.csv"
    assert main(["run", "--task", "ioi", "--model", "attn-only-4l-random", "--method", "random", "--seeds", "1",
                 "--n-prompts", "8", "--results", str(results)]) == 0
    assert "warning: no ground truth for task ioi on model attn-only-4l-random" in capsys.readouterr().err
    assert pd.read_csv(results).auc.isna().all()


def test_export_input_is_checked(tmp_path, capsys):
    out = tmp_path / "c.json"
    for argv, needle in [(["--cache-key", "../x"], "not a cache key"), (["--cache-key", "0" * 16, "--top-k", "-3"], "--top-k"),
                         (["--cache-key", "0" * 16], "no recorded run")]:
        assert main(["export", *argv, "--results", str(tmp_path / "r.csv"), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_failing_run_does_not_stop_the_others(tmp_path, monkeypatch, capsys):
    def nan_method(model, prompts, config, seed):
        g = CircuitGraph(2, 4)
        return MethodResult(HeadScores(torch.full((2, 4), float("nan"))), EdgeScores(torch.zeros(len(g.edges))))

    spec = MethodSpec("nan", "returns NaN", dataclasses.make_dataclass("C", []), nan_method, edges=True)
    monkeypatch.setitem(METHODS, "nan", spec)
    results = tmp_path / "r.csv"
    assert main(["run", "--task", "induction", "--method", "nan,random", "--seeds", "1", "--n-prompts", "8",
                 "--results", str(results), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "NaN" in err and "1 of 2 runs failed" in err
    assert set(pd.read_csv(results).method) == {"random"}  # the good run's rows are written


def test_list_shows_presence(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "induction-2l" in out and "present" in out and "gpt2" in out and "ABSENT" in out and "paper" in out
