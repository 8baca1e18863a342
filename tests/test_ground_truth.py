import json
import shutil
import subprocess
import sys

import pytest

from bench.errors import GroundTruthError, UnknownNameError
from bench.graph import CircuitGraph, Edge
from ground_truth import available_versions, header, load, load_file
from ground_truth.build import expand
from ground_truth.loader import ROOT, content_hash

GPT2 = CircuitGraph(12, 12, attn_only=False)
ATTN4L = CircuitGraph(4, 8, attn_only=True)
IOI_HEADS = {"9.9", "10.0", "9.6", "10.10", "10.6", "10.2", "10.1", "11.2", "9.7", "9.0", "11.9", "10.7", "11.10",
             "7.3", "7.9", "8.6", "8.10", "5.5", "5.8", "5.9", "6.9", "0.1", "0.10", "3.0", "2.2", "4.11"}


def test_true_edges_equal_acdc_counts():
    """ACDC's true-edge sets, counted from its code: IOI 1,041, greater-than 262, docstring 37."""
    ioi = load("ioi", "wang2022.v2", GPT2)
    assert len(ioi.edges) == 1_041 and ioi.heads == IOI_HEADS  # node set unchanged: Wang et al.'s 26 heads
    gt = load("greater_than", "hanna2023.v2", GPT2)
    assert len(gt.edges) == 262
    assert gt.heads == {"0.1", "0.3", "0.5", "5.5", "6.1", "6.9", "7.10", "8.11", "9.1"}
    assert gt.mlps == {"m0", "m1", "m2", "m3", "m8", "m9", "m10", "m11"}
    doc = load("docstring", "heimersheim2023.v2", ATTN4L)
    assert len(doc.edges) == 37 and sum(e.internal for e in doc.edges) == 13
    assert doc.heads == {"0.5", "1.2", "1.4", "2.0", "3.0", "3.6"}


def test_ioi_keeps_the_mlp_edges_acdc_counts():
    """ACDC masks only non-circuit heads: circuit heads keep MLP -> q/k/v and head -> MLP edges."""
    ioi = load("ioi", "wang2022.v2", GPT2)
    assert Edge("m3", "7.3", "k") in ioi.edges  # S-inhibition k from an MLP, though INPUT feeds only its q
    assert Edge("9.9", "m10", "in") in ioi.edges and Edge("9.9", "OUTPUT", "out") in ioi.edges
    assert Edge("INPUT", "7.3", "k") not in ioi.edges and Edge("INPUT", "7.3", "q") in ioi.edges
    assert Edge("m0", "m5", "in") in ioi.edges and Edge("INPUT", "OUTPUT", "out") in ioi.edges
    assert not any("2.3" in (e.sender, e.receiver) for e in ioi.edges)  # a head outside the circuit


def test_released_head_lists_are_separate_versions():
    ioi, variant = load("ioi", "wang2022.v2", GPT2), load("ioi", "oneill2024.v2", GPT2)
    assert ioi.heads ^ variant.heads == {"9.0", "11.3"}
    doc, dvar = load("docstring", "heimersheim2023.v2", ATTN4L), load("docstring", "oneill2024.v2", ATTN4L)
    assert doc.heads ^ dvar.heads == {"1.2", "1.0"}


def test_every_file_rebuilds_from_its_construction_and_fits_its_model():
    from bench.models.registry import get_spec

    for task, versions in available_versions().items():
        for v in versions:
            data = header(task, v)
            assert expand(data) == data["edges"], (task, v)
            gt = load(task, v, get_spec(data["model"]).graph)
            assert gt.heads and gt.edges


def test_a_file_for_another_shape_is_rejected():
    with pytest.raises(GroundTruthError, match="built for a model of shape"):
        load("ioi", "wang2022.v2", ATTN4L)


def _variant(tmp_path, mutate, name="bad.json"):
    data = json.loads((ROOT / "ioi" / "wang2022.v2.json").read_text())
    mutate(data)
    data["content_hash"] = content_hash(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_edited_file_is_rejected(tmp_path):
    data = json.loads((ROOT / "ioi" / "wang2022.v2.json").read_text())
    data["groups"]["name_mover"].append("11.11")
    bad = tmp_path / "edited.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(GroundTruthError, match="content hash"):
        load_file(bad, GPT2)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("edges"), "'edges' missing"),
    (lambda d: d.update(schema="other/9"), "schema"),
    (lambda d: d["edges"].append(["9.9", "INPUT", "q"]), "backwards"),
    (lambda d: d["edges"].append(["9.9", "1.0", "q"]), "not in the model's graph"),
    (lambda d: d["groups"].update(name_mover=["nine.nine"]), "not a head name"),
    (lambda d: d["groups"].update(name_mover=["12.0"]), "out of range"),
])
def test_malformed_files_are_rejected(tmp_path, mutate, message):
    with pytest.raises(GroundTruthError, match=message):
        load_file(_variant(tmp_path, mutate), GPT2)


def test_task_and_version_must_match_the_path(tmp_path, monkeypatch):
    root = tmp_path / "gt"
    shutil.copytree(ROOT / "ioi", root / "ioi")
    (root / "ioi" / "wang2022.v2.json").rename(root / "ioi" / "other.v9.json")
    monkeypatch.setattr("ground_truth.loader.ROOT", root)
    with pytest.raises(GroundTruthError, match="its path says"):
        header("ioi", "other.v9")


def test_not_json_and_unknown_version(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(GroundTruthError, match="not valid JSON"):
        load_file(bad, GPT2)
    with pytest.raises(UnknownNameError, match="available"):
        load("ioi", "nope.v9", GPT2)


def test_stamp_on_malformed_json_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    out = subprocess.run([sys.executable, "-m", "ground_truth", "stamp", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "not valid JSON" in out.stderr


# Written out by hand from each circuit's description (not from the files or the code that built them).
PLANTED_FRAC_EDGES = {("INPUT", "m0", "in"), ("INPUT", "1.2", "q"), ("INPUT", "1.2", "k"), ("INPUT", "1.2", "v"),
                      ("m0", "1.2", "q"), ("m0", "1.2", "k"), ("m0", "1.2", "v"), ("1.2", "1.2", "q"),
                      ("1.2", "1.2", "k"), ("1.2", "1.2", "v"), ("m0", "OUTPUT", "out"), ("1.2", "OUTPUT", "out")}
TRACR_REVERSE_EDGES = {("INPUT", "3.0", "v"), ("3.0", "3.0", "v"), ("3.0", "OUTPUT", "out")}
TRACR_XPROPORTION_EDGES = {("INPUT", "m0", "in"), ("m0", "1.0", "v"), ("1.0", "1.0", "v"), ("1.0", "OUTPUT", "out")}
# Induced subgraph of the mapped components on every port, counted by hand: from the embeddings (3 per head,
# 1 per MLP), between components that run forward (3 into a head, 1 into an MLP, a head into its own
# layer's MLP included), one into the output each, and 3 internal q/k/v edges per head.
PLANTED_COUNTS = {"planted_ioi": 10 + 7 + 4 + 3 + 4 + 9, "planted_reverse": 7 + 7 + 3 + 6,
                  "planted_induction": 6 + 3 + 2 + 6,
                  # 7 heads, m2: 22 from INPUT; layer-0 heads into layer 1's (12), layer 3's (18) and m2 (2),
                  # layer-1 heads into layer 3's (18) and m2 (2), m2 into layer 3's (9); 8 outputs; 21 internal
                  "planted_ioi_32": 22 + 12 + 18 + 2 + 18 + 2 + 9 + 8 + 21,
                  # 4 layer-0 heads, m1, m2: 14 from INPUT; the heads into m1 and m2 (8), m1 into m2; 6 outputs;
                  # 12 internal (no edges among heads of one layer)
                  "planted_greater_32": 14 + 8 + 1 + 6 + 12,
                  # 7 heads, attention only (0.1, 0.2, 0.5, 0.6; 3.0, 3.3, 3.6): 21 from INPUT; the four layer-0
                  # heads into the three layer-3 ones (36); 7 outputs; 21 internal
                  "planted_docstring_32": 21 + 36 + 7 + 21,
                  # 5 heads (0.2, 0.5; 2.1, 2.4, 2.6), m1: 16 from INPUT; the layer-0 heads into m1 (2) and into the
                  # layer-2 heads (18), m1 into the layer-2 heads (9); 6 outputs; 15 internal
                  "planted_reverse_32": 16 + 2 + 18 + 9 + 6 + 15}


def test_planted_and_tracr_edges_match_hand_written_expectations():
    from bench.models.registry import get_spec

    def edges(task, version):
        data = header(task, version)
        return {(e.sender, e.receiver, e.port) for e in load(task, version, get_spec(data["model"]).graph).edges}

    assert edges("planted_frac", "siit.v1") == PLANTED_FRAC_EDGES
    assert edges("tracr_reverse", "miller2024.v2") == TRACR_REVERSE_EDGES
    assert edges("tracr_xproportion", "miller2024.v2") == TRACR_XPROPORTION_EDGES
    for task, n in PLANTED_COUNTS.items():
        got = edges(task, "siit.v1")
        assert len(got) == n, task
        assert all(s == "INPUT" or r == "OUTPUT" or int(s.lstrip("m").split(".")[0]) <= int(r.lstrip("m").split(".")[0])
                   for s, r, _ in got), task  # forward only


# siit.v2 of planted-ioi written out by hand from its high-level model (bench/models/planted/ioi.py): DUP
# (0.1) reads the names on every port, SINH (1.2) moves DUP through v, TARGET (m1) reads SINH, the name mover
# (2.3) attends where TARGET points (q) and copies the name (v), and writes the output; plus the internal
# q/k/v edge of each head port that receives one. Attention decided by position alone is no edge.
PLANTED_IOI_V2 = {("INPUT", "0.1", "q"), ("INPUT", "0.1", "k"), ("INPUT", "0.1", "v"), ("0.1", "1.2", "v"),
                  ("1.2", "m1", "in"), ("m1", "2.3", "q"), ("INPUT", "2.3", "v"), ("2.3", "OUTPUT", "out"),
                  ("0.1", "0.1", "q"), ("0.1", "0.1", "k"), ("0.1", "0.1", "v"), ("1.2", "1.2", "v"),
                  ("2.3", "2.3", "q"), ("2.3", "2.3", "v")}


# The same high-level edges on planted-ioi-32 (DUP: 0.1, 0.5; SINH: 1.2, 1.6; TARGET: m2; NM: 3.0, 3.3, 3.6),
# each the cross product of its ends' components.
_DUP, _SINH, _NM = ("0.1", "0.5"), ("1.2", "1.6"), ("3.0", "3.3", "3.6")
PLANTED_IOI_32_V2 = ({("INPUT", h, p) for h in _DUP for p in "qkv"} | {(d, s, "v") for d in _DUP for s in _SINH}
                     | {(s, "m2", "in") for s in _SINH} | {("m2", h, "q") for h in _NM} | {("INPUT", h, "v") for h in _NM}
                     | {(h, "OUTPUT", "out") for h in _NM} | {(h, h, p) for h in _DUP for p in "qkv"}
                     | {(h, h, "v") for h in _SINH} | {(h, h, p) for h in _NM for p in "qv"})


# planted-greater-32 (FIRST: 0.3, 0.6; SECOND: 0.1, 0.4; DIFF: m1; LATER: m2): each mover reads its year
# from the embeddings (on q, k and v: the recipe names no port) into m1, m1 into m2, m2 writes the answer;
# the movers' internal edges on the three ports.
_MOVERS = ("0.1", "0.3", "0.4", "0.6")
PLANTED_GREATER_32_V2 = ({("INPUT", h, p) for h in _MOVERS for p in "qkv"} | {(h, h, p) for h in _MOVERS for p in "qkv"}
                         | {(h, "m1", "in") for h in _MOVERS} | {("m1", "m2", "in"), ("m2", "OUTPUT", "out")})


# planted-docstring-32 (PREV: 0.2, 0.5; LAST: 0.1, 0.6; ARG: 3.0, 3.3, 3.6): PREV and LAST copy a token found by
# position (v), ARG matches LAST (q) against PREV (k) and copies the argument from the embeddings (v), and
# writes the answer; the internal edge of each receiving port.
_PREV, _LAST, _ARG = ("0.2", "0.5"), ("0.1", "0.6"), ("3.0", "3.3", "3.6")
PLANTED_DOCSTRING_32_V2 = ({("INPUT", h, "v") for h in _PREV + _LAST + _ARG} | {(p, a, "k") for p in _PREV for a in _ARG}
                           | {(last, a, "q") for last in _LAST for a in _ARG} | {(a, "OUTPUT", "out") for a in _ARG}
                           | {(h, h, "v") for h in _PREV + _LAST + _ARG} | {(a, a, p) for a in _ARG for p in "qk"})


# planted-reverse-32 (LEN: 0.2, 0.5; TARGET: m1; REV: 2.1, 2.4, 2.6), planted-reverse's high-level edges: the
# length heads read the tokens on every port into m1, the copying heads attend where m1 points (q) and copy
# the token from the embeddings (v), and write the answer; the internal edge of each receiving port.
_LEN, _REV = ("0.2", "0.5"), ("2.1", "2.4", "2.6")
PLANTED_REVERSE_32_V2 = ({("INPUT", h, p) for h in _LEN for p in "qkv"} | {(h, h, p) for h in _LEN for p in "qkv"}
                         | {(h, "m1", "in") for h in _LEN} | {("m1", r, "q") for r in _REV} | {("INPUT", r, "v") for r in _REV}
                         | {(r, r, p) for r in _REV for p in "qv"} | {(r, "OUTPUT", "out") for r in _REV})


@pytest.mark.parametrize("task, model, want", [("planted_ioi", "planted-ioi", PLANTED_IOI_V2),
                                               ("planted_reverse_32", "planted-reverse-32", PLANTED_REVERSE_32_V2),
                                               ("planted_docstring_32", "planted-docstring-32", PLANTED_DOCSTRING_32_V2),
                                               ("planted_ioi_32", "planted-ioi-32", PLANTED_IOI_32_V2),
                                               ("planted_greater_32", "planted-greater-32", PLANTED_GREATER_32_V2)])
def test_planted_v2_is_the_high_level_models_edges(task, model, want):
    from bench.models.registry import get_spec

    got = {(e.sender, e.receiver, e.port) for e in load(task, "siit.v2", get_spec(model).graph).edges}
    assert got == want
