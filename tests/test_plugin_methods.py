"""A method from another package, through the `cdbench.methods` entry-point group: a tiny distribution
(a module and its *.dist-info with entry_points.txt) on the path of a fresh interpreter, seen by
`cdbench list`, `cdbench run --method` and `pytest --benchmark`; broken plug-ins are one line each."""
import pandas as pd

from plugin_support import PLANTED, dist_info, pytest_ids, run

TOY = '''
from dataclasses import dataclass
import torch
from methods.base import HeadScores, MethodResult, MethodSpec


@dataclass(frozen=True)
class Config:
    pass


def run(model, prompts, config, seed):
    """Each head's mean |output| on the positives' last position: a method that needs no labels."""
    _, cache = model.run_with_cache(prompts.clean.tokens, names_filter=lambda n: n.endswith("hook_z"))
    last = prompts.clean.lengths - 1
    rows = torch.arange(len(last))
    z = torch.stack([cache[f"blocks.{l}.attn.hook_z"][rows, last] for l in range(model.cfg.n_layers)])
    return MethodResult(HeadScores(z.norm(dim=-1).mean(1)))


SPEC = MethodSpec("toy_zero_label", "toy plug-in: mean |z| of each head", Config, run, edges=False,
                  setting="last position, positives only")
NOT_A_SPEC = 42
CLASH = MethodSpec("eap", "a second eap", Config, run, edges=False)
'''
EPS = """[cdbench.methods]
toy = toy_cdbench_plugin:SPEC
"""
BROKEN = """[cdbench.methods]
missing = no_such_module_anywhere:SPEC
wrong_type = toy_cdbench_plugin:NOT_A_SPEC
clash = toy_cdbench_plugin:CLASH
"""


def _plugin(tmp_path, broken=False):
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "toy_cdbench_plugin.py").write_text(TOY)
    dist_info(site, "toy-cdbench-plugin", EPS)
    if broken:
        dist_info(site, "broken-cdbench-plugin", BROKEN)
    return (site,)


def test_an_installed_plugin_method_is_listed_run_and_benchmarked(tmp_path):
    paths = _plugin(tmp_path)
    listed = run(tmp_path, "-m", "bench.cli", "list", paths=paths)
    assert listed.returncode == 0 and "toy_zero_label" in listed.stdout and listed.stderr == "", listed.stderr
    results = tmp_path / "r.csv"
    ran = run(tmp_path, "-m", "bench.cli", "run", "--method", "toy_zero_label", "--task", "planted_frac", "--seeds", "1",
              "--n-prompts", "20", "--results", str(results), paths=paths)
    assert ran.returncode == 0, ran.stderr
    rows = pd.read_csv(results)
    assert set(rows.method) == {"toy_zero_label"} and list(rows.level) == ["node"] and rows.auc.between(0, 1).all()
    collected = run(tmp_path, "-m", "pytest", "--benchmark", "--co", "-q", "-p", "no:cacheprovider", paths=paths)
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]
    ids = pytest_ids(collected.stdout)
    toy = [i for i in ids if "toy_zero_label" in i]
    assert len(toy) == 2 * len(PLANTED) and all(i.startswith("bench/comparison/suite.py::test_cell[toy_zero_label-planted_") for i in toy)
    one = run(tmp_path, "-m", "pytest", "--benchmark", "-k", "toy_zero_label-planted_frac-planted-frac-s0",
              "-p", "no:cacheprovider", paths=paths)
    assert one.returncode == 0, one.stdout[-3000:]
    assert "1 passed" in one.stdout and "new (no baseline, pass): toy_zero_label-planted_frac-planted-frac-s0" in one.stdout


def test_broken_plugins_are_one_line_each_and_the_registry_stands(tmp_path):
    paths = _plugin(tmp_path, broken=True)
    listed = run(tmp_path, "-m", "bench.cli", "list", paths=paths)
    assert listed.returncode == 0 and "toy_zero_label" in listed.stdout and "eap " in listed.stdout
    lines = listed.stderr.strip().splitlines()
    assert len(lines) == 3, listed.stderr
    missing = next(x for x in lines if " missing " in x)
    assert "cdbench.methods plug-in missing (no_such_module_anywhere:SPEC) skipped: ModuleNotFoundError" in missing
    wrong = next(x for x in lines if " wrong_type " in x)
    assert "not a methods.base.MethodSpec" in wrong
    clash = next(x for x in lines if " clash " in x)
    assert "method key 'eap' is already registered" in clash
    assert "edge attribution patching" in listed.stdout  # the built-in eap, not the clash
