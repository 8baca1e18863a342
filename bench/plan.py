"""One validation pass over everything ``cdbench run`` was asked, before any model is loaded or any run
starts: names, settings (each checked by the method's own settings class), seeds, prompt counts, the
device, task files, ground truth and the results path. Every problem is a one-line CdbenchError; a
ground truth that does not apply to a model is an error when asked for by name and a warning otherwise."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import CdbenchError
from bench.harness import RunSpec
from bench.presets import PRESETS
from bench.results import check_results_path

# The default benchmark: the planted-circuit suite, every model with its own task.
DEFAULT_TASKS = ("planted",)


@dataclass(frozen=True)
class Plan:
    specs: list[RunSpec]
    device: str
    results: Path
    warnings: list[str] = field(default_factory=list)


def parse_set(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise CdbenchError(f"--set wants KEY=VALUE, got {item!r}")
    k, v = item.split("=", 1)
    return k.strip(), v.strip()


def expand_tasks(names: list[str]) -> list[str]:
    """Task names, with ``planted`` standing for every planted-circuit task."""
    from bench.tasks import TASKS

    out = []
    for n in names:
        out += [t for t, task in TASKS.items() if task.suite == "planted"] if n == "planted" else [n]
    return out


def plan_run(*, method: str | None, task: str | None, model: str | None, seeds: int, seed_start: int,
             n_prompts: int | None, gt_version: str | None, sets: list[str], device: str | None, results: Path,
             preset: str | None = None, dtype: str | None = None) -> Plan:
    from bench.device import pick_device
    from bench.harness import check_config_for, make_config
    from bench.models.registry import present_spec, tokenizer_note, with_dtype
    from bench.tasks import get_task
    from bench.tasks.jsonl import read_records
    from ground_truth import header
    from ground_truth.loader import check_fits, path_for
    from methods import METHODS, get_method

    pre = None
    if preset is not None:
        if preset not in PRESETS:
            raise CdbenchError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        pre = PRESETS[preset]
    n_prompts = n_prompts if n_prompts is not None else (pre.n_prompts if pre else 100)
    if seeds < 1 or n_prompts < 1:
        raise CdbenchError("--seeds and --n-prompts must be at least 1")
    if seed_start < 0:
        raise CdbenchError(f"--seed-start must be at least 0, not {seed_start}")
    check_results_path(results)
    methods = (list(pre.methods) if pre and method is None else
               list(METHODS) if method in (None, "all") else method.split(","))
    specs_m = [get_method(m) for m in methods]
    overrides = tuple(parse_set(s) for s in sets)
    if overrides and len(methods) > 1:
        raise CdbenchError("--set applies to one method; name it with --method")
    task_names = expand_tasks(task.split(",") if task else list(DEFAULT_TASKS))
    warnings: list[str] = []
    specs: list[RunSpec] = []
    for t in task_names:
        task_obj = get_task(t)
        if t.startswith("jsonl:"):
            read_records(Path(t[len("jsonl:"):]))
        model_name = model or task_obj.gt_model
        if model_name is None:
            raise CdbenchError(f"task {t} has no model of its own; name one with --model")
        model_name = with_dtype(model_name, dtype, pick_device(device))
        mspec = present_spec(model_name)
        warnings += [w for w in [tokenizer_note(t, task_obj.gt_model, model_name, mspec)] if w]
        version = gt_version or (pre.gt_versions.get(t) if pre else None)
        if version is not None:
            data = header(t, version)
            if data["model"] != mspec.stands_for:
                raise CdbenchError(f"ground truth {t}/{version} is for model {data['model']}, not {model_name}")
            check_fits(path_for(t, version), data, mspec.graph)
        elif task_obj.default_gt is not None:
            if task_obj.gt_model == mspec.stands_for:
                check_fits(path_for(t, task_obj.default_gt), header(t, task_obj.default_gt), mspec.graph)
            else:
                warnings.append(f"no ground truth for task {t} on model {model_name} (its circuit is "
                                f"{task_obj.gt_model}'s): rows carry no AUC")
        for m in specs_m:
            config = make_config(m, task_obj.family, overrides)
            check_config_for(m, config, n_prompts, mspec.shape[2])
        specs += [RunSpec(m, t, model_name, s, n_prompts, version, overrides)
                  for m in methods for s in range(seed_start, seed_start + seeds)]
    return Plan(specs, pick_device(device), Path(results), warnings)
