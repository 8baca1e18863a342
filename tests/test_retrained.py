"""A planted model retrained by its training command runs like a shipped one: the command writes only to
``--out-dir`` (never into the repository), and ``cdbench run --weights`` scores the copy on the ground truth
that command wrote beside it, not on the shipped files."""
import json
import shutil

import pandas as pd
import pytest

import ground_truth.loader as gt_loader
from bench.cli import main
from bench.models.planted import MODELS
from bench.planting import recipe
from bench.planting.train import main as train_main
from bench.tasks import TASKS

FRAC = next(p for p in MODELS if p.name == "planted-frac")
TASK = TASKS["planted_frac"]


def test_training_command_refuses_an_out_dir_in_the_repository(capsys):
    with pytest.raises(SystemExit) as exc:
        train_main(recipe("frac"), ["--out-dir", str(gt_loader.ROOT.parent / "retrained"), "--steps", "1"])
    assert exc.value.code == 2 and "inside the repository" in capsys.readouterr().err
    assert not (gt_loader.ROOT.parent / "retrained").exists()


@pytest.fixture()
def retrained(tmp_path):
    """An out-dir as the training command leaves it: the weights, and a ground truth of its own (here a
    circuit unlike the shipped one, so the test can tell which file a row was scored on)."""
    out = tmp_path / "copy"
    (out / "ground_truth" / "planted_frac").mkdir(parents=True)
    shutil.copy(FRAC.weights_path, out / FRAC.weights_path.name)
    data = json.loads(gt_loader.path_for("planted_frac", TASK.default_gt).read_text())
    data.update(nodes=["0.0"], groups={}, edges=[["INPUT", "0.0", "q"], ["0.0", "OUTPUT", "out"]])
    own = gt_loader.write(out / "ground_truth" / "planted_frac" / f"{TASK.default_gt}.json", data)
    return out, own


def test_retrained_copy_runs_on_its_own_ground_truth(retrained, tmp_path):
    out, own = retrained
    results = tmp_path / "r.csv"
    assert main(["run", "--task", "planted_frac", "--model", "planted-frac", "--weights", str(out / "planted-frac.safetensors"),
                 "--method", "hisp", "--seeds", "1", "--n-prompts", "8", "--results", str(results)]) == 0
    rows = pd.read_csv(results, dtype=str)
    shipped = gt_loader.read(gt_loader.path_for("planted_frac", TASK.default_gt))["content_hash"]
    assert set(rows.model) == {f"weights:{(out / 'planted-frac.safetensors').resolve()}"}
    assert set(rows.weights) == {"retrained"} and set(rows.gt_version) == {TASK.default_gt}
    assert set(rows.gt_hash) == {own.split(":")[-1][:12]} != {shipped.split(":")[-1][:12]}
    node = rows[rows.level == "node"].iloc[0]
    assert float(node.k) == 1  # the copy's own circuit: one head (the shipped one has another)
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "rep")]) == 0
    assert "weights:" in (tmp_path / "rep" / "README.md").read_text()


def test_weights_is_refused_before_any_work(retrained, tmp_path, capsys):
    out, _ = retrained
    results = tmp_path / "r.csv"
    base = ["run", "--task", "planted_frac", "--method", "hisp", "--seeds", "1", "--results", str(results)]
    assert main(base + ["--model", "planted-ioi", "--weights", str(out / "planted-frac.safetensors")]) == 2
    assert "DIR/planted-ioi.safetensors" in capsys.readouterr().err
    assert main(base + ["--model", "smollm2-135m", "--weights", str(out / "planted-frac.safetensors")]) == 2
    assert "applies to a planted model" in capsys.readouterr().err
    (out / "planted-frac.safetensors").write_bytes(b"not a safetensors file")
    assert main(base + ["--model", "planted-frac", "--weights", str(out / "planted-frac.safetensors")]) == 2
    assert "is not planted-frac's" in capsys.readouterr().err
    assert not results.exists()


def test_training_command_writes_weights_and_both_versions_to_its_out_dir(tmp_path):
    """Two SIIT steps (the schedule does not matter here): the command trains, certifies and writes the
    weights and both ground-truth versions under --out-dir, and the CLI can load the copy."""
    from bench.models.registry import load_model, retrained_name

    out = tmp_path / "frac-s1"
    train_main(recipe("frac"), ["--seed", "1", "--steps", "2", "--out-dir", str(out)])
    assert (out / "planted-frac.safetensors").is_file()
    for version in ("siit.v1", "siit.v2"):
        data = gt_loader.read(out / "ground_truth" / "planted_frac" / f"{version}.json")
        assert data["version"] == version and data["evidence"]["training"]["steps"] == 2
    lm = load_model(retrained_name("planted-frac", str(out / "planted-frac.safetensors")))
    assert lm.weights_sha256 != load_model("planted-frac").weights_sha256
