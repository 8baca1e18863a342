"""``cdbench``: list what is here, run methods on tasks, write the report, fetch hub models."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bench.errors import CdbenchError

RESULTS = Path("reports/results.csv")


def _cmd_list(args: argparse.Namespace) -> None:
    from bench.models.registry import MODELS
    from bench.tasks import TASK_MODELS, TASKS
    from ground_truth import available_versions, default_version
    from methods import METHODS

    print("methods:")
    for m in METHODS.values():
        print(f"  {m.key:<22} {'node+edge' if m.edges else 'node':<10} {m.description}")
    print("tasks:")
    for t in TASKS.values():
        print(f"  {t.name:<22} ground truth for {TASK_MODELS[t.name]:<13} {t.description}")
    print("  jsonl:PATH             your prompt file (see README)")
    print("ground truth:")
    for task, versions in available_versions().items():
        d = default_version(task)
        print(f"  {task:<22} " + ", ".join(v + (" (default)" if v == d else "") for v in versions))
    print("models:")
    for s in MODELS.values():
        state = "present" if s.present() else f"ABSENT ({s.missing_hint})"
        print(f"  {s.name:<22} {s.weights:<10} {state}\n  {'':<22} source: {s.source}")


def _cmd_run(args: argparse.Namespace) -> None:
    from bench.device import pick_device
    from bench.harness import DEFAULT_CACHE, RunSpec, append_results, run_many
    from bench.tasks import TASK_MODELS
    from methods import METHODS

    methods = list(METHODS) if args.method == "all" else args.method.split(",")
    tasks = args.task.split(",")
    if args.seeds < 1 or args.n_prompts < 1:
        raise CdbenchError("--seeds and --n-prompts must be at least 1")
    overrides = tuple(_parse_set(s) for s in args.set)
    if overrides and len(methods) > 1:
        raise CdbenchError("--set applies to one method; name it with --method")
    device = pick_device(args.device)
    specs = []
    for t in tasks:
        model = args.model or TASK_MODELS.get(t, "induction-2l")
        specs += [RunSpec(m, t, model, seed, args.n_prompts, args.gt_version, overrides)
                  for m in methods for seed in range(args.seed_start, args.seed_start + args.seeds)]
    df = run_many(specs, device, None if args.no_cache else DEFAULT_CACHE)
    append_results(df, args.results)
    summary = df.groupby(["task", "model", "weights", "gt_version", "method", "level"], dropna=False).agg(
        auc=("auc", "mean"), auc_sd=("auc", "std"), p_at_k=("precision_at_k", "mean"), wall_s=("wall_s", "median"),
        seeds=("seed", "nunique"))
    print(summary.round(3).to_string())
    if (df["weights"] == "random").any():
        print("note: random-weight stand-in models: timings are real, AUCs are meaningless (plumbing only)")
    print(f"appended {len(df)} rows to {args.results}")


def _parse_set(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise CdbenchError(f"--set wants KEY=VALUE, got {item!r}")
    k, v = item.split("=", 1)
    return k.strip(), v.strip()


def _cmd_report(args: argparse.Namespace) -> None:
    from bench.report import write_report

    out = write_report(args.results, args.out)
    print(f"wrote {out}")


def _cmd_export(args: argparse.Namespace) -> None:
    from bench.export import make_circuit, to_json
    from bench.graph import HeadGraph
    from bench.harness import DEFAULT_CACHE, load_cached
    from bench.models.registry import get_spec

    run = load_cached(DEFAULT_CACHE, args.cache_key)
    if run is None:
        raise CdbenchError(f"no cached run {args.cache_key} in {DEFAULT_CACHE}; take a cache_key from the results CSV")
    row = run["rows"][0]
    if run["edge_scores"] is None:
        raise CdbenchError(f"method {row['method']} gives node scores only; a circuit export needs edge scores")
    graph = HeadGraph(*get_spec(row["model"]).shape)
    meta = {k: row[k] for k in ("method", "task", "model", "seed", "config_hash", "gt_version", "cache_key")}
    to_json(make_circuit(graph, run["node_scores"], run["edge_scores"], args.top_k, meta), args.out)
    print(f"wrote {args.out} (top {args.top_k} of {len(graph.edges)} edges in the circuit)")


def _cmd_fetch(args: argparse.Namespace) -> None:
    from bench.models.registry import fetch_models

    fetch_models()
    print("fetched gpt2 and attn-only-4l into the Hugging Face cache")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cdbench", description="Benchmark circuit-discovery methods against ground-truth circuits.")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="methods, tasks, ground-truth versions, models and whether they are present")
    r = sub.add_parser("run", help="run methods on a task and append rows to the results CSV")
    r.add_argument("--task", default="induction", help="task name(s), comma-separated, or jsonl:PATH")
    r.add_argument("--method", default="all", help="method key(s), comma-separated, or 'all'")
    r.add_argument("--model", default=None, help="model name (default: the task's ground-truth model)")
    r.add_argument("--seeds", type=int, default=3, help="number of seeds")
    r.add_argument("--seed-start", type=int, default=0)
    r.add_argument("--n-prompts", type=int, default=100, help="clean/corrupted prompt pairs")
    r.add_argument("--gt-version", default=None, help="ground-truth version (default: the task's default)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a method setting")
    r.add_argument("--device", default=None, help="torch device (default: cuda if present, else cpu)")
    r.add_argument("--results", type=Path, default=RESULTS)
    r.add_argument("--no-cache", action="store_true", help="recompute even if a cached run exists")
    rep = sub.add_parser("report", help="regenerate reports/README.md and figures from the results CSV")
    rep.add_argument("--results", type=Path, default=RESULTS)
    rep.add_argument("--out", type=Path, default=Path("reports"))
    ex = sub.add_parser("export", help="write a cached run's circuit as EAP-IG/MIB-style graph JSON")
    ex.add_argument("--cache-key", required=True, help="the run's cache_key column in the results CSV")
    ex.add_argument("--top-k", type=int, default=20, help="edges marked in_graph (highest scores)")
    ex.add_argument("--out", type=Path, required=True)
    sub.add_parser("fetch-models", help="download gpt2 and attn-only-4l from the Hugging Face hub (needs network)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cmds = {"list": _cmd_list, "run": _cmd_run, "report": _cmd_report, "export": _cmd_export,
            "fetch-models": _cmd_fetch}
    try:
        cmds[args.cmd](args)
    except CdbenchError as exc:
        print(f"cdbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cdbench: interrupted; finished runs are cached and results files are intact", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
