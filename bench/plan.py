"""One validation pass over everything ``cdbench run`` was asked, before any model is loaded or any run
starts: names (stripped, duplicates dropped with a warning, empty lists refused), settings (each checked by
the method's own settings class), bounds on seeds, prompt counts and the grid's size and estimated time,
the device, task files (every prompt against the model's context), ground truth and the results path (every
file the run will write). Every problem is a one-line CdbenchError; a ground truth that does not apply to a
model is an error when asked for by name and a warning otherwise.

Bounds (a deliberate larger grid passes with ``--large-grid``; the first two are hard):
at most :data:`MAX_SEEDS` seeds, :data:`MAX_PROMPTS` prompt pairs, and, without ``--large-grid``,
:data:`MAX_RUNS` runs and :data:`MAX_GRID_S` seconds by the committed per-run costs (:mod:`bench.costs`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.costs import Estimate, estimate
from bench.errors import CdbenchError
from bench.harness import RunSpec
from bench.presets import PRESETS
from bench.results import check_results_path

# The default benchmark: the planted-circuit suite, every model with its own task.
DEFAULT_TASKS = ("planted",)
MAX_SEEDS = 1000  # the paper-scale grids use 1-5; 1000 seeds of the cheapest run is already hours
MAX_SEED = 2**31 - 1 - 2 * 1_000_003  # seeds (and the null control's offset seeds) stay within a 32-bit seed
MAX_PROMPTS = 10_000  # the papers use 100-250 pairs; 10,000 of the largest stand-in is tens of GB of activations
MAX_RUNS = 1000  # more runs than this need --large-grid (the default benchmark is about 100)
MAX_GRID_S = 8 * 3600  # an estimated grid longer than this needs --large-grid


@dataclass(frozen=True)
class Plan:
    specs: list[RunSpec]
    device: str
    results: Path  # the real results file (a symlink resolved): its lock and runs/ are beside it
    warnings: list[str] = field(default_factory=list)
    estimate: Estimate | None = None
    prompts: dict[str, int] = field(default_factory=dict)  # task -> prompt pairs each run will use


def parse_set(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise CdbenchError(f"--set wants KEY=VALUE, got {item!r}")
    k, v = item.split("=", 1)
    return k.strip(), v.strip()


def names(value: str, flag: str) -> list[str]:
    """A comma-separated list as names: whitespace stripped; an empty list or an empty name is refused."""
    parts = [v.strip() for v in value.split(",")]
    if not any(parts):
        raise CdbenchError(f"{flag} is empty; name at least one")
    if "" in parts:
        raise CdbenchError(f"{flag} {value!r} has an empty name between commas")
    return parts


def dedupe(items: list[str], what: str, warnings: list[str]) -> list[str]:
    """``items`` in order, each once; a repeat is said in a warning."""
    out: list[str] = []
    for i in items:
        if i in out:
            warnings.append(f"{what} {i} is named twice; it runs once")
        else:
            out.append(i)
    return out


def expand_tasks(names_: list[str]) -> list[str]:
    """Task names, with ``planted`` standing for every planted-circuit task."""
    from bench.tasks import TASKS

    out = []
    for n in names_:
        out += [t for t, task in TASKS.items() if task.suite == "planted"] if n == "planted" else [n]
    return out


def check_bounds(seeds: int, seed_start: int, n_prompts: int) -> None:
    if seeds < 1 or n_prompts < 1:
        raise CdbenchError("--seeds and --n-prompts must be at least 1")
    if seeds > MAX_SEEDS:
        raise CdbenchError(f"--seeds {seeds} is more than the {MAX_SEEDS} cdbench allows in one command")
    if n_prompts > MAX_PROMPTS:
        raise CdbenchError(f"--n-prompts {n_prompts} is more than the {MAX_PROMPTS} cdbench allows")
    if seed_start < 0:
        raise CdbenchError(f"--seed-start must be at least 0, not {seed_start}")
    if seed_start + seeds > MAX_SEED:
        raise CdbenchError(f"--seed-start {seed_start} + --seeds {seeds} passes the largest seed, {MAX_SEED}")


def check_grid(est: Estimate, large_grid: bool) -> None:
    """Refuse a grid over :data:`MAX_RUNS` runs or :data:`MAX_GRID_S` estimated seconds unless asked for."""
    if large_grid:
        return
    if est.runs > MAX_RUNS or est.total_s > MAX_GRID_S:
        raise CdbenchError(f"the grid is {est.runs} runs, {est.text()} by the committed per-run costs (limits: "
                           f"{MAX_RUNS} runs, {MAX_GRID_S // 3600} h); pass --large-grid to run it anyway")


def plan_run(*, method: str | None, task: str | None, model: str | None, seeds: int, seed_start: int,
             n_prompts: int | None, gt_version: str | None, sets: list[str], device: str | None, results: Path,
             preset: str | None = None, large_grid: bool = False, dtype: str | None = None,
             weights: str | None = None) -> Plan:
    from bench.device import pick_device
    from bench import truth
    from bench.models.registry import load_model, present_spec, retrained_name, split_dtype, tokenizer_note, with_dtype
    from bench.settings import check_config_for, make_config
    from bench.tasks import get_task
    from bench.tasks.jsonl import check_file, read_records
    from methods import METHODS, get_method

    if weights is not None:
        if model is None or "," in model:
            raise CdbenchError("--weights names one planted model's retrained weights; give that model with --model")
        model = retrained_name(model, weights)
    pre = None
    if preset is not None:
        if preset not in PRESETS:
            raise CdbenchError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        pre = PRESETS[preset]
    n_prompts = n_prompts if n_prompts is not None else (pre.n_prompts if pre else 100)
    check_bounds(seeds, seed_start, n_prompts)  # before anything grows with them
    paths = check_results_path(results)
    warnings: list[str] = []
    asked = names(method, "--method") if method is not None else None
    methods = (list(pre.methods) if pre and asked is None else
               [m for a in (asked or ["all"]) for m in (list(METHODS) if a == "all" else [a])])
    methods = dedupe(methods, "method", warnings)
    specs_m = [get_method(m) for m in methods]
    overrides = tuple(parse_set(s) for s in sets)
    if overrides and len(methods) > 1:
        raise CdbenchError("--set applies to one method; name it with --method")
    task_names = dedupe(expand_tasks(names(task, "--task") if task is not None else list(DEFAULT_TASKS)), "task",
                        warnings)
    specs: list[RunSpec] = []
    files: list[tuple[str, str, Path]] = []
    prompts: dict[str, int] = {}
    for t in task_names:
        task_obj = get_task(t)
        prompts[t] = n_prompts
        if t.startswith("jsonl:"):
            prompts[t] = min(n_prompts, len(read_records(Path(t[len("jsonl:"):]))[0]))
        model_name = model or task_obj.gt_model
        if model_name is None:
            raise CdbenchError(f"task {t} has no model of its own; name one with --model")
        model_name = with_dtype(model_name, dtype, pick_device(device))
        mspec = present_spec(model_name)
        if mspec.weights == "retrained":
            load_model(model_name, "cpu")  # a file that is not the model's fails here, before any run
        if t.startswith("jsonl:"):
            files.append((t, model_name, Path(t[len("jsonl:"):])))
        warnings += [w for w in [tokenizer_note(t, task_obj.gt_model, model_name, mspec)] if w]
        version = gt_version or (pre.gt_versions.get(t) if pre else None)
        if truth.resolve(task_obj, mspec.stands_for, mspec.graph, version, mspec.ground_truth) is None and task_obj.default_gt is not None:
            warnings.append(f"no ground truth for task {t} on model {model_name} (its circuit is "
                            f"{task_obj.gt_model}'s): rows carry no AUC")
        for m in specs_m:
            config = make_config(m, task_obj.family, overrides)
            check_config_for(m, config, prompts[t], mspec.shape[2])
        specs += [RunSpec(m, t, model_name, s, n_prompts, version, overrides)
                  for m in methods for s in range(seed_start, seed_start + seeds)]
    est = estimate([RunSpec(s.method, s.task, s.model, s.seed, prompts[s.task]) for s in specs])
    check_grid(est, large_grid)
    dev = pick_device(device)
    for t, model_name, path in files:  # every prompt against the model it runs on: tokens, context, degeneracy
        check_file(load_model(split_dtype(model_name)[0], "cpu"), path)  # tokens do not depend on the dtype
    return Plan(specs, dev, paths.results, warnings, est, prompts)
