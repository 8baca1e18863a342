"""``cdbench report``: regenerate ``reports/README.md`` and its figures from ``reports/`` alone.

Tables come from the results CSV; ROC curves, faithfulness curves, agreement and the SAE-code analyses
from the per-run files under ``reports/runs``; ground-truth labels from the repository's ground-truth
files; timings from ``reports/benchmark*.json``. Nothing is read from a cache, so the committed text
regenerates byte for byte on any machine (the one line that names when the report was written aside).
What it reads is checked first (:mod:`bench.report_checks`): a row its run file contradicts, or whose run
file is missing, stops the report before anything is written; rows of an older ground truth are left out
and listed. Every file is written atomically, so an interrupted report leaves the old one."""
from __future__ import annotations

import io
import json
import math
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from bench.graph import CircuitGraph  # noqa: E402
from bench.io import atomic_write_bytes, atomic_write_text  # noqa: E402
from bench.metrics import NULL_MARGIN, null_verdict, roc_curve  # noqa: E402
from bench.models.registry import get_spec  # noqa: E402
from bench.report_checks import check  # noqa: E402
from bench.report_format import fmt, num as _num  # noqa: E402
from bench.report_planted import planted_section  # noqa: E402
from bench.report_sae import paper_sections, sae_sections  # noqa: E402
from bench.results import read_results, runs_dir_for  # noqa: E402
from bench.scoring import labels_at  # noqa: E402
from ground_truth import GroundTruth, load as load_gt  # noqa: E402

TIMESTAMP_PREFIX = "Written "
MAX_CURVES = 8  # curves per panel: more cannot be told apart
PALETTE = "tab10"


def label_methods(df: pd.DataFrame) -> pd.DataFrame:
    """A run with --set options, or with another prompt count than its section's usual one, is its own row."""
    df = df.copy()
    opts = df["overrides"].fillna("").astype(str)
    df["label"] = [m if not o else f"{m} [{o}]" for m, o in zip(df["method"], opts)]
    usual = df.groupby(["task", "model", "gt_version"])["n_prompts"].transform(lambda s: s.mode().iloc[0])
    df["label"] = [m if n == u else f"{m} [n_prompts={n}]" for m, n, u in zip(df["label"], df["n_prompts"], usual)]
    return df


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (label, level), grp in df.groupby(["label", "level"], sort=True):
        n = grp.seed.nunique()
        rows.append({"label": label, "level": level, "auc": fmt(grp.auc.mean(), grp.auc.std(), n),
                     "auc_mib": fmt(grp.auc_mib.mean(), grp.auc_mib.std(), n),
                     "null": fmt(grp.null_auc.mean(), grp.null_auc.std(), n), "verdict": null_verdict(grp.auc.to_numpy(), grp.null_auc.to_numpy()),
                     "auc_acdc": fmt(grp.auc_acdc.mean(), grp.auc_acdc.std(), n),
                     "p": _num(grp.precision_at_k.mean()), "r": _num(grp.recall_at_k.mean()), "k": int(grp.k.iloc[0]),
                     "cpr": _num(grp.cpr.mean()), "cmd": _num(grp.cmd.mean()),
                     "faith": _faith_note(grp), "wall": grp.wall_s.median(), "faith_s": grp.faith_s.median(),
                     "seeds": n, "degenerate": int(grp.degenerate.astype(bool).sum()), "metric": grp.metric.iloc[0],
                     "setting": grp.setting.fillna("").iloc[0]})
    return pd.DataFrame(rows)


def _faith_note(grp: pd.DataFrame) -> str:
    level = grp.faith_level.dropna()
    if level.empty or not str(level.iloc[0]):
        return ""
    bad = grp.faith_status.fillna("ok")
    bad = bad[bad != "ok"]
    note = f"MIB {level.iloc[0]}"
    return note + (f"; {len(bad)} run(s) n/a: {bad.iloc[0]}" if len(bad) else "")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _lowest_seed_runs(grp: pd.DataFrame, runs: dict[str, dict]) -> dict[str, dict]:
    """Per method label, the checked run of its lowest seed (what figures and agreement show)."""
    out = {}
    for label, g in grp.groupby("label"):
        key = g.sort_values("seed").iloc[0].cache_key
        if key in runs:
            out[label] = runs[key]
    return out


def _panels(labels: list[str]) -> list[list[str]]:
    """Methods as registered first, variants (``method [option]``) apart, at most MAX_CURVES a panel."""
    plain = [x for x in labels if "[" not in x]
    variants = [x for x in labels if "[" in x]
    out = []
    for grp in (plain, variants):
        if grp:
            size = math.ceil(len(grp) / math.ceil(len(grp) / MAX_CURVES))  # balanced panels
            out += [grp[i: i + size] for i in range(0, len(grp), size)]
    return out


def _legend_outside(ax) -> None:
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)


def roc_figure(grp: pd.DataFrame, runs: dict[str, dict], graph: CircuitGraph, gt: GroundTruth, title: str,
               caption: str) -> bytes | None:
    """ROC curves at node and edge level: one row of panels per group of at most MAX_CURVES methods, each
    method of a panel its own colour (the same at both levels), the legend outside the axes."""
    levels = [lv for lv in ("node", "edge") if (grp.level == lv).any()]
    curves = []
    for label, run in runs.items():
        for level in levels:
            scores = run["scores"]["node_scores" if level == "node" else "edge_scores"]
            if scores is None:
                continue
            fpr, tpr = roc_curve(np.abs(np.array(scores)), labels_at(graph, gt, level))
            row = grp[(grp.label == label) & (grp.level == level)].sort_values("seed").iloc[0]
            curves.append(pd.DataFrame({"fpr": fpr, "tpr": tpr, "label": label, "method": f"{label} ({row.auc:.2f})",
                                        "level": level}))
    if not curves:
        return None
    data = pd.concat(curves)
    labels = sorted(data.label.unique())
    panels = _panels(labels)
    colours = {label: c for panel in panels for label, c in zip(panel, sns.color_palette(PALETTE, len(panel)))}
    fig, axes = plt.subplots(len(panels), len(levels), figsize=(6.6 * len(levels), 4.2 * len(panels)), squeeze=False)
    for row, panel in enumerate(panels):
        for ax, level in zip(axes[row], levels):
            sub = data[(data.level == level) & data.label.isin(panel)]
            for (label, name), c in sub.groupby(["label", "method"], sort=False):
                ax.step(c.fpr, c.tpr, where="post", color=colours[label], lw=1.4, label=name)
            ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1)
            ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01),
                   title=f"{level} level" + (" (variants)" if any("[" in x for x in panel) else ""))
            _legend_outside(ax)
    fig.suptitle(title, fontsize=11)
    fig.text(0.5, 0.005, caption, ha="center", fontsize=7.5)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    return _png(fig)


def faithfulness_figure(runs: dict[str, dict], title: str) -> bytes | None:
    """MIB faithfulness by circuit size, at most MAX_CURVES methods a panel, legend outside."""
    curves = {label: run["faithfulness"] for label, run in runs.items()
              if run.get("faithfulness") and run["faithfulness"]["status"] == "ok"}
    if not curves:
        return None
    panels = _panels(sorted(curves))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8.4, 3.9 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        for label, colour in zip(panel, sns.color_palette(PALETTE, len(panel))):
            f = curves[label]
            ax.plot(f["percentages"], f["faithfulness"], marker="o", ms=3, lw=1.3, color=colour,
                    label=f"{label} ({f['level']}; CPR {f['cpr']:.2f})")
        ax.set_xscale("log")
        ax.axhline(1, ls=":", c="grey", lw=1)
        ax.set(xlabel="circuit size (share of scored items)", ylabel="faithfulness")
        _legend_outside(ax)
    axes[0, 0].set_title(title, fontsize=10)
    fig.tight_layout()
    return _png(fig)


def agreement_lines(runs: dict[str, dict]) -> list[str]:
    """Spearman rank correlation between methods' node scores (lowest seed): agreement without ground truth."""
    scores = {label: pd.Series(np.abs(run["scores"]["node_scores"])) for label, run in runs.items()}
    if len(scores) < 2:
        return []
    corr = pd.DataFrame(scores).corr(method="spearman")
    methods = list(corr.columns)
    lines = ["Agreement between methods: Spearman rank correlation of |node scores| (lowest seed).", "",
             "| | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for m in methods:
        lines.append(f"| {m} | " + " | ".join("n/a" if np.isnan(v) else f"{v:.2f}" for v in corr.loc[m]) + " |")
    if corr.isna().all(axis=1).any():
        lines += ["", "n/a: that method gave every head the same score on this seed, so it has no ranking to compare."]
    return lines + [""]


CONVENTIONS = [
    "## Conventions: which quantity each number is", "",
    "| column | what it is | follows |", "|---|---|---|",
    "| ROC AUC, node | rank AUC (Mann-Whitney, ties 1/2) of |score| over every head | the SAE-code paper's node ROC |",
    "| ROC AUC, edge | the same over every edge of ACDC's graph: embeddings, each head's q/k/v inputs (with ACDC's internal input -> q/k/v edges) and output, each MLP, the final residual "
    f"({len(CircuitGraph(12, 12, False).edges):,} edges on GPT-2 small) | ACDC's candidate set and true edges |",
    "| ROC AUC, edge_head | the same over (sender, receiver) pairs with a head's q, k and v inputs merged into one edge (internal edges dropped); an edge is true when any of its ports is, and scores its largest |port score| | InterpBench's comparison (prepare_circuit_for_evaluation) |",
    "| ROC AUC, node_mlp | heads and MLPs ranked together, where ground truth names MLPs | cdbench |",
    "| AUC (MIB) | MIB's InterpBench AUROC: the top floor(pct x N) candidates by |score| at pct = 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100 % (ties at the cutoff in expectation), their (FPR, TPR), the trapezoid area between consecutive points with FPR divided by the last one, no (0, 0) anchor; at edge over MIB's graph (the additive edges), at edge_head over the merged edges; n/a at node levels | MIB circuit track (evaluate_area_under_roc) |",
    "| AUC (ACDC) | ACDC's own ROC area for threshold-sweep methods (ACDC, SP): each threshold's circuit is a point, Pareto-optimal points, staircase area; a node is in a circuit when any incident edge is | ACDC (acdc_graphics.pessimistic_auc) |",
    "| null AUC | the same run with the negatives replaced by a disjoint batch of other positives; only for methods that compare positive and negative sets | cdbench's control |",
    "| precision@k, recall@k | the top k by |score|, k = size of the ground truth, ties in expectation | cdbench |",
    "| CPR, CMD | MIB's faithfulness areas over circuit sizes 0.1 %..100 % (floor of pct x N, nominal x-axis, pruned circuits, every other edge patched from the corrupted prompt; CPR ranks by signed score, CMD by |score|); edge level for edge methods (N = MIB's graph, the additive edges), node level (heads) for node-only methods; n/a where m(M) - m(empty) is within 2 SE of 0 | MIB circuit track |",
    "| wall s | median seconds of the method's own run (ACDC: its sweep's compute, cached thresholds included); faithfulness in faith s, the null control in `null_s` of results.csv | cdbench |",
    "",
    "Node scores of edge methods follow ACDC's rule: a head's score is its largest |incident edge score| (it is in a "
    "circuit when any of its edges is). A run whose AUC is not clearly above its null AUC (by more than "
    f"{NULL_MARGIN} and, with two or more seeds, by 2 standard errors of the paired differences) is flagged: such a "
    "score carries no positive-vs-negative signal.", ""]


def benchmark_section(path: Path) -> list[str]:
    """Wall-clock table from a pytest-benchmark JSON: medians, and ratios within each group to the group's
    floor (the bare forward pass) where it has one, otherwise to the group's fastest entry."""
    data = json.loads(path.read_text())
    rows = [{"group": b.get("group") or "", "name": b["name"], "median_s": b["stats"]["median"],
             "rounds": b["stats"]["rounds"],
             "notes": ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in b.get("extra_info", {}).items())}
            for b in data["benchmarks"]]
    df = pd.DataFrame(rows)
    machine = data.get("machine_info", {})
    lines = [f"## Wall clock ({path.name}, pytest-benchmark)", "",
             f"One run on {data.get('datetime', '')[:16]}, {machine.get('cpu', {}).get('brand_raw', machine.get('processor', ''))}, "
             f"{machine.get('python_implementation', '')} {machine.get('python_version', '')}; ratios compare medians "
             "within a group.", ""]
    for group, grp in df.groupby("group"):
        floor = grp[grp.name.str.contains("floor")]
        ref_name = "the floor" if len(floor) else "the fastest"
        ref_s = float((floor if len(floor) else grp).median_s.min())
        lines += [f"**{group}**", "", f"| benchmark | median s | rounds | ratio to {ref_name} | notes |", "|---|---|---|---|---|"]
        for r in grp.sort_values("median_s").itertuples():
            ratio = "" if np.isnan(ref_s) else f"{r.median_s / ref_s:.2f}"
            lines.append(f"| {r.name} | {r.median_s:.4f} | {r.rounds} | {ratio} | {r.notes} |")
        lines.append("")
    return lines


def cluster_section(df: pd.DataFrame) -> list[str]:
    """What the recorded grid costs: per model and method, the median seconds a run took here (method plus
    faithfulness), the runs recorded, their total and the largest recorded peak memory, so a cluster user can
    size a grid and its workers before launching it."""
    base = df[df.level == "node"].copy()  # one row per run
    if base.empty:
        return []
    base["run_s"] = base.wall_s.fillna(0) + base.faith_s.fillna(0) + base.null_s.fillna(0)
    g = base.groupby(["model", "method", "device"], dropna=False).agg(
        runs=("cache_key", "nunique"), median_s=("run_s", "median"), total_s=("run_s", "sum"),
        peak=("peak_rss_gb", "max"), measured=("peak_rss_gb", "count")).reset_index()
    total = float(g.total_s.sum())
    lines = ["## On a cluster: what each run costs", "",
             "Per model and method: the median seconds of one recorded run here (the method's wall time, its null "
             "control's where it has one, and its faithfulness curve), the runs recorded and their sum. Runs are independent, so on W workers of this speed "
             f"the recorded grid takes about its total / W. Total recorded here: {total / 60:.1f} min "
             f"({base.cache_key.nunique()} runs). Peak GiB: the largest `peak_rss_gb` (a run's resident "
             "high-water mark, the model included) among the runs that record one (how many do, in brackets); "
             "empty where none does (runs from before the column).", "",
             "| model | method | device | runs | median s per run | total s | peak GiB |", "|---|---|---|---|---|---|---|"]
    for r in g.sort_values(["model", "median_s"]).itertuples():
        peak = f"{r.peak:.2f} ({r.measured})" if r.measured else ""
        lines.append(f"| {r.model} | {r.method} | {r.device} | {r.runs} | {r.median_s:.2f} | {r.total_s:.0f} | {peak} |")
    return lines + [""]


def provenance_lines(df: pd.DataFrame) -> list[str]:
    commits = sorted(df.cdbench_commit.fillna("unknown").astype(str).unique())
    versions = sorted(df.versions.fillna("").astype(str).unique())
    return [f"Rows come from cdbench commit(s) {', '.join(f'`{c}`' for c in commits)} with "
            + "; ".join(f"`{v}`" for v in versions) + ". Every row names its own code, weights (sha256), prompt set, "
            "ground truth (hash), settings, seed and device; see `results.csv`.", ""] + method_code_lines(df)


def method_code_lines(df: pd.DataFrame) -> list[str]:
    """Whether each method's rows come from one implementation (one ``method_code``), naming any that do not:
    rows of two implementations averaged into one cell are not one method's numbers."""
    code = df.method_code.fillna("").astype(str)
    known = df[code != ""]
    per = known.groupby("method").method_code.agg(lambda c: sorted(c.unique()))
    mixed = {m: codes for m, codes in per.items() if len(codes) > 1}
    unknown = df[code == ""].groupby("method").size()
    text = ("Method code (`method_code`: a hash of the method's module and the `methods/` modules it imports, "
            "recomputed from the named commit's files for rows written before the column existed): ")
    if mixed:
        text += "**rows of more than one implementation:** " + "; ".join(
            f"**{m}** ({len(c)} codes: " + ", ".join(f"`{x}` {int((known.method == m).mul(known.method_code == x).sum())} rows"
                                                      for x in c) + ")" for m, c in sorted(mixed.items())) + \
            ". Their cells average implementations; rerun the older rows. "
    else:
        text += "every method's rows come from one implementation. "
    if len(unknown):
        text += ("Rows from a `+dirty` checkout name no code (it cannot be recovered): "
                 + ", ".join(f"{m} {n}" for m, n in unknown.items()) + ".")
    return [text, ""]


def section(task: str, model: str, gt_version: str, grp: pd.DataFrame, checked_runs: dict[str, dict],
            figures: dict[str, bytes]) -> list[str]:
    weights = grp.weights.iloc[0]
    gt_hash = grp.gt_hash.iloc[0] if isinstance(grp.gt_hash.iloc[0], str) else ""
    seeds = sorted(grp.seed.unique().tolist())
    lines = [f"## {task} on {model}", ""]
    if weights == "random":
        lines += ["**Plumbing only: random-weight stand-in model. Timings are real; AUCs are meaningless.**", ""]
    truth = (f"Ground truth `{gt_version}` (hash `{gt_hash}`)" if gt_version != "none" else
             "No ground truth for this task on this model: ROC AUC, precision and recall are n/a; faithfulness "
             "(CPR, CMD), wall time and agreement between methods are still measured")
    prompt_sets = ", ".join(sorted({str(p).split("@")[0] for p in grp.prompt_set}))
    lines += [f"{truth}; prompts `{prompt_sets}`; seeds {seeds}; device {grp.device.iloc[0]}; "
              f"{int(grp.n_prompts.mode().iloc[0])} prompt pairs unless a row says otherwise.", ""]
    spec = get_spec(model)
    graph = spec.graph
    gt = load_gt(task, gt_version, graph, spec.ground_truth) if gt_version != "none" else None
    if gt is not None:
        few = len(graph.nodes) - len(gt.heads)
        lines += [f"The ground truth holds {len(gt.heads)} of {len(graph.nodes)} heads"
                  + (f" and {len(gt.mlps)} of {len(graph.mlps)} MLPs" if graph.mlps else "")
                  + f", and {len(gt.edges)} of {len(graph.edges)} edges"
                  + (f"; with {few} negative head(s), the node level says little" if len(gt.heads) > 0.75 * len(graph.nodes) else "")
                  + ".", ""]
    table = summary_table(grp)
    lines += ["| method | level | ROC AUC | AUC (MIB) | null AUC | AUC (ACDC) | precision@k | recall@k | k | CPR | CMD | faithfulness | "
              "median wall s | faith s | degenerate runs | metric | setting |",
              "|---" * 17 + "|"]
    for r in table.to_dict("records"):
        null = r["null"] + (f" (**{r['verdict']}**)" if r["verdict"] else "")
        lines.append(f"| {r['label']} | {r['level']} | {r['auc']} | {r['auc_mib']} | {null} | {r['auc_acdc']} | {r['p']} | {r['r']} | {r['k']} | "
                     f"{r['cpr']} | {r['cmd']} | {r['faith']} | {r['wall']:.3f} | {r['faith_s']:.2f} | "
                     f"{r['degenerate']}/{r['seeds']} | {r['metric']} | {r['setting']} |")
    lines.append("")
    runs = _lowest_seed_runs(grp, checked_runs)
    lines += agreement_lines(runs)
    slug = f"{task}_{model}_{gt_version}".replace(":", "_").replace("/", "_")
    if gt is not None:
        caption = (f"ground truth {gt_version} ({gt_hash}), seed {seeds[0]}" + ("; RANDOM WEIGHTS: meaningless" if weights == "random" else ""))
        png = roc_figure(grp, runs, graph, gt, f"{task} on {model}: ROC", caption)
        if png is not None:
            figures[f"roc_{slug}.png"] = png
            lines += [f"![ROC curves, {task} on {model}](roc_{slug}.png)", "", f"*ROC curves, seed {seeds[0]} ({caption}).*", ""]
        lines += sae_sections(grp, gt, graph, checked_runs)
    png = faithfulness_figure(runs, f"{task} on {model}: MIB faithfulness")
    if png is not None:
        figures[f"faithfulness_{slug}.png"] = png
        lines += [f"![faithfulness, {task} on {model}](faithfulness_{slug}.png)", "",
                  f"*MIB faithfulness of each method's circuits by size (seed {seeds[0]}): edge level for edge methods, "
                  "heads for node-only methods; every edge outside the circuit patched from the corrupted prompt.*", ""]
    return lines


def write_report(results: Path, out_dir: Path) -> Path:
    """Check what the results and run files say, then write README.md and the figures into ``out_dir``."""
    runs_dir = runs_dir_for(results)
    checked = check(read_results(results), runs_dir)
    df = label_methods(checked.rows)
    lines = ["# cdbench results", "",
             f"Generated by `cdbench report` from `{results}` and `{Path(results).parent / runs_dir.name}`; do not edit "
             "by hand.", "",
             TIMESTAMP_PREFIX + datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") + ".", ""]
    if checked.stale:
        lines += ["**Stale rows left out** (their ground truth changed since they were scored):", ""]
        lines += [f"- {s}" for s in checked.stale] + [""]
    if checked.superseded:
        lines += ["**Superseded rows left out** (a later run of the same settings replaced them after a default "
                  "changed):", ""]
        lines += [f"- {s}" for s in checked.superseded] + [""]
    lines += provenance_lines(df) + CONVENTIONS + planted_section(df) + paper_sections(df)
    figures: dict[str, bytes] = {}
    for (task, model, gt_version), grp in df.groupby(["task", "model", "gt_version"], sort=True):
        lines += section(task, model, gt_version, grp, checked.runs, figures)
    for bench_file in sorted(Path(results).parent.glob("benchmark*.json")):  # beside the results, like runs/
        lines += benchmark_section(bench_file)
    lines += cluster_section(df)
    for stale in Path(out_dir).glob("*.png"):  # figures of runs no longer in the results file
        if stale.name not in figures:
            stale.unlink()
    for name, png in figures.items():
        atomic_write_bytes(Path(out_dir) / name, png)
    readme = Path(out_dir) / "README.md"
    atomic_write_text(readme, "\n".join(lines) + "\n")
    return readme
