"""``cdbench``: list what is here, run methods on tasks, write the report, export a circuit, fetch hub models.

Every command checks its input before any work and answers a bad one with one line on stderr and exit
code 2; deep-learning libraries are imported only once the input is known to be good."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bench.errors import CdbenchError

RESULTS = Path("reports/results.csv")


def _cmd_list(args: argparse.Namespace) -> None:
    from bench.models.registry import MODELS
    from bench.presets import PRESETS
    from bench.tasks import TASKS
    from ground_truth import available_versions
    from methods import METHODS

    print("methods:")
    for m in METHODS.values():
        print(f"  {m.key:<22} {'node+edge' if m.edges else 'node':<10} {m.description}")
    print("tasks:")
    for t in TASKS.values():
        truth = f"ground truth for {t.gt_model} ({t.default_gt})" if t.gt_model else "no ground truth"
        print(f"  {t.name:<22} {truth:<44} {t.description}")
    print("  jsonl:PATH             your prompt file (see README)")
    print("  planted                every planted-circuit task (the default)")
    print("ground truth:")
    for task, versions in available_versions().items():
        d = TASKS[task].default_gt if task in TASKS else None
        print(f"  {task:<22} " + ", ".join(v + (" (default)" if v == d else "") for v in versions))
    print("models:")
    for s in MODELS.values():
        state = "present" if s.present() else f"ABSENT ({s.missing_hint})"
        print(f"  {s.name:<22} {s.weights:<10} {state}\n  {'':<22} source: {s.source}")
    print("  hf:NAME                any TransformerLens model in the local Hugging Face cache (`cdbench fetch-models NAME`)")
    print("  path:DIR               a local Hugging Face-format directory (config.json, weights, tokenizer files)")
    print("presets:")
    for p in PRESETS.values():
        print(f"  {p.name:<22} {p.description}")


def _cmd_run(args: argparse.Namespace) -> int:
    from bench.home import runs_dir
    from bench.plan import check_grid, plan_run

    if args.executor == "ray":
        from bench.ray_executor import check_available

        check_available()  # before any work: a missing extra is a one-line error naming its install command

    plan = plan_run(method=args.method, task=args.task, model=args.model, seeds=args.seeds, seed_start=args.seed_start,
                    n_prompts=args.n_prompts, gt_version=args.gt_version, sets=args.set, device=args.device,
                    results=args.results, preset=args.preset, large_grid=args.large_grid or args.dry_run,
                    dtype=args.dtype, weights=args.weights)
    for w in plan.warnings:
        print(f"cdbench: warning: {w}", file=sys.stderr)
    if args.dry_run:
        _dry_run(plan)
        try:
            check_grid(plan.estimate, args.large_grid)
        except CdbenchError as exc:
            print(f"note: run as asked it would be refused: {exc}")
        return 0
    if len(plan.specs) > 1 and plan.estimate is not None:
        print(f"cdbench: {len(plan.specs)} runs, {plan.estimate.text()} by the committed per-run costs",
              file=sys.stderr)
    cache = None if args.no_cache else runs_dir()
    if args.executor == "ray":
        from bench.ray_executor import run_plan_on_ray

        outcome = run_plan_on_ray(plan, cache, args.ray_address)
    else:
        from bench.runner import run_plan

        outcome = run_plan(plan, cache)
    _summary(outcome.rows, outcome.appended, plan.results)
    if outcome.failures:
        print(f"cdbench: error: {len(outcome.failures)} of {len(plan.specs)} runs failed (each named above); "
              f"the rows of the other {len(plan.specs) - len(outcome.failures)} are in {plan.results}", file=sys.stderr)
        return 2
    return 0


def _dry_run(plan) -> None:
    """The grid a run would do and what it would cost by the committed per-run costs; nothing is written."""
    from collections import Counter

    from bench.costs import COMMITTED
    from bench.models.registry import get_spec

    est = plan.estimate
    print(f"dry run: {len(plan.specs)} runs on {plan.device}, rows would go to {plan.results} (nothing is written)")
    groups: dict[tuple[str, str], Counter] = {}
    seeds: dict[tuple[str, str], set[int]] = {}
    for s in plan.specs:
        groups.setdefault((s.task, s.model), Counter())[s.method] += 1
        seeds.setdefault((s.task, s.model), set()).add(s.seed)
    for (task, model), methods in groups.items():
        ss = sorted(seeds[(task, model)])
        print(f"  {task} on {model}: {plan.prompts.get(task, '?')} prompt pairs, seeds {ss[0]}..{ss[-1]}, "
              f"{sum(methods.values())} runs")
        for m, n in methods.items():
            per = est.per_run_s.get((m, model, plan.prompts.get(task, 0))) if est else None
            cost = f"{per:.1f} s a run" if per is not None else "no committed cost"
            peak = est.peak_gb.get((m, model)) if est else None
            mem = f", peak {peak[0]:.1f} GiB (recorded at {peak[1]} pairs)" if peak else ", peak memory not recorded"
            print(f"    {m:<22} {n:>4} runs  {cost}{mem if per is not None else ''}")
    if est is not None:
        print(f"estimated time: {est.text()} (medians of wall_s + null_s + faith_s by method and model in "
              f"{COMMITTED}, at the nearest recorded prompt count, scaled linearly)")
        for m, model in est.absent:
            print(f"absent: no committed cost for {m} on {model}")
    sizes = []
    for model in sorted({s.model for s in plan.specs}):
        try:
            f = get_spec(model).weights_file()
        except CdbenchError:
            f = None
        if f is not None and f.is_file():
            sizes.append(f"{model} {f.stat().st_size / 2**20:.1f} MiB")
    peaks = est.peak_gb if est is not None else {}
    pairs = {(s.method, s.model) for s in plan.specs}
    unrecorded = len(pairs - set(peaks))
    head = (f"peak memory: at most {max(gb for gb, _ in peaks.values()):.1f} GiB a run by the largest recorded "
            "peak_rss_gb (resident, model included; not scaled by prompt count)" if peaks else
            "peak memory: absent (no committed row of these methods on these models records peak_rss_gb)")
    if peaks and unrecorded:
        head += f"; {unrecorded} method/model pairs record none"
    print(head + "; weights on disk, a floor: " + (", ".join(sizes) if sizes else "none (built in memory)"))


def _summary(rows: list[dict], appended: int, results: Path) -> None:
    import pandas as pd

    if not rows:
        return
    df = pd.DataFrame(rows)
    summary = df.groupby(["task", "model", "weights", "gt_version", "method", "level"], dropna=False).agg(
        auc=("auc", "mean"), auc_sd=("auc", "std"), null_auc=("null_auc", "mean"), p_at_k=("precision_at_k", "mean"),
        wall_s=("wall_s", "median"), seeds=("seed", "nunique"))
    if (summary.seeds < 2).all():
        summary = summary.drop(columns="auc_sd")  # one seed has no spread (it would print NaN)
    print(summary.round(3).to_string())
    if (df["weights"] == "random").any():
        print("note: random-weight stand-in models: timings are real, AUCs are meaningless (plumbing only)")
    cached = len(df) - appended
    print(f"recorded {appended} new rows in {results}" + (f" ({cached} rows of cached runs were there already)"
                                                          if cached else ""))


def _cmd_report(args: argparse.Namespace) -> None:
    from bench.report import write_report

    out = write_report(args.results, args.out)
    print(f"wrote {out}")


def _cmd_export(args: argparse.Namespace) -> None:
    import re

    if not re.fullmatch(r"[0-9a-f]{16}", args.cache_key):
        raise CdbenchError(f"--cache-key {args.cache_key!r} is not a cache key (16 hex digits from the results file)")
    if args.top_k < 1:
        raise CdbenchError(f"--top-k must be at least 1, not {args.top_k}")
    from bench.export import export_run

    n_edges = export_run(args.results, args.cache_key, args.top_k, args.out)
    print(f"wrote {args.out} (top {args.top_k} of {n_edges} edges in the circuit)")


def _cmd_fetch(args: argparse.Namespace) -> None:
    from bench.models.registry import fetch_models

    fetched = fetch_models(tuple(args.names or ("gpt2", "attn-only-4l")))
    print(f"fetched {', '.join(fetched)} into the Hugging Face cache")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cdbench", description="Benchmark circuit-discovery methods against ground-truth circuits.")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="methods, tasks, ground-truth versions, models and whether they are present")
    r = sub.add_parser("run", help="run methods on tasks and record rows in the results CSV")
    r.add_argument("--task", default=None, help="task name(s), comma-separated, 'planted' (the default suite) or jsonl:PATH")
    r.add_argument("--method", default=None, help="method key(s), comma-separated, or 'all' (the default)")
    r.add_argument("--model", default=None, help="model name (default: the task's ground-truth model)")
    r.add_argument("--seeds", type=int, default=3, help="number of seeds (at most 1000)")
    r.add_argument("--seed-start", type=int, default=0)
    r.add_argument("--n-prompts", type=int, default=None, help="positive/negative prompt pairs (default 100, at most 10000)")
    r.add_argument("--weights", default=None, metavar="FILE",
                   help="a planted model retrained by `python -m bench.planting NAME --out-dir DIR`: DIR/<model>.safetensors, "
                        "scored on the ground truth that command wrote under DIR/ground_truth (give the model with --model)")
    r.add_argument("--gt-version", default=None, help="ground-truth version (default: the task's default)")
    r.add_argument("--preset", default=None, help="a named reproduction, e.g. 'paper' (see cdbench list)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a method setting")
    r.add_argument("--device", default=None, help="torch device (default: cuda if present, else cpu)")
    r.add_argument("--dtype", default=None, help="float32, bfloat16 or float16: weights and activations (default float32; "
                   "the other two on CUDA only)")
    r.add_argument("--results", type=Path, default=RESULTS)
    r.add_argument("--no-cache", action="store_true", help="recompute even if a cached run exists")
    r.add_argument("--executor", choices=("local", "ray"), default="local", help="run in this process or on Ray")
    r.add_argument("--ray-address", default=None,
                   help="join a running Ray cluster: host:port, or 'auto' for the one `ray start` made on this "
                        "machine (default: start a fresh local cluster for this command, whatever else is running, "
                        "and shut it down at the end)")
    r.add_argument("--large-grid", action="store_true",
                   help="run a grid over 1000 runs or 8 hours by the committed per-run costs (refused otherwise)")
    r.add_argument("--dry-run", action="store_true",
                   help="print the grid (runs, models, prompt counts) and its estimated cost; run and write nothing")
    rep = sub.add_parser("report", help="regenerate reports/README.md and figures from reports/ alone")
    rep.add_argument("--results", type=Path, default=RESULTS)
    rep.add_argument("--out", type=Path, default=Path("reports"))
    ex = sub.add_parser("export", help="write a recorded run's circuit as EAP-IG/MIB-style graph JSON")
    ex.add_argument("--cache-key", required=True, help="the run's cache_key column in the results CSV")
    ex.add_argument("--top-k", type=int, default=20, help="edges marked in_graph (highest |scores|)")
    ex.add_argument("--results", type=Path, default=RESULTS)
    ex.add_argument("--out", type=Path, required=True)
    fm = sub.add_parser("fetch-models", help="download hub models into the Hugging Face cache (the only command "
                        "that uses the network)")
    fm.add_argument("names", nargs="*", help="gpt2, attn-only-4l (the default), hf:NAME or a TransformerLens name")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.cmd != "fetch-models":
        os.environ["HF_HUB_OFFLINE"] = "1"  # no network at run time, before any Hugging Face library is imported
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cmds = {"list": _cmd_list, "run": _cmd_run, "report": _cmd_report, "export": _cmd_export, "fetch-models": _cmd_fetch}
    try:
        return cmds[args.cmd](args) or 0
    except CdbenchError as exc:
        print(f"cdbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cdbench: interrupted; finished runs are recorded and the results file is intact", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
