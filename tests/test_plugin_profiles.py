"""The profiles of `pytest --benchmark`: which cells each holds, stated independently of the code that
builds them (the README's and the script's words), and a new registry entry appearing in all of them."""
import dataclasses
import os
import shlex
import stat
import subprocess

from bench.comparison.profiles import PROFILES, cells, profile_argvs
from bench.pytest_plugin import PROFILE_NAMES
from methods import METHODS
from plugin_support import PLANTED, ROOT


def _grid(profile):
    return {(c.spec.method, c.spec.task, c.spec.model, c.spec.seed, c.spec.n_prompts, c.spec.overrides) for c in cells(profile)}


def test_ci_is_every_method_but_the_sweeps_on_the_planted_suite():
    """README: ci = every registered method but ACDC, SP and UGS (minutes a run), on the four planted models
    with their own tasks, seeds 0 and 1; the selected SAE codes (~20 s a run) on seed 0 only."""
    expected = set()
    for m in METHODS:
        if m in ("acdc", "sp", "ugs"):
            continue
        for t in PLANTED:
            for s in ([0] if m == "sae_codes_selected" else [0, 1]):
                expected.add((m, t, t.replace("_", "-"), s, 100, ()))
    assert _grid("ci") == expected
    assert PROFILE_NAMES == PROFILES


def test_default_is_what_cdbench_run_runs_with_no_arguments():
    """README: `cdbench run` runs every method on the planted suite, 3 seeds, 100 prompt pairs."""
    expected = {(m, t, t.replace("_", "-"), s, 100, ()) for m in METHODS for t in PLANTED for s in range(3)}
    assert _grid("default") == expected


def test_full_is_every_run_of_the_reproduction_script(tmp_path):
    """Run scripts/reproduce_reports.sh against a recording stand-in for cdbench (bash expands its loops
    and variables) and compare its `cdbench run` argument lists with the full profile's, the profile's
    fast methods set to the script's list."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "reproduce_reports.sh").write_text((ROOT / "scripts" / "reproduce_reports.sh").read_text())
    bin_ = tmp_path / ".venv" / "bin"
    bin_.mkdir(parents=True)
    log = tmp_path / "calls.txt"
    for tool in ("cdbench", "python"):
        (bin_ / tool).write_text(f'#!/usr/bin/env bash\nprintf "%q " "$@" >> {shlex.quote(str(log))}\necho >> {shlex.quote(str(log))}\n')
        (bin_ / tool).chmod(stat.S_IRWXU)
    subprocess.run(["bash", str(tmp_path / "scripts" / "reproduce_reports.sh")], check=True, env={**os.environ},
                   capture_output=True)
    runs = [shlex.split(line)[1:] for line in log.read_text().splitlines() if line.startswith("run ")]
    script_fast = next(line for line in (ROOT / "scripts" / "reproduce_reports.sh").read_text().splitlines()
                       if line.startswith("FAST=")).split("=", 1)[1]
    from bench.comparison import profiles

    ours = [shlex.split(line.format(fast=script_fast, all=profiles.FULL_ALL_TASKS)) for line in profiles.FULL_RUNS]
    assert runs == ours and len(runs) == 36
    assert set(script_fast.split(",")) <= set(profiles.fast_methods())  # the registry's fast methods stand in for the list


def test_a_registered_method_becomes_cells_in_every_profile(monkeypatch):
    """One registry entry, no other edit: the new method is in ci (2 seeds x each planted task), default (3 x each) and
    full (every run of the script's fast list)."""
    toy = dataclasses.replace(METHODS["random"], key="toy_new_method", description="a stand-in")
    monkeypatch.setitem(METHODS, "toy_new_method", toy)
    count = lambda p: sum(c.spec.method == "toy_new_method" for c in cells(p))  # noqa: E731
    assert count("ci") == 2 * len(PLANTED) and count("default") == 3 * len(PLANTED)
    full_fast_lines = [a for a in profile_argvs("full") if "toy_new_method" in ",".join(a)]
    # the planted 5-seed run, the same on planted-induction's siit.v1, and the tracr/induction 3-seed run
    assert len(full_fast_lines) == 3
    assert count("full") == len(PLANTED) * 5 + 5 + 3 * 3
