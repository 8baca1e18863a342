"""Profiles: named lists of cells, each cell one :class:`bench.harness.RunSpec`.

Every profile is built from the method registry at the time it is read, so a method added to
``methods.METHODS`` (in this repository or by a ``cdbench.methods`` plug-in) becomes cells by itself:

- ``ci``: every registered method of ``cost="fast"`` on the planted suite, ``CI_SEEDS`` seeds; those of
  ``cost="costly"`` (tens of seconds a run) on ``COSTLY_SEEDS``; ``cost="slow"`` ones (sweeps and trained
  masks: ACDC, SP, UGS, minutes a run) not at all.
- ``default``: exactly what ``cdbench run`` with no arguments runs (its own argument defaults).
- ``full``: every ``cdbench run`` of ``scripts/reproduce_reports.sh``, with its list of fast methods read
  from the registry (``FULL_RUNS``; ``tests/test_plugin_profiles.py`` checks it against the script).

Cells are planned by :func:`bench.plan.plan_run`, so a profile is checked as ``cdbench run`` checks its input
(names, settings, models present, ground truth) before any cell starts."""
from __future__ import annotations

import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the plug-in reads this module in every pytest run: nothing heavy at import
    from bench.harness import RunSpec

PROFILES = ("ci", "default", "full")
COSTLY_SEEDS = 1  # a method registered as cost="costly" (tens of seconds a run) runs one seed in ci; "slow" none
CI_SEEDS = 2
CI_TASKS = "planted"

# scripts/reproduce_reports.sh, one `cdbench run` argument list per line; {fast} is the registry's fast
# methods (registered with cost="fast"), {all} the offline tasks with ground truth.
FULL_RUNS = (
    "--task planted --method {fast} --seeds 5",
    "--task planted_induction --gt-version siit.v1 --method {fast} --seeds 5",
    "--task planted --method sae_codes_selected --seeds 2",
    "--task planted_induction --gt-version siit.v1 --method sae_codes_selected --seeds 2",
    "--task planted --method acdc --seeds 1",
    "--task planted_induction --gt-version siit.v1 --method acdc --seeds 1",
    "--task planted --method sp --seeds 1",
    "--task planted_induction --gt-version siit.v1 --method sp --seeds 1",
    "--task tracr_reverse,tracr_xproportion,induction --method {fast},acdc --seeds 3",
    "--task {all} --method sae_codes --seeds 3 --set arch=cdbench_v1",
    "--task planted_induction --gt-version siit.v1 --method sae_codes --seeds 3 --set arch=cdbench_v1",
    "--task {all} --method sae_codes --seeds 3 --set positions=last",
    "--task planted_induction --gt-version siit.v1 --method sae_codes --seeds 3 --set positions=last",
    "--task {all} --method sae_codes --seeds 3 --set mse=sum --set input_scale=unit_msn",
    "--task planted_induction --gt-version siit.v1 --method sae_codes --seeds 3 --set mse=sum --set input_scale=unit_msn",
    "--task {all} --method sae_codes --seeds 3 --set top_k=3",
    "--task planted_induction --gt-version siit.v1 --method sae_codes --seeds 3 --set top_k=3",
    "--task {all} --method sae_codes --seeds 3 --n-prompts 250",
    "--task planted_induction --gt-version siit.v1 --method sae_codes --seeds 3 --n-prompts 250",
    "--task planted --method hisp --seeds 5 --set normalize=none",
    "--task planted_induction --gt-version siit.v1 --method hisp --seeds 5 --set normalize=none",
    "--task planted --method eap_ig --seeds 5 --set grid=endpoint",
    "--task planted_induction --gt-version siit.v1 --method eap_ig --seeds 5 --set grid=endpoint",
    "--task {all} --method eap_ig_activations,ifr --seeds 5",
    "--task planted_induction --gt-version siit.v1 --method eap_ig_activations,ifr --seeds 5",
    "--task tracr_reverse,tracr_xproportion --method cdt --seeds 5",
    "--task planted --method cdt --seeds 5",
    "--task planted_induction --gt-version siit.v1 --method cdt --seeds 5",
    "--task tracr_reverse,tracr_xproportion,induction --method ugs --seeds 3",
    "--task planted --method ugs --seeds 5",
    "--task planted_induction --gt-version siit.v1 --method ugs --seeds 5",
    "--task planted --method eap --seeds 5 --set ablation=mean",
    "--task planted_induction --gt-version siit.v1 --method eap --seeds 5 --set ablation=mean",
    "--task ioi --model smollm2-135m --method random,sae_codes --seeds 1 --n-prompts 40",
    "--task docstring --model attn-only-4l-random --method random,sae_codes,eap,hisp --seeds 1 --n-prompts 40",
    "--task ioi --model gpt2-random --preset paper --seeds 1 --n-prompts 40",
)
FULL_ALL_TASKS = "planted,tracr_reverse,tracr_xproportion,induction"


@dataclass(frozen=True)
class Cell:
    """One test of ``pytest --benchmark``: a run, and the device it runs on."""

    spec: RunSpec
    device: str

    @property
    def id(self) -> str:
        """``method-task-model-sSEED`` (``-nN`` when not 100 prompt pairs, ``-KEY=VALUE`` per setting): the
        pytest id and the key the baseline is read by."""
        s = self.spec
        parts = [s.method, s.task, s.model, f"s{s.seed}"]
        if s.n_prompts != 100:
            parts.append(f"n{s.n_prompts}")
        if s.gt_version:
            parts.append(f"gt={s.gt_version}")
        parts += [f"{k}={v}" for k, v in s.overrides]
        return "-".join(parts)

    @property
    def group(self) -> str:
        """The cells that share a floor: one task on one model at one prompt count."""
        return f"{self.spec.task} on {self.spec.model}, {self.spec.n_prompts} pairs"


def fast_methods(cost: str = "fast") -> list[str]:
    """Registered methods of a cost class (MethodSpec.cost): "fast" ones run on every seed of the ci profile."""
    from methods import METHODS

    return [m for m, spec in METHODS.items() if spec.cost == cost]


def _plan(argv: list[str]) -> list[Cell]:
    """The cells ``cdbench run ARGV`` would run, planned (and checked) by ``cdbench run``'s own code. A profile
    is a grid its user named (``--benchmark-profile``), so the size guard against an accidental one
    (``--large-grid``) is passed; every other check applies."""
    from bench.cli import parser
    from bench.plan import plan_run

    a = parser().parse_args(["run", *argv])
    with tempfile.TemporaryDirectory(prefix="cdbench-profile-") as tmp:  # planning checks a results path
        plan = plan_run(method=a.method, task=a.task, model=a.model, seeds=a.seeds, seed_start=a.seed_start,
                        n_prompts=a.n_prompts, gt_version=a.gt_version, sets=a.set, device=a.device,
                        results=Path(tmp) / "results.csv", preset=a.preset, large_grid=True)
    return [Cell(s, plan.device) for s in plan.specs]


def profile_argvs(name: str) -> list[list[str]]:
    """The ``cdbench run`` argument lists a profile is made of, from today's registry."""
    fast = ",".join(fast_methods())
    if name == "ci":
        argvs = [["--task", CI_TASKS, "--method", fast, "--seeds", str(CI_SEEDS)]] if fast else []
        return argvs + [["--task", CI_TASKS, "--method", m, "--seeds", str(COSTLY_SEEDS)] for m in fast_methods("costly")]
    if name == "default":
        return [[]]
    if name == "full":
        return [shlex.split(line.format(fast=fast, all=FULL_ALL_TASKS)) for line in FULL_RUNS]
    raise ValueError(f"unknown benchmark profile {name!r}; known: {', '.join(PROFILES)}")


def cells(name: str) -> list[Cell]:
    """The profile's cells, each run once (a run named twice by the profile is kept once), ordered by model
    and task so that each model is loaded once."""
    seen: dict[tuple, Cell] = {}
    for argv in profile_argvs(name):
        for c in _plan(argv):
            seen.setdefault((c.spec, c.device), c)
    order = {m: i for i, m in enumerate(dict.fromkeys(c.spec.model for c in seen.values()))}
    return sorted(seen.values(), key=lambda c: (order[c.spec.model], c.spec.task, c.spec.n_prompts, c.spec.method,
                                                c.spec.overrides, c.spec.seed))
