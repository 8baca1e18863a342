"""`pytest --benchmark` as a user types it: the option parses beside pytest-benchmark's own, collects the
ci cells and nothing else; `pytest` and `pytest --benchmark-only` are unchanged; bad input is a usage error."""
import json

from bench.comparison.profiles import cells
from plugin_support import PLANTED, pytest_ids, run


def test_the_plugin_imports_nothing_heavy(tmp_path):
    """It is loaded by every pytest run wherever cdbench is installed."""
    r = run(tmp_path, "-c", "import sys, bench.pytest_plugin; print(sorted(m for m in ('torch', 'pandas', 'methods') if m in sys.modules))")
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


def test_benchmark_collects_the_profile_cells_and_only_them(tmp_path):
    r = run(tmp_path, "-m", "pytest", "--benchmark", "--co", "-q", "-p", "no:cacheprovider")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    ids = pytest_ids(r.stdout)
    todo = cells("ci")
    floors = {f"bench/comparison/suite.py::test_floor[{t}-{t.replace('_', '-')}-n100]"
              for t in PLANTED}
    assert set(ids) == floors | {f"bench/comparison/suite.py::test_cell[{c.id}]" for c in todo}
    assert len(ids) == len(todo) + len(PLANTED) and set(ids[:len(PLANTED)]) == floors  # floors first
    assert "cdbench gate" not in r.stdout  # nothing ran, nothing judged


def test_plain_pytest_and_benchmark_only_are_unchanged(tmp_path):
    """The default test run collects no cell; `--benchmark-only` still runs tests/benchmarks (one of its
    timings, run here) and no cell; `--benchmark-profile` and `--benchmark` are not taken for each other."""
    plain = run(tmp_path, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider")
    ids = pytest_ids(plain.stdout)
    assert plain.returncode == 0 and len(ids) > 50 and all(i.startswith("tests/") for i in ids)
    only = run(tmp_path, "-m", "pytest", "--benchmark-only", "-q", "-p", "no:cacheprovider", "--benchmark-json",
               str(tmp_path / "b.json"), "tests/benchmarks/test_bench_methods.py::test_floor_forward_pass")
    assert only.returncode == 0 and "1 passed" in only.stdout, only.stdout[-2000:]
    names = [b["fullname"] for b in json.loads((tmp_path / "b.json").read_text())["benchmarks"]]
    assert names == ["tests/benchmarks/test_bench_methods.py::test_floor_forward_pass"]
    profile_only = run(tmp_path, "-m", "pytest", "--benchmark-profile", "default", "--co", "-q", "-p", "no:cacheprovider",
                       "tests/test_metrics.py")
    assert profile_only.returncode == 0 and all(i.startswith("tests/test_metrics.py") for i in pytest_ids(profile_only.stdout))


def test_bad_benchmark_options_are_usage_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    for argv, needle in ((["--benchmark-profile", "nope"], "invalid choice: 'nope'"),
                         (["--benchmark-baseline", str(tmp_path / "none.json")], "no such file"),
                         (["--benchmark-baseline", str(bad)], "is not a pytest-benchmark JSON of cdbench cells"),
                         (["--benchmark-threads", "0"], "at least 1"),
                         (["--benchmark-skip"], "cannot be combined with --benchmark-skip")):
        r = run(tmp_path, "-m", "pytest", "--benchmark", "--co", "-q", "-p", "no:cacheprovider", *argv)
        assert r.returncode == 4 and needle in r.stderr, (argv, r.stderr[-1500:])
