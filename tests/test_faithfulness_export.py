import pytest
import torch

from bench.export import from_json, make_circuit, parse_edge_name, edge_name, to_json
from bench.faithfulness import faithfulness_curve
from bench.graph import HeadGraph
from bench.tasks import get_task
from ground_truth import load as load_gt


def test_faithfulness_endpoints_and_order(induction_model):
    model = induction_model.model
    prompts = get_task("induction").build(induction_model, 40, seed=2)
    graph = induction_model.graph
    gt = load_gt("induction", None, graph)
    good = torch.tensor([1.0 if n in gt.heads else 0.0 for n in graph.nodes])
    curve = faithfulness_curve(model, prompts, good)
    assert curve.fractions[0] == 0 and curve.fractions[-1] == 1
    assert curve.faithfulness[0] == pytest.approx(0, abs=1e-6) and curve.faithfulness[-1] == pytest.approx(1, abs=1e-6)
    bad = faithfulness_curve(model, prompts, -good)  # the ground-truth heads last
    assert curve.cpr > bad.cpr and curve.cmd < bad.cmd


def test_circuit_json_round_trip(tmp_path):
    graph = HeadGraph(2, 4)
    edges = [float(i) for i in range(len(graph.edges))]
    circuit = make_circuit(graph, [0.5] * 8, edges, top_k=5, meta={"method": "eap"})
    to_json(circuit, tmp_path / "c.json")
    back = from_json(tmp_path / "c.json")
    assert back.edges_in == circuit.edges_in and len(back.edges_in) == 5
    assert back.edge_scores == circuit.edge_scores and back.meta == {"method": "eap"}
    assert all(parse_edge_name(edge_name(e)) == e for e in graph.edges)
    assert edge_name(graph.edges[0]) == "input->a0.h0<q>"
