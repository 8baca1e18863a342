"""The regression gate of `pytest --benchmark`: verdicts on hand-made figures, the baseline reader, the
determinism the AUC tolerance rests on, and a test double that must fail the gate against a real baseline."""
import json
import math

import pytest

from bench.comparison import gate
from bench.comparison.cell import extra_info, run_cell
from bench.comparison.profiles import cells
from plugin_support import ROOT, run

BASE = {"cell": "m-t-x-s0", "auc_node": 0.90, "auc_edge": 0.80, "null_auc_node": 0.5, "time_ratio": 2.0, "method_s": 1.0}


def _today(**kw):
    return {**BASE, **kw}


def test_verdicts_on_hand_made_figures():
    assert gate.judge("c", _today(), BASE).status == gate.SAME
    assert gate.judge("c", _today(auc_node=0.90 - 0.019), BASE).status == gate.SAME  # inside the tolerance
    assert gate.judge("c", _today(auc_node=0.90 - 0.021), BASE).failed  # just beyond it
    v = gate.judge("c", _today(auc_edge=0.70), BASE, "base.json")
    assert v.failed and v.lines == ("cell c: auc_edge fell from 0.8000 in base.json to 0.7000 today (by 0.1000, tolerance 0.02)",)
    assert gate.judge("c", _today(auc_edge=0.95), BASE).status == gate.IMPROVED
    assert gate.judge("c", _today(null_auc_node=0.99), BASE).status == gate.SAME  # a null AUC is not gated
    gone = {k: v for k, v in _today().items() if k != "auc_edge"}
    assert "not reported today" in gate.judge("c", gone, BASE).lines[0]
    assert gate.judge("c", _today(), None).status == gate.NEW
    # time: beyond the factor fails, within passes, a sub-TIME_MIN_S method is not time-gated, faster says so
    slow = gate.judge("c", _today(time_ratio=2.0 * 10.1, method_s=10.1, floor_s=0.5), BASE)
    assert slow.failed and "time / floor grew from 2.00" in slow.lines[0] and "20.20" in slow.lines[0]
    assert gate.judge("c", _today(time_ratio=2.0 * 9.9, method_s=9.9, floor_s=0.5), BASE).status == gate.SAME
    assert gate.judge("c", _today(time_ratio=100.0, method_s=0.2, floor_s=0.002), BASE).status == gate.SAME
    assert gate.judge("c", _today(time_ratio=0.1), BASE).status == gate.IMPROVED
    both = gate.judge("c", _today(auc_node=0.5, auc_edge=0.99), BASE)
    assert both.failed and len(both.lines) == 2  # the regression fails the cell; the rise is still said


def test_baseline_reader_takes_cells_and_refuses_other_files(tmp_path):
    good = tmp_path / "b.json"
    good.write_text(json.dumps({"benchmarks": [{"extra_info": {"floor_of": "g"}}, {"extra_info": BASE}]}))
    assert gate.load_baseline(good) == {"m-t-x-s0": BASE}
    for text in ("not json", json.dumps({"no": "benchmarks"}), json.dumps({"benchmarks": [3]})):
        (tmp_path / "bad.json").write_text(text)
        with pytest.raises(gate.BaselineError, match="is not a pytest-benchmark JSON"):
            gate.load_baseline(tmp_path / "bad.json")


def test_a_cell_run_twice_gives_the_same_figures():
    """What the AUC tolerance rests on: on CPU a cell is a function of its seed. Twice each, a trained
    method (the SAE codes' fast schedule), a gradient one (EAP-IG) and the random floor."""
    import torch

    torch.set_num_threads(1)
    todo = [c for c in cells("ci") if c.spec.task == "planted_frac" and c.spec.seed == 0
            and c.spec.method in ("sae_codes_fast", "eap_ig", "random")]
    assert len(todo) == 3
    for c in todo:
        a, b = (extra_info(c, run_cell(c, lambda fn, args: fn(*args)), 1.0, 1.0, "ci") for _ in range(2))
        aucs = gate.auc_columns(a)
        assert aucs and [a[k] for k in aucs] == [b[k] for k in aucs], c.id
        assert all(0 <= a[k] <= 1 for k in aucs) and not any(math.isnan(a[k]) for k in aucs)


DOUBLE = '''
import dataclasses
import torch
from methods import METHODS
from methods.base import EdgeScores, HeadScores, MethodResult

real = METHODS["eap"]

def reversed_eap(model, prompts, config, seed):
    """EAP with its ranking turned upside down: |score| -> max |score| - |score| (a sign flip alone is
    invisible to the gate, which ranks by magnitude)."""
    r = real.run(model, prompts, config, seed)
    flip = lambda t: t.abs().max() - t.abs()
    return MethodResult(HeadScores(flip(r.nodes.scores), None if r.nodes.mlps is None else flip(r.nodes.mlps)),
                        EdgeScores(flip(r.edges.scores)), r.diagnostics)

METHODS["eap"] = dataclasses.replace(real, run=reversed_eap)
'''


def test_a_test_double_in_place_of_a_baselined_method_fails_the_gate(tmp_path):
    """A baseline from the real methods, then the same cells with EAP replaced by a double whose ranking is
    reversed (registered by a conftest, as a user's project would): EAP's cells fail, each with a message
    naming the cell, the baseline and today's figure; HISP's pass. pytest-benchmark's own --benchmark-save /
    --benchmark-compare run alongside unchanged. The time factor is lifted so that only AUCs decide here."""
    sel = ["-k", "eap-planted_frac-planted-frac-s0 or hisp-planted_frac-planted-frac-s0", "-p", "no:cacheprovider",
           "--benchmark-time-factor", "1000", "--benchmark-storage", str(tmp_path / "storage")]
    base = tmp_path / "baseline.json"
    first = run(tmp_path, "-m", "pytest", "--benchmark", *sel, "--benchmark-json", str(base), "--benchmark-save", "base")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert "0 regressed" in first.stdout and "of 2 cells run" in first.stdout  # (against reports/baseline-ci.json)
    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text(DOUBLE)
    second = run(tmp_path, "-m", "pytest", "--benchmark", *sel, "--benchmark-baseline", str(base),
                 "--benchmark-compare", "--rootdir", str(project), cwd=project)
    out = second.stdout
    assert second.returncode == 1, out[-3000:] + second.stderr[-2000:]
    assert "1 failed, 1 passed" in out and "1 regressed, 0 improved, 1 same, 0 new of 2 cells run" in out
    assert "FAILED" in out and "test_cell[eap-planted_frac-planted-frac-s0]" in out
    for level in ("auc_node", "auc_edge"):
        line = next(x for x in out.splitlines() if x.startswith("REGRESSED") and level in x)
        assert f"cell eap-planted_frac-planted-frac-s0: {level} fell from" in line and str(base) in line, line
    b = gate.load_baseline(base)["eap-planted_frac-planted-frac-s0"]
    assert b["auc_node"] > 0.6 and f"{b['auc_node']:.4f} in {base}" in out  # the baseline's own figure, quoted
    # --benchmark-compare is accepted beside the gate (the run above got to the gate, exit 1, not a usage error 4);
    # its rows do not match here: a project outside cdbench's tree gives the cells another node id (open point).


def test_the_committed_baseline_is_read_by_the_gate_and_the_report():
    """reports/baseline-ci.json is the ci profile's pytest-benchmark JSON: every entry a ci cell with its
    AUCs and time ratio or a floor, and `cdbench report`'s benchmark reader takes it as it takes benchmark.json."""
    from bench.report import benchmark_section

    path = ROOT / "reports" / "baseline-ci.json"
    base = gate.load_baseline(path)
    assert len(base) >= 40 and all(v["profile"] == "ci" and gate.auc_columns(v) and v["time_ratio"] > 0 for v in base.values())
    assert {v["method"] for v in base.values()} >= {"random", "eap", "eap_ig", "hisp", "sae_codes"}
    lines = benchmark_section(path)
    assert lines[0] == "## Wall clock (baseline-ci.json, pytest-benchmark)" and any("test_floor[" in x for x in lines)
