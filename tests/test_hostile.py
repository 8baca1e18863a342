"""Issue 19's hostile cases: every path checked for its use before any work, strict readers of rows and run
files, a content-keyed weights hash, bounds before work, honest counts. Each bad case is one line and exit
code 2 with nothing written (or, for a broken cache entry, a one-line warning and a recomputed run)."""
import gzip
import hashlib
import json
import os
import shutil
import signal
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from bench.errors import CdbenchError
from bench.results import COLUMNS, RunFileError, append_rows, check_results_path, read_results, read_run, run_file

RANDOM = ["--task", "induction", "--method", "random", "--seeds", "1", "--n-prompts", "8"]


def _refused(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and err.startswith("cdbench: error:"), err
    return err


# -- paths: checked for what they will be used for, before any work ------------------------------------------

def test_results_named_like_its_runs_folder_is_refused(tmp_path, capsys):
    _refused(capsys, ["run", *RANDOM, "--results", str(tmp_path / "runs")], "folder its run files go in")
    assert list(tmp_path.iterdir()) == []


def test_a_directory_at_the_lock_or_a_file_at_runs_is_refused(tmp_path, capsys):
    (tmp_path / "r.csv.lock").mkdir()
    _refused(capsys, ["run", *RANDOM, "--results", str(tmp_path / "r.csv")], "lock file")
    (tmp_path / "r.csv.lock").rmdir()
    (tmp_path / "runs").write_text("x")
    _refused(capsys, ["run", *RANDOM, "--results", str(tmp_path / "r.csv")], "run-file folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_results_under_proc_is_refused_even_for_root(capsys):
    _refused(capsys, ["run", *RANDOM, "--results", "/proc/x.csv"], "cannot create files in /proc")


def test_a_fifo_as_results_is_refused_without_hanging(tmp_path, capsys):
    fifo = tmp_path / "r.csv"
    os.mkfifo(fifo)

    def hang(signum, frame):
        raise AssertionError("validation blocked on the FIFO")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(30)
    try:
        _refused(capsys, ["run", *RANDOM, "--results", str(fifo)], "FIFO")
        _refused(capsys, ["report", "--results", str(fifo), "--out", str(tmp_path / "out")], "FIFO")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_a_symlinked_results_path_keeps_everything_beside_the_real_file(tmp_path, capsys):
    real_dir, link_dir = tmp_path / "real", tmp_path / "link"
    real_dir.mkdir()
    link_dir.mkdir()
    (link_dir / "r.csv").symlink_to(real_dir / "r.csv")
    assert check_results_path(link_dir / "r.csv").runs == real_dir / "runs"
    assert main(["run", *RANDOM, "--results", str(link_dir / "r.csv"), "--no-cache"]) == 0
    assert sorted(p.name for p in link_dir.iterdir()) == ["r.csv"]  # the link alone
    assert sorted(p.name for p in real_dir.iterdir()) == ["r.csv", "r.csv.lock", "runs"]
    assert len(pd.read_csv(real_dir / "r.csv")) == 3  # node, edge, edge_head


# -- the results reader: malformed rows refused with their line number ------------------------------------------

def _row(**kw) -> dict:
    return {c: "" for c in COLUMNS} | {"method": "random", "task": "t", "model": "m", "seed": 0, "level": "node",
                                      "auc": 0.5, "n_prompts": 8, "wall_s": 0.1, "degenerate": False,
                                      "cache_key": "0123456789abcdef"} | kw


@pytest.mark.parametrize("edit, needle", [
    (lambda f: f.replace(",0.5,", ",abc,"), "auc is 'abc', not a number"),
    (lambda f: f.rsplit(",", 3)[0], "fields, not 37"),
    (lambda f: f.replace(",,1123456789abcdef", "nothex,,1123456789abcdef"), "method_code is 'nothex', not 16 hex"),
    (lambda f: f.replace(",node,", ",nodes,"), "level is 'nodes'"),
    (lambda f: f.replace(",1,node,", ",x,node,"), "seed is 'x', not an integer"),
])
def test_malformed_rows_are_refused_with_their_line(tmp_path, capsys, edit, needle):
    path = tmp_path / "r.csv"
    append_rows(path, [_row(), _row(seed=1, cache_key="1123456789abcdef")])
    header, first, second = path.read_text().splitlines()
    path.write_text("\n".join([header, first, edit(second)]) + "\n")
    with pytest.raises(CdbenchError, match=f"{path}:3: "):
        read_results(path)
    err = _refused(capsys, ["report", "--results", str(path), "--out", str(tmp_path / "out")], needle)
    assert "r.csv:3:" in err
    assert not (tmp_path / "out").exists()
    err = _refused(capsys, ["export", "--cache-key", "0123456789abcdef", "--results", str(path), "--out",
                            str(tmp_path / "c.json")], needle)
    assert "r.csv:3:" in err and not (tmp_path / "c.json").exists()


def test_text_columns_stay_text(tmp_path):
    path = tmp_path / "r.csv"
    append_rows(path, [_row(gt_hash="123456789012", auc="")])
    df = read_results(path)
    assert df.gt_hash.iloc[0] == "123456789012" and df.seed.iloc[0] == 0 and pd.isna(df.auc.iloc[0])


# -- run files and cache entries: one reader; a miss with a warning for run, an error for export ---------------

def _recorded(tmp_path):
    results = tmp_path / "r.csv"
    assert main(["run", "--task", "induction", "--method", "eap", "--seeds", "1", "--n-prompts", "8",
                 "--results", str(results)]) == 0
    key = pd.read_csv(results).cache_key.iloc[0]
    return results, key, run_file(tmp_path / "runs", key)


def _breakages(good: bytes):
    run = json.loads(gzip.decompress(good))
    return {
        "truncated": good[: len(good) // 2],
        "bit-flipped": good[:40] + bytes([good[40] ^ 0xFF]) + good[41:],
        "not a run": gzip.compress(b"[]"),
        "no rows": gzip.compress(json.dumps({**run, "rows": []}).encode()),
        "short scores": gzip.compress(json.dumps({**run, "scores": {**run["scores"],
                                                                     "edge_scores": run["scores"]["edge_scores"][:3]}}).encode()),
    }


def test_broken_run_files_are_one_line_errors_for_export_and_misses_for_run(tmp_path, capsys, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("CDBENCH_CACHE", str(cache))
    results, key, path = _recorded(tmp_path)
    good = path.read_bytes()
    capsys.readouterr()
    for name, bad in _breakages(good).items():
        path.write_bytes(bad)
        with pytest.raises(RunFileError, match=str(path)):
            read_run(path)
        _refused(capsys, ["export", "--cache-key", key, "--results", str(results), "--out", str(tmp_path / "c.json")],
                 f"run file {path}")
        assert not (tmp_path / "c.json").exists(), name
        entry = run_file(cache, key)
        entry.write_bytes(bad)  # the same damage in the run cache: run warns, recomputes, rewrites it
        assert main(["run", "--task", "induction", "--method", "eap", "--seeds", "1", "--n-prompts", "8",
                     "--results", str(results)]) == 0, name
        err = capsys.readouterr().err
        assert f"warning: run file {entry}" in err and "cache miss" in err and "Traceback" not in err, (name, err)
        assert read_run(entry) is not None and read_run(path) is not None
    assert read_run(tmp_path / "runs" / "0000000000000000.json.gz") is None  # missing is not an error


def test_a_broken_acdc_threshold_file_is_a_miss_with_a_warning(tmp_path, capsys):
    from methods.acdc import read_tau_entry

    f = tmp_path / "tau=1.json"
    f.write_text(json.dumps({"tau": 1.0, "seconds": 2.5, "kept": [0, 3]}))
    assert read_tau_entry(f, 10) == ([0, 3], 2.5)
    assert read_tau_entry(tmp_path / "absent.json", 10) is None and capsys.readouterr().err == ""
    for text in ['{"tau": 1.0, "seconds": 2.5, "ke', '{"seconds": 2.5, "kept": [0, 10]}', '{"seconds": "x", "kept": []}',
                 "[1, 2]"]:
        f.write_text(text)
        assert read_tau_entry(f, 10) is None
        err = capsys.readouterr().err
        assert f"ACDC cache file {f}" in err and len(err.strip().splitlines()) == 1, text


# -- weights hashed by content ------------------------------------------------------------------------------

def test_a_rewrite_keeping_size_and_mtime_gets_a_new_hash(tmp_path, monkeypatch):
    from bench.models.registry import INDUCTION_FILE, file_sha256

    monkeypatch.setenv("CDBENCH_HOME", str(tmp_path / "home"))
    w = tmp_path / "w.safetensors"
    shutil.copyfile(INDUCTION_FILE, w)
    st = w.stat()
    first = file_sha256(w)
    assert first == hashlib.sha256(w.read_bytes()).hexdigest()
    data = bytearray(w.read_bytes())
    data[-1] ^= 0x01
    with open(w, "r+b") as f:  # in place: same inode, same size
        f.write(data)
    os.utime(w, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert w.stat().st_size == st.st_size and w.stat().st_mtime_ns == st.st_mtime_ns
    assert file_sha256(w) == hashlib.sha256(bytes(data)).hexdigest() != first


# -- limits before work ---------------------------------------------------------------------------------------

def _ioi_line(clean, corrupted, answer=" Mary", wrong=" John"):
    return json.dumps({"clean": clean, "corrupted": corrupted, "answer": answer, "wrong": wrong})


GOOD = _ioi_line("When Mary and John went out, John gave a drink to", "When Mary and John went out, Tom gave a drink to")


@pytest.mark.parametrize("line, needle", [
    (_ioi_line(" a" * 1024, " b" * 1024), "1025 tokens, longer than model attn-only-4l-random's context of 1024"),
    (_ioi_line("x" * 100_000, "y" * 100_000), "attn-only-4l-random's context of 1024"),
    (_ioi_line("When Mary and John went out, John gave a drink to",
               "When Mary and John went out, Tom gave a drink to", " Mary", " Mary"), "answer and wrong are the same"),
    (_ioi_line("When Mary and John went out", "When Mary and John went out"), "clean and corrupted are the same"),
])
def test_prompt_files_are_checked_against_the_model_in_planning(tmp_path, capsys, line, needle):
    f = tmp_path / "p.jsonl"
    f.write_text(GOOD + "\n\n" + line + "\n")
    results = tmp_path / "r.csv"
    err = _refused(capsys, ["run", "--task", f"jsonl:{f}", "--model", "attn-only-4l-random", "--method", "random",
                            "--seeds", "1", "--results", str(results)], needle)
    assert "p.jsonl:3:" in err
    assert not results.exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv, needle", [
    (["--seeds", "1000000000"], "--seeds 1000000000 is more than the 1000"),
    (["--seeds", "100000"], "--seeds 100000 is more than the 1000"),
    (["--n-prompts", "1000000"], "--n-prompts 1000000 is more than the 10000"),
    (["--seed-start", "2147483000"], "passes the largest seed"),
    (["--task", "planted", "--method", "all", "--seeds", "1000"], "pass --large-grid"),
])
def test_bounds_are_refused_before_any_work(tmp_path, capsys, argv, needle):
    results = tmp_path / "r.csv"
    base = ["run", "--task", "induction", "--method", "random"]
    err = _refused(capsys, [*base, *argv, "--results", str(results)], needle)
    if "large-grid" in needle:
        assert " h " in err and "by the committed per-run costs" in err  # the estimate is in the refusal
    assert list(tmp_path.iterdir()) == []


def test_the_estimate_is_the_median_cost_at_the_nearest_prompt_count_scaled(tmp_path):
    from bench.costs import committed_costs, estimate
    from bench.harness import RunSpec

    f = tmp_path / "costs.csv"
    rows = [_row(method="eap", model="m", cache_key="a" * 16, wall_s=1.0, null_s=0.0, faith_s=1.0, n_prompts=100,
                 peak_rss_gb=1.5),
            _row(method="eap", model="m", cache_key="a" * 16, level="edge", wall_s=1.0, faith_s=1.0, n_prompts=100,
                 peak_rss_gb=1.5),
            _row(method="eap", model="m", cache_key="b" * 16, wall_s=3.0, null_s=1.0, faith_s=2.0, n_prompts=40,
                 peak_rss_gb=3.0),
            _row(method="eap", model="m", cache_key="c" * 16, wall_s=8.0, faith_s=2.0, n_prompts=100),
            _row(method="hisp", model="m", cache_key="d" * 16, wall_s=1.0, n_prompts=100)]
    append_rows(f, rows)
    costs = committed_costs(f)
    assert costs[("eap", "m")].seconds == 6.0 and costs[("eap", "m")].runs == 3  # median of 2, 6, 10 (one per run)
    assert (costs[("eap", "m")].peak_rss_gb, costs[("eap", "m")].peak_n_prompts) == (3.0, 40)  # the largest, unscaled
    assert costs[("hisp", "m")].peak_rss_gb is None  # recorded nowhere: not guessed
    # 50 prompts: the run recorded at 40 (6 s) is nearest, scaled to 7.5 s; hisp's 100-prompt run halves
    est = estimate([RunSpec("eap", "t", "m", 0, 50), RunSpec("eap", "t", "m", 1, 50), RunSpec("sp", "t", "m", 0, 50),
                    RunSpec("hisp", "t", "m", 0, 50)], costs)
    assert est.total_s == 15.5 and est.absent == [("sp", "m")] and est.text().startswith("at least 16 s")
    assert estimate([RunSpec("eap", "t", "m", 0, 100)], costs).total_s == 6.0  # median of the two 100-prompt runs
    assert estimate([RunSpec("eap", "t", "m", 0, 70)], costs).total_s == 4.2  # a tie: the larger count, 6 x 70/100
    assert est.peak_gb == {("eap", "m"): (3.0, 40)}


def test_dry_run_prints_the_grid_and_writes_nothing(tmp_path, capsys):
    results = tmp_path / "r.csv"
    assert main(["run", "--task", "induction", "--method", "random,eap", "--seeds", "2", "--n-prompts", "30",
                 "--results", str(results), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: 4 runs" in out and "induction on induction-2l: 30 prompt pairs, seeds 0..1, 4 runs" in out
    assert "estimated time:" in out and "peak memory: absent" in out
    assert list(tmp_path.iterdir()) == []
    assert main(["run", "--task", "planted", "--method", "all", "--seeds", "1000", "--dry-run", "--results",
                 str(results)]) == 0
    assert "would be refused" in capsys.readouterr().out and list(tmp_path.iterdir()) == []


# -- inputs normalised and counted honestly ----------------------------------------------------------------------

@pytest.mark.parametrize("argv, needle", [
    (["--task", ""], "--task is empty"), (["--task", " , "], "--task is empty"), (["--method", ""], "--method is empty"),
    (["--method", "random,,eap"], "empty name between commas"),
])
def test_empty_names_are_refused(tmp_path, capsys, argv, needle):
    _refused(capsys, ["run", "--task", "induction", *argv, "--results", str(tmp_path / "r.csv")], needle)


def test_names_are_stripped_and_duplicates_dropped_with_a_word(tmp_path):
    from bench.plan import plan_run

    plan = plan_run(method="random, eap ,random", task="planted_frac, planted_frac", model=None, seeds=2, seed_start=0,
                    n_prompts=8, gt_version=None, sets=[], device="cpu", results=tmp_path / "r.csv")
    assert [(s.method, s.task, s.seed) for s in plan.specs] == [("random", "planted_frac", 0), ("random", "planted_frac", 1),
                                                               ("eap", "planted_frac", 0), ("eap", "planted_frac", 1)]
    assert plan.warnings == ["method random is named twice; it runs once", "task planted_frac is named twice; it runs once"]


def test_recorded_rows_are_the_rows_appended(tmp_path, capsys):
    results = tmp_path / "r.csv"
    argv = ["run", "--task", "induction", "--method", "random,eap", "--seeds", "1", "--n-prompts", "8",
            "--results", str(results)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    n = len(pd.read_csv(results))
    assert n == 6 and f"recorded 6 new rows in {results}\n" in out and "auc_sd" not in out  # one seed: no spread
    assert main(argv) == 0  # served from the cache: nothing appended
    assert f"recorded 0 new rows in {results} (6 rows of cached runs were there already)" in capsys.readouterr().out
    assert len(pd.read_csv(results)) == 6


def test_one_seed_best_method_line_has_no_nan_spread(tmp_path):
    from bench.report import label_methods
    from bench.report_planted import planted_section

    path = tmp_path / "r.csv"
    append_rows(path, [_row(method="random", task="planted_frac", model="planted-frac", auc=0.7, cache_key="a" * 16,
                            gt_version="siit.v1"),
                       _row(method="eap", task="planted_frac", model="planted-frac", auc=0.6, cache_key="b" * 16,
                            gt_version="siit.v1")])
    lines = planted_section(label_methods(read_results(path)))
    assert ("- node: the methods cannot be told apart from one seed: random 0.700 vs eap 0.600, margin 0.100 against "
            "spreads 0.000; 0 method(s) at 1.000") in lines


# -- progress when stderr is not a terminal ----------------------------------------------------------------------

def test_line_progress_says_every_few_percent_with_the_time():
    import io

    from bench.progress import LineProgress

    t = [0.0]
    buf = io.StringIO()
    bar = LineProgress(40, "cdbench run", "run", step_pct=5, clock=lambda: t[0], file=buf)
    for _ in range(40):
        t[0] += 3.0
        bar.update()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 20 and lines[0] == "cdbench run: 2/40 runs (5%), 6s elapsed"
    assert lines[-1] == "cdbench run: 40/40 runs (100%), 2m 00s elapsed"
    quiet = io.StringIO()
    t[0] = 0.0
    bar = LineProgress(10, "faithfulness", "step", step_pct=10, quiet_s=30, clock=lambda: t[0], file=quiet)
    for _ in range(10):
        t[0] += 5.0
        bar.update()
    assert [line.split(":")[1].split("(")[0].strip() for line in quiet.getvalue().splitlines()] == \
        ["6/10 steps", "7/10 steps", "8/10 steps", "9/10 steps", "10/10 steps"]  # silent for the first 30 s


def test_the_grid_logs_lines_when_not_a_terminal(tmp_path, capsys):
    assert main(["run", "--task", "induction", "--method", "random", "--seeds", "2", "--n-prompts", "8",
                 "--results", str(tmp_path / "r.csv")]) == 0
    err = capsys.readouterr().err
    assert "cdbench run: 1/2 runs (50%)" in err and "cdbench run: 2/2 runs (100%)" in err and "\r" not in err
