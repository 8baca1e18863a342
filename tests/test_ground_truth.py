import json

import pytest

from bench.errors import GroundTruthError, UnknownNameError
from bench.graph import Edge, HeadGraph, parse_head
from ground_truth import available_versions, load, load_file
from ground_truth.loader import content_hash

GPT2 = HeadGraph(12, 12)
ATTN4L = HeadGraph(4, 8)


def test_published_head_sets():
    ioi = load("ioi", "wang2022.v1", GPT2)
    assert len(ioi.heads) == 26 and {"9.9", "10.0", "9.6", "9.0"} <= ioi.heads
    variant = load("ioi", "oneill2024.v1", GPT2)
    assert ioi.heads ^ variant.heads == {"9.0", "11.3"}
    gt = load("greater_than", None, GPT2)
    assert gt.heads == {"0.1", "0.3", "0.5", "5.5", "6.1", "6.9", "7.10", "8.11", "9.1"}
    assert gt.mlps == {"m0", "m1", "m2", "m3", "m8", "m9", "m10", "m11"}
    doc = load("docstring", None, ATTN4L)
    assert doc.version == "heimersheim2023.v1" and doc.heads == {"0.5", "1.2", "1.4", "2.0", "3.0", "3.6"}
    assert load("docstring", "oneill2024.v1", ATTN4L).heads ^ doc.heads == {"1.2", "1.0"}


def test_edges_are_forward_and_typed():
    ioi = load("ioi", None, GPT2)
    for e in ioi.edges:
        if e.sender != "INPUT" and e.receiver != "OUTPUT":
            assert parse_head(e.sender)[0] < parse_head(e.receiver)[0], e
    # S-inhibition heads take the name movers' queries; name movers feed the output.
    assert Edge("7.3", "9.9", "q") in ioi.edges and Edge("7.3", "9.9", "k") not in ioi.edges
    assert Edge("9.9", "OUTPUT", "out") in ioi.edges
    # induction 6.9 cannot feed S-inhibition 7.x backwards, but 5.5 -> 7.3 k/v exists.
    assert Edge("5.5", "7.3", "k") in ioi.edges and Edge("6.9", "7.3", "q") not in ioi.edges
    doc = load("docstring", None, ATTN4L)
    assert len(doc.edges) == 24 and Edge("1.4", "3.6", "q") in doc.edges


def test_every_shipped_file_validates_against_its_model():
    from bench.models.registry import get_spec

    for task, versions in available_versions().items():
        for v in versions:
            data = json.load(open(f"ground_truth/{task}/{v}.json"))
            gt = load(task, v, HeadGraph(*get_spec(data["model"]).shape))
            assert gt.heads and gt.edges and gt.content_hash == data["content_hash"]


def test_head_out_of_range_is_rejected():
    with pytest.raises(GroundTruthError, match="out of range"):
        load("ioi", None, ATTN4L)


def test_edited_file_is_rejected(tmp_path):
    data = json.load(open("ground_truth/ioi/wang2022.v1.json"))
    data["groups"]["name_mover"].append("11.11")
    bad = tmp_path / "edited.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(GroundTruthError, match="content hash"):
        load_file(bad, GPT2)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("edges"), "'edges' missing"),
    (lambda d: d.update(schema="other/9"), "schema"),
    (lambda d: d["edges"].append(["name_mover", "INPUT", "q"]), "backwards"),
    (lambda d: d["edges"].append(["name_mover", "OUTPUT", "x"]), "ports"),
    (lambda d: d["groups"].update(name_mover=["nine.nine"]), "not a head name"),
])
def test_malformed_files_are_rejected(tmp_path, mutate, message):
    data = json.load(open("ground_truth/ioi/wang2022.v1.json"))
    mutate(data)
    data["content_hash"] = content_hash(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(GroundTruthError, match=message):
        load_file(bad, GPT2)


def test_not_json_and_unknown_version(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(GroundTruthError, match="not valid JSON"):
        load_file(bad, GPT2)
    with pytest.raises(UnknownNameError, match="available"):
        load("ioi", "nope.v9", GPT2)
